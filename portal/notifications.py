"""Telling people what needs them: an inbox row per recipient, and an e-mail copy by task."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from portal.models.notifications import Notification


def notify(recipients: Iterable[Any], kind: str, subject: str, body: str = "", url: str = "") -> None:
    """Queue messages to be created when the surrounding transaction commits (never for a rollback)."""
    users = [u for u in recipients if u is not None and getattr(u, "is_active", False)]
    if not users:
        return

    def create() -> None:
        rows = Notification.objects.bulk_create(
            [Notification(recipient=u, kind=kind, subject=subject, body=body, url=url) for u in users])
        from portal.tasks import email_notifications

        ids = [n.pk for n in rows if n.recipient.email]
        if ids:
            email_notifications.delay(ids)

    transaction.on_commit(create)
