#!/usr/bin/env python
"""Load and failure: many units submitting at once, reviewers racing, Redis and PostgreSQL going away.

    .venv/bin/python bench/load.py            # full size: 200 units, 10 reviewers racing 5 times
    .venv/bin/python bench/load.py --small    # CI size (.ci/run), under two minutes

Everything runs against servers this script starts and removes itself, never the machine's shared
ones: a throwaway PostgreSQL cluster on a spare port (initdb under /tmp, so it can be restarted),
a throwaway Redis on a spare port (so it can be stopped), gunicorn (bench/common.py, the production
worker count) and, for the Redis phase, a Celery worker.

1. Submissions: every unit signs in through the login form, opens its complete draft's submit page,
   and all of them press 提交 at the same instant. Every one must be stored (state, revision, audit
   row) and no answer may be a 5xx.
2. Reviewers racing: several district reviewers decide the same application at the same instant
   (some pass it, some return it). Exactly one decision may be recorded, the others told someone
   was first; no 5xx.
3. PostgreSQL restarted under load: requests fail only while it is down; the same gunicorn answers
   again afterwards (CONN_HEALTH_CHECKS), and no submission is half-stored.
4. Redis stopped while the portal runs with REDIS_URL (broker and cache): pages still answer 200,
   submissions still commit and their inbox messages exist; once Redis is back, the outbox sweep
   queues the e-mail copies the outage kept back and the worker sends every one.

Prints a table and ends with `lost=<n> errors=<n>` (exit status 1 unless both are 0). `lost` counts
submissions, decisions or e-mails that should exist and do not; `errors` counts 5xx answers and
failed requests outside the planned outages, double decisions, and a broken audit chain.
"""
from __future__ import annotations

import argparse
import glob
import http.cookiejar
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, free_port, gunicorn, setup_django  # noqa: E402

PASSWORD = "Load@2026-portal"
CITY = "wenzhou"  # district formal review with the originals check (温州 第五条(一)); policy in force
WORKERS = 3  # as docker-compose.yml runs gunicorn


# --- throwaway servers ------------------------------------------------------------------------------

def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own under /tmp, so restarting it disturbs nobody."""

    def __init__(self) -> None:
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not versions:
            raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = versions[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="portal-load-pg-"))
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portal_bench_load"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([f"{self.bin}/pg_ctl", "-D", str(self.dir / "data"), *args]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(_as_postgres([f"{self.bin}/initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U",
                                     "postgres", "-E", "UTF8", "--no-instructions"]),
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._ctl("-l", str(self.dir / "server.log"), "-o", options, "-w", "start")

    def restart(self) -> None:
        self._ctl("-m", "fast", "-w", "restart")

    def stop(self) -> None:
        try:
            self._ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRedis:
    """A Redis of our own on a spare port that keeps nothing on disk: stopping it loses its queue,
    the worst case for the outbox."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip() \
                    == b"PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        if self.proc is not None:
            self.proc.wait(timeout=20)
            self.proc = None


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[None]:
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
                             "--loglevel=warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


# --- a browser without the browser ----------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int  # 0: no answer at all (connection refused, timeout)
    body: str
    location: str
    ms: float
    started: float = 0.0  # time.monotonic() when sent
    ended: float = 0.0


class Person:
    """One person's cookies; requests as their browser sends them (form posts with the CSRF token)."""

    def __init__(self, base: str, username: str = "") -> None:
        self.base, self.username = base, username
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict[str, str] | None = None, timeout: float = 120) -> Answer:
        body = None
        if data is not None:
            token = next((c.value for c in self.jar if c.name == "csrftoken"), "")
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        start = time.monotonic()
        try:
            with self.opener.open(request, timeout=timeout) as response:
                status, text, location = response.status, response.read().decode(errors="replace"), ""
        except urllib.error.HTTPError as exc:
            status, text, location = exc.code, exc.read().decode(errors="replace"), exc.headers.get("Location", "")
        except OSError as exc:
            status, text, location = 0, str(exc), ""
        end = time.monotonic()
        return Answer(status, text, location, (end - start) * 1000, start, end)

    def login(self) -> Answer:
        self.request("/accounts/login/")
        return self.request("/accounts/login/", {"username": self.username, "password": PASSWORD})


def signed_in(answer: Answer) -> bool:
    return answer.status == 302 and "/accounts/login/" not in answer.location


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else ""


