"""Public notice (公示), objections and the notice's end: one function per change (STYLE.md §3).

The rules: 东莞 第九条(五)(六) — 公示5个工作日; 有异议的经调查异议成立且确认不符合条件的，撤消其资格，
从备选名单中择优替补，重新公示; 公示期满无异议或经调查异议不成立后发文设立. 呼和浩特 第九条(四) —
公示时间不少于5个工作日. The notice length and whether it is a minimum come from the policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import access, audit, calendar, crypto, fsm
from portal.models import User
from portal.notifications import notify
from portal.roles import Role
from reviews.actions import _after_move
from reviews.models import Notice, NoticeEntry, Objection, ObjectionState
from workshops.models import Application, Round
from workshops.states import AppState
from workshops.uploads import check_upload

OBJECTIONS_PER_HOUR = 5
OBJECTIONS_PER_DAY = 20


def _city_staff(city_id: int) -> list[User]:
    return list(User.objects.filter(role=Role.CITY, city_id=city_id, is_active=True))


def notice_end(policy: Any, starts_on: date, working_days: int | None = None) -> date:
    """The last day of a notice starting on `starts_on` (a working day counts as day 1)."""
    required = policy.notice_working_days
    days = working_days or required
    if required is None:
        raise ValidationError(_("本市办法没有公示环节。"))
    if policy.notice_days_is_minimum and days < required:
        raise ValidationError({"working_days": _("公示时间不少于%(n)d个工作日（%(article)s）。")
                               % {"n": required, "article": policy.review.notice.article}})
    if not policy.notice_days_is_minimum and days != required:
        raise ValidationError({"working_days": _("本市办法规定公示%(n)d个工作日（%(article)s）。")
                               % {"n": required, "article": policy.review.notice.article}})
    try:
        return calendar.add_working_days(starts_on, days)
    except calendar.CalendarDataMissing as exc:
        raise ValidationError({"starts_on": str(exc)}) from None


def _entry_for(notice: Notice, app: Application, position: int) -> NoticeEntry:
    category = app.policy.category(app.category) if app.category else None
    return NoticeEntry(notice=notice, application=app, position=position, studio_name=app.studio_name,
                       leader_name=app.leader.name if app.leader_id else "", organization_name=app.organization.name,
                       occupation=app.occupation, category_label=category.label if category else "",
                       district_name=app.district.name)


def do_publish_notice(rnd: Round, *, actor: User | None, starts_on: date, working_days: int | None = None,
                      title: str = "", body: str = "", contact: str = "",
                      applications: list[Application] | None = None, replaces: Notice | None = None) -> Notice:
    """Publish the round's proposed list (every application ready for notice unless given)."""
    if actor is not None:
        access.require(actor, "notice.publish", rnd)
    policy = rnd.policy
    ends_on = notice_end(policy, starts_on, working_days)
    with transaction.atomic():
        apps = applications if applications is not None else list(
            Application.objects.filter(round=rnd, state=AppState.READY_FOR_NOTICE).order_by("rank", "pk"))
        if not apps:
            raise ValidationError(_("本批次没有拟公示的申报。"))
        notice = Notice.objects.create(
            round=rnd, city=rnd.city, starts_on=starts_on, ends_on=ends_on,
            working_days=working_days or policy.notice_working_days,
            title=title or _("%(year)d年度%(city)s技能大师工作室拟设立名单公示") % {"year": rnd.year,
                                                                          "city": rnd.city.name},
            body=body, contact=contact, replaces=replaces, published_at=timezone.now(), published_by=actor)
        entries = []
        for position, app in enumerate(apps, start=1):
            app = fsm.transition(app, "start_notice", actor=actor, permission=None, action="notice.start",
                                 data={"notice": notice.pk})
            entries.append(_entry_for(notice, app, position))
        NoticeEntry.objects.bulk_create(entries)
        audit.record(actor, "notice.publish", notice, data={"starts_on": starts_on, "ends_on": ends_on,
                                                            "applications": [a.pk for a in apps]})
    return notice


