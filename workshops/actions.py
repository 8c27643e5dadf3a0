"""Every user-visible change to a round or an application: one function each (STYLE.md §3)."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import access, audit, calendar, fsm
from portal.models import City, Person, User
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

CONSENT_VERSION = "2026-1"


class NotEligible(Exception):
    def __init__(self, problems: list[eligibility.Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def stage_due_on(app: Application, on: date) -> date | None:
    """The due date of the stage the application has just entered, in working days (policy)."""
    stage = state_info(app.state).stage
    days = app.policy.working_days(stage) if stage else None
    return calendar.add_working_days(on, days) if days else None


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
    person = _person_for(fresh, id_number, attrs)
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


def _person_for(app: Application, id_number: str, attrs: dict[str, Any]) -> Person:
    """Find a person by 身份证号 (blind index) or register them, with what the unit entered.

    A person already registered with another unit is not touched: otherwise any unit could
    overwrite (and then reveal) another unit's staff details by typing their ID number.
    """
    person = Person.objects.by_id_number(id_number).first() or Person(id_number=id_number)
    if person.pk and person.organization_id not in (None, app.organization_id):
        raise ValidationError({"id_number": _("该身份证号对应的人员登记在其他单位。如其已调入本单位，"
                                              "请联系市人社局核实变更后再填报。")})
    for key, value in attrs.items():
        setattr(person, key, value)
    if person.organization_id is None:
        person.organization = app.organization
    person.full_clean(exclude=["id_hash", "sex", "birth_date"])
    person.save()
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
    person = _person_for(fresh, id_number, attrs)
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