def all_at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run every job in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = jobs[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def pooled(jobs: list[Callable[[], Any]], width: int = 8) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(width) as pool:
        return list(pool.map(lambda job: job(), jobs))


# --- the tally ----------------------------------------------------------------------------------------

@dataclass
class Row:
    phase: str
    answers: list[Answer] = field(default_factory=list)
    note: str = ""
    lost: int = 0
    errors: int = 0  # besides the failed answers, which count on their own
    planned: bool = False  # the answers fall in a planned outage: shown, not counted

    @property
    def failed(self) -> int:
        """5xx, 4xx (every request here is one its sender may make) and requests with no answer."""
        return sum(1 for a in self.answers if a.status >= 400 or a.status == 0)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  {time.monotonic() - self.began:5.0f} s  {row.phase}", flush=True)
        return row

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rows)

    @property
    def errors(self) -> int:
        return sum(r.errors + (0 if r.planned else r.failed) for r in self.rows)

    def print(self) -> None:
        print()
        print(f"{'phase':<44} {'requests':>8} {'2xx/3xx':>8} {'failed':>8} {'p50 ms':>8} {'p95 ms':>8}  result")
        for r in self.rows:
            ms = sorted(a.ms for a in r.answers)
            p50 = f"{statistics.median(ms):.0f}" if ms else "—"
            p95 = f"{ms[math.ceil(len(ms) * 0.95) - 1]:.0f}" if ms else "—"  # nearest rank
            ok = sum(1 for a in r.answers if 200 <= a.status < 400)
            print(f"{r.phase:<44} {len(r.answers):>8} {ok:>8} {r.failed:>8} {p50:>8} {p95:>8}  {r.note}")


# --- seeding --------------------------------------------------------------------------------------------

@dataclass
class World:
    city: Any
    round: Any
    drafts: list[Any]  # complete drafts, one per unit, in order of use
    units: dict[int, str]  # application pk → its unit's username
    reviewers: list[str]  # district reviewers of the district every unit is in
    people: dict[str, Person] = field(default_factory=dict)  # signed in once; sessions outlive a gunicorn

    def unit(self, base: str, app: Any) -> Person:
        return self.at(base, self.units[app.pk])

    def at(self, base: str, username: str) -> Person:
        person = self.people[username]
        person.base = base  # the cookie jar goes along: sessions are in the database
        return person


def seed(units: int, reviewers: int) -> World:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from portal import calendar
    from portal.models import CalendarYear, City, User
    from portal.roles import Role
    from tests.factories import make_application, make_org, make_round

    today = timezone.localdate()
    if not calendar.package_covers_year(today.year + 1):
        # Stage deadlines late in a year count working days into the next one (portal/calendar.py).
        CalendarYear.objects.get_or_create(year=today.year + 1, defaults={"complete": True, "note": "负载测试"})
    city = City.objects.get(code=CITY)
    district = city.districts.order_by("code").first()
    rnd = make_round(city)
    hashed = make_password(PASSWORD)  # one PBKDF2 hash for everybody: seeding stays fast, logins stay real
    now = timezone.now()
    people = [User(username=f"load-reviewer-{i}", role=Role.DISTRICT, city=city, district=district,
                   full_name=f"审核员{i}", email=f"reviewer{i}@example.gov.cn", password=hashed,
                   password_changed_at=now) for i in range(reviewers)]
    orgs = [make_org(city, district, name=f"负载测试单位{i}") for i in range(units)]
    people += [User(username=f"load-unit-{i}", role=Role.UNIT, city=city, organization=org, full_name=f"经办人{i}",
                    email=f"unit{i}@example.gov.cn", password=hashed, password_changed_at=now)
               for i, org in enumerate(orgs)]
    User.objects.bulk_create(people)
    drafts = [make_application(SimpleNamespace(city=city, org=org), rnd, org=org) for org in orgs]
    return World(city, rnd, drafts, {a.pk: f"load-unit-{i}" for i, a in enumerate(drafts)},
                 [f"load-reviewer-{i}" for i in range(reviewers)])


def take(world: World, n: int) -> list[Any]:
    taken, world.drafts = world.drafts[:n], world.drafts[n:]
    return taken


