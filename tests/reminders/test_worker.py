"""Real Celery workers on the Redis broker, against the PostgreSQL test database (CI sets both).

Exactly once is checked where it can break: two workers running the sweep at the same moment, and a
worker killed in the middle of a sweep (SIGKILL, nothing cleaned up) followed by a fresh run.
E-mail goes to the console backend; each worker's output is captured and the messages counted.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from portal.models import Notification
from portal.reminders import daily_sweep
from reviews import actions as review_actions
from tests.factories import make_application, make_round, walk
from workshops.states import AppState

ROOT = Path(__file__).resolve().parents[2]
ON = date(2025, 12, 21)  # 郑州's 2026 plan (due 2026-01-20) gets its 30-day reminder
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {**os.environ, "REDIS_URL": settings.REDIS_URL, "PYTHONUNBUFFERED": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                            f"{db['NAME']}"}


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[str], tuple[subprocess.Popen, Path]]]:
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and PostgreSQL (CI sets both)")
    from portal.celery import app

    app.control.purge()
    started: list[subprocess.Popen] = []

    def start(name: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--loglevel=warning",
             "-n", f"{name}-{os.getpid()}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=_worker_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)
        started.append(proc)
        return proc, log

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    app.control.purge()
    # A killed worker's message waits in Redis for the visibility timeout (an hour) before it is
    # redelivered; drop it so that it cannot replay into a later test run.
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("unacked", "unacked_index")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def all_emailed() -> bool:
    pending = Notification.objects.filter(kind__startswith="reminder.", emailed_at__isnull=True).exclude(
        recipient__email="")
    return Notification.objects.filter(kind__startswith="reminder.").exists() and not pending.exists()


def assert_no_duplicates() -> None:
    rows = list(Notification.objects.filter(kind__startswith="reminder.").values_list("recipient_id", "dedupe_key"))
    assert len(rows) == len(set(rows)), "a reminder was stored twice"


def seed(cast_for: Any, make_studio: Any) -> Any:
    zz = cast_for("zhengzhou")
    zz.unit.email = "unit@example.gov.cn"
    zz.unit.save(update_fields=["email"])
    return zz, make_studio(zz, date(2024, 3, 1))


def test_a_reminder_arrives_once_when_two_workers_get_the_sweep_at_once(policies, cast_for, make_studio,  # noqa: ANN001
                                                                        workers) -> None:
    zz, studio = seed(cast_for, make_studio)
    (_a, log_a), (_b, log_b) = workers("a"), workers("b")
    results = [daily_sweep.delay(ON.isoformat()), daily_sweep.delay(ON.isoformat())]  # beat firing twice
    summaries = [r.get(timeout=120) for r in results]
    assert sum(s["sent"] for s in summaries) == Notification.objects.filter(kind__startswith="reminder.").count()
    (message,) = Notification.objects.filter(recipient=zz.unit, kind="reminder.plan_filing")
    assert message.dedupe_key == f"reminder.plan_filing:{studio.pk}:2026-01-20:30"
    wait_for(all_emailed, "the e-mail copy")
    time.sleep(3)  # let a duplicate e-mail task, if one was queued, finish
    assert_no_duplicates()
    mails = (log_a.read_text() + log_b.read_text()).count("To: unit@example.gov.cn")
    assert mails == 1, f"the unit got {mails} e-mails"


def test_a_worker_killed_mid_sweep_leaves_nothing_to_duplicate(policies, cast_for, make_studio,  # noqa: ANN001
                                                               workers) -> None:
    import psycopg2

    zz, studio = seed(cast_for, make_studio)
    rnd = make_round(zz.city, on=date(2025, 12, 1))
    (app,) = walk(zz, [make_application(zz, rnd)], until=AppState.EXPERT_REVIEW, on=date(2025, 12, 1))
    panel = review_actions.do_create_panel(rnd, actor=zz.city_staff, name="专家组", due_on=date(2025, 12, 22))
    assignment = review_actions.do_assign_expert(panel, app, zz.expert, actor=zz.city_staff)

    # Hold the expert-scoring source (it runs after the studio sources) behind a table lock, so the
    # worker is certainly mid-sweep — studio reminders committed, scoring not yet — when it is killed.
    db = connection.settings_dict
    blocker = psycopg2.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                               password=db.get("PASSWORD") or None, dbname=db["NAME"])
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE reviews_assignment IN ACCESS EXCLUSIVE MODE")
        first, log_first = workers("first")
        daily_sweep.delay(ON.isoformat())
        wait_for(lambda: Notification.objects.filter(kind="reminder.plan_filing").exists(), "the studio reminders")
        time.sleep(1)
        assert not Notification.objects.filter(kind="reminder.scoring").exists()  # still blocked, mid-sweep
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        blocker.rollback()
        blocker.close()
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()  # it died before e-mailing

    _second, log_second = workers("second")
    summary = daily_sweep.delay(ON.isoformat()).get(timeout=120)  # the re-run (tomorrow's beat, or by hand)
    assert summary["problems"] == []
    assert Notification.objects.filter(kind="reminder.scoring", recipient=zz.expert,
                                       dedupe_key=f"reminder.scoring:{assignment.pk}:2025-12-22:1").count() == 1
    assert Notification.objects.filter(kind="reminder.plan_filing", recipient=zz.unit).count() == 1
    wait_for(all_emailed, "the e-mail copies")
    time.sleep(3)
    assert_no_duplicates()
    url = f"/studios/{studio.pk}/"
    assert (log_first.read_text() + log_second.read_text()).count(url) == 1, "the studio reminder e-mailed twice"
