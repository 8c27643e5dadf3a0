"""The import pages: city staff of the city only; the upload is an XLSX by its content; the report in Chinese."""
from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from portal.models import AuditEvent, Organization
from tests.imports.builders import unit_row, upload, workbook
from workshops import imports
from workshops.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def wz(cast_for: Any) -> Any:
    return cast_for("wenzhou")


def post_file(client: Any, content: bytes, name: str = "单位.xlsx", kind: str = "units") -> Any:
    return client.post(reverse("workshops:imports"), {"kind": kind, "file": upload(content, name)})


def test_it_shows_the_templates_and_the_recent_imports_to_city_staff(wz: Any, client: Any) -> None:
    client.force_login(wz.city_staff)
    page = client.get(reverse("workshops:imports"))
    assert page.status_code == 200
    text = page.content.decode()
    for label in ("依托单位", "工作室、领办人和成员", "考核与验收", "资金拨付", "数据导入"):
        assert label in text
    assert reverse("workshops:import_template", args=["studios"]) in text


@pytest.mark.parametrize("kind", ["units", "studios", "assessments", "payments"])
def test_it_serves_each_template_as_xlsx_with_dropdowns_and_instructions(wz: Any, client: Any, kind: str) -> None:
    client.force_login(wz.city_staff)
    response = client.get(reverse("workshops:import_template", args=[kind]))
    assert response.status_code == 200 and response["Content-Type"] == imports.XLSX_TYPE
    assert "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert "填写说明" in wb.sheetnames and wb["选项"].sheet_state == "hidden"
    data = wb[wb.sheetnames[0]]
    headers = [c.value for c in data[1]]
    assert all(h for h in headers) and any(h.endswith("*") for h in headers)
    if kind in ("units", "studios"):
        assert data.data_validations.dataValidation  # dropdowns for districts, kinds, levels, states
    if kind == "assessments":
        assert "得分：制定完善的年度计划" in headers  # 温州 附件 scoring items


def test_it_refuses_an_unknown_template(wz: Any, client: Any) -> None:
    client.force_login(wz.city_staff)
    assert client.get("/applications/imports/templates/people.xlsx").status_code == 404


