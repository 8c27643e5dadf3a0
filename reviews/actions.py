"""Every judging step: one function each (STYLE.md §3)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import access, audit, fsm
from portal.models import User
from portal.notifications import notify
from portal.roles import Role
from reviews import scoring
from reviews.models import Assignment, OpinionRequest, Panel, ReviewStep, Score
from workshops.actions import next_actors, stage_due_on
from workshops.models import Application, Round
from workshops.states import AppState, info

Outcome = ReviewStep.Outcome
METHODS = {Outcome.PASSED: "pass_stage", Outcome.RETURNED: "return_for_revision", Outcome.REJECTED: "reject",
           Outcome.BACKUP: "place_on_backup_list"}
OUTCOMES_BY_STAGE: dict[str, tuple[str, ...]] = {
    "formal_review": (Outcome.PASSED, Outcome.RETURNED, Outcome.REJECTED),
    "aggregation": (Outcome.PASSED, Outcome.RETURNED, Outcome.REJECTED),
    "opinion": (Outcome.PASSED, Outcome.REJECTED),
    "decision": (Outcome.PASSED, Outcome.BACKUP, Outcome.REJECTED),
}


def _after_move(app: Application, actor: User, on: date) -> None:
    """Set the new stage's due date and tell whoever acts next (or the unit)."""
    app.stage_due_on = stage_due_on(app, on)
    app.save(update_fields=["stage_due_on"])
    url = reverse("reviews:application", args=[app.pk])
    if app.state == AppState.APPROVED:
        # Approved is not the end of the bureau's work: the city still has to publish the 发文设立.
        city_staff = User.objects.filter(role=Role.CITY, city_id=app.city_id, is_active=True)
        notify(city_staff, "application.approved",
               _("已批准，待发文设立：%(name)s") % {"name": app.studio_name},
               _("请在发文设立页面登记设立文号。"), reverse("reviews:establish", args=[app.round_id]))
    elif app.state in (AppState.RETURNED, AppState.REJECTED, AppState.BACKUP):
        units = User.objects.filter(role=Role.UNIT, organization_id=app.organization_id, is_active=True)
        notify(units, f"application.{app.state}",
               _("您的申报“%(name)s”：%(state)s") % {"name": app.studio_name, "state": app.get_state_display()},
               _("请登录平台查看审查意见。"), reverse("workshops:detail", args=[app.pk]))
    else:
        notify(next_actors(app), "application.stage",
               _("待办：%(name)s（%(state)s）") % {"name": app.studio_name, "state": app.get_state_display()},
               _("请在 %(due)s 前办理。") % {"due": app.stage_due_on or "—"}, url)


def do_review_stage(app: Application, *, actor: User, outcome: str, opinion: str, originals_checked: bool = False,
                    expected_version: int | None = None, on: date | None = None) -> Application:
    """One reviewer's decision on one application at its current stage."""
    on = on or timezone.localdate()
    stage = info(app.state).stage
    allowed = OUTCOMES_BY_STAGE.get(stage, ())
    errors: dict[str, str] = {}
    if outcome not in allowed:
        errors["outcome"] = _("本环节不能作出该处理。")
    if outcome != Outcome.PASSED and not opinion.strip():
        errors["opinion"] = _("退回、不通过或列入备选时必须填写理由。")
    if (outcome == Outcome.PASSED and stage == "formal_review" and app.policy.formal_review_checks_originals
            and not originals_checked):
        errors["originals_checked"] = _("本市办法要求审核证明材料原件（%(article)s），请核对原件后勾选。") % {
            "article": app.policy.stage("formal_review").article}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        fresh = fsm.transition(app, METHODS[outcome], actor=actor, permission="application.review",
                               action=f"review.{stage}.{outcome}", reason=opinion, expected_version=expected_version,
                               data={"originals_checked": originals_checked})
        ReviewStep.objects.create(application=fresh, stage=stage, outcome=outcome, opinion=opinion,
                                  originals_checked=originals_checked, actor=actor, actor_role=actor.role)
        _after_move(fresh, actor, on)
    return fresh


# --- expert review ----------------------------------------------------------------------------------

