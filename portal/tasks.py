"""Celery tasks shared by every app. Tasks take ids, re-fetch, and are safe to run twice."""
from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from portal.models.notifications import Notification


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=30, retry_kwargs={"max_retries": 5})
def email_notifications(self, notification_ids: list[int]) -> int:  # noqa: ANN001 - Celery's task instance
    """E-mail each inbox message once: a message already e-mailed is skipped on a retry."""
    sent = 0
    for pk in sorted(notification_ids):
        # The row stays locked while its mail is handed over: the same id queued twice (a retry, a second
        # reminder sweep) and run by two workers at once is sent by one of them; the other skips it.
        # A failed send rolls back, leaving emailed_at empty for the retry (SMTP errors are OSErrors).
        with transaction.atomic():
            n = (Notification.objects.select_for_update(skip_locked=True, of=("self",)).select_related("recipient")
                 .filter(pk=pk, emailed_at__isnull=True).first())
            if n is None or not n.recipient.email:
                continue
            send_mail(n.subject, f"{n.body}\n\n{n.url}".strip(), None, [n.recipient.email])
            Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


@shared_task
def email_unsent_notifications() -> int:
    """The outbox sweep (beat, every few minutes): queue the e-mail copies a broker outage left behind."""
    from portal.notifications import queue_unsent

    return queue_unsent()
