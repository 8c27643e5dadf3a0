"""The studio's life after establishment, on the web: the list, the studio page and one POST per action.

Each action view: access (404 out of scope, 403 when visible but not allowed) → form → action →
redirect to the studio page; invalid input re-renders the page with that form bound, so what was
typed stays and the error names the field and the rule. Which forms the page shows is decided by
the same access rules the actions check (studio.records, studio.manage, studio.revoke).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import access, calendar, fsm
from portal.models import AuditEvent, SkillLevel
from portal.policies import Policy, PolicyNotFound, get_policy, get_policy_version
from portal.policies import vocab as policy_vocab
from portal.roles import Role
from workshops import actions, money
from workshops import studio_forms as sforms
from workshops.indicators import yearly_indicators
from workshops.models import AnnualPlan, Assessment, LeaderChange, PlanAggregation, Sanction, Studio
from workshops.states import StudioState

PAGE_SIZE = 20
# Everyone with a studio scope (workshops.rules._studios); experts and administrators have none.
STUDIO_ROLES = (Role.UNIT, Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION, Role.OBSERVER)

HISTORY_LABELS: dict[str, Any] = {
    "studio.establish": gettext_lazy("发文设立"),
    "plan.file": gettext_lazy("报送年度工作计划"),
    "assessment.record": gettext_lazy("录入考核/验收结果"),
    "studio.accept_midterm": gettext_lazy("中期验收通过"),
    "studio.accept": gettext_lazy("验收合格"),
    "plaque.issue": gettext_lazy("授牌"),
    "money.disburse": gettext_lazy("拨付资金"),
    "studio.revocation_proposed": gettext_lazy("提出撤销建议"),
    "studio.revoke": gettext_lazy("撤销工作室"),
    "leader_change.request": gettext_lazy("申请变更领办人"),
    "leader_change.approved": gettext_lazy("核准变更领办人"),
    "leader_change.rejected": gettext_lazy("不予核准变更领办人"),
    "studio.upgrade": gettext_lazy("升级认定"),
    **{f"studio.{m}": label for m, label in sforms.STATE_METHODS.items()},
}


# --- Helpers ---------------------------------------------------------------------------------------

def _studios() -> QuerySet[Studio]:
    return Studio.objects.select_related("city", "district", "organization", "leader")


def _studio(request: HttpRequest, pk: int) -> Studio:
    return access.get_visible_or_404(request.user, _studios(), pk=pk)


def _studio_url(studio: Studio, anchor: str = "") -> str:
    url = reverse("workshops:studio", args=[studio.pk])
    return f"{url}#{anchor}" if anchor else url


def _attach(form: django_forms.Form, exc: ValidationError) -> None:
    """An action's ValidationError on the form: on its field when the form has one."""
    if hasattr(form, "attach"):
        form.attach(exc)
    elif hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _refuse_if_closed(studio: Studio) -> None:
    """A revoked studio's file is closed: nothing more is recorded on it (its 通报 stays)."""
    if studio.state_info.terminal:
        raise ValidationError(_("工作室已撤销，不能再办理此事项。"))


@dataclass(frozen=True)
class PlanStatus:
    year: int
    required: bool
    due: date | None
    due_unknown: bool  # the year has no holiday data yet, so the working-day due date is not known
    plan: AnnualPlan | None
    overdue: bool  # not filed, and the due date has passed


def _fixed_due(raw: date | None) -> date | None:
    """A policy's fixed calendar date, moved to the next working day when it is a rest day."""
    return calendar.due_date_for_fixed_day(raw.year, raw.month, raw.day) if raw else None


def plan_status(studio: Studio, year: int, plan: AnnualPlan | None, today: date) -> PlanStatus:
    required = studio.policy.annual_plan.required
    due, unknown = None, False
    if required:
        try:
            due = actions.plan_due_on(studio, year)
        except calendar.CalendarDataMissing:
            unknown = True
    return PlanStatus(year, required, due, unknown, plan, bool(required and plan is None and due and today > due))


def _grade_label(policy: Policy, assessment: Assessment) -> str:
    grade = next((g for g in policy.assessment.grades if g.code == assessment.grade), None)
    return grade.label if grade else assessment.grade


