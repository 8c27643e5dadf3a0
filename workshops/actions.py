"""Every user-visible change to a round or an application: one function each (STYLE.md §3)."""
from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import access, audit, calendar, fsm
from portal.models import City, Organization, Person, User
from portal.notifications import notify
from portal.policies import PolicyNotFound, get_policy
from portal.roles import Role
from workshops import eligibility
from workshops.models import (
    Application,
    ApplicationMember,
    ApplicationProject,
    ApplicationRevision,
    Attachment,
    Round,
)
from workshops.rules import acting_role
from workshops.states import AppState
from workshops.states import info as state_info
from workshops.uploads import check_upload

logger = logging.getLogger(__name__)
CONSENT_VERSION = "2026-1"


class NotEligible(Exception):
    def __init__(self, problems: list[eligibility.Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def stage_due_on(app: Application, on: date) -> date | None:
    """The due date of the stage the application has just entered, in working days (policy)."""
    stage = state_info(app.state).stage
    days = app.policy.working_days(stage) if stage else None
    if not days:
        return None
    try:
        return calendar.add_working_days(on, days)
    except calendar.CalendarDataMissing as exc:
        # The work goes on without a due date rather than stopping the unit or the reviewer; the
        # administrators are told to enter the missing year (the daily sweep repeats the warning).
        logger.warning("no due date for application %s: %s", app.pk, exc)
        return None


def next_actors(app: Application) -> list[User]:
    role = acting_role(app)
    if role is None:
        return []
    users = User.objects.filter(role=role, city_id=app.city_id, is_active=True)
    if role == "district":
        users = users.filter(district_id=app.district_id)
    return list(users)


@transaction.atomic
def do_open_round(city: City, *, actor: User, year: int, title: str, opens_on: date, closes_on: date) -> Round:
    access.require(actor, "round.open", city)
    try:
        policy = get_policy(city.code, opens_on)
    except PolicyNotFound:
        policy = None
    if policy is None or not policy.round_open(opens_on):
        until = City.objects.get(pk=city.pk).policy_versions.order_by("-effective_from").values_list(
            "effective_until", flat=True).first()
        raise ValidationError(_("%(city)s现行管理办法已于%(until)s到期，不能开启新一轮申报，请先载入新版本办法。")
                              % {"city": city.name, "until": until or "—"})
    if closes_on < opens_on:
        raise ValidationError({"closes_on": _("截止日期不能早于开始日期。")})
    existing = Round.objects.filter(city=city, year=year).count()
    if existing >= policy.rounds_per_year:
        raise ValidationError(_("%(city)s每年申报评定%(n)d次，%(year)d年已开启%(existing)d批。")
                              % {"city": city.name, "n": policy.rounds_per_year, "year": year, "existing": existing})
    rnd = Round.objects.create(city=city, year=year, title=title, opens_on=opens_on, closes_on=closes_on,
                               policy_version=policy.version, quota=policy.yearly_quota)
    audit.record(actor, "round.open", rnd, data={"policy_version": policy.version})
    return rnd


@transaction.atomic
def do_create_application(rnd: Round, *, actor: User) -> Application:
    access.require(actor, "application.create", rnd)
    org = actor.organization
    app = Application.objects.create(round=rnd, organization=org, city_id=org.city_id, district_id=org.district_id,
                                     created_by=actor)
    audit.record(actor, "application.create", app)
    return app


@transaction.atomic
def do_set_leader(app: Application, *, actor: User, id_number: str, **attrs: Any) -> Person:
    """Find the leader by 身份证号 (blind index) or register them; update what the unit entered."""
    fresh = _editable(app, actor)
    person = _person_for(fresh.organization, id_number, attrs)
    fresh.leader = person
    fresh.save(update_fields=["leader"])
    audit.record(actor, "application.leader", fresh, data={"person": person.pk})
    return person


@transaction.atomic
def do_upload_attachment(app: Application, *, actor: User, kind: str, file: UploadedFile) -> Attachment:
    access.require(actor, "application.edit", app)
    material = next((m for m in app.policy.materials_for(app.organization.kind) if m.code == kind), None)
    if material is None:
        raise ValidationError({"kind": _("本市办法未要求此类材料。")})
    checked = check_upload(file, material.label)
    attachment = Attachment.objects.create(
        application=app, kind=kind, file=file, original_name=file.name[:200], content_type=checked.content_type,
        size=checked.size, sha256=checked.sha256, uploaded_by=actor)
    audit.record(actor, "attachment.upload", app, data={"kind": kind, "sha256": checked.sha256, "size": checked.size})
    return attachment


@transaction.atomic
def do_delete_attachment(attachment: Attachment, *, actor: User) -> None:
    access.require(actor, "application.edit", attachment.application)
    audit.record(actor, "attachment.delete", attachment.application,
                 data={"kind": attachment.kind, "sha256": attachment.sha256})
    attachment.file.delete(save=False)
    attachment.delete()


@transaction.atomic
def do_record_consent(app: Application, *, actor: User) -> Application:
    access.require(actor, "application.edit", app)
    app.consent_version, app.consented_at = CONSENT_VERSION, timezone.now()
    app.save(update_fields=["consent_version", "consented_at"])
    audit.record(actor, "application.consent", app, data={"version": CONSENT_VERSION})
    return app


def do_submit_application(app: Application, *, actor: User, on: date | None = None,
                          expected_version: int | None = None) -> Application:
    """Check completeness and eligibility (all problems at once), then start the first review stage."""
    on = on or timezone.localdate()
    with transaction.atomic():
        fresh = fsm.lock(app)
        if not access.can(actor, "application.submit", fresh):
            raise PermissionDenied
        problems = eligibility.check(fresh, on)
        if problems:
            raise NotEligible(problems)
        number = fresh.revisions.count() + 1
        ApplicationRevision.objects.create(application=fresh, number=number, data=fresh.snapshot(),
                                           submitted_at=timezone.now())

        fresh = fsm.transition(fresh, "submit", actor=actor, permission="application.submit",
                               action="application.submit", expected_version=expected_version,
                               update_fields=("submitted_at",), data={"revision": number})
        fresh.stage_due_on = stage_due_on(fresh, on)
        fresh.save(update_fields=["stage_due_on"])
        notify(next_actors(fresh), "application.submitted",
               _("新的技能大师工作室申报待审查：%(name)s") % {"name": fresh.studio_name},
               _("%(org)s 提交了申报，请在 %(due)s 前办理。") % {"org": fresh.organization.name,
                                                          "due": fresh.stage_due_on or "—"},
               reverse("reviews:application", args=[fresh.pk]))
    return fresh


def do_withdraw_application(app: Application, *, actor: User, reason: str,
                            expected_version: int | None = None) -> Application:
    if not reason.strip():
        raise ValidationError({"reason": _("请填写撤回理由。")})
    return fsm.transition(app, "withdraw", actor=actor, permission="application.withdraw",
                          action="application.withdraw", reason=reason, expected_version=expected_version)


# --- Draft editing: members, projects, the form's steps ---------------------------------------------
# These lock the application first: a second user of the same unit may have submitted it a moment
# ago, and a draft save must never change what was submitted.

DRAFT_FIELDS = frozenset({
    "studio_name", "occupation", "category", "site_address", "site_area", "equipment", "funding_commitment",
    "education_fund_share", "necessity", "goals", "work_plan", "support_measures", "declarations",
    "leader_achievements", "leader_achievements_text",
})


def _editable(app: Application, actor: User) -> Application:
    fresh = fsm.lock(app)
    access.require(actor, "application.edit", fresh)
    return fresh


def _person_for(organization: Organization, id_number: str, attrs: dict[str, Any]) -> Person:
    """Find a person by 身份证号 (blind index) or register them, with what the unit entered.

    A person already registered with another unit is not touched: otherwise any unit could
    overwrite (and then reveal) another unit's staff details by typing their ID number.
    """
    person = Person.objects.by_id_number(id_number).first() or Person(id_number=id_number)
    prepare_person(person, organization, attrs)
    person.save()
    return person


def prepare_person(person: Person, organization: Organization, attrs: dict[str, Any],
                   exclude: tuple[str, ...] = ()) -> Person:
    """The rules of `_person_for` without its lookup and save, so an import can apply them to many
    people found in one query and written with bulk_create (`exclude`: fields the caller vouches for)."""
    if person.pk and person.organization_id not in (None, organization.pk):
        raise ValidationError({"id_number": _("该身份证号对应的人员登记在其他单位。如其已调入本单位，"
                                              "请联系市人社局核实变更后再填报。")})
    for key, value in attrs.items():
        setattr(person, key, value)
    if person.organization_id is None:
        person.organization = organization
    person.full_clean(exclude=["id_hash", "sex", "birth_date", *exclude])
    return person


@transaction.atomic
def do_update_application(app: Application, *, actor: User, **values: Any) -> Application:
    """Save one step of the draft: incomplete is fine, completeness and eligibility are judged on submit."""
    unknown = set(values) - DRAFT_FIELDS
    if unknown:
        raise ValueError(f"not a draft field: {sorted(unknown)}")
    fresh = _editable(app, actor)
    changed = sorted(f for f, v in values.items() if getattr(fresh, f) != v)
    for field in changed:
        setattr(fresh, field, values[field])
    if changed:
        fresh.save(update_fields=changed)
        audit.record(actor, "application.edit", fresh, data={"fields": changed})
    return fresh


@transaction.atomic
def do_add_member(app: Application, *, actor: User, role: str, id_number: str, **attrs: Any) -> ApplicationMember:
    fresh = _editable(app, actor)
    person = _person_for(fresh.organization, id_number, attrs)
    if person.pk == fresh.leader_id:
        raise ValidationError({"id_number": _("此人是本工作室的领办人，不必再作为成员添加。")})
    if fresh.members.filter(person=person).exists():
        raise ValidationError({"id_number": _("此人已是本工作室成员。")})
    member = ApplicationMember.objects.create(application=fresh, person=person, role=role)
    audit.record(actor, "application.member_add", fresh, data={"person": person.pk, "role": role})
    return member


@transaction.atomic
def do_remove_member(member: ApplicationMember, *, actor: User) -> None:
    app = _editable(member.application, actor)
    audit.record(actor, "application.member_remove", app, data={"person": member.person_id, "role": member.role})
    member.delete()


@transaction.atomic
def do_add_project(app: Application, *, actor: User, name: str, objective: str, content: str = "",
                   duration_months: int = 36) -> ApplicationProject:
    fresh = _editable(app, actor)
    project = ApplicationProject.objects.create(application=fresh, name=name, objective=objective, content=content,
                                                duration_months=duration_months)
    audit.record(actor, "application.project_add", fresh, data={"project": project.pk, "name": name})
    return project


@transaction.atomic
def do_delete_project(project: ApplicationProject, *, actor: User) -> None:
    app = _editable(project.application, actor)
    audit.record(actor, "application.project_delete", app, data={"project": project.pk, "name": project.name})
    project.delete()


# --- Audited reads (个人信息保护法 第五十一条: access to personal information is logged) ---------------

def do_reveal_person(app: Application, person: Person, *, actor: User, ip: str | None = None) -> Person:
    """Show one person's full 身份证号 and 手机号: an explicit, audited act, never the default view."""
    access.require(actor, "person.reveal", app)
    role = "leader" if person.pk == app.leader_id else "member"
    audit.record(actor, "person.reveal", app, data={"person": person.pk, "role": role}, ip=ip)
    return person


def do_download_attachment(attachment: Attachment, *, actor: User, ip: str | None = None) -> Attachment:
    access.require(actor, "application.view", attachment.application)
    audit.record(actor, "attachment.download", attachment.application,
                 data={"attachment": attachment.pk, "kind": attachment.kind, "sha256": attachment.sha256}, ip=ip)
    return attachment


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February in a common year
        return d.replace(year=d.year + years, day=28)


def do_establish_studios(rnd: Round, *, actor: User, doc_number: str, established_on: date) -> list[Any]:
    """发文设立: every approved application of the round becomes a Studio; the plaque is recorded as due
    now or, where the policy says so (郑州 第十二条), after acceptance."""
    from workshops.models import Plaque, Studio

    access.require(actor, "studio.establish", rnd)
    if not doc_number.strip():
        raise ValidationError({"doc_number": _("请填写设立文件文号。")})
    policy = rnd.policy
    created = []
    with transaction.atomic():
        apps = (Application.objects.select_for_update(of=("self",))
                .filter(round=rnd, state=AppState.APPROVED, studio__isnull=True)
                .select_related("organization", "leader").order_by("rank", "pk"))
        for app in apps:
            years = policy.support_period_years
            studio = Studio.objects.create(
                application=app, city_id=app.city_id, district_id=app.district_id, organization=app.organization,
                leader=app.leader, name=app.studio_name, occupation=app.occupation, category=app.category,
                policy_version=rnd.policy_version, established_on=established_on, establishment_doc=doc_number,
                support_ends_on=_add_years(established_on, years) if years else None)
            if policy.plaque_timing == "establishment":
                seq = Plaque.objects.filter(studio__city_id=app.city_id).count() + 1
                Plaque.objects.create(studio=studio, number=f"{rnd.city.code.upper()}-{established_on.year}-{seq:04d}",
                                      issuing_body=policy.plaque.issued_by)
            audit.record(actor, "studio.establish", studio, reason=doc_number, data={"application": app.pk})
            units = User.objects.filter(role=Role.UNIT, organization_id=app.organization_id, is_active=True)
            notify(units, "studio.established", _("技能大师工作室已发文设立：%(name)s") % {"name": studio.name},
                   _("设立文号：%(doc)s") % {"doc": doc_number})
            created.append(studio)
    return created


# --- the studio's life ------------------------------------------------------------------------------

def _departments(codes: Any) -> str:
    """Departments named as the documents name them (财政部门、教育部门), never by their codes."""
    from portal.policies import vocab

    return "、".join(str(vocab.DEPARTMENTS.get(c, c)) for c in sorted(codes))


def _studio_locked(studio: Any, actor: User, permission: str) -> Any:
    fresh = fsm.lock(studio)
    access.require(actor, permission, fresh)
    return fresh


def plan_due_on(studio: Any, year: int) -> date | None:
    """The plan's deadline: the policy's date, moved to the next working day if it is a rest day."""
    raw = studio.policy.plan_deadline(year)
    return calendar.due_date_for_fixed_day(year, raw.month, raw.day) if raw else None


@transaction.atomic
def do_file_plan(studio: Any, *, actor: User, year: int, content: str, on: date | None = None) -> Any:
    """File (or re-file) the year's work plan. Late is marked, never refused (平顶山 第八条(五), 郑州 第九条(六))."""
    from workshops.models import AnnualPlan

    studio = _studio_locked(studio, actor, "studio.records")
    if not content.strip():
        raise ValidationError({"content": _("请填写年度带徒传技和技术攻关计划。")})
    on = on or timezone.localdate()
    try:
        due = plan_due_on(studio, year)
    except calendar.CalendarDataMissing:
        due = None  # the plan is kept; lateness is judged once the year's calendar is entered
    plan, created = AnnualPlan.objects.get_or_create(
        studio=studio, year=year, defaults={"content": content, "due_on": due, "filed_at": timezone.now(),
                                            "filed_by": actor, "is_late": bool(due and on > due)})
    if not created:
        plan.content, plan.filed_at, plan.filed_by = content, timezone.now(), actor
        plan.save(update_fields=["content", "filed_at", "filed_by"])
    audit.record(actor, "plan.file", studio, data={"year": year, "late": plan.is_late, "due_on": due})
    return plan


@transaction.atomic
def do_forward_plans(city: City, *, actor: User, year: int, on: date | None = None) -> Any:
    """郑州 第十一条(五): the agency forwards the year's plans to the city bureau by its date."""
    from workshops.models import AnnualPlan, PlanAggregation

    access.require(actor, "plan.forward", city)
    policy = get_policy(city.code, on)
    raw = policy.plan_aggregation_deadline(year)
    if raw is None:
        raise ValidationError(_("本市办法没有年度计划汇总上报环节。"))
    on = on or timezone.localdate()
    due = calendar.due_date_for_fixed_day(year, raw.month, raw.day)
    plans = AnnualPlan.objects.filter(studio__city=city, year=year, forwarded_at__isnull=True)
    count = plans.update(forwarded_at=timezone.now())
    aggregation, _created = PlanAggregation.objects.update_or_create(
        city=city, year=year, defaults={"due_on": due, "submitted_at": timezone.now(), "submitted_by": actor,
                                        "plan_count": AnnualPlan.objects.filter(studio__city=city, year=year).count(),
                                        "is_late": on > due})
    audit.record(actor, "plan.forward", aggregation, data={"year": year, "forwarded": count, "late": on > due})
    notify(User.objects.filter(role=Role.CITY, city=city, is_active=True), "plan.forwarded",
           _("%(year)d年度技能大师工作室工作计划已汇总上报（%(n)d份）") % {"year": year, "n": aggregation.plan_count})
    return aggregation


RECORD_FIELDS = {"date", "title", "person_name", "level", "certificate_no", "is_new_certificate", "agreement_on",
                 "detail"}


@transaction.atomic
def do_add_record(studio: Any, *, actor: User, kind: str, **values: Any) -> Any:
    from portal.policies import vocab
    from workshops.models import StudioRecord

    studio = _studio_locked(studio, actor, "studio.records")
    if kind not in vocab.RECORD_KINDS:
        raise ValidationError({"kind": _("请选择台账类别。")})
    unknown = set(values) - RECORD_FIELDS
    if unknown:
        raise ValueError(f"not a record field: {sorted(unknown)}")
    if kind == "apprentice" and not values.get("agreement_on"):
        raise ValidationError({"agreement_on": _("以师带徒须填写师带徒协议签订日期。")})
    if kind in ("apprentice", "trainee") and not values.get("person_name"):
        raise ValidationError({"person_name": _("请填写学员姓名。")})
    record = StudioRecord(studio=studio, kind=kind, created_by=actor, **values)
    record.full_clean(exclude=["studio", "created_by"])
    record.save()
    audit.record(actor, "record.add", studio, data={"kind": kind, "record": record.pk})
    return record


def _grade_scores(policy: Any, scores: dict[str, Any], bonus: Any) -> tuple[Decimal, Decimal, dict[str, str]]:
    """温州 绩效评估表: each item within its points, bonus capped (加分值不越过10分), total = items + bonus."""
    table = policy.assessment.scoring
    errors: dict[str, str] = {}
    total = Decimal(0)
    for section in table.sections:
        for item in section.items:
            raw = scores.get(item.code)
            try:
                value = Decimal(str(raw))
            except (ArithmeticError, ValueError, TypeError):
                errors[item.code] = _("“%(label)s”请填写得分。") % {"label": item.label}
                continue
            if not value.is_finite() or not 0 <= value <= item.points:
                errors[item.code] = _("“%(label)s”的得分应在 0 到 %(max)d 之间。") % {"label": item.label,
                                                                                 "max": item.points}
                continue
            total += value
    try:
        bonus_value = Decimal(str(bonus or 0))
    except (ArithmeticError, ValueError):
        bonus_value = Decimal(-1)
    if not bonus_value.is_finite() or bonus_value < 0:
        errors["bonus"] = _("加分应为不小于 0 的数。")
        bonus_value = Decimal(0)
    return total, min(bonus_value, Decimal(table.bonus_cap)), errors


def assessment_outcome(policy: Any, *, kind: str, passed: bool | None, scores: dict[str, Any] | None, bonus: Any,
                       joint_with: list[str] | None) -> tuple[str, bool, Decimal | None, Decimal]:
    """Grade code, pass, total and capped bonus of an assessment under `policy`, or ValidationError keyed by
    field (kind, joint_with, passed, bonus, scoring item codes): the rules the form and an import share."""
    from workshops.models import Assessment

    if kind not in Assessment.Kind.values:
        raise ValidationError({"kind": _("请选择考核类别。")})
    required_joint = set(policy.assessment.conducted_by.joint_with)
    if kind in (Assessment.Kind.ANNUAL, Assessment.Kind.BIENNIAL) and not required_joint <= set(joint_with or []):
        raise ValidationError({"joint_with": _("本市办法规定考核由人社部门会同%(deps)s开展（%(article)s），"
                                               "请确认会同情况。") % {"deps": _departments(required_joint),
                                  "article": policy.assessment.article}})
    if policy.assessment.scoring is not None and kind in (Assessment.Kind.ANNUAL, Assessment.Kind.BIENNIAL):
        items_total, extra, errors = _grade_scores(policy, scores or {}, bonus)
        if errors:
            raise ValidationError(errors)
        total = items_total + extra
        grade = policy.assessment.grade_for(int(total))
        return grade.code, grade.passing, total, extra
    if passed is None:
        raise ValidationError({"passed": _("请选择考核结论（合格/不合格）。")})
    return ("pass" if passed else "fail"), passed, None, Decimal(0)


def do_record_assessment(studio: Any, *, actor: User, kind: str, period: int, conducted_on: date,
                         passed: bool | None = None, scores: dict[str, Any] | None = None,
                         self_scores: dict[str, Any] | None = None, bonus: Any = 0, opinion: str = "",
                         joint_with: list[str] | None = None) -> Any:
    """Record an assessment or acceptance; move the studio where it passes an acceptance; raise a
    revocation proposal after the policy's number of consecutive failed annual assessments."""
    from workshops.models import Assessment

    with transaction.atomic():
        studio = _studio_locked(studio, actor, "studio.manage")
        policy = studio.policy
        grade_code, is_pass, total, extra = assessment_outcome(policy, kind=kind, passed=passed, scores=scores,
                                                               bonus=bonus, joint_with=joint_with)
        if Assessment.objects.filter(studio=studio, kind=kind, period=period).exists():
            raise ValidationError({"period": _("该工作室%(period)d年度的此项考核已有记录。") % {"period": period}})
        assessment = Assessment.objects.create(
            studio=studio, kind=kind, period=period, conducted_on=conducted_on, self_scores=self_scores or {},
            scores=scores or {}, bonus=extra, total=total, grade=grade_code, passed=is_pass,
            joint_with=sorted(joint_with or []), opinion=opinion, recorded_by=actor)
        audit.record(actor, "assessment.record", studio, reason=opinion,
                     data={"kind": kind, "period": period, "grade": grade_code, "total": total})
        if is_pass and kind == Assessment.Kind.MIDTERM:
            studio = fsm.transition(studio, "accept_midterm", actor=actor, permission="studio.manage",
                                    action="studio.accept_midterm")
        if is_pass and kind == Assessment.Kind.FINAL:
            studio = fsm.transition(studio, "accept", actor=actor, permission="studio.manage", action="studio.accept")
            if policy.plaque_timing == "acceptance" and not studio.plaques.exists():
                _create_plaque(studio, conducted_on)
        streak = policy.assessment.failure.consecutive_to_revoke
        if streak and kind == Assessment.Kind.ANNUAL and not is_pass:
            recent = list(Assessment.objects.filter(studio=studio, kind=kind).order_by("-period")
                          .values_list("period", "passed")[:streak])
            consecutive = len(recent) == streak and not any(p for _, p in recent) and \
                recent[0][0] - recent[-1][0] == streak - 1
            if consecutive:
                from workshops.models import Studio

                Studio.objects.filter(pk=studio.pk).update(revocation_proposed_at=timezone.now())
                audit.record(actor, "studio.revocation_proposed", studio,
                             reason=_("连续%(n)d年考核不合格（%(article)s）") % {
                                 "n": streak, "article": policy.assessment.failure.article})
                notify(User.objects.filter(role__in=[Role.CITY, Role.DECISION], city_id=studio.city_id,
                                           is_active=True), "studio.revocation_proposed",
                       _("撤销建议：%(name)s连续%(n)d年考核不合格") % {"name": studio.name, "n": streak})
    return assessment


def _create_plaque(studio: Any, issued_on: date | None) -> Any:
    from workshops.models import Plaque

    seq = Plaque.objects.filter(studio__city_id=studio.city_id).count() + 1
    year = (issued_on or studio.established_on).year
    return Plaque.objects.create(studio=studio, number=f"{studio.city.code.upper()}-{year}-{seq:04d}",
                                 issuing_body=studio.policy.plaque.issued_by, issued_on=issued_on)


def check_plaque_due(studio: Any) -> None:
    """郑州 第十二条: where the policy says so, the plaque is handed over only once the studio passed acceptance."""
    if studio.policy.plaque_timing == "acceptance" and studio.state not in ("accepted", "operating",
                                                                           "period_ended"):
        raise ValidationError(_("本市办法规定验收合格后授予牌匾（%(article)s）。") % {
            "article": studio.policy.plaque.article})


@transaction.atomic
def do_issue_plaque(studio: Any, *, actor: User, issued_on: date) -> Any:
    """Record the plaque as handed over; 郑州 第十二条: only once the studio has passed acceptance."""
    studio = _studio_locked(studio, actor, "studio.manage")
    if studio.state_info.terminal:  # revocation withdrew the plaque; a new one would undo that
        raise ValidationError(_("工作室已撤销，牌匾已收回，不能再授牌。"))
    check_plaque_due(studio)
    plaque = studio.plaques.filter(withdrawn_on__isnull=True).first() or _create_plaque(studio, None)
    plaque.issued_on = issued_on
    plaque.save(update_fields=["issued_on"])
    audit.record(actor, "plaque.issue", studio, data={"number": plaque.number, "issued_on": issued_on})
    return plaque


def checked_disbursement(studio: Any, *, subsidy: str, amount: Any, basis: str, approver: str,
                         level: int | None = None, before_revocation: bool = False, facts: Any = None) -> Decimal:
    """The amount of a payment that fits what the policy entitles the studio to so far, or ValidationError keyed
    by field: the rules the form and an import share. `before_revocation`: a past payment made before the studio
    was revoked (imports); `facts`: what the entitlement counts, when not read from the database (money.Facts)."""
    from workshops import money

    if studio.state_info.terminal and not before_revocation:
        raise ValidationError(_("工作室已撤销，停发补贴奖励。"))
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        raise ValidationError({"amount": _("请填写金额。")}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError({"amount": _("金额应大于 0。")})
    if not basis.strip() or not approver.strip():
        raise ValidationError({"basis": _("请填写拨付依据和审批人。")})
    try:
        right = money.entitlement(studio, subsidy, level=level, facts=facts)
    except KeyError:
        raise ValidationError({"subsidy": _("本市办法没有该资金项目。")}) from None
    if value > right.remaining:
        raise ValidationError({"amount": _("超出可拨付额度：%(label)s按规定至今可拨付 %(entitled)s 元，"
                                           "已拨付 %(paid)s 元，本次最多 %(left)s 元（%(article)s）。") % {
            "label": right.label, "entitled": right.entitled, "paid": right.paid, "left": right.remaining,
            "article": right.article}})
    return value


def do_record_disbursement(studio: Any, *, actor: User, subsidy: str, amount: Any, paid_on: date, basis: str,
                           approver: str, quantity: int = 1, level: int | None = None,
                           recipient: Person | None = None) -> Any:
    """Record a payment; refuse one above what the policy entitles the studio to so far."""
    from workshops.models import Disbursement

    with transaction.atomic():
        studio = _studio_locked(studio, actor, "studio.manage")
        value = checked_disbursement(studio, subsidy=subsidy, amount=amount, basis=basis, approver=approver,
                                     level=level)
        row = Disbursement.objects.create(studio=studio, subsidy=subsidy, amount=value, quantity=quantity,
                                          level=level, recipient=recipient, paid_on=paid_on, basis=basis,
                                          approver=approver, recorded_by=actor)
        audit.record(actor, "money.disburse", studio, data={"subsidy": subsidy, "amount": value, "level": level})
    return row


def do_revoke_studio(studio: Any, *, actor: User, ground: str, decided_on: date, notice_text: str,
                     joint_with: list[str] | None = None, plaque_recovered_on: date | None = None,
                     equipment_note: str = "") -> Any:
    """Revoke on one of the policy's grounds, publish the 通报, withdraw the plaque; fraud also bans the
    unit and the leader from applying (平顶山 第十四条 / 郑州 第十七条: 三年内不得参与申报)."""
    from workshops.models import Revocation

    with transaction.atomic():
        studio = _studio_locked(studio, actor, "studio.revoke")
        policy = studio.policy
        rule = policy.revocation
        chosen = next((g for g in rule.grounds if g.code == ground), None)
        if chosen is None:
            raise ValidationError({"ground": _("请选择本市办法规定的撤销情形。")})
        missing = set(rule.decided_by.joint_with) - set(joint_with or [])
        if missing:
            raise ValidationError({"joint_with": _("撤销须由%(body)s会同%(deps)s研究确定（%(article)s）。") % {
                "body": rule.decided_by.body, "deps": _departments(missing), "article": rule.decided_by.article}})
        if not notice_text.strip():
            raise ValidationError({"notice_text": _("请填写通报内容。")})
        studio = fsm.transition(studio, "revoke", actor=actor, permission="studio.revoke", action="studio.revoke",
                                reason=notice_text, data={"ground": ground})
        revocation = Revocation.objects.create(
            studio=studio, ground=ground, is_fraud=chosen.is_fraud, decided_on=decided_on,
            decision_body=rule.decided_by.body, joint_with=sorted(joint_with or []), notice_text=notice_text,
            plaque_recovered_on=plaque_recovered_on, equipment_note=equipment_note, decided_by=actor)
        studio.plaques.filter(withdrawn_on__isnull=True).update(withdrawn_on=plaque_recovered_on or decided_on)
        for sanction in revocation_sanctions(studio, chosen, decided_on):
            sanction.save()
        notify(User.objects.filter(role=Role.UNIT, organization_id=studio.organization_id, is_active=True),
               "studio.revoked", _("技能大师工作室已撤销：%(name)s") % {"name": studio.name}, notice_text[:500])
    return revocation


def revocation_sanctions(studio: Any, ground: Any, decided_on: date) -> list[Any]:
    """The bans a fraud ground brings (平顶山 第十四条 / 郑州 第十七条: 所在单位和负责人三年内不得参与申报),
    unsaved: the revocation action saves them one by one, an import in bulk."""
    from workshops.models import Sanction

    rule = studio.policy.revocation
    if not ground.is_fraud or rule.sanction is None:
        return []
    ends = _add_years(decided_on, rule.sanction.ban_years)
    reason = _("%(name)s：%(ground)s") % {"name": studio.name, "ground": ground.label}
    rows = []
    if "organization" in rule.sanction.subjects:
        rows.append(Sanction(organization_id=studio.organization_id, reason=reason, article=rule.sanction.article,
                             starts_on=decided_on, ends_on=ends))
    if "leader" in rule.sanction.subjects:
        rows.append(Sanction(person_id=studio.leader_id, reason=reason, article=rule.sanction.article,
                             starts_on=decided_on, ends_on=ends))
    return rows


def do_request_leader_change(studio: Any, *, actor: User, id_number: str, reason: str, **attrs: Any) -> Any:
    """The unit nominates a new leader meeting the same criteria (呼和浩特 第十二条(二)).

    Where the policy revokes instead (温州 第七条(四)4: 工作室领办人调离原工作单位的，取消工作室称号),
    the request is refused and the message says so.
    """
    from workshops.models import LeaderChange

    with transaction.atomic():
        studio = _studio_locked(studio, actor, "studio.records")
        rule = studio.policy.leader_change
        if rule.on_departure == "revoke":
            raise ValidationError(_("本市办法规定领办人调离原工作单位的，取消工作室称号（%(article)s），"
                                    "不能变更领办人。") % {"article": rule.article})
        if not reason.strip():
            raise ValidationError({"reason": _("请填写变更原因（如调离、退休）。")})
        if studio.leader_changes.filter(state=LeaderChange.State.REQUESTED).exists():
            raise ValidationError(_("已有待审核的领办人变更申请。"))
        person = _person_for(studio.organization, id_number, attrs)
        if person.pk == studio.leader_id:
            raise ValidationError({"id_number": _("新领办人与现领办人相同。")})
        problems = leader_problems(studio, person, timezone.localdate())
        if problems:
            raise ValidationError({"id_number": "；".join(problems)})
        change = LeaderChange.objects.create(studio=studio, old_leader=studio.leader, new_leader=person,
                                             reason=reason, requested_by=actor)
        audit.record(actor, "leader_change.request", studio, reason=reason, data={"new_leader": person.pk})
        notify(User.objects.filter(role=Role.CITY, city_id=studio.city_id, is_active=True), "leader_change.requested",
               _("领办人变更申请：%(name)s") % {"name": studio.name}, reason)
    return change


def leader_problems(studio: Any, person: Person, on: date) -> list[str]:
    """The same leader criteria as an application (skill level, retirement), by the studio's policy."""
    from portal import retirement
    from portal.models import SkillLevel as Level
    from portal.policies import vocab

    rules = studio.policy.eligibility.leader
    problems = []
    code = Level(person.skill_level).name.lower() if person.skill_level else None
    if code is None or not rules.level_meets(code):
        problems.append(_("新领办人须具有%(level)s及以上职业资格（技能等级）（%(article)s）") % {
            "level": vocab.SKILL_LEVELS[rules.min_level], "article": rules.article})
    if rules.retirement is not None and retirement.is_retired(person.birth_date, person.sex, person.job_category,
                                                               on=on):
        problems.append(_("新领办人已到法定退休年龄（%(article)s）") % {"article": rules.retirement.article})
    if person.organization_id != studio.organization_id:
        problems.append(_("新领办人应为依托单位在岗人员"))
    return problems


@transaction.atomic
def do_decide_leader_change(change: Any, *, actor: User, approve: bool, opinion: str) -> Any:
    from workshops.models import LeaderChange

    studio = _studio_locked(change.studio, actor, "studio.manage")
    change = LeaderChange.objects.select_for_update().get(pk=change.pk)
    if change.state != LeaderChange.State.REQUESTED:
        raise fsm.Conflict(_("该申请已处理。"))
    if not approve and not opinion.strip():
        raise ValidationError({"opinion": _("不予核准时请填写理由。")})
    change.state = LeaderChange.State.APPROVED if approve else LeaderChange.State.REJECTED
    change.opinion, change.decided_by, change.decided_at = opinion, actor, timezone.now()
    change.save(update_fields=["state", "opinion", "decided_by", "decided_at"])
    if approve:
        studio.leader = change.new_leader
        studio.save(update_fields=["leader"])
    audit.record(actor, f"leader_change.{change.state}", studio, reason=opinion,
                 data={"old": change.old_leader_id, "new": change.new_leader_id})
    return change


@transaction.atomic
def do_record_upgrade(studio: Any, *, actor: User, level: str, recognized_on: date, document: str) -> Any:
    from workshops.models import Upgrade

    studio = _studio_locked(studio, actor, "studio.manage")
    if level not in Upgrade.Level.values:
        raise ValidationError({"level": _("请选择认定级别。")})
    if Upgrade.objects.filter(studio=studio, level=level).exists():
        raise ValidationError({"level": _("该工作室已有此级别的认定记录。")})
    upgrade = Upgrade.objects.create(studio=studio, level=level, recognized_on=recognized_on, document=document,
                                     recorded_by=actor)
    audit.record(actor, "studio.upgrade", studio, data={"level": level, "document": document})
    return upgrade


def do_change_studio_state(studio: Any, *, actor: User, method: str, reason: str = "") -> Any:
    """start_operation, end_support_period, renew: transitions with no record of their own."""
    if method not in ("start_operation", "end_support_period", "renew"):
        raise ValueError(method)
    return fsm.transition(studio, method, actor=actor, permission="studio.manage", action=f"studio.{method}",
                          reason=reason, update_fields=("renewals",) if method == "renew" else ())
