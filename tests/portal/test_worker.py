"""The task path for real: a Celery worker process on the Redis broker, against the test database."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.models import Notification
from portal.notifications import notify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():  # noqa: ANN201
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and PostgreSQL (CI sets both)")
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                                          f"{db['NAME']}", "REDIS_URL": settings.REDIS_URL}
    from portal.celery import app

    app.control.purge()
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
                             "--loglevel=warning", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


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
