from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from portal.models import City
from tests.factories import Cast, make_cast

CITIES = ("pingdingshan", "zhengzhou", "dongguan", "wenzhou", "hohhot")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    # Every test starts with the five cities' policies loaded, as a real deployment does.
    with django_db_blocker.unblock():
        call_command("loadpolicies", verbosity=0)


@pytest.fixture
def worker() -> Any:
    """A real Celery worker process on the Redis broker, against this test's PostgreSQL database."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and PostgreSQL (CI sets both)")
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                                          f"{db['NAME']}", "REDIS_URL": settings.REDIS_URL}
    from portal.celery import app

    app.control.purge()
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
                             "--loglevel=warning", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                            cwd=Path(__file__).resolve().parents[1], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(autouse=True)
def _tasks_in_process(request: Any) -> Any:
    """Tasks run in the test's own process unless the test is about the broker and the worker
    (marked `redis`): CI sets REDIS_URL for those, and the rest must not depend on a worker."""
    from portal.celery import app

    if request.node.get_closest_marker("redis"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 at production strength costs ~0.3 s per user; a cast has ten.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings: Any, tmp_path: Any) -> None:
    # Uploaded test files go to the test's own folder, never into var/uploads.
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}


@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    # Each test process gets its own in-memory cache, even when REDIS_URL is set: parallel test
    # processes would otherwise clear and bump each other's cached pages and figures. And rolled-back
    # rows send no signal, so a cached page could outlive the test that made it.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "tests"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> None:
    # Rolled-back CalendarDay rows send no delete signal; never let one test's days leak into the next.
    from portal import calendar

    calendar.clear_cache()


@pytest.fixture
def policies(db: Any) -> None:
    """Reload policies where a transactional test flushed them."""
    if not City.objects.exists():
        call_command("loadpolicies", verbosity=0)


@pytest.fixture
def cast_for(db: Any, policies: None) -> Callable[[str], Cast]:
    cache: dict[str, Cast] = {}

    def get(city_code: str) -> Cast:
        if city_code not in cache:
            cache[city_code] = make_cast(city_code)
        return cache[city_code]

    return get


@pytest.fixture
def zz(cast_for: Callable[[str], Cast]) -> Cast:
    return cast_for("zhengzhou")


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns xdist_group markers into scheduling groups
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Under pytest-xdist, every test that talks to the shared Redis broker runs on one worker:
    a Celery worker started by one test would otherwise take tasks queued by another test whose
    database it cannot see."""
    for item in items:
        if item.get_closest_marker("redis"):
            item.add_marker(pytest.mark.xdist_group("redis"))
