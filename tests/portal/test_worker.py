"""The task path for real: a Celery worker process on the Redis broker, against the test database."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from portal.models import Notification
from portal.notifications import notify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_emails_an_inbox_message_once(policies, cast_for, worker) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    zz.city_staff.email = "city@example.gov.cn"
    zz.city_staff.save()
    notify([zz.city_staff], "test.worker", "工作进程测试", "由 Celery 工作进程发送")
    message = Notification.objects.get(kind="test.worker")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.emailed_at is not None:
            break
        time.sleep(0.5)
    assert message.emailed_at is not None, "the worker did not send the e-mail within 60 s"
    assert Notification.objects.filter(kind="test.worker").count() == 1
