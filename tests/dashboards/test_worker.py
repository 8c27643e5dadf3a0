"""The export task path for real: a Celery worker process on the Redis broker, against the test database."""
from __future__ import annotations

import io
import time
from datetime import date
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from portal.models import AuditEvent
from reviews.models import ExportJob
from tests.dashboards.conftest import studio_at

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_builds_a_large_export_and_the_exporter_downloads_it(policies, cast_for, worker,  # noqa: ANN001
                                                                            settings) -> None:  # noqa: ANN001
    settings.EXPORT_INLINE_ROWS = 3  # anything above goes to the worker
    zz = cast_for("zhengzhou")
    names = {studio_at(zz, zz.org if i % 2 else zz.other_org, established_on=date(2020 + i % 6, 3, 1)).name
             for i in range(8)}
    client = Client()
    client.force_login(zz.city_staff)
    response = client.post(reverse("reviews:export", args=["studios"]), {"format": "xlsx"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reviews:export_job", args=[job.pk])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.5)
    assert job.state == ExportJob.State.DONE, f"the worker did not finish the export within 60 s ({job.state})"
    assert (job.total_rows, job.done_rows) == (8, 8)
    page = client.get(reverse("reviews:export_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert reverse("reviews:export_download", args=[job.pk]) in page
    download = client.get(reverse("reviews:export_download", args=[job.pk]))
    rows = list(load_workbook(io.BytesIO(download.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "工作室名称", "依托单位")
    assert {r[1] for r in rows[1:]} == names
    assert list(AuditEvent.objects.filter(object_id=str(job.pk), object_type="reviews.exportjob")
                .values_list("action", flat=True).order_by("id")) == ["export.create", "export.download"]
