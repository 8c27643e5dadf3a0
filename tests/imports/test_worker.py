"""The task path for real: a Celery worker on the Redis broker checks and imports a file, against PostgreSQL.

Run with your own database and Redis, e.g.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_imp REDIS_URL=redis://127.0.0.1:6379/12 \
    .venv/bin/pytest tests/imports/test_worker.py --nomigrations
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from portal.models import AuditEvent
from tests.imports.builders import member_row, studio_row, unit_row, upload, workbook
from workshops import imports, tasks
from workshops.models import ImportJob, Studio, StudioMember

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_for(job: ImportJob, *states: str, seconds: float = 90) -> ImportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in states:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job.pk} still {job.state} after {seconds} s")


def test_a_real_worker_checks_and_imports_a_file_once(policies: None, cast_for: Any, worker: Any) -> None:
    wz = cast_for("wenzhou")
    units = [unit_row(wz.city) for _ in range(40)]
    job = imports.do_upload(wz.city, actor=wz.city_staff, kind="units",
                            upload=upload(workbook(wz.city, "units", units)))
    wait_for(job, ImportJob.State.CHECKED)
    imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    job = wait_for(job, ImportJob.State.DONE, ImportJob.State.FAILED)
    assert job.state == ImportJob.State.DONE and job.result["units_created"] == 40, job.message
    studios = [studio_row(wz.city, u["uscc"]) for u in units]
    content = workbook(wz.city, "studios", {"工作室": studios, "成员": [member_row(wz.city, s) for s in studios]})
    job = imports.do_upload(wz.city, actor=wz.city_staff, kind="studios", upload=upload(content, "工作室.xlsx"))
    wait_for(job, ImportJob.State.CHECKED)
    assert job.report["ready"] == 80 and job.error_rows == 0
    imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    job = wait_for(job, ImportJob.State.DONE, ImportJob.State.FAILED)
    assert job.state == ImportJob.State.DONE, job.message
    assert Studio.objects.filter(city=wz.city).count() == 40 and StudioMember.objects.count() == 40
    assert AuditEvent.objects.filter(action="studio.import", actor_username=wz.city_staff.username).count() == 40
    # The broker may deliver a task twice (acks_late): the second run finds the job done and writes nothing.
    assert tasks.run_import.delay(job.pk).get(timeout=60) == "skipped"
    assert Studio.objects.filter(city=wz.city).count() == 40
