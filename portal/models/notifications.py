"""The in-site inbox. E-mail copies go out through a Celery task (portal/tasks.py)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey("portal.User", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类别"), max_length=50)
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    # Reminders set this to "<kind>:<object>:<due date>:<offset>" so the same reminder is stored
    # once per recipient however often the sweep runs; ordinary notices leave it empty.
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "dedupe_key"], condition=~models.Q(dedupe_key=""),
                                               name="notification_dedupe")]

    def __str__(self) -> str:
        return self.subject
