#!/usr/bin/env python
"""Public notice list and studio directory vs a trivial view, served by gunicorn in one run.

    .venv/bin/python bench/public_pages.py [--studios 10000] [--notices 500] [--requests 300]

Seeds the data into a fresh PostgreSQL database (BENCH_DATABASE_URL), runs gunicorn, measures
each page's p50/p95 latency and requests/s, checks that query counts stay flat as data grows, and
ends with `ratio=<worst page p50 / trivial view p50>` (target ≤ 2).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import gunicorn, measure, print_table, setup_django  # noqa: E402

PAGES = [
    ("notice list", "/notices/"),
    ("notice list, one city", "/notices/?city=zhengzhou"),
    ("directory", "/studios/"),
    ("directory, filtered", "/studios/?city=wenzhou&year=2020&status=operating"),
    ("directory, name search", "/studios/?q=%E5%B8%88%E5%82%851"),
]


def query_counts() -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = {}
    for name, path in PAGES:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200, path
        counts[name] = len(ctx.captured_queries)
    return counts


def cold_render_ms(repeat: int = 20) -> dict[str, float]:
    """In-process render time with the page cache emptied before every request (a cache miss)."""
    import time

    from django.core.cache import cache
    from django.test import Client

    client = Client()
    result = {}
    for name, path in [("trivial view (/healthz)", "/healthz"), *PAGES]:
        client.get(path)
        total = 0.0
        for _ in range(repeat):
            cache.clear()
            start = time.perf_counter()
            client.get(path)
            total += time.perf_counter() - start
        result[name] = total / repeat * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studios", type=int, default=10000)
    parser.add_argument("--notices", type=int, default=500)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    db_url = setup_django()
    from bench.seed import seed_public

    first_studios, first_notices = max(50, args.studios // 100), max(5, args.notices // 100)
    seed_public(first_studios, first_notices)
    small = query_counts()
    seed_public(args.studios - first_studios, args.notices - first_notices, start=first_studios)
    large = query_counts()
    from workshops.models import Studio

    print(f"seeded: {Studio.objects.count()} studios, {args.notices} notices ({db_url.rsplit('/', 1)[-1]})")
    print(f"{'page':<28} {'queries small':>14} {'queries full':>13}")
    for name, _ in PAGES:
        print(f"{name:<28} {small[name]:>14} {large[name]:>13}")
    grew = [name for name in small if large[name] > small[name]]
    cold = cold_render_ms()
    print(f"{'page':<28} {'cold render ms (cache miss, in-process)':>40}")
    for name, ms in cold.items():
        print(f"{name:<28} {ms:>40.1f}")
    with gunicorn(db_url) as base:
        baseline = measure(base, "trivial view (/healthz)", "/healthz", args.requests)
        results = [measure(base, name, path, args.requests) for name, path in PAGES]
    print_table([baseline, *results], baseline)
    worst = max(r.p50_ms for r in results) / baseline.p50_ms
    if grew:
        print("query count grew with data: " + ", ".join(grew))
    errors = sum(r.errors for r in results)
    print(f"ratio={worst:.2f}")
    if grew or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