def _kind_label(policy: Policy, assessment: Assessment) -> str:
    """The city's own name for an acceptance step (东莞 期满考核验收), else the general one."""
    milestone = next((m for m in policy.acceptance.milestones if m.kind == assessment.kind), None)
    return milestone.label if milestone else str(assessment.get_kind_display())


def _indicator_rows(studio: Studio, years: list[int]) -> list[dict[str, Any]]:
    return [{"year": y, "results": yearly_indicators(studio, y)} for y in years]


def _year_param(request: HttpRequest, default: int, name: str = "year", *, first: int = 2000,
                last: int | None = None) -> int:
    """A year from the query string, or `default` when it is missing, not a number or out of range."""
    try:
        year = int(request.GET.get(name, default))
    except (TypeError, ValueError):
        return default
    return year if first <= year <= (default + 1 if last is None else last) else default


# --- The list --------------------------------------------------------------------------------------

def _overdue_filter(qs: QuerySet[Studio], year: int, today: date) -> QuerySet[Studio]:
    """Studios whose policy wants a plan for `year`, past its due date, and none filed. The due date
    is the policy's (per city and version), so the versions present are read once and turned into Q."""
    passed = Q(pk__in=[])
    for city_id, code, version in qs.values_list("city_id", "city__code", "policy_version").distinct():
        try:
            due = _fixed_due(get_policy_version(code, version).plan_deadline(year))
        except (calendar.CalendarDataMissing, PolicyNotFound):
            continue
        if due is not None and today > due:
            passed |= Q(city_id=city_id, policy_version=version)
    return qs.filter(passed).exclude(plans__year=year)


