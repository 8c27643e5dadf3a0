"""Celery tasks shared by every app. Tasks take ids, re-fetch, and are safe to run twice."""
from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail
from django.utils import timezone

from portal.models.notifications import Notification


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=30, retry_kwargs={"max_retries": 5})
def email_notifications(self, notification_ids: list[int]) -> int:  # noqa: ANN001 - Celery's task instance
    """E-mail each inbox message once: a message already e-mailed is skipped on a retry."""
    sent = 0
    for n in Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True).select_related("recipient"):
        if not n.recipient.email:
            continue
        send_mail(n.subject, f"{n.body}\n\n{n.url}".strip(), None, [n.recipient.email])
        # Conditional update: a concurrent retry that also sent leaves exactly one timestamp.
        Notification.objects.filter(pk=n.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
        sent += 1
    return sent
