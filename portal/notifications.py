"""Telling people what needs them: an inbox row per recipient, and an e-mail copy by task.

The inbox table is also the e-mail outbox: a row with `emailed_at` empty and a recipient with an
address is an e-mail still owed. Queuing it is best effort (the broker may be down: the change that
caused the message has already committed, and must not turn into an error page); `queue_unsent`,
run by the beat every few minutes, queues whatever is still owed, so nothing waits longer than that
once the broker is back (docs/reliability.md).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.models.notifications import Notification

logger = logging.getLogger(__name__)

# Rows younger than this are left to the task queued when they were created.
UNSENT_GRACE = timedelta(minutes=2)
# Older e-mail is not worth sending any more; the inbox still has the message.
UNSENT_MAX_AGE = timedelta(days=7)
CHUNK = 100


def queue_email(ids: list[int]) -> bool:
    """Hand e-mail copies to the task queue; False (logged) when the broker cannot take them now."""
    from portal.tasks import email_notifications

    try:
        email_notifications.delay(ids)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the outbox sweep sends them later
        logger.warning("e-mail queue unavailable, %d message(s) left for the outbox sweep: %s", len(ids), exc)
        return False
    return True


def notify(recipients: Iterable[Any], kind: str, subject: str, body: str = "", url: str = "") -> None:
    """Queue messages to be created when the surrounding transaction commits (never for a rollback)."""
    users = [u for u in recipients if u is not None and getattr(u, "is_active", False)]
    if not users:
        return

    def create() -> None:
        rows = Notification.objects.bulk_create(
            [Notification(recipient=u, kind=kind, subject=subject, body=body, url=url) for u in users])
        ids = [n.pk for n in rows if n.recipient.email]
        if ids:
            queue_email(ids)

    transaction.on_commit(create)


def unsent(now: datetime | None = None) -> Any:
    now = now or timezone.now()
    return (Notification.objects.filter(emailed_at__isnull=True, recipient__is_active=True,
                                        created_at__gte=now - UNSENT_MAX_AGE, created_at__lt=now - UNSENT_GRACE)
            .exclude(recipient__email="").order_by("pk"))


def queue_unsent(now: datetime | None = None) -> int:
    """Queue every e-mail still owed (the outbox sweep). Safe to overlap with the original tasks:
    email_notifications sends each row once. Returns how many were queued."""
    ids = list(unsent(now).values_list("pk", flat=True))
    queued = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        if not queue_email(chunk):
            break
        queued += len(chunk)
    return queued
