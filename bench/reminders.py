#!/usr/bin/env python
"""The daily reminder sweep at scale: time and query count with 1,000 and with 100,000 studios.

    .venv/bin/python bench/reminders.py [--studios 100000] [--small 1000] [--date 2026-01-21]

Seeds a fresh PostgreSQL database (BENCH_DATABASE_URL, default portal_bench_rem) with `--small`
studios and their units' accounts, sweeps, grows it to `--studios`, empties the inbox table and
sweeps again (cold policy and calendar caches each time, as a worker's first sweep of the day),
then sweeps a third time to show a re-run inserts nothing.  E-mail copies are queued to an
in-memory broker (sending them is the worker's job, not the sweep's).  Fails if the query count
grows with the number of studios.  Ends with `seconds=<sweep time at --studios> queries=<count>`.

On 2026-01-21: 郑州's plans (due 01-20) are overdue (+ escalations to the agency), 温州's and
呼和浩特's (01-31 → Mon 02-02) get their 30-day reminder, 郑州's aggregation (02-10) its 30-day one,
and the studios set up around 2025-07, 2024-07, 2024-01 and 2023-01 their acceptance milestones.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/portal_bench_rem"


def timed_sweep(on: date) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal import calendar
    from portal.policies import registry
    from portal.reminders import sweep

    calendar.clear_cache()
    registry.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        report = sweep(on)
        seconds = time.perf_counter() - start
    return seconds, len(queries.captured_queries), report


def grow(studios: int, start: int) -> float:
    from django.db import connection

    from bench.seed import seed_accounts, seed_public

    began = time.perf_counter()
    seed_public(studios, 0, start=start)
    seed_accounts()
    with connection.cursor() as cursor:
        # Spread establishment over three years, one studio a day per city, so that every acceptance
        # milestone (东莞 6/18/24/36 months, 平顶山 12/24, 郑州 12, 呼和浩特 24) has studios due around the date.
        cursor.execute("UPDATE workshops_studio SET established_on = DATE '2022-12-01' + (id / 5 % 1140)::int")
        cursor.execute("ANALYZE")
    return time.perf_counter() - began


def empty_inbox() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE portal_notification")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studios", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 1, 21))
    args = parser.parse_args()

    setup_django(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    from portal.celery import app

    app.conf.task_always_eager = False  # the sweep queues e-mail; it does not send it
    from portal.models import Notification
    from workshops.models import Studio

    rows = []
    seeded = grow(args.small, 0)
    print(f"seeded {args.small:,} studios in {seeded:.1f} s", flush=True)
    # A worker has its URLconf and templates loaded after its first task; do not time their import.
    from portal.reminders import sweep

    sweep(args.date, dry_run=True)
    rows.append((f"{args.small:,} studios", *timed_sweep(args.date)))
    seeded = grow(args.studios - args.small, args.small)
    print(f"seeded {args.studios - args.small:,} more studios in {seeded:.1f} s", flush=True)
    empty_inbox()
    rows.append((f"{Studio.objects.count():,} studios", *timed_sweep(args.date)))
    big_seconds, big_queries, big_report = rows[-1][1:]
    rows.append((f"{Studio.objects.count():,}, run again", *timed_sweep(args.date)))

    print(f"\nsweep on {args.date}")
    print(f"{'':<22} {'seconds':>8} {'queries':>8} {'inbox rows':>11} {'escalations':>12} {'e-mails queued':>15}")
    for label, seconds, queries, report in rows:
        summary = report.summary()
        print(f"{label:<22} {seconds:>8.2f} {queries:>8} {summary['sent']:>11,} {summary['escalations']:>12,} "
              f"{summary['emails_queued']:>15,}")
    print(f"\nat {args.studios:,} studios, by rule:")
    for line in sorted(big_report.lines, key=lambda line: -line.count)[:8]:
        if line.count:
            print(f"  {line.count:>7,}  {line.label}")
    stored = Notification.objects.count()
    assert stored == big_report.sent, (stored, big_report.sent)
    if rows[0][2] != big_queries:
        raise SystemExit(f"query count grew with the studios: {rows[0][2]} → {big_queries}")
    print(f"seconds={big_seconds:.2f} queries={big_queries}")


if __name__ == "__main__":
    main()
