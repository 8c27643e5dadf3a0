"""Uploading, downloading and deleting materials: type read from content, access, audit."""
from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import AuditEvent
from tests.factories import PDF_BYTES, make_application, make_round
from workshops.models import Application, Attachment

pytestmark = pytest.mark.django_db

EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture
def wz(cast_for):  # noqa: ANN001, ANN201
    return cast_for("wenzhou")


@pytest.fixture
def rnd(wz):  # noqa: ANN001, ANN201
    return make_round(wz.city)


@pytest.fixture
def draft(wz, rnd):  # noqa: ANN001, ANN201
    return make_application(wz, rnd, complete=False)


def upload(client, app: Application, kind: str, name: str, content: bytes, **extra: Any):  # noqa: ANN001, ANN201
    return client.post(reverse("workshops:attachment_upload", args=[app.pk]),
                       {"kind": kind, "file": SimpleUploadedFile(name, content)}, **extra)


@pytest.fixture
def app(wz, rnd):  # noqa: ANN001, ANN201
    """A submitted application, in formal review."""
    app = make_application(wz, rnd)
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    return Application.objects.get(pk=app.pk)


# --- upload ---------------------------------------------------------------------------------------

def test_it_uploads_a_pdf_for_a_material(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = upload(client, draft, "application_form", "申办表.pdf", PDF_BYTES)
    assert response.status_code == 302
    assert response["Location"] == reverse("workshops:edit", args=[draft.pk, "materials"])
    attachment = Attachment.objects.get(application=draft)
    assert (attachment.kind, attachment.content_type, attachment.original_name) == (
        "application_form", "application/pdf", "申办表.pdf")
    assert AuditEvent.objects.for_object(draft).filter(action="attachment.upload").exists()
    upload(client, draft, "application_form", "申办表-第二页.pdf", PDF_BYTES)
    html = client.get(reverse("workshops:edit", args=[draft.pk, "materials"])).content.decode()
    assert "申办表.pdf" in html and "申办表-第二页.pdf" in html and "已上传“申办表-第二页.pdf”" in html


def test_it_answers_htmx_uploads_with_the_materials_partial(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = upload(client, draft, "other_proofs", "证明.pdf", PDF_BYTES, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "已上传“证明.pdf”" in html


def test_it_refuses_a_renamed_executable_by_its_content(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = upload(client, draft, "application_form", "申办表.pdf", EXE_BYTES)
    html = response.content.decode()
    assert response.status_code == 200
    assert "文件类型不受支持" in html and "改扩展名无效" in html
    assert 'id="material-application_form"' in html and 'class="material has-error"' in html
    assert not Attachment.objects.exists()


def test_it_names_the_problem_with_a_missing_file_or_unknown_material(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    html = client.post(reverse("workshops:attachment_upload", args=[draft.pk]),
                       {"kind": "application_form"}).content.decode()
    assert "请选择要上传的文件。" in html
    response = upload(client, draft, "not_a_material", "x.pdf", PDF_BYTES)
    assert response.status_code == 200 and "材料类别：" in response.content.decode()
    assert upload(client, draft, "application_form", "空.pdf", b"").status_code == 200
    assert not Attachment.objects.exists()


def test_it_refuses_uploads_once_submitted_and_hides_other_units_drafts(wz, draft, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    assert upload(client, app, "application_form", "a.pdf", PDF_BYTES).status_code == 403
    client.force_login(wz.other_unit)
    assert upload(client, draft, "application_form", "a.pdf", PDF_BYTES).status_code == 404
    client.force_login(wz.district)
    assert upload(client, app, "application_form", "a.pdf", PDF_BYTES).status_code == 403
    assert not Attachment.objects.filter(original_name="a.pdf").exists()


def test_it_refuses_anonymous_and_wrong_method_uploads(wz, draft, client) -> None:  # noqa: ANN001
    response = upload(client, draft, "application_form", "a.pdf", PDF_BYTES)
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]
    client.force_login(wz.unit)
    assert client.get(reverse("workshops:attachment_upload", args=[draft.pk])).status_code == 405


# --- download -------------------------------------------------------------------------------------

def test_it_serves_a_download_as_an_attachment_and_audits_it(wz, app, client) -> None:  # noqa: ANN001
    attachment = app.attachments.first()
    url = reverse("workshops:attachment", args=[app.pk, attachment.pk])
    for user in (wz.unit, wz.district):
        client.force_login(user)
        response = client.get(url, REMOTE_ADDR="10.1.2.3")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "application/pdf" and "no-store" in response["Cache-Control"]
    events = AuditEvent.objects.for_object(app).filter(action="attachment.download")
    assert [e.actor_id for e in events] == [wz.unit.pk, wz.district.pk]
    assert events[0].ip == "10.1.2.3" and events[0].data["attachment"] == attachment.pk


def test_it_hides_downloads_outside_the_users_scope(cast_for, wz, draft, app, client) -> None:  # noqa: ANN001
    attachment = app.attachments.first()
    url = reverse("workshops:attachment", args=[app.pk, attachment.pk])
    for user in (wz.other_unit, wz.other_district, cast_for("pingdingshan").city_staff, wz.expert):
        client.force_login(user)
        assert client.get(url).status_code == 404
    draft_attachment = Attachment.objects.create(application=draft, kind="application_form", file="x.pdf",
                                                 original_name="x.pdf", content_type="application/pdf", size=1,
                                                 sha256="0" * 64, uploaded_by=wz.unit)
    client.force_login(wz.city_staff)  # drafts stay the unit's own business
    assert client.get(reverse("workshops:attachment", args=[draft.pk, draft_attachment.pk])).status_code == 404
    client.force_login(wz.unit)  # an attachment asked for under another application's URL
    assert client.get(reverse("workshops:attachment", args=[draft.pk, attachment.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="attachment.download").exists()


def test_it_answers_404_when_the_stored_file_is_gone(wz, draft, client) -> None:  # noqa: ANN001
    attachment = Attachment.objects.create(application=draft, kind="application_form", file="gone.pdf",
                                           original_name="gone.pdf", content_type="application/pdf", size=1,
                                           sha256="0" * 64, uploaded_by=wz.unit)
    client.force_login(wz.unit)
    assert client.get(reverse("workshops:attachment", args=[draft.pk, attachment.pk])).status_code == 404


def test_it_refuses_anonymous_and_wrong_method_downloads(wz, app, client) -> None:  # noqa: ANN001
    url = reverse("workshops:attachment", args=[app.pk, app.attachments.first().pk])
    assert reverse("portal:login") in client.get(url)["Location"]
    client.force_login(wz.unit)
    assert client.post(url).status_code == 405


# --- delete ---------------------------------------------------------------------------------------

def test_it_deletes_an_attachment_while_editable(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    upload(client, draft, "application_form", "申办表.pdf", PDF_BYTES)
    attachment = Attachment.objects.get()
    url = reverse("workshops:attachment_delete", args=[draft.pk, attachment.pk])
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and not Attachment.objects.exists()
    assert AuditEvent.objects.for_object(draft).filter(action="attachment.delete").exists()
    assert client.post(url).status_code == 404


def test_it_refuses_deleting_after_submission_or_by_others(cast_for, wz, app, client) -> None:  # noqa: ANN001
    attachment = app.attachments.first()
    url = reverse("workshops:attachment_delete", args=[app.pk, attachment.pk])
    assert reverse("portal:login") in client.post(url)["Location"]
    client.force_login(wz.unit)
    assert client.post(url).status_code == 403
    client.force_login(wz.district)
    assert client.post(url).status_code == 403
    client.force_login(cast_for("pingdingshan").city_staff)
    assert client.post(url).status_code == 404
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_it_stores_a_file_with_an_overlong_name(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    name = "很长的文件名" * 40 + ".pdf"
    assert upload(client, draft, "application_form", name, PDF_BYTES).status_code == 302
    attachment = Attachment.objects.get()
    assert len(attachment.file.name) <= 100 and attachment.original_name == name[:200]
