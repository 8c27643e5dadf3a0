"""Inbox messages are created on commit, e-mailed once, and never for a rolled-back change."""
from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from portal.models import Notification
from portal.notifications import notify
from portal.tasks import email_notifications

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_creates_messages_on_commit_and_emails_them_once(policies, cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    zz.district.email = "reviewer@example.gov.cn"
    zz.district.save()
    with transaction.atomic():
        notify([zz.district, zz.city_staff], "test.kind", "待办：审查", "请办理", "/reviews/")
        assert not Notification.objects.exists()
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reviewer@example.gov.cn"]
    # A retried task finds the message already e-mailed and sends nothing more.
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert email_notifications.apply(args=[ids]).get() == 0
    assert len(mail.outbox) == 1


def test_it_sends_nothing_for_a_rolled_back_change(policies, cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    with pytest.raises(RuntimeError), transaction.atomic():
        notify([zz.district], "test.kind", "不应出现")
        raise RuntimeError
    assert not Notification.objects.exists()