def stored(app_ids: list[int]) -> tuple[int, list[int]]:
    """How many of the applications are fully submitted, and which are half-stored (state without
    revision or audit row, or the other way round)."""
    from django.db.models import Count

    from portal.models import AuditEvent
    from workshops.models import Application
    from workshops.states import AppState

    apps = Application.objects.filter(pk__in=app_ids).annotate(n_revisions=Count("revisions"))
    audited = set(AuditEvent.objects.filter(
        object_type="workshops.application", action="application.submit", object_id__in=[str(i) for i in app_ids],
    ).values_list("object_id", flat=True))
    done, broken = 0, []
    for app in apps:
        marks = (app.state != AppState.DRAFT, app.n_revisions >= 1, str(app.pk) in audited)
        if all(marks):
            done += 1
        elif any(marks):
            broken.append(app.pk)
    return done, broken


# --- the phases -------------------------------------------------------------------------------------------

def sign_in(base: str, report: Report, world: World) -> None:
    """Everybody signs in through the login form once (PBKDF2 makes a sign-in the costliest request)."""
    usernames = [*world.units.values(), *world.reviewers]
    world.people = {u: Person(base, u) for u in usernames}
    row = report.add(Row(f"sign in ({len(world.units)} units, {len(world.reviewers)} reviewers)"))
    row.answers = pooled([lambda p=p: p.login() for p in world.people.values()])
    ok = sum(1 for a in row.answers if signed_in(a))
    row.errors = len(row.answers) - ok
    row.note = f"{ok}/{len(row.answers)} signed in through the login form"


def submit(person: Person, app_id: int) -> Answer:
    page = person.request(f"/applications/{app_id}/submit/")
    if page.status != 200:
        return page
    return person.request(f"/applications/{app_id}/submit/", {"version": hidden(page.body, "version")})


def phase_submissions(base: str, world: World, report: Report, n: int) -> list[Any]:
    apps = take(world, n)
    # Each opens its submit page first (as a person would), then all press the button together.
    pages = pooled([lambda a=a: (a, world.unit(base, a).request(f"/applications/{a.pk}/submit/"))
                    for a in apps])
    jobs = [lambda a=a, page=page: world.unit(base, a).request(
        f"/applications/{a.pk}/submit/", {"version": hidden(page.body, "version")}) for a, page in pages]
    started = time.perf_counter()
    answers = all_at_once(jobs)
    wall = time.perf_counter() - started
    done, broken = stored([a.pk for a in apps])
    row = report.add(Row(f"{n} submissions at the same instant", answers, lost=n - done + len(broken)))
    accepted = sum(1 for a in answers if a.status == 302 and "/submit/" not in a.location)
    row.note = f"{done}/{n} stored, {accepted} answered 302, {len(broken)} half-stored, all answered in {wall:.1f} s"
    return apps


def phase_race(base: str, world: World, report: Report, apps: list[Any], reviewers: int, races: int) -> None:
    from reviews.models import ReviewStep
    from workshops.models import Application

    people = {u: world.at(base, u) for u in world.reviewers[:reviewers]}
    row = report.add(Row(f"{reviewers} reviewers decide one application ×{races}"))
    exactly_one = 0
    for app in apps[:races]:
        url = f"/reviews/applications/{app.pk}/"
        pages = [(p, p.request(url)) for p in people.values()]
        jobs = []
        for i, (p, page) in enumerate(pages):
            # Half pass it, half return it: whichever lands first is the decision.
            opinion = f"审核员{i}：材料齐全，原件已核对" if i % 2 == 0 else f"审核员{i}：请补充材料"
            data = {"outcome": "passed" if i % 2 == 0 else "returned", "opinion": opinion, "originals_checked": "on",
                    "version": hidden(page.body, "version")}
            jobs.append(lambda p=p, data=data, url=url: p.request(url + "decide/", data))
        row.answers += all_at_once(jobs)
        steps = ReviewStep.objects.filter(application_id=app.pk).count()
        fresh = Application.objects.get(pk=app.pk)
        if steps == 1 and fresh.version == app.version + 2:  # +1 for the submission, +1 for the one decision
            exactly_one += 1
        elif steps == 0:
            row.lost += 1
        else:
            row.errors += 1  # two decisions for one stage, or a version moved without a record
    row.note = f"{exactly_one}/{races} with exactly one decision recorded"


# What each kind of visitor opens while the servers come and go.
PAGES = {"unit": ["/workbench/", "/applications/", "/notices/"], "reviewer": ["/workbench/", "/reviews/"],
         "citizen": ["/", "/notices/", "/studios/", "/healthz"]}


def pages_of(person: Person) -> list[str]:
    return PAGES["citizen" if not person.username else "reviewer" if "reviewer" in person.username else "unit"]


