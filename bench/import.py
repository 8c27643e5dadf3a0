#!/usr/bin/env python
"""Onboarding a city from spreadsheets: 10,000 rows through the import task path, on PostgreSQL.

    .venv/bin/python bench/import.py [--rows 10000]

A fresh database (BENCH_DATABASE_URL, default a `portal_import_bench` database on the local server, dropped
and created) with the five cities' policies. For 温州 it writes a units file and a studios file of --rows
rows each (every studio with its leader: 身份证号 and mobile encrypted per value, a blind index, a plaque,
an audit row), uploads them as city staff and runs the check and import tasks as a worker would (in this
process: Celery eager). Then the same studios file again (nothing to import), and the export.
Ends with `seconds=<check + import of the studios file>` (target < 60).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/portal_import_bench"
STATES = ["运行中", "运行中", "已设立（建设中）", "已撤销"]


def files(city, rows: int) -> tuple[bytes, bytes]:  # noqa: ANN001
    from portal.demo import fake_id_number, fake_uscc
    from workshops import imports

    ctx = imports.Context(city)
    districts = [d.name for d in ctx.districts]
    unit_spec, studio_spec = imports.sheets_for("units", ctx)[0], imports.sheets_for("studios", ctx)[0]
    units, studios = [], []
    for i in range(rows):
        region = "330302"
        uscc = fake_uscc(800000 + i, region)
        unit = {"name": f"温州基准单位{i}", "uscc": uscc, "kind": "企业", "district": districts[i % len(districts)],
                "address": "工业大道1号", "contact_name": "联系人", "contact_phone": "0577-88886666"}
        state = STATES[i % len(STATES)]
        studio = {"name": f"师傅{i}技能大师工作室", "org_uscc": uscc, "occupation": "数控车工",
                  "established_on": date(2012, 1, 1) + timedelta(days=i % 4500), "state": state,
                  "plaque_number": f"WZ-B-{i:06d}", "leader_name": f"师傅{i}",
                  "leader_id": fake_id_number(date(1966, 1, 1) + timedelta(days=i % 6000), "M", i // 6000, region),
                  "leader_mobile": f"139{i:08d}", "leader_level": "高级技师（一级）"}
        if state == "已撤销":
            studio.update(revoked_on=studio["established_on"] + timedelta(days=400),
                          revocation_ground="工作室领办人调离原工作单位的")
        units.append([unit.get(c.key) for c in unit_spec.cols])
        studios.append([studio.get(c.key) for c in studio_spec.cols])
    return (imports.build_workbook("units", ctx, {str(unit_spec.name): units}),
            imports.build_workbook("studios", ctx, {str(studio_spec.name): studios}))


def timed_import(user, kind: str, content: bytes, name: str) -> tuple[float, float, object]:  # noqa: ANN001
    """Upload (the check task runs) and import (the import task runs); seconds of each."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from workshops import imports
    from workshops.models import ImportJob

    began = time.perf_counter()
    job = imports.do_upload(user.city, actor=user, kind=kind, upload=SimpleUploadedFile(name, content))
    job.refresh_from_db()
    checked = time.perf_counter()
    assert job.state == ImportJob.State.CHECKED, (job.state, job.message)
    if not job.report["ready"]:
        return checked - began, 0.0, job
    imports.do_start_import(job, actor=user, mode=ImportJob.Mode.ALL)
    job.refresh_from_db()
    done = time.perf_counter()
    assert job.state == ImportJob.State.DONE, (job.state, job.message, job.report.get("problems", [])[:5])
    return checked - began, done - checked, job


def ensure_tables() -> None:
    """Create the import models' tables if no migration has made them yet (a no-op once one exists)."""
    from django.db import connection

    from workshops.models import ImportJob, StudioMember

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in (StudioMember, ImportJob):
            if model._meta.db_table not in existing:
                editor.create_model(model)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()
    db_url = setup_django(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    ensure_tables()
    from portal import crypto
    from portal.models import AuditEvent, City, Person, User
    from portal.roles import Role
    from workshops import imports
    from workshops.models import Studio

    city = City.objects.get(code="wenzhou")
    user = User.objects.create(username="bench-import", role=Role.CITY, city=city, full_name="导入基准")
    began = time.perf_counter()
    units_file, studios_file = files(city, args.rows)
    print(f"built files: {args.rows} units ({len(units_file) // 1024} KiB), {args.rows} studios "
          f"({len(studios_file) // 1024} KiB) in {time.perf_counter() - began:.1f} s ({db_url.rsplit('/', 1)[-1]})")
    began = time.perf_counter()
    for i in range(args.rows):
        crypto.encrypt(f"33030219660101{i:04d}")
    per_value = (time.perf_counter() - began) / args.rows * 1e6
    print(f"Fernet encryption: {per_value:.0f} µs per value ({per_value * args.rows * 2 / 1e6:.1f} s for "
          f"{args.rows} 身份证号 + mobile numbers)")

    print(f"{'file':<30} {'rows':>6} {'check s':>8} {'import s':>9} {'total s':>8}")
    check_s, import_s, job = timed_import(user, "units", units_file, "温州单位.xlsx")
    print(f"{'units':<30} {args.rows:>6} {check_s:>8.1f} {import_s:>9.1f} {check_s + import_s:>8.1f}")
    check_s, import_s, job = timed_import(user, "studios", studios_file, "温州工作室.xlsx")
    studios_seconds = check_s + import_s
    print(f"{'studios (leader, plaque)':<30} {args.rows:>6} {check_s:>8.1f} {import_s:>9.1f} {studios_seconds:>8.1f}")
    assert Studio.objects.filter(city=city).count() == args.rows
    assert AuditEvent.objects.filter(action="studio.import").count() == args.rows
    assert Person.objects.count() == args.rows
    again_s, _, again = timed_import(user, "studios", studios_file, "温州工作室（再次）.xlsx")
    assert again.report["ready"] == 0 and again.error_rows == 0
    print(f"{'studios again (all skipped)':<30} {args.rows:>6} {again_s:>8.1f} {'—':>9} {again_s:>8.1f}")
    began = time.perf_counter()
    exported = imports.do_export(city, actor=user, kind="studios")
    print(f"export of the studios: {time.perf_counter() - began:.1f} s ({len(exported) // 1024} KiB)")
    print(f"result: {job.result}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min); "
          f"this process used {time.process_time():.0f} s of CPU in all")
    print(f"seconds={studios_seconds:.1f}")
    if studios_seconds >= 60:
        sys.exit(1)


if __name__ == "__main__":
    main()
