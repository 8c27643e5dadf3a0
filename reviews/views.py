"""The bureaus' side: work queues, stage decisions, expert panels and scoring, opinions and decisions.

Every view: the access helper (out of scope → 404, in scope but not allowed → 403), a form, one
action from reviews/actions.py, a redirect. Re-rendered forms answer 400 so that an invalid
submission is never mistaken for a success.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import access, fsm
from portal.masking import mask_phone
from portal.policies import Policy
from portal.policies.vocab import STAGES
from portal.roles import Role
from reviews import rules
from reviews.actions import (
    OUTCOMES_BY_STAGE,
    do_assign_expert,
    do_close_panel,
    do_confirm_list,
    do_create_panel,
    do_declare_conflict,
    do_record_opinion,
    do_review_stage,
    do_submit_scores,
)
from reviews.forms import (
    AssignForm,
    ClosePanelForm,
    ConfirmListForm,
    DecisionForm,
    OpinionForm,
    PanelForm,
    RecuseForm,
    ScoreForm,
    add_action_errors,
)
from reviews.models import Assignment, Panel, ReviewStep
from workshops.models import Application, ApplicationRevision, Round
from workshops.states import AppState, info

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]
POST = ["POST"]


# --- shared pieces ----------------------------------------------------------------------------------

def _application_or_404(user: Any, pk: int) -> Application:
    qs = Application.objects.select_related("round", "round__city", "organization", "organization__district",
                                            "district", "leader")
    return access.get_visible_or_404(user, qs, pk=pk)


def _round_or_404(user: Any, round_id: int) -> Round:
    return access.get_visible_or_404(user, Round.objects.select_related("city"), pk=round_id)


def _panel_or_404(user: Any, pk: int) -> Panel:
    return access.get_visible_or_404(user, Panel.objects.select_related("round", "round__city"), pk=pk)


def _assignment_or_404(user: Any, pk: int) -> Assignment:
    qs = Assignment.objects.select_related(
        "panel", "panel__round", "panel__round__city", "expert", "application", "application__round",
        "application__round__city", "application__organization", "application__organization__district",
        "application__district", "application__leader")
    return access.get_visible_or_404(user, qs, pk=pk)


def _conflict_message(app: Application) -> str:
    return _("该事项已被他人处理（当前状态：%(state)s），请刷新页面后查看。") % {"state": app.get_state_display()}


def _posted_int(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def _can_decide(user: Any, app: Application) -> bool:
    return info(app.state).stage in OUTCOMES_BY_STAGE and access.can(user, "application.review", app)


@dataclass
class Fact:
    label: str
    value: Any


@dataclass
class PersonRow:
    person: Any  # shown masked through workshops/_pii.html, with the audited reveal where allowed
    role: str


def _field_label(name: str) -> str:
    return str(Application._meta.get_field(name).verbose_name)


def application_summary(user: Any, app: Application) -> dict[str, Any]:
    """What a reviewer or an expert reads of an application: every field, personal data masked."""
    policy = app.policy
    category = policy.category(app.category) if app.category else None
    facts = [Fact(_("申报批次"), app.round.title), Fact(_field_label("studio_name"), app.studio_name),
             Fact(_field_label("occupation"), app.occupation),
             Fact(_field_label("category"), category.label if category else app.category),
             Fact(_field_label("site_address"), app.site_address),
             Fact(_field_label("site_area"), app.site_area),
             Fact(_field_label("funding_commitment"), app.funding_commitment),
             Fact(_field_label("education_fund_share"), app.education_fund_share),
             Fact(_field_label("submitted_at"), timezone.localtime(app.submitted_at).strftime("%Y-%m-%d %H:%M")
                  if app.submitted_at else "")]
    texts = [Fact(_field_label(name), getattr(app, name)) for name in (
        "equipment", "necessity", "goals", "work_plan", "support_measures", "leader_achievements_text")]
    org = app.organization
    org_facts = [Fact(_("单位名称"), org.name), Fact(_("统一社会信用代码"), org.uscc),
                 Fact(_("单位类型"), org.get_kind_display()), Fact(_("所在县区/镇街"), org.district.name),
                 Fact(_("联系人"), org.contact_name), Fact(_("联系电话"), mask_phone(org.contact_phone))]
    people = []
    if app.leader_id:
        people.append(PersonRow(app.leader, _("领办人")))
    for m in app.members.select_related("person").order_by("pk"):
        people.append(PersonRow(m.person, m.get_role_display()))
    materials = {m.code: m.label for m in policy.required_materials}
    attachments = [(a, materials.get(a.kind, a.kind)) for a in app.attachments.order_by("kind", "pk")]
    declared = set(app.declarations or [])
    achieved = set(app.leader_achievements or [])
    return {
        "facts": facts, "texts": texts, "org_facts": org_facts, "people": people, "attachments": attachments,
        "projects": list(app.projects.order_by("pk")),
        "declarations": [c.label for c in policy.eligibility.conditions if c.code in declared],
        "achievements": [c.label for c in policy.eligibility.leader.achievements if c.code in achieved],
        "can_reveal": access.can(user, "person.reveal", app),
    }


# --- revision diff ----------------------------------------------------------------------------------

LONG_TEXT = 40  # longer than this (or several lines): compare character by character


@dataclass
class FieldChange:
    label: str
    old: str = ""
    new: str = ""
    segments: list[tuple[str, str]] = field(default_factory=list)  # ("same"|"del"|"ins", text)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def is_list(self) -> bool:
        return bool(self.removed or self.added)


def _segments(old: str, new: str) -> list[tuple[str, str]]:
    # Chinese text has no spaces to split words on: characters are the unit of change.
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(("same", old[i1:i2]))
        if op in ("delete", "replace"):
            out.append(("del", old[i1:i2]))
        if op in ("insert", "replace"):
            out.append(("ins", new[j1:j2]))
    return out


def revision_changes(old: dict[str, Any], new: dict[str, Any], policy: Policy) -> list[FieldChange]:
    """Field by field, what changed between two ApplicationRevision.data snapshots."""
    materials = {m.code: m.label for m in policy.required_materials}
    labels = {name: _field_label(name) for name in (
        "studio_name", "occupation", "category", "site_address", "site_area", "equipment", "funding_commitment",
        "education_fund_share", "necessity", "goals", "work_plan", "support_measures")}
    labels.update({"leader": _("领办人"), "members": _("工作室成员"), "projects": _("立项项目"),
                   "attachments": _("申报材料")})

    def items(key: str, value: Any) -> list[str]:
        values = [str(v) for v in (value or [])]
        if key == "attachments":
            values = [f"{materials.get(k, k)}：{n}" for k, _sep, n in (v.partition(":") for v in values)]
        return values

    changes = []
    for key in [*labels, *(k for k in new if k not in labels)]:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        label = labels.get(key, key)
        if isinstance(before, list) or isinstance(after, list):
            a, b = items(key, before), items(key, after)
            removed, added = [x for x in a if x not in b], [x for x in b if x not in a]
            if removed or added:  # the same items in another order is no change
                changes.append(FieldChange(label, removed=removed, added=added))
            continue
        a, b = str(before or ""), str(after or "")
        change = FieldChange(label, old=a, new=b)
        if max(len(a), len(b)) > LONG_TEXT or "\n" in a + b:
            change.segments = _segments(a, b)
        changes.append(change)
    return changes


@dataclass
class RevisionDiff:
    old: ApplicationRevision
    new: ApplicationRevision
    changes: list[FieldChange]


def _revision_diff(app: Application) -> RevisionDiff | None:
    latest = list(app.revisions.order_by("-number")[:2])
    if len(latest) < 2:
        return None
    new, old = latest
    return RevisionDiff(old, new, revision_changes(old.data, new.data, app.policy))


# --- 1. the work queue ------------------------------------------------------------------------------

@dataclass
class QueueRow:
    app: Application
    overdue: bool
    due_today: bool


@dataclass
class RoundLink:
    label: str
    url: str
    waiting: int


@login_required
@require_http_methods(GET)
def queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, "review.queue")
    policies = rules.city_policies(user.city_id)
    apps = rules.awaiting_decision(
        user, Application.objects.select_related("round", "organization", "district"), policies,
    ).order_by(F("submitted_at").asc(nulls_last=True), "pk")
    today = timezone.localdate()
    rows = [QueueRow(a, bool(a.stage_due_on and a.stage_due_on < today), a.stage_due_on == today) for a in apps]
    waiting: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row.app.round_id, row.app.state)
        waiting[key] = waiting.get(key, 0) + 1
    to_establish: dict[int, int] = {}
    if user.role == Role.CITY:
        # Approved and not yet set up by a 发文设立: the city's last step, whichever stage came last.
        to_establish = dict(Application.objects.filter(city_id=user.city_id, state=AppState.APPROVED,
                                                       studio__isnull=True)
                            .values_list("round_id").annotate(n=Count("id")).values_list("round_id", "n"))
    rounds = []
    for rnd in Round.objects.filter(city_id=user.city_id).order_by("-year", "-opens_on", "-pk"):
        policy = policies.get(rnd.policy_version)
        if policy is None:
            continue
        links = []
        if access.can(user, "panel.manage", rnd):
            if policy.has_stage("expert_review"):
                links.append(RoundLink(_("专家评审"), reverse("reviews:panels", args=[rnd.pk]),
                                       waiting.get((rnd.pk, AppState.EXPERT_REVIEW), 0)))
            if policy.has_stage("opinion"):
                links.append(RoundLink(_("征求意见"), reverse("reviews:opinions", args=[rnd.pk]),
                                       waiting.get((rnd.pk, AppState.OPINION), 0)))
        if access.can(user, "round.decide", rnd) and rules.decides_before_notice(policy):
            links.append(RoundLink(_("研究决定"), reverse("reviews:round_decision", args=[rnd.pk]),
                                   waiting.get((rnd.pk, AppState.DECISION), 0)))
        if access.can(user, "notice.publish", rnd) and policy.has_stage("notice"):
            links.append(RoundLink(_("公示"), reverse("reviews:notices", args=[rnd.pk]), 0))
        if to_establish.get(rnd.pk) and access.can(user, "studio.establish", rnd):
            links.append(RoundLink(_("发文设立"), reverse("reviews:establish", args=[rnd.pk]), to_establish[rnd.pk]))
        if links:
            rounds.append((rnd, links))
    return render(request, "reviews/queue.html", {"rows": rows, "rounds": rounds, "today": today})


# --- 2–3. one application: the reviewer's page and the decision ---------------------------------------

def _stage_link(user: Any, app: Application) -> tuple[str, str] | None:
    """Stages decided for the whole round are decided on the round's page, not here."""
    policy = app.policy
    if app.state == AppState.EXPERT_REVIEW and access.can(user, "panel.manage", app.round):
        return _("到专家评审页面分配专家、结束评审"), reverse("reviews:panels", args=[app.round_id])
    if app.state == AppState.OPINION and access.can(user, "panel.manage", app.round) and policy.has_stage("opinion"):
        return _("到征求意见页面登记部门意见"), reverse("reviews:opinions", args=[app.round_id])
    if (app.state == AppState.DECISION and access.can(user, "round.decide", app.round)
            and rules.decides_before_notice(policy)):
        return _("到研究决定页面确认拟设立名单"), reverse("reviews:round_decision", args=[app.round_id])
    if app.state == AppState.READY_FOR_NOTICE and access.can(user, "notice.publish", app.round):
        return _("到公示页面发布公示"), reverse("reviews:notices", args=[app.round_id])
    return None


