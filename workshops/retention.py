"""Retention of application materials (个人信息保护法 第十九条: 保存期限应当为实现处理目的所必要的最短时间;
第四十七条: 保存期限已届满的，应当主动删除).

Attachments of applications that were rejected or withdrawn are deleted `ATTACHMENT_RETENTION_YEARS`
(default 3, the length of a sanction's ban, 平顶山 第十四条 / 郑州 第十七条) after the decision, by the
daily beat task `workshops.tasks.purge_expired_attachments` or `manage.py purge_attachments`.

The decision date is read from the audit trail: the row whose `to_state` moved the application into
its (terminal) rejected or withdrawn state. Every such transition goes through `portal.fsm.transition`,
which writes that row; the trail is append-only and hash-chained, so the date cannot be edited to
keep or drop files early, and no column or backfill is needed. An application without that row (none
today) is never purged rather than purged on a guess.

The trail stays: one `attachment.purge` row per application lists what was deleted (kinds, sizes,
sha256), so a deleted file can still be identified if a copy turns up. Safe to run twice: a run finds
only applications that still have attachments, and each application is purged under its row lock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from portal import audit
from portal.models import AuditEvent
from workshops.models import Application, Attachment
from workshops.states import AppState

CLOSED_STATES: tuple[str, ...] = (AppState.REJECTED, AppState.WITHDRAWN)
BATCH_SIZE = 100  # applications per query; each application is purged in its own short transaction


@dataclass(frozen=True)
class PurgedApplication:
    application_id: int
    state: str
    decided_at: datetime
    attachments: int
    bytes: int
    sha256: list[str] = field(default_factory=list)


@dataclass
class PurgeReport:
    on: date
    years: int
    cutoff: datetime
    dry_run: bool
    applications: list[PurgedApplication] = field(default_factory=list)

    @property
    def attachment_count(self) -> int:
        return sum(a.attachments for a in self.applications)


def years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February, counted back into a common year
        return on.replace(year=on.year - years, day=28)


def cutoff_for(on: date, years: int) -> datetime:
    """Decisions taken before the start of this (local) day have been kept `years` full years on `on`."""
    return timezone.make_aware(datetime.combine(years_before(on, years), time.min))


def expired(cutoff: datetime) -> QuerySet[Application]:
    """Rejected or withdrawn applications decided before `cutoff` that still hold attachments,
    annotated with `decided_at`."""
    decided = AuditEvent.objects.filter(
        object_type=Application._meta.label_lower, object_id=Cast(OuterRef("pk"), CharField()),
        to_state=OuterRef("state"),
    ).order_by("-at", "-id").values("at")[:1]
    return (Application.objects.filter(state__in=CLOSED_STATES)
            .filter(Exists(Attachment.objects.filter(application=OuterRef("pk"))))
            .annotate(decided_at=Subquery(decided))
            .filter(decided_at__lt=cutoff))


def purge_expired(on: date | None = None, *, years: int | None = None, dry_run: bool = False,
                  batch_size: int = BATCH_SIZE) -> PurgeReport:
    on = on or timezone.localdate()
    years = years if years is not None else settings.ATTACHMENT_RETENTION_YEARS
    report = PurgeReport(on=on, years=years, cutoff=cutoff_for(on, years), dry_run=dry_run)
    last_pk = 0
    while True:
        # Keyset pagination: purged applications drop out of the query, so offsets would skip some.
        batch = list(expired(report.cutoff).filter(pk__gt=last_pk).order_by("pk")
                     .values_list("pk", "state", "decided_at")[:batch_size])
        if not batch:
            return report
        for pk, state, decided_at in batch:
            done = _preview(pk, state, decided_at) if dry_run else _purge_one(pk, decided_at, report)
            if done is not None:
                report.applications.append(done)
        last_pk = batch[-1][0]


def _summary(attachments: list[Attachment], pk: int, state: str, decided_at: datetime) -> PurgedApplication:
    return PurgedApplication(pk, state, decided_at, len(attachments), sum(a.size for a in attachments),
                             [a.sha256 for a in attachments])


def _preview(pk: int, state: str, decided_at: datetime) -> PurgedApplication:
    return _summary(list(Attachment.objects.filter(application_id=pk).order_by("pk")), pk, state, decided_at)


def _purge_one(pk: int, decided_at: datetime, report: PurgeReport) -> PurgedApplication | None:
    with transaction.atomic():
        app = Application.objects.select_for_update().filter(pk=pk, state__in=CLOSED_STATES).first()
        attachments = list(Attachment.objects.filter(application_id=pk).order_by("pk")) if app else []
        if app is None or not attachments:
            return None  # a concurrent run got here first
        done = _summary(attachments, pk, app.state, decided_at)
        data: dict[str, Any] = {
            "count": done.attachments, "bytes": done.bytes, "sha256": done.sha256,
            "kinds": [a.kind for a in attachments], "decided_at": decided_at.isoformat(),
            "retention_years": report.years, "on": report.on.isoformat(),
        }
        audit.record(None, "attachment.purge", app, reason="申报材料保存期满，已删除", data=data)
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
        # Files last and inside the transaction: if one cannot be deleted the rows and the audit row
        # roll back and the next run tries again (deleting an already-missing file is a no-op), so no
        # file is ever left on disk without a row pointing at it.
        for attachment in attachments:
            if attachment.file.name:
                attachment.file.storage.delete(attachment.file.name)
    return done