def test_upload_check_import_happy_path(wz: Any, client: Any, django_capture_on_commit_callbacks: Any) -> None:
    client.force_login(wz.city_staff)
    row = unit_row(wz.city)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, workbook(wz.city, "units", [row]))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("workshops:import_job", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "校验通过" in page and "确认导入" in page and "已校验" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workshops:import_run", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.run_by == wz.city_staff
    assert Organization.objects.filter(uscc=row["uscc"], city=wz.city).exists()
    page = client.get(reverse("workshops:import_job", args=[job.pk])).content.decode()
    assert "导入结果" in page and "新增单位" in page
    assert AuditEvent.objects.filter(action="import.upload", object_id=str(job.pk)).exists()


def test_the_report_shows_rows_columns_and_rules_and_downloads(wz: Any, client: Any,
                                                              django_capture_on_commit_callbacks: Any) -> None:
    client.force_login(wz.city_staff)
    bad = unit_row(wz.city, uscc="91330302000012345C")
    with django_capture_on_commit_callbacks(execute=True):
        post_file(client, workbook(wz.city, "units", [unit_row(wz.city), bad]))
    job = ImportJob.objects.get()
    page = client.get(reverse("workshops:import_job", args=[job.pk])).content.decode()
    assert "统一社会信用代码校验位错误" in page and "仅导入无误的行" in page and "1 处问题" in page
    report = client.get(reverse("workshops:import_report", args=[job.pk]))
    assert report.status_code == 200
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    message = "统一社会信用代码校验位错误（GB 32100-2015），请核对是否有输错的字符。"
    assert ("依托单位", 3, "统一社会信用代码", message) in rows
    # "all" is refused while the file has errors; the page says why.
    response = client.post(reverse("workshops:import_run", args=[job.pk]), {"mode": "all"}, follow=True)
    assert "仅导入无误的行" in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKED


def test_the_progress_partial_polls_while_running_and_reloads_when_done(wz: Any, client: Any) -> None:
    client.force_login(wz.city_staff)
    job = imports.do_upload(wz.city, actor=wz.city_staff, kind="units",
                            upload=upload(workbook(wz.city, "units", [unit_row(wz.city)])))
    url = reverse("workshops:import_progress", args=[job.pk])
    imports._publisher(job.pk)("check", 500, 10000)
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert "hx-trigger=\"every 2s\"" in running.content.decode() and "500 / 10000" in running.content.decode()
    assert "HX-Refresh" not in running
    imports.check_job(job.pk)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "every 2s" not in done.content.decode()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("单位.xlsm", None, "不接受启用宏的工作簿"),
    ("单位.xlsx", "macro", "工作簿含有宏"),
    ("单位.xlsx", b"%PDF-1.4 not a workbook", "文件不是 Excel 工作簿（.xlsx）"),
    ("单位.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 Excel 97-2003"),
    ("单位.xlsx", b"PK\x03\x04 broken zip", "文件不是 Excel 工作簿"),
    ("单位.xlsx", "docx", "文件不是 Excel 工作簿"),
    ("单位.xlsx", "corrupt", "无法打开该工作簿"),
    ("单位.xlsx", b"", "所提交的是空文件"),
])
def test_it_refuses_a_file_that_is_not_a_plain_xlsx(wz: Any, client: Any, name: str, content: Any,
                                                    message: str) -> None:
    good = workbook(wz.city, "units", [unit_row(wz.city)])
    if content is None:
        content = good
    elif content == "macro":
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buffer, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, src.read(item.filename))
            dst.writestr("xl/vbaProject.bin", b"\0" * 64)
        content = buffer.getvalue()
    elif content == "docx":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as dst:
            dst.writestr("[Content_Types].xml", "<Types/>")
            dst.writestr("word/document.xml", "<w:document/>")
        content = buffer.getvalue()
    elif content == "corrupt":
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buffer, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, b"garbage" if item.filename == "xl/workbook.xml" else src.read(item.filename))
        content = buffer.getvalue()
    client.force_login(wz.city_staff)
    response = post_file(client, content, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(wz: Any, client: Any, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 2048
    client.force_login(wz.city_staff)
    response = post_file(client, workbook(wz.city, "units", [unit_row(wz.city) for _ in range(50)]))
    assert response.status_code == 400 and "文件过大：不能超过 0 MB" in response.content.decode()


def test_the_export_is_audited_and_never_cached(wz: Any, client: Any) -> None:
    client.force_login(wz.city_staff)
    response = client.get(reverse("workshops:import_export", args=["units"]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(response.content))["依托单位"].iter_rows(min_row=2, values_only=True))
    assert wz.org.uscc in {r[1] for r in rows}
    event = AuditEvent.objects.get(action="import.export")
    assert event.data == {"kind": "units", "rows": {"依托单位": 3}} and event.actor_username == wz.city_staff.username


def test_only_city_staff_of_the_city_reach_the_pages(wz: Any, cast_for: Any, client: Any) -> None:
    job = imports.do_upload(wz.city, actor=wz.city_staff, kind="units",
                            upload=upload(workbook(wz.city, "units", [unit_row(wz.city)])))
    job_url = reverse("workshops:import_job", args=[job.pk])
    assert client.get(job_url)["Location"].startswith("/accounts/login/")  # anonymous
    zz = cast_for("zhengzhou")
    client.force_login(zz.city_staff)
    assert client.get(job_url).status_code == 404  # another city's job does not exist for them
    assert client.post(reverse("workshops:import_run", args=[job.pk]), {"mode": "all"}).status_code == 404
    for user in (wz.unit, wz.district, wz.agency, wz.decision, wz.observer):
        client.force_login(user)
        assert client.get(reverse("workshops:imports")).status_code == 403
        assert client.get(job_url).status_code == 404
    client.force_login(wz.city_staff)
    assert client.get(reverse("workshops:import_run", args=[job.pk])).status_code == 405  # POST only
    assert client.post(reverse("workshops:import_template", args=["units"])).status_code == 405


def test_a_form_without_a_file_or_a_mode_says_what_is_missing(wz: Any, client: Any) -> None:
    client.force_login(wz.city_staff)
    response = client.post(reverse("workshops:imports"), {"kind": "units"})
    assert response.status_code == 400 and "请选择要上传的文件。" in response.content.decode()
    job = imports.do_upload(wz.city, actor=wz.city_staff, kind="units",
                            upload=upload(workbook(wz.city, "units", [unit_row(wz.city)])))
    response = client.post(reverse("workshops:import_run", args=[job.pk]), {}, follow=True)
    assert "请选择导入方式。" in response.content.decode()