@transaction.atomic
def do_create_panel(rnd: Round, *, actor: User, name: str, due_on: date | None = None) -> Panel:
    access.require(actor, "panel.manage", rnd)
    panel = Panel.objects.create(round=rnd, name=name, due_on=due_on, created_by=actor)
    audit.record(actor, "panel.create", panel)
    return panel


@transaction.atomic
def do_assign_expert(panel: Panel, app: Application, expert: User, *, actor: User) -> Assignment:
    access.require(actor, "panel.manage", panel)
    if panel.is_closed:
        raise ValidationError(_("专家组评审已结束，不能再分配。"))
    if app.round_id != panel.round_id or app.state != AppState.EXPERT_REVIEW:
        raise ValidationError(_("只能分配本批次处于专家评审环节的申报。"))
    if expert.role != Role.EXPERT or expert.city_id != panel.round.city_id or not expert.is_active:
        raise ValidationError({"expert": _("请选择本市在册的评审专家。")})
    if expert.organization_id and expert.organization_id == app.organization_id:
        raise ValidationError({"expert": _("专家%(name)s与申报单位为同一单位，应当回避，不能分配。")
                               % {"name": expert}})
    assignment, created = Assignment.objects.get_or_create(panel=panel, application=app, expert=expert)
    if created:
        audit.record(actor, "panel.assign", app, data={"expert": expert.username, "panel": panel.pk})
        notify([expert], "assignment.new", _("新的评审任务：%(name)s") % {"name": app.studio_name},
               _("请在 %(due)s 前完成评分。") % {"due": panel.due_on or "—"},
               reverse("reviews:assignment", args=[assignment.pk]))
    return assignment


@transaction.atomic
def do_declare_conflict(assignment: Assignment, *, actor: User, note: str) -> Assignment:
    """The expert recuses: any relation with the unit or the leader besides the same organization."""
    access.require(actor, "assignment.score", assignment)
    if not note.strip():
        raise ValidationError({"conflict_note": _("请说明回避理由。")})
    assignment.conflict_declared, assignment.conflict_note = True, note.strip()[:200]
    assignment.save(update_fields=["conflict_declared", "conflict_note"])
    audit.record(actor, "assignment.recuse", assignment.application, reason=note)
    return assignment


def do_submit_scores(assignment: Assignment, *, actor: User, scores: dict[str, Any], comment: str = "") -> Assignment:
    """Score every criterion of the city's rubric, each between 0 and its weight."""
    with transaction.atomic():
        assignment = fsm.lock(assignment)
        access.require(actor, "assignment.score", assignment)
        rubric = assignment.application.policy.expert_rubric
        errors: dict[str, str] = {}
        values: dict[str, Decimal] = {}
        for criterion in rubric.criteria:
            raw = scores.get(criterion.code)
            try:
                value = Decimal(str(raw)).quantize(Decimal("0.1"))
                if not value.is_finite():  # "NaN" quantizes quietly, then raises when compared below
                    raise InvalidOperation
            except (InvalidOperation, TypeError, ValueError):
                errors[criterion.code] = _("“%(label)s”请填写分数。") % {"label": criterion.label}
                continue
            if not (0 <= value <= criterion.weight):
                errors[criterion.code] = _("“%(label)s”的得分应在 0 到 %(max)d 之间。") % {
                    "label": criterion.label, "max": criterion.weight}
            values[criterion.code] = value
        if errors:
            raise ValidationError(errors)
        Score.objects.filter(assignment=assignment).delete()
        Score.objects.bulk_create([Score(assignment=assignment, criterion=c, value=v) for c, v in values.items()])
        assignment.comment, assignment.submitted_at = comment, timezone.now()
        assignment.save(update_fields=["comment", "submitted_at"])
        audit.record(actor, "assignment.score", assignment.application,
                     data={"total": str(sum(values.values(), Decimal(0)))})
        notify(User.objects.filter(role=Role.CITY, city_id=assignment.panel.round.city_id, is_active=True),
               "assignment.scored", _("专家已提交评分：%(name)s") % {"name": assignment.application.studio_name},
               _("专家组全部评分提交后可结束评审。"), reverse("reviews:panel", args=[assignment.panel_id]))
    return assignment


