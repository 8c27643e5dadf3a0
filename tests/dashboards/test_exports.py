"""Lists and their XLSX/CSV exports: scoped, filtered, masked, audited; big ones through the task."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from portal.models import AuditEvent
from reviews import exports
from reviews.models import ExportJob
from tests.dashboards.conftest import World, studio_at
from tests.factories import make_cast

pytestmark = pytest.mark.django_db
STUDIO_HEADERS = ["编号", "工作室名称", "依托单位", "县区/镇街", "领办人", "领办人身份证号", "领办人手机号码",
                  "职业（工种）", "类别", "状态", "设立日期", "设立文号", "扶持（培育建设）期满日期", "适用办法版本"]


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def export(client: Client, dataset: str, fmt: str = "xlsx", query: str = ""):  # noqa: ANN201
    url = reverse("reviews:export", args=[dataset]) + (f"?{query}" if query else "")
    return client.post(url, {"format": fmt})


def sheet(response) -> list[tuple]:  # noqa: ANN001
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == exports.XLSX_TYPE
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[1] == "说明"
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_it_exports_the_citys_studios_as_xlsx_with_chinese_headers(world: World) -> None:
    rows = sheet(export(client_for(world.cast.city_staff), "studios"))
    assert list(rows[0]) == STUDIO_HEADERS
    body = rows[1:]
    assert sorted(r[1] for r in body) == sorted(s.name for s in (world.a1, world.a2, world.a3, world.b1, world.b2))
    row = next(r for r in body if r[0] == world.a1.pk)
    assert row[2:5] == (world.cast.org.name, world.cast.org.district.name, world.a1.leader.name)
    leader_id = world.a1.leader.id_number
    assert row[5] == leader_id[:4] + "*" * 10 + leader_id[-4:]  # masked (portal.masking)
    assert row[6] == "139****5678"
    assert row[8] == world.a1.policy.category("modern_tech").label
    assert (row[9], row[10].date()) == ("运行中", date(2022, 3, 1))


def test_it_exports_only_the_district_for_a_district_reviewer(world: World) -> None:
    rows = sheet(export(client_for(world.cast.district), "studios"))
    assert sorted(r[0] for r in rows[1:]) == sorted(s.pk for s in (world.a1, world.a2, world.a3))
    rows = sheet(export(client_for(world.cast.district), "disbursements"))
    assert sorted(r[5] for r in rows[1:]) == [20000, 50000, 150000]


def test_it_exports_what_the_filters_select(world: World) -> None:
    client = client_for(world.cast.city_staff)
    rows = sheet(export(client, "studios", query="state=operating"))
    assert sorted(r[0] for r in rows[1:]) == sorted([world.a1.pk, world.b1.pk])
    rows = sheet(export(client, "studios", query=f"district={world.cast.other_org.district_id}&year=2026"))
    assert [r[0] for r in rows[1:]] == [world.b2.pk]
    rows = sheet(export(client, "assessments", query="period=2025&result=failed"))
    assert [(r[0], r[6], r[7]) for r in rows[1:]] == [(world.a2.name, "不合格", "不合格")]
    rows = sheet(export(client, "records", query="new_certificate=on"))
    assert sorted(r[6] for r in rows[1:]) == ["技师（二级）", "高级工（三级）"]
    rows = sheet(export(client, "studios", query="due=plan"))  # 郑州: plans due 20 January, a1 filed
    assert sorted(r[0] for r in rows[1:]) == sorted([world.a2.pk, world.b1.pk, world.b2.pk])


def test_it_lists_the_same_rows_the_file_holds(world: World) -> None:
    client = client_for(world.cast.city_staff)
    page = client.get(reverse("reviews:data", args=["studios"]), {"state": "operating"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-figure="count">2<' in html
    assert world.a1.name in html and world.a2.name not in html
    assert f'action="{reverse("reviews:export", args=["studios"])}?state=operating"' in html


def test_it_refuses_invalid_filters(world: World) -> None:
    client = client_for(world.cast.city_staff)
    assert client.get(reverse("reviews:data", args=["studios"]), {"year": "abc"}).status_code == 400
    response = export(client, "studios", query="year=abc")
    assert response.status_code == 302 and not ExportJob.objects.exists()
    response = export(client, "studios", fmt="pdf")
    assert response.status_code == 302 and not ExportJob.objects.exists()
    assert client.get(reverse("reviews:data", args=["nothing"])).status_code == 404


def test_it_writes_csv_with_a_bom_and_neutralises_formulas(world: World) -> None:
    world.b2.name = "=HYPERLINK(\"http://evil\")"
    world.b2.save(update_fields=["name"])
    response = export(client_for(world.cast.city_staff), "studios", fmt="csv")
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == STUDIO_HEADERS and len(rows) == 6
    assert "'=HYPERLINK(\"http://evil\")" in [r[1] for r in rows]
    cells = load_workbook(io.BytesIO(export(client_for(world.cast.city_staff), "studios").content)).worksheets[0]
    formula = next(c for c in cells["B"] if c.value and str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"  # text, never a formula


def test_it_audits_the_export_and_its_download(world: World) -> None:
    client = client_for(world.cast.city_staff)
    export(client, "disbursements", query="year=2023")
    job = ExportJob.objects.get()
    created = AuditEvent.objects.get(action="export.create")
    assert (created.actor_id, created.object_id) == (world.cast.city_staff.pk, str(job.pk))
    assert created.data == {"dataset": "disbursements", "format": "xlsx", "filters": {"year": "2023"}, "rows": 2,
                            "scope": f"c{world.cast.city.pk}"}
    downloaded = AuditEvent.objects.get(action="export.download")
    assert downloaded.data["sha256"] == job.sha256 and downloaded.data["rows"] == 2
    client.get(reverse("reviews:export_download", args=[job.pk]))
    assert AuditEvent.objects.filter(action="export.download").count() == 2


def test_it_builds_a_large_export_in_the_task_and_shows_its_progress(world: World, settings,  # noqa: ANN001
                                                                     django_capture_on_commit_callbacks) -> None:
    settings.EXPORT_INLINE_ROWS = 2
    client = client_for(world.cast.city_staff)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = export(client, "studios")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reviews:export_job", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "排队等待" in page and "<progress" in page and 'hx-trigger="every 2s"' in page
    for callback in callbacks:
        callback()  # the broker hands the task over (eager here; tests/dashboards/test_worker.py uses a worker)
    job.refresh_from_db()
    assert (job.state, job.total_rows, job.done_rows) == ("done", 5, 5)
    partial = client.get(reverse("reviews:export_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and reverse("reviews:export_download", args=[job.pk]) in partial
    assert "hx-trigger" not in partial
    rows = sheet(client.get(reverse("reviews:export_download", args=[job.pk])))
    assert len(rows) == 6
    assert job.file_name in client.get(reverse("reviews:exports")).content.decode()


def test_it_keeps_an_export_to_its_exporter(world: World, cast_for) -> None:  # noqa: ANN001
    export(client_for(world.cast.city_staff), "studios")
    job = ExportJob.objects.get()
    other_city = cast_for("wenzhou").city_staff
    for user in (world.cast.observer, world.cast.district, other_city):
        assert client_for(user).get(reverse("reviews:export_download", args=[job.pk])).status_code == 404
        assert client_for(user).get(reverse("reviews:export_job", args=[job.pk])).status_code == 404
    assert client_for(world.cast.unit).get(reverse("reviews:export_download", args=[job.pk])).status_code == 403
    assert Client().get(reverse("reviews:export_download", args=[job.pk])).status_code == 302


def test_it_runs_a_job_once_and_takes_over_one_whose_worker_died(world: World) -> None:
    job = ExportJob.objects.create(dataset="studios", title="工作室", format="csv", created_by=world.cast.city_staff)
    assert exports.run_export.apply(args=(job.pk,)).get() == "done"
    job.refresh_from_db()
    first = job.sha256
    assert exports.run_export.apply(args=(job.pk,)).get() == "done"  # a redelivered message changes nothing
    job.refresh_from_db()
    assert job.sha256 == first
    stuck = ExportJob.objects.create(dataset="studios", title="工作室", format="csv", created_by=world.cast.city_staff,
                                     state="running", started_at=timezone.now() - timedelta(hours=1))
    assert exports.run_export.apply(args=(stuck.pk,)).get() == "done"
    busy = ExportJob.objects.create(dataset="studios", title="工作室", format="csv", created_by=world.cast.city_staff,
                                    state="running", started_at=timezone.now())
    assert exports.run_export.apply(args=(busy.pk,)).get() == "running"  # another worker has it


def test_it_fails_an_export_whose_exporter_lost_the_role(world: World) -> None:
    job = ExportJob.objects.create(dataset="studios", title="工作室", format="xlsx", created_by=world.cast.city_staff)
    world.cast.city_staff.role = "unit"
    world.cast.city_staff.organization = world.cast.org
    world.cast.city_staff.save()
    assert exports.run_export.apply(args=(job.pk,)).get() == "failed"
    job.refresh_from_db()
    assert job.state == "failed" and "无权" in job.message and job.content is None


def test_it_drops_files_after_the_retention_period(world: World) -> None:
    client = client_for(world.cast.city_staff)
    export(client, "studios")
    job = ExportJob.objects.get()
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert exports.purge_expired() == 1
    job.refresh_from_db()
    assert job.state == "expired" and job.content is None
    response = client.get(reverse("reviews:export_download", args=[job.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("reviews:export_job", args=[job.pk])


def test_it_exports_every_list_with_its_headers(world: World) -> None:
    client = client_for(world.cast.city_staff)
    expected = {"applications": 0, "studios": 5, "disbursements": 4, "assessments": 8, "records": 5, "plans": 1}
    for code, n in expected.items():
        rows = sheet(export(client, code))
        columns = exports.DATASETS[code].columns({})
        assert list(rows[0]) == [str(c.header) for c in columns], code
        assert len(rows) - 1 == n, code


def test_it_exports_applications_with_the_leaders_id_masked(world: World) -> None:
    from tests.factories import make_application, make_round, unit_user_of
    from workshops.actions import do_submit_application

    app = make_application(world.cast, make_round(world.cast.city))
    make_application(world.cast, make_round(world.cast.city, on=date(2025, 5, 5)))  # a draft: not the bureau's
    do_submit_application(app, actor=unit_user_of(app.organization))
    rows = sheet(export(client_for(world.cast.city_staff), "applications"))
    assert len(rows) == 2
    masked = rows[1][rows[0].index("领办人身份证号")]
    assert "*" in masked and masked != app.leader.id_number
    assert rows[1][rows[0].index("状态")] == "汇总报送中"


def test_a_second_cast_in_the_same_city_changes_nothing(world: World) -> None:
    other = make_cast("zhengzhou")
    studio_at(other, established_on=date(2025, 1, 1))
    rows = sheet(export(client_for(world.cast.district), "studios"))
    assert len(rows) - 1 == 4  # the same district (the cast's first) now has one more


@pytest.mark.parametrize("query", [
    {"year": "99999999999999"}, {"district": "abc"}, {"round": "1 OR 1=1"}, {"state": "nonsense"}, {"q": "\x00"},
    {"level": "-1"}, {"page": "-5"}, {"page": "abc"}, {"due": "x" * 500}, {"subsidy": "%"}, {"kind": "'"}])
def test_it_answers_junk_filters_without_a_server_error(world: World, query: dict[str, str]) -> None:
    client = client_for(world.cast.city_staff)
    for code in exports.DATASETS:
        assert client.get(reverse("reviews:data", args=[code]), query).status_code in (200, 400)
        url = reverse("reviews:export", args=[code]) + "?" + "&".join(f"{k}={v}" for k, v in query.items()
                                                                        if "\x00" not in v and " " not in v)
        assert client.post(url, {"format": "csv"}).status_code in (200, 302)
