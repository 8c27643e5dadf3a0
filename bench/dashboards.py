#!/usr/bin/env python
"""Bureau dashboards vs a trivial view, served by gunicorn in one run, on 10,000 studios and their records.

    .venv/bin/python bench/dashboards.py [--studios 10000] [--requests 300]

Seeds a fresh PostgreSQL database (BENCH_DATABASE_URL, default `portal_bench_dash`): the studios of
bench/seed.py in the five cities, each with a ledger (8 records), up to four annual assessments, a
payment and (every other one) this year's plan, plus a current round per city with applications at
every stage and their review steps. Then:

1. query counts of every dashboard, computed afresh (no cache), on 1% of the data and on all of it —
   they must be equal (aggregates in the database);
2. in this process: each dashboard computed and rendered afresh (`uncached`: the first view after a
   change), and served from the cache (`cached`: every later view until the next change), against
   /healthz and the signed-in workbench timed the same way;
3. gunicorn (2 workers, production settings: cached figures, DEBUG off): p50/p95 of /healthz (anonymous),
   the signed-in workbench and each dashboard for a city's staff and a district reviewer, signed in,
   requested in turn by two threads (one per worker) so that all are timed over the same seconds.

Ends with `ratio=<slowest dashboard p50 / trivial view p50>` from step 3 (target < 5); the line before
says how the slowest dashboard compares with the simplest signed-in page (/workbench/), whose fixed
cost (session, user, header) every dashboard view also pays.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Result, gunicorn, print_table  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/portal_bench_dash"
PAGES = [
    ("overview", "/reviews/dashboard/"),
    ("review funnel + overdue", "/reviews/dashboard/review/"),
    ("money", "/reviews/dashboard/money/"),
    ("assessment", "/reviews/dashboard/assessment/"),
]
RECORD_KINDS = ("apprentice", "trainee", "activity", "competition", "achievement", "textbook")
BATCH = 5000
TRIVIAL = "trivial view (/healthz)"
WORKERS = 2
WORKBENCH = "/workbench/"  # the simplest signed-in page (portal:dashboard): session, user, header


def setup_django(url: str) -> None:
    """A fresh database whose schema comes from the models (as the tests' --nomigrations): the benchmark
    measures queries and must not depend on which migrations have been generated yet."""
    parsed = urlparse(url)
    import psycopg2

    admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                             password=parsed.password or None, dbname="postgres")
    admin.autocommit = True
    name = parsed.path.lstrip("/")
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    os.environ.update({"DATABASE_URL": url, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "portal.settings"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MIGRATION_MODULES = {app: None for app in ("portal", "workshops", "reviews", "auth", "contenttypes",
                                                        "admin", "sessions")}
    call_command("migrate", run_syncdb=True, verbosity=0)
    call_command("loadpolicies", verbosity=0)


def seed_life(studio_ids: list[int] | None = None) -> None:
    """Ledger, assessments, payments and plans for the studios (all, or the ids given)."""
    from django.utils import timezone

    from portal.models import City, User
    from portal.policies import get_policy_version
    from workshops.models import AnnualPlan, Assessment, Disbursement, Studio, StudioRecord

    today = timezone.localdate()
    owner = User.objects.filter(role="city").order_by("pk").first()
    for city in City.objects.all():
        codes = [c.code for c in get_policy_version(city.code, "1").categories]
        ids = list(Studio.objects.filter(city=city, category="").values_list("pk", flat=True))
        for i, code in enumerate(codes):  # bench/seed.py leaves categories empty
            Studio.objects.filter(pk__in=ids[i::len(codes)]).update(category=code)
    subsidy = {c.pk: get_policy_version(c.code, "1").subsidies[0].code for c in City.objects.all()}
    studios = Studio.objects.order_by("pk").values_list("pk", "city_id", "established_on", "state")
    if studio_ids is not None:
        studios = studios.filter(pk__in=studio_ids)
    records, assessments, payments, plans = [], [], [], []
    now = timezone.now()
    for i, (pk, city_id, established, _state) in enumerate(studios):
        for k in range(8):
            kind = RECORD_KINDS[k % len(RECORD_KINDS)]
            year = max(established.year, today.year - 2) + k % 3
            training = kind in ("apprentice", "trainee")
            records.append(StudioRecord(
                studio_id=pk, kind=kind, date=date(min(year, today.year), 1 + (i + k) % 12, 1 + k % 28),
                title=f"{kind}{k}", person_name=f"学员{i}-{k}" if training else "",
                level=3 + (i + k) % 3 if training else None, is_new_certificate=training and k % 2 == 0,
                agreement_on=date(year, 1, 1) if kind == "apprentice" else None, created_by=owner))
        for period in range(max(established.year, today.year - 4), today.year):
            passed = (i + period) % 7 != 0
            assessments.append(Assessment(studio_id=pk, kind="annual", period=period, conducted_on=date(period, 12, 16),
                                          grade="pass" if passed else "fail", passed=passed, recorded_by=owner))
        payments.append(Disbursement(studio_id=pk, subsidy=subsidy[city_id], amount=10000 + i % 5 * 1000,
                                     paid_on=established + timedelta(days=60), basis="拨付文件", approver="局长",
                                     recorded_by=owner))
        if i % 2:
            plans.append(AnnualPlan(studio_id=pk, year=today.year, content="计划", filed_at=now, filed_by=owner))
    StudioRecord.objects.bulk_create(records, batch_size=BATCH)
    Assessment.objects.bulk_create(assessments, batch_size=BATCH)
    Disbursement.objects.bulk_create(payments, batch_size=BATCH)
    AnnualPlan.objects.bulk_create(plans, batch_size=BATCH)


def seed_round(per_city: int, *, tag: str = "") -> None:
    """A current round per city with applications spread over every stage and outcome of its policy."""
    from django.utils import timezone

    from portal.models import City, Organization, Person, User
    from portal.policies import get_policy_version
    from reviews.models import ReviewStep
    from workshops.models import Application, Round
    from workshops.states import STAGE_STATES, AppState

    today = timezone.localdate()
    owner = User.objects.filter(role="city").order_by("pk").first()
    for city in City.objects.all():
        policy = get_policy_version(city.code, "1")
        rnd = Round.objects.create(city=city, year=today.year, title=f"{city.name}{today.year}年度申报{tag}",
                                   policy_version="1", opens_on=date(today.year, 1, 1),
                                   closes_on=date(today.year, 12, 31), quota=policy.yearly_quota)
        orgs = list(Organization.objects.filter(city=city).order_by("pk")[:per_city])
        people = list(Person.objects.order_by("pk")[:per_city])
        stages = list(policy.stages)
        endings = [AppState.RETURNED, AppState.REJECTED, AppState.WITHDRAWN, AppState.BACKUP, AppState.APPROVED]
        apps, plan = [], []
        for i, (org, person) in enumerate(zip(orgs, people, strict=False)):
            reached = i % len(stages)
            state = STAGE_STATES[stages[reached]] if i % 3 else endings[i % len(endings)]
            due = today + timedelta(days=(i % 20) - 10)  # half of those in a stage are overdue
            apps.append(Application(round=rnd, organization=org, city=city, district_id=org.district_id, state=state,
                                    studio_name=f"{org.name}工作室", occupation="焊工", leader=person,
                                    created_by=owner, submitted_at=timezone.now(), stage_due_on=due))
            plan.append(reached)
        apps = Application.objects.bulk_create(apps, batch_size=BATCH)
        steps = []
        for app, reached in zip(apps, plan, strict=True):
            for stage in stages[:reached]:
                steps.append(ReviewStep(application=app, stage=stage, outcome="passed", opinion="同意", actor=owner,
                                        actor_role="city"))
            outcome = {AppState.RETURNED: "returned", AppState.REJECTED: "rejected",
                       AppState.BACKUP: "backup"}.get(app.state)
            if outcome:
                steps.append(ReviewStep(application=app, stage=stages[reached], outcome=outcome, opinion="理由",
                                        actor=owner, actor_role="city"))
        ReviewStep.objects.bulk_create(steps, batch_size=BATCH)


def sessions() -> dict[str, str]:
    """Signed-in sessions (cookie values) for a city's staff and a district reviewer of that city."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from portal.models import City, User
    from portal.roles import Role
    from workshops.models import Studio

    city = City.objects.get(code="zhengzhou")
    district = Studio.objects.filter(city=city).values_list("district", flat=True).order_by("district").first()
    users = {"city": User(username="bench-city", role=Role.CITY, city=city, full_name="市局统计"),
             "district": User(username="bench-district", role=Role.DISTRICT, city=city, district_id=district,
                              full_name="县区统计")}
    keys = {}
    for label, user in users.items():
        user.set_password("Bench@2026-dashboards")
        user.save()
        store = SessionStore()
        store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys[label] = store.session_key
    return keys


def _p50(client, path: str, repeat: int) -> float:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def in_process(keys: dict[str, str], repeat: int) -> tuple[dict[str, int], dict[str, float], dict[str, float]]:
    """Per page: the query count and p50 ms computed afresh (no dashboard cache), and p50 ms cached; plus
    the references, /healthz and the signed-in workbench, timed the same way in this process."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    counts: dict[str, int] = {}
    fresh: dict[str, float] = {}
    cached: dict[str, float] = {}
    with override_settings(ALLOWED_HOSTS=["*"]):
        for who, key in keys.items():
            client = Client()
            client.cookies["sessionid"] = key
            for name, path in PAGES:
                label = f"{name} ({who})"
                with override_settings(DASHBOARD_CACHE_SECONDS=0):
                    assert client.get(path).status_code == 200, path
                    with CaptureQueriesContext(connection) as ctx:
                        client.get(path)
                    counts[label] = len(ctx.captured_queries)
                    fresh[label] = _p50(client, path, repeat)
                client.get(path)
                cached[label] = _p50(client, path, repeat * 4)
        client = Client()
        client.cookies["sessionid"] = keys["city"]
        client.get(WORKBENCH)
        cached["signed-in workbench"] = fresh["signed-in workbench"] = _p50(client, WORKBENCH, repeat * 4)
        cached[TRIVIAL] = fresh[TRIVIAL] = _p50(Client(), "/healthz", repeat * 4)
    return counts, fresh, cached


def fetch(url: str, session: str | None) -> tuple[float, bool]:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"} if session else {})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            ok = response.status == 200
    except OSError:
        ok = False
    return (time.perf_counter() - start) * 1000, ok


def interleaved(base: str, targets: list[tuple[str, str, str | None]], rounds: int, concurrency: int = WORKERS,
                warmup: int = 10) -> list[Result]:
    """Each thread requests every target in turn, round after round, so the trivial view and every page
    are timed over the same seconds: on a shared machine, a quiet or a busy moment hits them alike. As
    many threads as gunicorn workers, so no request waits in the queue behind another kind of page."""
    for _name, path, session in targets:
        for _ in range(warmup):
            fetch(base + path, session)
    latencies: dict[str, list[float]] = {name: [] for name, _p, _s in targets}
    errors = dict.fromkeys(latencies, 0)
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(rounds // concurrency):
            for name, path, session in targets:
                ms, ok = fetch(base + path, session)
                with lock:
                    latencies[name].append(ms)
                    errors[name] += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    results = []
    for name, path, _session in targets:
        values = sorted(latencies[name])
        results.append(Result(name, path, statistics.median(values), values[int(len(values) * 0.95) - 1],
                              len(values) / wall, errors[name]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studios", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15, help="in-process renders per page (uncached)")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    started = time.perf_counter()
    setup_django(url)
    from bench.seed import seed_public
    from workshops.models import Application, Assessment, Disbursement, Studio, StudioRecord

    first = max(50, args.studios // 100)
    seed_public(first, 5)
    seed_life()
    seed_round(10, tag="（一）")
    keys = sessions()
    small, _fresh, _warm = in_process(keys, 1)
    already = list(Studio.objects.values_list("pk", flat=True))
    seed_public(args.studios - first, 45, start=first)
    seed_life(list(Studio.objects.exclude(pk__in=already).values_list("pk", flat=True)))
    seed_round(max(10, args.studios // 25), tag="（二）")
    print(f"seeded in {time.perf_counter() - started:.0f}s: {Studio.objects.count()} studios, "
          f"{StudioRecord.objects.count()} records, {Assessment.objects.count()} assessments, "
          f"{Disbursement.objects.count()} payments, {Application.objects.count()} applications "
          f"({url.rsplit('/', 1)[-1]})")
    large, fresh, warm = in_process(keys, args.repeat)
    print(f"{'page, in process':<40} {'queries small':>13} {'queries full':>12} {'uncached ms':>12} {'×trivial':>9} "
          f"{'cached ms':>10} {'×trivial':>9}")
    for name in large:
        print(f"{name:<40} {small[name]:>13} {large[name]:>12} {fresh[name]:>12.1f} "
              f"{fresh[name] / fresh[TRIVIAL]:>9.1f} {warm[name]:>10.1f} {warm[name] / warm[TRIVIAL]:>9.1f}")
    for ref in ("signed-in workbench", TRIVIAL):
        print(f"{ref:<40} {'':>13} {'':>12} {fresh[ref]:>12.1f} {fresh[ref] / fresh[TRIVIAL]:>9.1f} {warm[ref]:>10.1f} "
              f"{warm[ref] / warm[TRIVIAL]:>9.1f}")
    grew = [name for name in small if large[name] != small[name]]
    worst_fresh = max(v for k, v in fresh.items() if k in large)
    targets: list[tuple[str, str, str | None]] = [(TRIVIAL, "/healthz", None),
                                                  ("signed-in workbench (city)", WORKBENCH, keys["city"])]
    targets += [(f"{name} ({who})", path, key) for who, key in keys.items() for name, path in PAGES]
    with gunicorn(url, workers=WORKERS) as base:
        baseline, workbench, *results = interleaved(base, targets, args.requests)
    print("gunicorn, 2 workers, signed in, figures cached per jurisdiction (reviews/dashboards.py):")
    print_table([baseline, workbench, *results], baseline)
    if grew:
        print("query count grew with data: " + ", ".join(grew))
    errors = sum(r.errors for r in results)
    worst = max(r.p50_ms for r in results)
    print(f"uncached: slowest dashboard computed afresh {worst_fresh:.0f} ms = {worst_fresh / fresh[TRIVIAL]:.0f}× "
          f"/healthz, {worst_fresh / fresh['signed-in workbench']:.1f}× the workbench (in process)")
    print(f"ratio_workbench={worst / workbench.p50_ms:.2f}  (slowest dashboard / the signed-in workbench, gunicorn)")
    print(f"ratio={worst / baseline.p50_ms:.2f}")
    if grew or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
