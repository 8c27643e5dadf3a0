"""Shared by the benchmarks: a database to seed, a gunicorn to measure, and latency statistics.

Benchmarks run against PostgreSQL (BENCH_DATABASE_URL, default a `portal_bench` database on the
local server, created if missing) so that numbers mean what production would see.
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/portal_bench"


def setup_django(db_url: str | None = None) -> str:
    """Point Django at the benchmark database (creating it) and run migrations."""
    url = db_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    parsed = urlparse(url)
    if parsed.scheme.startswith("postgres"):
        import psycopg2

        admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                                 password=parsed.password or None, dbname="postgres")
        admin.autocommit = True
        name = parsed.path.lstrip("/")
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # cached template loader, as in production
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("loadpolicies", verbosity=0)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(db_url: str, workers: int = 2, env_extra: dict[str, str] | None = None):  # noqa: ANN201
    """`env_extra` is added last (bench/load.py passes REDIS_URL to run with a broker and cache)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    env.pop("REDIS_URL", None)
    env.update(env_extra or {})
    # A file, not a pipe: nobody reads stderr while the benchmark runs, and a full pipe would block
    # gunicorn mid-request (bench/load.py provokes pages of tracebacks on purpose).
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            log.seek(0)
            raise RuntimeError("gunicorn did not start: " + log.read().decode(errors="replace"))
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@dataclass
class Result:
    name: str
    path: str
    p50_ms: float
    p95_ms: float
    rps: float
    errors: int


def measure(base: str, name: str, path: str, requests: int = 300, concurrency: int = 4, warmup: int = 20) -> Result:
    """Latency of `requests` GETs from `concurrency` threads, after a warm-up (bounded in count)."""
    for _ in range(warmup):
        urllib.request.urlopen(base + path, timeout=30).read()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = requests // concurrency

    def worker() -> None:
        nonlocal errors
        for _ in range(per_thread):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(base + path, timeout=30) as response:
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return Result(name, path, statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1],
                  len(latencies) / wall, errors)


def print_table(results: list[Result], baseline: Result) -> None:
    print(f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'×trivial':>9} {'errors':>6}")
    for r in results:
        print(f"{r.name:<28} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.rps:>8.1f} {r.p50_ms / baseline.p50_ms:>9.2f} "
              f"{r.errors:>6}")