def _render_application(request: HttpRequest, app: Application, form: DecisionForm | None,
                        status: int = 200) -> HttpResponse:
    user = request.user
    steps = [(s, STAGES.get(s.stage, s.stage), Role(s.actor_role).label if s.actor_role in Role.values else "")
             for s in app.review_steps.select_related("actor").order_by("at", "pk")]
    context = {
        "app": app, **application_summary(user, app), "diff": _revision_diff(app), "steps": steps, "form": form,
        "stage_label": STAGES.get(info(app.state).stage, ""), "stage_link": _stage_link(user, app),
        "overdue": bool(app.stage_due_on and app.stage_due_on < timezone.localdate()),
    }
    return render(request, "reviews/application.html", context, status=status)


@login_required
@require_http_methods(GET)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = _application_or_404(request.user, pk)
    access.require(request.user, "review.read", app)
    return _render_application(request, app, DecisionForm(app) if _can_decide(request.user, app) else None)


@login_required
@require_http_methods(POST)
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    app = _application_or_404(user, pk)
    access.require(user, "review.read", app)
    seen = _posted_int(request.POST.get("version"))
    if seen is not None and seen != app.version:
        # Someone decided first: whatever this user may do now, the page they decided on is gone.
        messages.error(request, _conflict_message(app))
        return redirect("reviews:application", pk=app.pk)
    if not _can_decide(user, app):
        raise PermissionDenied
    form = DecisionForm(app, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = do_review_stage(app, actor=user, outcome=data["outcome"], opinion=data["opinion"],
                                    originals_checked=data.get("originals_checked", False),
                                    expected_version=data["version"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        except fsm.Conflict as exc:
            messages.error(request, str(exc))
            return redirect("reviews:application", pk=app.pk)
        else:
            messages.success(request, _("已办理“%(name)s”：%(outcome)s，当前状态：%(state)s。") % {
                "name": moved, "outcome": ReviewStep.Outcome(data["outcome"]).label,
                "state": moved.get_state_display()})
            return redirect("reviews:queue")
    return _render_application(request, app, form, status=400)


# --- 4. expert panels (city staff) ------------------------------------------------------------------

@login_required
@require_http_methods(GET_POST)
def panel_list(request: HttpRequest, round_id: int) -> HttpResponse:
    user = request.user
    rnd = _round_or_404(user, round_id)
    access.require(user, "panel.manage", rnd)
    if not rnd.policy.has_stage("expert_review"):
        raise Http404
    form = PanelForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                panel = do_create_panel(rnd, actor=user, name=form.cleaned_data["name"],
                                        due_on=form.cleaned_data["due_on"])
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("已设立专家组“%(name)s”，请分配评审专家。") % {"name": panel.name})
                return redirect("reviews:panel", pk=panel.pk)
        status = 400
    panels = rnd.panels.annotate(
        n_assigned=Count("assignments"),
        n_submitted=Count("assignments", filter=Q(assignments__submitted_at__isnull=False)),
        n_recused=Count("assignments", filter=Q(assignments__conflict_declared=True)),
    ).order_by("created_at", "pk")
    apps = Application.objects.filter(round=rnd, state=AppState.EXPERT_REVIEW).select_related(
        "organization", "district").annotate(
        n_experts=Count("assignments", filter=Q(assignments__conflict_declared=False))).order_by("submitted_at", "pk")
    return render(request, "reviews/panels.html", {"round": rnd, "panels": panels, "apps": apps, "form": form},
                  status=status)


@dataclass
class RankedRow:
    app: Application
    selected: bool


def _render_panel(request: HttpRequest, panel: Panel, *, assign_form: AssignForm | None = None,
                  close_form: ClosePanelForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    manage = access.can(user, "panel.manage", panel) and not panel.is_closed
    assignments = list(panel.assignments.select_related(
        "application", "application__organization", "expert", "expert__organization",
    ).prefetch_related("scores").order_by("application_id", "pk"))
    ranked: list[RankedRow] = []
    if panel.is_closed:
        quota = panel.round.quota
        apps = {a.application_id: a.application for a in assignments}
        for app in sorted((a for a in apps.values() if a.rank is not None), key=lambda a: (a.rank, a.pk)):
            ranked.append(RankedRow(app, quota is None or app.rank <= quota))
    context = {
        "panel": panel, "round": panel.round, "assignments": assignments, "manage": manage,
        "show_scores": access.can(user, "panel.results", panel),
        "assign_form": assign_form or (AssignForm(panel) if manage else None),
        "close_form": close_form or (ClosePanelForm() if manage else None),
        "selected": [r for r in ranked if r.selected], "backup": [r for r in ranked if not r.selected],
        "quota": panel.round.quota,
    }
    return render(request, "reviews/panel.html", context, status=status)


@login_required
@require_http_methods(GET)
def panel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    panel = _panel_or_404(request.user, pk)
    access.require(request.user, "panel.view", panel)
    return _render_panel(request, panel)


@login_required
@require_http_methods(POST)
def panel_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    panel = _panel_or_404(user, pk)
    access.require(user, "panel.manage", panel)
    if panel.is_closed:
        messages.error(request, _("专家组评审已结束，不能再分配。"))
        return redirect("reviews:panel", pk=panel.pk)
    form = AssignForm(panel, request.POST)
    if form.is_valid():
        app, expert = form.cleaned_data["application"], form.cleaned_data["expert"]
        existed = Assignment.objects.filter(panel=panel, application=app, expert=expert).exists()
        try:
            do_assign_expert(panel, app, expert, actor=user)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            if existed:
                messages.info(request, _("专家%(expert)s已在评审“%(app)s”，无需重复分配。")
                              % {"expert": expert, "app": app})
            else:
                messages.success(request, _("已分配专家%(expert)s评审“%(app)s”。") % {"expert": expert, "app": app})
            return redirect("reviews:panel", pk=panel.pk)
    return _render_panel(request, panel, assign_form=form, status=400)


@login_required
@require_http_methods(POST)
def panel_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    panel = _panel_or_404(user, pk)
    access.require(user, "panel.manage", panel)
    if panel.is_closed:
        messages.info(request, _("该专家组评审已经结束。"))
        return redirect("reviews:panel", pk=panel.pk)
    form = ClosePanelForm(request.POST)
    if form.is_valid():
        try:
            ranked = do_close_panel(panel, actor=user)
        except ValidationError as exc:
            add_action_errors(form, exc)
        except fsm.Conflict as exc:
            messages.error(request, str(exc))
            return redirect("reviews:panel", pk=panel.pk)
        else:
            chosen = sum(1 for r in ranked if r.selected)
            messages.success(request, _(
                "评审已结束：%(n)d 项参加排名，%(chosen)d 项进入下一环节，%(backup)d 项列入备选名单。",
            ) % {"n": len(ranked), "chosen": chosen, "backup": len(ranked) - chosen})
            return redirect("reviews:panel", pk=panel.pk)
    return _render_panel(request, panel, close_form=form, status=400)


# --- 5. experts --------------------------------------------------------------------------------------

def _assignment_status(a: Assignment, today: date) -> tuple[str, str]:
    """(label, css class) of an assignment for its expert."""
    if a.conflict_declared:
        return _("已回避"), "muted"
    if a.panel.is_closed:
        return _("评审已结束"), "muted"
    if a.submitted_at:
        return _("已提交（评审结束前可修改）"), "ok"
    if a.panel.due_on and a.panel.due_on < today:
        return _("待评分 · 已逾期"), "overdue"
    return _("待评分"), "todo"


@login_required
@require_http_methods(GET)
def assignment_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, "assignment.list")
    today = timezone.localdate()
    assignments = access.visible(user, Assignment.objects.select_related(
        "panel", "panel__round", "application", "application__organization")).filter(expert=user).order_by(
        F("submitted_at").asc(nulls_first=True), "-assigned_at", "pk")
    rows = [(a, *_assignment_status(a, today)) for a in assignments]
    return render(request, "reviews/assignments.html", {"rows": rows})


@dataclass
class ExpertResult:
    name: str
    status: str
    total: Any
    scores: list[tuple[Any, Any]]  # (criterion, value) in the rubric's order
    comment: str


def _render_assignment(request: HttpRequest, a: Assignment, *, score_form: ScoreForm | None = None,
                       recuse_form: RecuseForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    app = a.application
    criteria = app.policy.expert_rubric.criteria
    can_score = access.can(user, "assignment.score", a)
    if can_score:
        score_form = score_form or ScoreForm(a)
        recuse_form = recuse_form or RecuseForm()
    own = {s.criterion: s.value for s in a.scores.all()}
    results: list[ExpertResult] | None = None
    # Other experts' scores: only once the panel is closed (panel.results), so no expert is swayed.
    if access.can(user, "panel.results", a.panel):
        results = []
        names_visible = access.can(user, "panel.view", a.panel)
        others = Assignment.objects.filter(panel=a.panel, application=app).select_related(
            "expert").prefetch_related("scores").order_by("pk")
        for n, other in enumerate(others, start=1):
            if user.pk == other.expert_id:
                name = _("%(name)s（本人）") % {"name": other.expert}
            elif names_visible:
                name = str(other.expert)
            else:
                name = _("评审专家 %(n)d") % {"n": n}  # experts see the numbers, not who gave them
            state = _("已回避") if other.conflict_declared else (_("已提交") if other.submitted_at else _("未提交"))
            given = {s.criterion: s.value for s in other.scores.all()}
            results.append(ExpertResult(name, state, other.total, [(c, given.get(c.code)) for c in criteria],
                                        other.comment))
    context = {
        "a": a, "app": app, **application_summary(user, app), "criteria": criteria,
        "own_scores": [(c, own.get(c.code)) for c in criteria], "can_score": can_score,
        "is_own": a.expert_id == user.pk, "score_form": score_form, "recuse_form": recuse_form,
        "results": results, "status": _assignment_status(a, timezone.localdate()),
    }
    return render(request, "reviews/assignment.html", context, status=status)


def _not_scorable_message(a: Assignment) -> str:
    if a.conflict_declared:
        return _("您已申报回避，本任务不再评分。")
    if a.panel.is_closed:
        return _("该专家组评审已经结束，不能再提交或修改评分。")
    return _("您不能为该申报评分。")


@login_required
@require_http_methods(GET_POST)
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    a = _assignment_or_404(user, pk)
    access.require(user, "assignment.view", a)
    if request.method != "POST":
        return _render_assignment(request, a)
    if a.expert_id != user.pk:
        raise PermissionDenied
    if not access.can(user, "assignment.score", a):
        messages.error(request, _not_scorable_message(a))
        return redirect("reviews:assignment", pk=a.pk)
    form = ScoreForm(a, request.POST)
    if form.is_valid():
        try:
            do_submit_scores(a, actor=user, scores=form.scores(), comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            add_action_errors(form, exc, form.field_for)
        else:
            messages.success(request, _("已提交对“%(app)s”的评分，评审结束前可以修改。") % {"app": a.application})
            return redirect("reviews:assignments")
    return _render_assignment(request, a, score_form=form, status=400)


@login_required
@require_http_methods(POST)
def assignment_recuse(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    a = _assignment_or_404(user, pk)
    access.require(user, "assignment.view", a)
    if a.expert_id != user.pk:
        raise PermissionDenied
    if not access.can(user, "assignment.score", a):
        messages.error(request, _not_scorable_message(a))
        return redirect("reviews:assignment", pk=a.pk)
    form = RecuseForm(request.POST)
    if form.is_valid():
        try:
            do_declare_conflict(a, actor=user, note=form.cleaned_data["conflict_note"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("已申报回避“%(app)s”，市人社局将另行安排专家。") % {"app": a.application})
            return redirect("reviews:assignments")
    return _render_assignment(request, a, recuse_form=form, status=400)


# --- 6. opinions (city staff, where the policy solicits them) ----------------------------------------

@login_required
@require_http_methods(GET_POST)
def opinion_list(request: HttpRequest, round_id: int) -> HttpResponse:
    user = request.user
    rnd = _round_or_404(user, round_id)
    access.require(user, "panel.manage", rnd)
    if not rnd.policy.has_stage("opinion"):
        raise Http404
    form = OpinionForm(rnd, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                do_record_opinion(rnd, actor=user, department=data["department"], response=data["response"],
                                  due_on=data["due_on"], objects_to=list(data["objects_to"]))
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("已登记%(dept)s的意见。") % {"dept": data["department"]})
                return redirect("reviews:opinions", round_id=rnd.pk)
        status = 400
    requests_ = rnd.opinion_requests.select_related("recorded_by").prefetch_related("objects_to").order_by(
        "-created_at", "-pk")
    apps = Application.objects.filter(round=rnd, state=AppState.OPINION).select_related(
        "organization", "district").order_by(F("rank").asc(nulls_last=True), "pk")
    return render(request, "reviews/opinions.html",
                  {"round": rnd, "form": form, "requests": requests_, "apps": apps,
                   "stage": rnd.policy.stage("opinion")}, status=status)


# --- 7. the decision makers' list -------------------------------------------------------------------

@login_required
@require_http_methods(GET_POST)
def round_decision(request: HttpRequest, round_id: int) -> HttpResponse:
    user = request.user
    rnd = _round_or_404(user, round_id)
    access.require(user, "round.decide", rnd)
    policy = rnd.policy
    if not rules.decides_before_notice(policy):
        raise Http404
    by_rank = (F("rank").asc(nulls_last=True), "pk")
    apps = list(Application.objects.filter(round=rnd, state=AppState.DECISION).select_related(
        "organization", "district").order_by(*by_rank))
    form = ConfirmListForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not apps:
            messages.error(request, _("本批次没有待研究决定的申报。"))
            return redirect("reviews:round_decision", round_id=rnd.pk)
        if form.is_valid():
            try:
                moved = do_confirm_list(rnd, actor=user, opinion=form.cleaned_data["opinion"])
            except ValidationError as exc:
                add_action_errors(form, exc)
            except fsm.Conflict as exc:
                messages.error(request, str(exc))
                return redirect("reviews:round_decision", round_id=rnd.pk)
            else:
                messages.success(request, _("已确认拟设立名单，共 %(n)d 项。") % {"n": len(moved)})
                return redirect("reviews:round_decision", round_id=rnd.pk)
        status = 400
    backup = Application.objects.filter(round=rnd, state=AppState.BACKUP).select_related(
        "organization").order_by(*by_rank)
    return render(request, "reviews/round_decision.html",
                  {"round": rnd, "apps": apps, "backup": backup, "form": form, "stage": policy.stage("decision"),
                   "next_is_notice": "notice" in policy.stages}, status=status)