def do_submit_objection(notice: Notice, *, entry: NoticeEntry, name: str, phone: str, email: str, reason: str,
                        evidence: UploadedFile | None, source_ip: str, on: date | None = None) -> Objection:
    """Anyone may object while the notice is open; outside the period the door is closed."""
    on = on or timezone.localdate()
    if not notice.is_open_on(on):
        raise ValidationError(_("该公示的异议受理期为%(start)s至%(end)s，当前不在受理期内。")
                              % {"start": notice.starts_on, "end": notice.ends_on})
    if entry.notice_id != notice.pk:
        raise ValidationError({"entry": _("请选择本公示名单中的工作室。")})
    source = crypto.blind_index(f"ip:{source_ip}")
    now = timezone.now()
    recent = Objection.objects.filter(source_hash=source)
    if (recent.filter(created_at__gte=now - timedelta(hours=1)).count() >= OBJECTIONS_PER_HOUR
            or recent.filter(created_at__gte=now - timedelta(days=1)).count() >= OBJECTIONS_PER_DAY):
        raise ValidationError(_("提交过于频繁，请稍后再试。如有紧急情况，请按公示中的联系方式反映。"))
    if evidence is not None:
        check_upload(evidence, _("证明材料"))
    with transaction.atomic():
        objection = Objection.objects.create(
            notice=notice, entry=entry, name=name.strip(), phone=phone.strip(), email=email.strip(),
            reason=reason.strip(), evidence=evidence or "", evidence_name=(evidence.name[:200] if evidence else ""),
            source_hash=source)
        audit.record(None, "objection.receive", entry.application, ip=source_ip,
                     data={"objection": objection.pk, "notice": notice.pk})
        notify(_city_staff(notice.city_id), "objection.received",
               _("收到公示异议：%(name)s") % {"name": entry.studio_name}, reason[:200],
               reverse("reviews:objection", args=[objection.pk]))
    return objection


def _objection_transition(objection: Objection, method: str, *, actor: User, findings: str) -> Objection:
    if method != "investigate" and not findings.strip():
        raise ValidationError({"findings": _("请填写调查结论。")})

    def record(o: Objection) -> None:
        o.findings, o.handled_by = findings.strip(), actor
        if method != "investigate":
            o.handled_at = timezone.now()

    return fsm.transition(objection, method, actor=actor, permission="objection.handle",
                          action=f"objection.{method}", reason=findings, before=record,
                          update_fields=("findings", "handled_by", "handled_at"))


def do_investigate_objection(objection: Objection, *, actor: User, findings: str = "") -> Objection:
    return _objection_transition(objection, "investigate", actor=actor, findings=findings)


def do_dismiss_objection(objection: Objection, *, actor: User, findings: str) -> Objection:
    return _objection_transition(objection, "dismiss", actor=actor, findings=findings)


def do_uphold_objection(objection: Objection, *, actor: User, findings: str,
                        on: date | None = None) -> tuple[Objection, Notice | None]:
    """Objection upheld: disqualify, promote the best backup, and re-notice the promoted one."""
    on = on or timezone.localdate()
    with transaction.atomic():
        objection = _objection_transition(objection, "uphold", actor=actor, findings=findings)
        app = objection.entry.application
        fsm.transition(app, "disqualify", actor=actor, permission=None, action="application.disqualify",
                       reason=findings, data={"objection": objection.pk})
        substitute = (Application.objects.filter(round_id=app.round_id, state=AppState.BACKUP)
                      .order_by("rank", "submitted_at", "pk").first())
        notice = None
        if substitute is not None and app.policy.review.notice.reserve_substitution:
            substitute = fsm.transition(substitute, "promote_from_backup", actor=actor, permission=None,
                                        action="application.promote", data={"replaces": app.pk})
            notice = do_publish_notice(app.round, actor=None, starts_on=calendar.next_working_day_on_or_after(
                on + timedelta(days=1)), applications=[substitute], replaces=objection.notice,
                title=_("%(title)s（替补）") % {"title": objection.notice.title}, contact=objection.notice.contact)
    return objection, notice


@dataclass
class CloseReport:
    closed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # notices ended but with objections still open
    moved: list[int] = field(default_factory=list)


def close_due_notices(on: date | None = None, *, dry_run: bool = False) -> CloseReport:
    """End every notice whose period is over and has no open objection (the daily sweep runs this)."""
    on = on or timezone.localdate()
    report = CloseReport()
    due = Notice.objects.published().filter(ends_on__lt=on, closed_at__isnull=True).order_by("ends_on", "pk")
    for notice in due:
        if Objection.objects.filter(notice=notice, state__in=[ObjectionState.RECEIVED,
                                                              ObjectionState.INVESTIGATING]).exists():
            report.waiting.append(notice.pk)
            continue
        report.closed.append(notice.pk)
        if dry_run:
            continue
        with transaction.atomic():
            # Conditional update: two sweeps at once close a notice once.
            if not Notice.objects.filter(pk=notice.pk, closed_at__isnull=True).update(closed_at=timezone.now()):
                continue
            for entry in notice.entries.select_related("application").filter(application__state=AppState.ON_NOTICE):
                moved = fsm.transition(entry.application, "end_notice", actor=None, permission=None,
                                       action="notice.end", data={"notice": notice.pk})
                # 东莞 第九条(六): the stage after the notice gets its deadline and its decision makers are told.
                _after_move(moved, None, on)
                report.moved.append(moved.pk)
            audit.record(None, "notice.close", notice)
    return report