def do_close_panel(panel: Panel, *, actor: User, on: date | None = None) -> list[scoring.Ranked]:
    """Aggregate, rank, and move the top `quota` on to the next stage; the rest form the backup list."""
    on = on or timezone.localdate()
    with transaction.atomic():
        panel = fsm.lock(panel)
        access.require(actor, "panel.manage", panel)
        if panel.is_closed:
            raise ValidationError(_("该专家组评审已经结束。"))
        # An application withdrawn (or moved on by another panel) while its experts scored is no
        # longer this panel's to rank; its assignments neither block the close nor take a place.
        assignments = [a for a in panel.assignments.select_related("application").prefetch_related("scores")
                       if a.application.state == AppState.EXPERT_REVIEW]
        pending = [a for a in assignments if not a.conflict_declared and a.submitted_at is None]
        if pending:
            raise ValidationError(_("尚有 %(n)d 项评审任务未提交评分：%(who)s。") % {
                "n": len(pending), "who": "、".join(f"{a.expert}（{a.application}）" for a in pending)})
        by_app: dict[int, list[Decimal]] = {}
        apps: dict[int, Application] = {}
        for a in assignments:
            apps[a.application_id] = a.application
            if not a.conflict_declared:
                by_app.setdefault(a.application_id, []).append(a.total or Decimal(0))
        unscored = [apps[pk] for pk in apps if pk not in by_app]
        if unscored:
            raise ValidationError(_("以下申报没有有效评分（专家全部回避），请增派专家：%(list)s。") % {
                "list": "、".join(str(a) for a in unscored)})
        totals = {pk: scoring.aggregate(v) for pk, v in by_app.items()}
        quota = panel.round.quota
        if quota is not None:
            # The quota is the round's, not each panel's: places taken by earlier panels count.
            taken = ReviewStep.objects.filter(application__round_id=panel.round_id, stage="expert_review",
                                              outcome=Outcome.PASSED).values("application").distinct().count()
            quota = max(0, quota - taken)
        ranked = scoring.rank(totals, quota, tie_break={pk: apps[pk].submitted_at for pk in apps})
        for r in ranked:
            app = apps[r.application_id]
            Application.objects.filter(pk=app.pk).update(score=r.score, rank=r.rank)
            method = "pass_stage" if r.selected else "place_on_backup_list"
            moved = fsm.transition(app, method, actor=actor, permission="application.review",
                                   action="review.expert_review." + ("passed" if r.selected else "backup"),
                                   data={"score": str(r.score), "rank": r.rank})
            ReviewStep.objects.create(
                application=moved, stage="expert_review",
                outcome=Outcome.PASSED if r.selected else Outcome.BACKUP,
                opinion=_("专家评审得分 %(score)s，排名第 %(rank)d。") % {"score": r.score, "rank": r.rank},
                actor=actor, actor_role=actor.role)
            _after_move(moved, actor, on)
        panel.closed_at = timezone.now()
        panel.save(update_fields=["closed_at"])
        audit.record(actor, "panel.close", panel, data={"ranked": len(ranked)})
    return ranked


# --- opinion solicitation and decision ----------------------------------------------------------------

@transaction.atomic
def do_record_opinion(rnd: Round, *, actor: User, department: str, response: str, due_on: date,
                      objects_to: list[Application] | None = None) -> OpinionRequest:
    access.require(actor, "panel.manage", rnd)
    if not department.strip():
        raise ValidationError({"department": _("请填写征求意见部门。")})
    req = OpinionRequest.objects.create(round=rnd, department=department.strip(), due_on=due_on,
                                        response=response, responded_at=timezone.now() if response else None,
                                        recorded_by=actor)
    if objects_to:
        req.objects_to.set(objects_to)
    audit.record(actor, "opinion.record", req, reason=response)
    return req


def do_confirm_list(rnd: Round, *, actor: User, opinion: str, on: date | None = None) -> list[Application]:
    """The decision makers confirm the whole proposed list for public notice (e.g. 郑州 第七条, 呼和浩特 第九条(三))."""
    access.require(actor, "round.decide", rnd)
    if not opinion.strip():
        raise ValidationError({"opinion": _("请填写会议研究意见（如会议名称、日期和结论）。")})
    moved = []
    with transaction.atomic():
        for app in Application.objects.filter(round=rnd, state=AppState.DECISION).order_by("rank", "pk"):
            moved.append(do_review_stage(app, actor=actor, outcome=Outcome.PASSED, opinion=opinion, on=on))
    return moved