@login_required
@require_GET
def studio_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.has_role(user, *STUDIO_ROLES):
        raise PermissionDenied
    today = timezone.localdate()
    year = today.year
    form = sforms.StudioFilterForm(request.GET)
    qs = access.visible(user, _studios()).prefetch_related(
        Prefetch("plans", queryset=AnnualPlan.objects.filter(year=year), to_attr="current_plans"))
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            qs = qs.filter(name__icontains=data["q"])
        if data["state"]:
            qs = qs.filter(state=data["state"])
        if data["year"]:
            qs = qs.filter(established_on__year=data["year"])
        this_year = AnnualPlan.objects.filter(studio=OuterRef("pk"), year=year)
        if data["plan"] == "overdue":
            qs = _overdue_filter(qs, year, today)
        elif data["plan"] == "late":
            qs = qs.filter(Exists(this_year.filter(is_late=True)))
        elif data["plan"] == "filed":
            qs = qs.filter(Exists(this_year))
    page = Paginator(qs.order_by("-established_on", "name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"studio": s, "plan": plan_status(s, year, (s.current_plans or [None])[0], today)} for s in page]
    query = request.GET.copy()
    query.pop("page", None)
    can_forward = user.role == Role.AGENCY and _aggregation_policy(user.city) is not None
    return render(request, "workshops/studio/list.html", {
        "form": form, "page": page, "rows": rows, "year": year, "query": query.urlencode(),
        "is_unit": user.role == Role.UNIT, "can_forward": can_forward})


# --- The studio page ----------------------------------------------------------------------------------

def _history(studio: Studio) -> list[dict[str, Any]]:
    events = (AuditEvent.objects.for_object(studio).exclude(action="record.add").order_by("-at", "-id")[:50])
    return [{"event": e, "label": str(HISTORY_LABELS.get(e.action, e.action)),
             "from": StudioState(e.from_state).label if e.from_state in StudioState.values else "",
             "to": StudioState(e.to_state).label if e.to_state in StudioState.values else ""} for e in events]


def _ledger_context(studio: Studio, year: int, record_form: django_forms.Form | None, can_records: bool,
                    saved: str = "") -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "studio": studio, "ledger_year": year, "saved": saved,
        "records": studio.records.filter(date__year=year).order_by("-date", "-id"),
        "indicators": yearly_indicators(studio, year),
        "ledger_years": list(range(today.year, max(studio.established_on.year, today.year - 9) - 1, -1)),
        "record_form": record_form if record_form is not None else (
            sforms.RecordForm(studio=studio, prefix="record", initial={"date": today}) if can_records else None),
        "kind_labels": policy_vocab.RECORD_KINDS,
    }


FORM_NAMES = ("plan", "record", "plaque", "money", "leader", "upgrade", "state")


def _render_studio(request: HttpRequest, studio: Studio, **bound: django_forms.Form) -> HttpResponse:
    user = request.user
    policy = studio.policy
    today = timezone.localdate()
    is_open = not studio.state_info.terminal
    can_records = access.can(user, "studio.records", studio)
    can_manage = access.can(user, "studio.manage", studio) and is_open
    can_revoke = access.can(user, "studio.revoke", studio) and is_open
    plans = list(studio.plans.order_by("-year"))
    current = plan_status(studio, today.year, next((p for p in plans if p.year == today.year), None), today)
    rights = money.entitlements(studio)
    changes = list(studio.leader_changes.select_related("old_leader", "new_leader"))
    revocation = getattr(studio, "revocation", None)
    leader_rule = policy.leader_change
    assessments = [{"a": a, "grade": _grade_label(policy, a), "kind": _kind_label(policy, a),
                    "joint": sforms.departments_text(a.joint_with)} for a in studio.assessments.all()]
    forms: dict[str, Any] = dict.fromkeys(FORM_NAMES)
    if can_records:
        if policy.annual_plan.required:
            forms["plan"] = sforms.PlanForm(studio=studio, prefix="plan",
                                            initial={"content": current.plan.content if current.plan else ""})
        if leader_rule.on_departure == "reapprove":
            forms["leader"] = sforms.LeaderChangeForm(studio=studio, prefix="leader")
    if can_manage:
        forms["plaque"] = sforms.PlaqueForm(studio=studio, prefix="plaque", initial={"issued_on": today})
        forms["money"] = sforms.DisbursementForm(studio=studio, entitlements=rights, prefix="money",
                                                 initial={"paid_on": today})
        forms["upgrade"] = sforms.UpgradeForm(studio=studio, prefix="upgrade")
        state_form = sforms.StateForm(studio=studio, prefix="state")
        forms["state"] = state_form if state_form.fields["method"].choices else None
    forms.update(bound)
    year = _year_param(request, today.year)
    context: dict[str, Any] = {
        "studio": studio, "policy": policy, "today": today, "current_plan": current, "plans": plans,
        "plaques": list(studio.plaques.order_by("-created_at")),
        "assessments": assessments, "stopped": not is_open,
        "rights": [{"r": r, "level": SkillLevel(r.level).label if r.level else ""} for r in rights],
        "disbursements": [{"d": d, "label": getattr(policy.subsidy(d.subsidy), "label", d.subsidy)}
                          for d in studio.disbursements.all()],
        "upgrades": studio.upgrades.all(),
        "changes": [{"change": c, "form": bound.get(f"decide_{c.pk}") or (
            sforms.LeaderDecisionForm(prefix=f"decide-{c.pk}") if can_manage else None)}
            for c in changes],
        "leader_rule": leader_rule, "revocation": revocation,
        "revocation_joint": sforms.departments_text(revocation.joint_with) if revocation else "",
        "decided_joint": sforms.departments_text(policy.revocation.decided_by.joint_with),
        "revocation_ground": next((g for g in policy.revocation.grounds if revocation and g.code == revocation.ground),
                                  None),
        "sanctions": Sanction.objects.filter(Q(organization_id=studio.organization_id) | Q(person_id=studio.leader_id))
        .select_related("organization", "person") if revocation and revocation.is_fraud else [],
        "can_records": can_records, "can_manage": can_manage, "can_revoke": can_revoke,
        "can_assess": can_manage, "forms": forms, "history": _history(studio),
        "plaque_timing": policy_vocab.PLAQUE_TIMINGS[policy.plaque.timing],
        "consequences": [policy_vocab.REVOCATION_CONSEQUENCES[c] for c in policy.revocation.consequences],
    }
    context.update(_ledger_context(studio, year, forms.pop("record"), can_records))
    return render(request, "workshops/studio/detail.html", context)


@login_required
@require_GET
def studio_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_studio(request, _studio(request, pk))


# --- One POST per action ------------------------------------------------------------------------------

def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return login_required(require_POST(view))


def _act(request: HttpRequest, pk: int, *, permission: str, name: str, form: Callable[[Studio], django_forms.Form],
         run: Callable[[Studio, Any], Any], done: Callable[[Any], str], anchor: str,
         open_only: bool = True) -> HttpResponse:
    """The shape of every action view: access → form → action → redirect, or the page with the form."""
    studio = _studio(request, pk)
    access.require(request.user, permission, studio)
    bound = form(studio)
    if bound.is_valid():
        try:
            if open_only:
                _refuse_if_closed(studio)
            result = run(studio, bound)
        except ValidationError as exc:
            _attach(bound, exc)
        except fsm.Conflict as exc:
            messages.error(request, str(exc))
            return redirect(_studio_url(studio, anchor))
        else:
            messages.success(request, done(result))
            return redirect(_studio_url(studio, anchor))
    return _render_studio(request, studio, **{name: bound})


@_post_only
def studio_plan(request: HttpRequest, pk: int) -> HttpResponse:
    def run(studio: Studio, form: sforms.PlanForm) -> AnnualPlan:
        return actions.do_file_plan(studio, actor=request.user, **form.cleaned_data)

    def done(plan: AnnualPlan) -> str:
        if plan.is_late:
            return _("%(year)d年度工作计划已报送（逾期报送，报送期限 %(due)s）。") % {
                "year": plan.year, "due": plan.due_on}
        return _("%(year)d年度工作计划已报送。") % {"year": plan.year}

    return _act(request, pk, permission="studio.records", name="plan", anchor="plan", run=run, done=done,
                form=lambda s: sforms.PlanForm(request.POST, studio=s, prefix="plan"))


@_post_only
def studio_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Adding to the ledger; with htmx only the ledger (records and indicators) is sent back."""
    studio = _studio(request, pk)
    access.require(request.user, "studio.records", studio)
    form = sforms.RecordForm(request.POST, studio=studio, prefix="record")
    if form.is_valid():
        try:
            record = actions.do_add_record(studio, actor=request.user, kind=form.cleaned_data["kind"],
                                           **form.values())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            message = _("已登记：%(title)s（%(date)s）") % {"title": record.title, "date": record.date}
            if request.htmx:
                context = _ledger_context(studio, record.date.year, None, True, saved=message)
                return render(request, "workshops/studio/_ledger.html", context)
            messages.success(request, message)
            return redirect(reverse("workshops:studio", args=[studio.pk]) + f"?year={record.date.year}#ledger")
    if request.htmx:
        return render(request, "workshops/studio/_ledger.html",
                      _ledger_context(studio, timezone.localdate().year, form, True))
    return _render_studio(request, studio, record=form)


@_post_only
def studio_plaque(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, permission="studio.manage", name="plaque", anchor="plaque",
                form=lambda s: sforms.PlaqueForm(request.POST, studio=s, prefix="plaque"),
                run=lambda s, f: actions.do_issue_plaque(s, actor=request.user, **f.cleaned_data),
                done=lambda p: _("已记录授牌：牌匾编号 %(n)s，授牌日期 %(d)s。") % {"n": p.number, "d": p.issued_on})


@_post_only
def studio_disbursement(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, permission="studio.manage", name="money", anchor="money",
                form=lambda s: sforms.DisbursementForm(request.POST, studio=s, entitlements=money.entitlements(s),
                                                       prefix="money"),
                run=lambda s, f: actions.do_record_disbursement(s, actor=request.user, **f.action_kwargs()),
                done=lambda d: _("已记录拨付 %(amount)s 元。") % {"amount": d.amount}, open_only=False)


@_post_only
def studio_upgrade(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, permission="studio.manage", name="upgrade", anchor="upgrades",
                form=lambda s: sforms.UpgradeForm(request.POST, studio=s, prefix="upgrade"),
                run=lambda s, f: actions.do_record_upgrade(s, actor=request.user, **f.cleaned_data),
                done=lambda u: _("已记录：%(level)s。") % {"level": u.get_level_display()})


@_post_only
def studio_state(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, permission="studio.manage", name="state", anchor="state",
                form=lambda s: sforms.StateForm(request.POST, studio=s, prefix="state"),
                run=lambda s, f: actions.do_change_studio_state(s, actor=request.user, **f.cleaned_data),
                done=lambda s: _("工作室状态已变更为：%(state)s。") % {"state": s.get_state_display()})


@_post_only
def studio_leader_change(request: HttpRequest, pk: int) -> HttpResponse:
    def run(studio: Studio, form: sforms.LeaderChangeForm) -> LeaderChange:
        return actions.do_request_leader_change(studio, actor=request.user, id_number=form.cleaned_data["id_number"],
                                                reason=form.cleaned_data["reason"], **form.person_attrs())

    return _act(request, pk, permission="studio.records", name="leader", anchor="leader", run=run,
                form=lambda s: sforms.LeaderChangeForm(request.POST, studio=s, prefix="leader"),
                done=lambda c: _("已提交领办人变更申请（%(new)s），待市人社部门核准。") % {"new": c.new_leader.name})


@_post_only
def studio_leader_decide(request: HttpRequest, pk: int, change_id: int) -> HttpResponse:
    studio = _studio(request, pk)
    change = LeaderChange.objects.filter(studio=studio, pk=change_id).first()
    if change is None:
        raise Http404

    def run(studio: Studio, form: sforms.LeaderDecisionForm) -> LeaderChange:
        change.studio = studio
        return actions.do_decide_leader_change(change, actor=request.user,
                                               approve=form.cleaned_data["decision"] == "approve",
                                               opinion=form.cleaned_data["opinion"])

    return _act(request, pk, permission="studio.manage", name=f"decide_{change.pk}", anchor="leader", run=run,
                form=lambda s: sforms.LeaderDecisionForm(request.POST, prefix=f"decide-{change.pk}"),
                done=lambda c: _("领办人变更：%(state)s。") % {"state": c.get_state_display()})


# --- Assessment and revocation: pages of their own ---------------------------------------------------

def _cycle_years(studio: Studio, period: int) -> list[int]:
    """The years an assessment of `period` looks back on: its cycle (温州/呼和浩特 2 years), from
    establishment at the earliest."""
    cycle = studio.policy.assessment.cycle_years or 1
    first = max(studio.established_on.year, period - cycle + 1)
    return list(range(first, period + 1)) or [period]


@login_required
@require_http_methods(["GET", "POST"])
def studio_assessment(request: HttpRequest, pk: int) -> HttpResponse:
    studio = _studio(request, pk)
    access.require(request.user, "studio.manage", studio)
    this_year = timezone.localdate().year
    period = _year_param(request, this_year, "period", first=studio.established_on.year, last=this_year)
    form = sforms.AssessmentForm(request.POST or None, studio=studio, initial={"period": period})
    if request.method == "POST" and form.is_valid():
        try:
            _refuse_if_closed(studio)
            assessment = actions.do_record_assessment(studio, actor=request.user, **form.action_kwargs())
        except ValidationError as exc:
            _attach(form, exc)
        except fsm.Conflict as exc:
            form.add_error(None, str(exc))
        else:
            grade = _grade_label(studio.policy, assessment)
            total = _("，总分 %(total)s") % {"total": floatformat(assessment.total, -1)} \
                if assessment.total is not None else ""
            messages.success(request, _("已录入%(kind)s（%(period)d年度）：%(grade)s%(total)s。") % {
                "kind": _kind_label(studio.policy, assessment), "period": assessment.period, "grade": grade,
                "total": total})
            return redirect(_studio_url(studio, "assessments"))
    if form.is_bound and form.cleaned_data.get("period"):
        period = form.cleaned_data["period"]
    policy = studio.policy
    return render(request, "workshops/studio/assessment.html", {
        "studio": studio, "policy": policy, "form": form, "rows": form.rows(),
        "indicators": _indicator_rows(studio, _cycle_years(studio, period)), "period": period,
        "periods": list(range(this_year, studio.established_on.year - 1, -1)),
        "assessments": [{"a": a, "grade": _grade_label(policy, a), "kind": _kind_label(policy, a)}
                        for a in studio.assessments.all()],
        "milestones": policy.acceptance.milestones, "rule": policy.assessment,
        "table": policy.assessment.scoring,
    })


@login_required
@require_http_methods(["GET", "POST"])
def studio_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    studio = _studio(request, pk)
    access.require(request.user, "studio.revoke", studio)
    policy = studio.policy
    initial: dict[str, Any] = {"decided_on": timezone.localdate()}
    if studio.revocation_proposed_at and any(g.code == "consecutive_assessment_failures"
                                             for g in policy.revocation.grounds):
        initial["ground"] = "consecutive_assessment_failures"
    form = sforms.RevocationForm(request.POST or None, studio=studio, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_revoke_studio(studio, actor=request.user, **form.action_kwargs())
        except ValidationError as exc:
            _attach(form, exc)
        except fsm.Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已撤销“%(name)s”，通报已在公开页面发布。") % {"name": studio.name})
            return redirect(_studio_url(studio, "revocation"))
    return render(request, "workshops/studio/revoke.html", {
        "studio": studio, "policy": policy, "form": form, "rule": policy.revocation,
        "consequences": [policy_vocab.REVOCATION_CONSEQUENCES[c] for c in policy.revocation.consequences],
        "closed": studio.state_info.terminal,
        "failed": [{"a": a, "kind": _kind_label(policy, a)} for a in studio.assessments.all() if not a.passed],
    })


# --- 郑州 第十一条(五): the agency forwards the year's plans ---------------------------------------------

def _aggregation_policy(city: Any) -> Policy | None:
    """The city's policy in force, if it has the agency forward the plans; None otherwise."""
    if city is None:
        return None
    try:
        policy = get_policy(city.code)
    except PolicyNotFound:
        return None
    return policy if policy.annual_plan.aggregation is not None else None


@login_required
@require_http_methods(["GET", "POST"])
def plan_forward(request: HttpRequest) -> HttpResponse:
    user = request.user
    city = user.city if access.is_active_user(user) else None
    access.require(user, "plan.forward", city)
    today = timezone.localdate()
    policy = _aggregation_policy(city)
    form = sforms.ForwardForm(request.POST or None, initial={"year": today.year})
    year = _year_param(request, today.year)
    if request.method == "POST":
        if policy is None:
            form.add_error(None, _("本市现行办法没有年度计划汇总上报环节。"))
        elif form.is_valid():
            year = form.cleaned_data["year"]
            try:
                aggregation = actions.do_forward_plans(city, actor=user, year=year)
            except ValidationError as exc:
                _attach(form, exc)
            except calendar.CalendarDataMissing as exc:
                form.add_error(None, str(exc))
            else:
                late = _("（逾期上报）") if aggregation.is_late else ""
                messages.success(request, _("%(year)d年度工作计划已汇总上报，共 %(n)d 份%(late)s。") % {
                    "year": year, "n": aggregation.plan_count, "late": late})
                return redirect(reverse("workshops:plan_forward") + f"?year={year}")
    try:
        due = _fixed_due(policy.plan_aggregation_deadline(year)) if policy is not None else None
    except calendar.CalendarDataMissing:
        due = None
    studios = (access.visible(user, _studios()).exclude(state=StudioState.REVOKED)
               .prefetch_related(Prefetch("plans", queryset=AnnualPlan.objects.filter(year=year),
                                          to_attr="year_plans")).order_by("name", "pk"))
    rows = [{"studio": s, "plan": plan_status(s, year, (s.year_plans or [None])[0], today)} for s in studios]
    return render(request, "workshops/studio/plans.html", {
        "policy": policy, "form": form, "year": year, "due": due, "rows": rows, "today": today,
        "aggregation": PlanAggregation.objects.filter(city=city, year=year).first(),
        "filed": sum(1 for r in rows if r["plan"].plan), "years": list(range(today.year + 1, today.year - 5, -1)),
        "pending": sum(1 for r in rows if r["plan"].plan and not r["plan"].plan.forwarded_at),
    })