def phase_redis(db_url: str, world: World, report: Report, n: int) -> None:

    from portal.models import Notification
    from portal.notifications import UNSENT_GRACE

    redis = ThrowawayRedis()
    redis.start()
    env = {"REDIS_URL": redis.url, "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    try:
        with gunicorn(db_url, WORKERS, env_extra=env) as base, celery_worker({**env, "DATABASE_URL": db_url}):
            apps = take(world, 3 * n)
            reviewer = world.at(base, world.reviewers[0])
            since = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

            def browse(who: list[Person], rounds: int) -> list[Answer]:
                return pooled([lambda p=p, path=path: p.request(path) for _ in range(rounds) for p in who
                               for path in pages_of(p)])

            up = report.add(Row("Redis up: pages and submissions"))
            up.answers += browse([reviewer, world.unit(base, apps[0])], 2)
            up.answers += pooled([lambda a=a: submit(world.unit(base, a), a.pk) for a in apps[:n]])
            inbox = Notification.objects.filter(pk__gt=since, kind="application.submitted")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and inbox.filter(emailed_at__isnull=True).exists():
                time.sleep(0.5)
            sent = inbox.filter(emailed_at__isnull=False).count()
            up.lost += inbox.count() - sent
            up.note = f"{sent}/{inbox.count()} e-mails sent by the worker"
            since = inbox.order_by("-pk").values_list("pk", flat=True).first() or since

            redis.stop()
            down = report.add(Row("Redis stopped: pages and submissions"))
            down.answers += browse([reviewer, world.unit(base, apps[0]), Person(base)], 3)
            down.answers += pooled([lambda a=a: submit(world.unit(base, a), a.pk) for a in apps[n:2 * n]])
            done, broken = stored([a.pk for a in apps[n:2 * n]])
            down.lost += n - done + len(broken)
            inbox = Notification.objects.filter(pk__gt=since, kind="application.submitted")
            owed_during = inbox.filter(emailed_at__isnull=True).count()
            down.note = (f"{done}/{n} submissions stored; {inbox.count()} inbox messages, "
                         f"{owed_during} e-mails owed")
            # Every submission notifies each reviewer of the district: the inbox must have them all.
            down.lost += max(0, n * len(world.reviewers) - inbox.count())

            owed_ids = list(inbox.filter(emailed_at__isnull=True).values_list("pk", flat=True))
            redis.start()
            # The beat's outbox sweep, as it runs a few minutes after the outage (its grace period passed).
            sweep = subprocess.run(
                [sys.executable, "manage.py", "shell", "-c",
                 "from datetime import timedelta; from django.utils import timezone; "
                 "from portal.notifications import queue_unsent; "
                 f"print(queue_unsent(now=timezone.now() + timedelta(seconds={UNSENT_GRACE.total_seconds() + 5})))"],
                cwd=ROOT, env={**os.environ, **env, "DATABASE_URL": db_url}, capture_output=True, text=True,
                timeout=120)
            queued = sweep.stdout.strip().splitlines()[-1] if sweep.returncode == 0 and sweep.stdout.strip() else "?"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and owed_ids and Notification.objects.filter(
                    pk__in=owed_ids, emailed_at__isnull=True).exists():
                time.sleep(0.5)
            after = report.add(Row("Redis back: outbox sweep and worker"))
            owed = Notification.objects.filter(pk__in=owed_ids)
            still_owed = owed.filter(emailed_at__isnull=True).count()
            after.lost += still_owed
            after.errors += int(sweep.returncode != 0)
            # The same gunicorn queues new tasks again by itself (no restart), and the worker sends them.
            last = inbox.order_by("-pk").values_list("pk", flat=True).first() or since
            after.answers += browse([reviewer], 1)
            after.answers += pooled([lambda a=a: submit(world.unit(base, a), a.pk) for a in apps[2 * n:]])
            fresh = Notification.objects.filter(pk__gt=last, kind="application.submitted")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and fresh.filter(emailed_at__isnull=True).exists():
                time.sleep(0.5)
            done, broken = stored([a.pk for a in apps[2 * n:]])
            after.lost += n - done + len(broken) + fresh.filter(emailed_at__isnull=True).count()
            after.note = (f"sweep queued {queued}: {len(owed_ids) - still_owed}/{len(owed_ids)} owed e-mails sent; "
                          f"then {fresh.filter(emailed_at__isnull=False).count()}/{fresh.count()} e-mails of "
                          f"{done} new submissions sent directly")
    finally:
        redis.stop()


def phase_postgres_restart(base: str, pg: ThrowawayPostgres, world: World, report: Report, n: int) -> None:
    from django.db import connection

    apps = take(world, n)
    people = {world.units[a.pk]: world.unit(base, a) for a in apps}
    unit = next(iter(people.values()))
    answers: list[tuple[bool, Answer]] = []  # (signed in, answer)
    lock = threading.Lock()
    stop = threading.Event()

    def browse(who: Person) -> None:
        while not stop.is_set():
            for path in pages_of(who):
                answer = who.request(path, timeout=30)
                with lock:
                    answers.append((bool(who.username), answer))

    threads = [threading.Thread(target=browse, args=(p,)) for p in (unit, Person(base), unit, Person(base))]
    for t in threads:
        t.start()
    time.sleep(3)
    down_at = time.monotonic()
    pg.restart()
    back_at = time.monotonic()
    time.sleep(2)
    # Writes after the restart, while the readers go on.
    writes = pooled([lambda a=a, p=p: submit(p, a.pk) for a, p in zip(apps, people.values(), strict=True)])
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    connection.close()  # this process's own connection died with the server too
    before = [a for _s, a in answers if a.ended < down_at]
    # In flight while the server went down, or sent before it took connections again.
    during = [a for _s, a in answers if a.ended >= down_at and a.started < back_at]
    after = [a for _s, a in answers if a.started >= back_at]
    # Signed-in pages need the database (the session); anonymous public pages may come from the cache.
    first_ok = min((a.ended for signed, a in answers if signed and a.started >= down_at and a.status == 200),
                   default=None)
    report.add(Row("PostgreSQL restart: requests before", before, note="one gunicorn, never restarted"))
    failed = sum(1 for a in during if a.status >= 400 or a.status == 0)
    report.add(Row(f"PostgreSQL restart: while down ({back_at - down_at:.1f} s)", during, planned=True,
                   note=f"{failed} failed (planned outage); first signed-in page answered "
                        f"{first_ok - down_at:.1f} s after the restart began" if first_ok is not None
                   else "no signed-in page answered after the restart"))
    row = report.add(Row("PostgreSQL restart: after", after + writes))
    done, broken = stored([a.pk for a in apps])
    row.lost += n - done + len(broken)
    row.note = f"{done}/{n} submissions after the restart stored"
    if first_ok is None:
        row.errors += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="CI size")
    parser.add_argument("--units", type=int, default=None, help="simultaneous submissions (default 200, small 20)")
    parser.add_argument("--reviewers", type=int, default=None, help="reviewers racing (default 10, small 3)")
    parser.add_argument("--races", type=int, default=None, help="applications raced for (default 5, small 2)")
    args = parser.parse_args()
    units = args.units or (20 if args.small else 200)
    reviewers = args.reviewers or (3 if args.small else 10)
    races = args.races or (2 if args.small else 5)
    per_phase = 3 if args.small else 20  # submissions in each step of the Redis and PostgreSQL phases
    began = time.monotonic()

    var = Path(tempfile.mkdtemp(prefix="portal-load-var-"))  # uploads and development keys of this run
    os.environ["PORTAL_VAR_DIR"] = str(var)
    pg = ThrowawayPostgres()
    pg.start()
    report = Report()
    try:
        db_url = setup_django(pg.url)
        world = seed(units + 4 * per_phase, reviewers)
        print(f"seeded {len(world.drafts)} complete drafts in {CITY}, {reviewers} district reviewers "
              f"({time.monotonic() - began:.0f} s)", flush=True)
        with gunicorn(db_url, WORKERS) as base:
            sign_in(base, report, world)
            submitted = phase_submissions(base, world, report, units)
            phase_race(base, world, report, submitted, reviewers, races)
            phase_postgres_restart(base, pg, world, report, per_phase)
        phase_redis(db_url, world, report, per_phase)

        from portal.audit import verify_chain

        chain = verify_chain()
        report.add(Row("audit chain", note=f"{chain.checked} rows, " + ("intact" if chain.ok else chain.problem),
                       errors=0 if chain.ok else 1))
    finally:
        pg.stop()
        shutil.rmtree(var, ignore_errors=True)
    report.print()
    print(f"\n{'--small ' if args.small else ''}units={units} reviewers={reviewers} races={races} "
          f"gunicorn workers={WORKERS}, {time.monotonic() - began:.0f} s in all")
    print(f"lost={report.lost} errors={report.errors}")
    sys.exit(1 if report.lost or report.errors else 0)


if __name__ == "__main__":
    main()
