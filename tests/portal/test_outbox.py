"""A broker or cache outage costs nothing: the change commits, the inbox message is there, the e-mail
goes out on the outbox sweep once the broker is back, and pages render without the cache."""
from __future__ import annotations

import logging
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.cache import caches
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from portal import notifications
from portal.cache import outage
from portal.models import Notification
from portal.tasks import email_notifications, email_unsent_notifications

pytestmark = pytest.mark.django_db(transaction=True)


def refuse(*args: Any, **kwargs: Any) -> None:
    raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")


@pytest.fixture
def broker_down(monkeypatch: Any) -> None:
    monkeypatch.setattr(email_notifications, "delay", refuse)


def test_it_keeps_the_inbox_message_and_logs_when_the_broker_is_down(policies, cast_for, broker_down,  # noqa: ANN001
                                                                      caplog) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    zz.district.email = "reviewer@example.gov.cn"
    zz.district.save()
    with caplog.at_level(logging.WARNING, logger="portal.notifications"), transaction.atomic():
        notify_reviewer(zz)
    message = Notification.objects.get()
    assert message.recipient == zz.district and message.emailed_at is None
    assert "e-mail queue unavailable, 1 message(s) left for the outbox sweep" in caplog.text
    assert not mail.outbox


def notify_reviewer(cast: Any) -> None:
    notifications.notify([cast.district], "application.submitted", "待办：形式审查", "请办理", "/reviews/")


def test_the_outbox_sweep_sends_what_the_outage_left_and_only_once(policies, cast_for, monkeypatch) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    zz.district.email = "reviewer@example.gov.cn"
    zz.district.save()
    with monkeypatch.context() as m:
        m.setattr(email_notifications, "delay", refuse)
        notify_reviewer(zz)
        notifications.notify([zz.city_staff], "test.kind", "无邮箱的人只收站内消息")
    owed = Notification.objects.get(recipient=zz.district)
    # Too fresh for the sweep (its own task may still be on the way) …
    assert email_unsent_notifications.apply().get() == 0
    # … but once the grace period has passed, the sweep queues it and the worker (eager here) sends it.
    later = timezone.now() + notifications.UNSENT_GRACE + timedelta(seconds=1)
    assert notifications.queue_unsent(now=later) == 1
    owed.refresh_from_db()
    assert owed.emailed_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reviewer@example.gov.cn"]
    assert notifications.queue_unsent(now=later) == 0  # nothing owed any more
    assert len(mail.outbox) == 1


def test_the_sweep_stops_quietly_while_the_broker_is_still_down(policies, cast_for, broker_down) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    zz.district.email = "reviewer@example.gov.cn"
    zz.district.save()
    notify_reviewer(zz)
    later = timezone.now() + notifications.UNSENT_GRACE + timedelta(seconds=1)
    assert notifications.queue_unsent(now=later) == 0
    assert Notification.objects.get().emailed_at is None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pages_render_and_cache_calls_miss_while_redis_is_unreachable(policies, caplog, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(outage, "logged_at", 0.0)  # the summary line is rate-limited per process
    dead = {"default": {"BACKEND": "portal.cache.ResilientRedisCache", "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
                        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    with override_settings(CACHES=dead), caplog.at_level(logging.WARNING, logger="portal.cache"):
        cache = caches["default"]
        assert cache.get("k", "miss") == "miss" and cache.get_many(["a", "b"]) == {}
        cache.set("k", 1)
        assert cache.add("k", 1) is False and not cache.has_key("k") and cache.delete("k") is False
        with pytest.raises(ValueError):
            cache.incr("k")
        for path in ("/", "/notices/", "/studios/", "/accounts/login/"):
            assert Client().get(path).status_code == 200, path
        assert "Redis cache unavailable" in caplog.text
