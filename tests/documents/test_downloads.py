"""Downloading documents: who may, what they get (masked or not), the audit row, reuse of the
stored PDF until its data changes, and progress while a worker renders it."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import pdf
from portal.masking import mask_id_number
from portal.models import AuditEvent
from portal.policies import get_policy
from reviews import notices
from tests.factories import make_application, make_person, make_round, make_user, walk
from workshops.models import Application, Plaque, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def submitted(cast_for: Any) -> Application:
    cast = cast_for("hohhot")
    (app,) = walk(cast, [make_application(cast)], until=AppState.FORMAL_REVIEW)
    return Application.objects.get(pk=app.pk)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the real renders (WeasyPrint runs), not the downloads."""
    calls: list[str] = []
    real = pdf.html_to_pdf

    def counting(html: str) -> bytes:
        calls.append(html)
        return real(html)

    monkeypatch.setattr(pdf, "html_to_pdf", counting)
    return calls


def test_it_gives_the_unit_its_form_with_full_numbers_and_audits_it(cast_for: Any, submitted: Application,
                                                                     read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    response = client_for(cast.unit).get(reverse("workshops:application_pdf", args=[submitted.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    flat = read_pdf(response.content, "unit").flat
    assert submitted.leader.id_number in flat
    event = AuditEvent.objects.filter(action="document.download").get()
    assert (event.actor_id, event.object_id) == (cast.unit.pk, str(submitted.pk))
    assert event.data["document"] == "workshops.application_form" and event.data["variant"] == "full"


def test_it_gives_reviewers_the_form_with_masked_numbers(cast_for: Any, submitted: Application, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    for user in (cast.city_staff, cast.district, cast.observer):
        response = client_for(user).get(reverse("workshops:application_pdf", args=[submitted.pk]))
        assert response.status_code == 200, user.role
        flat = read_pdf(response.content, user.role).flat
        assert mask_id_number(submitted.leader.id_number) in flat and submitted.leader.id_number not in flat
    assert AuditEvent.objects.filter(action="document.download").count() == 3


def test_it_hides_the_form_from_everyone_else(cast_for: Any, submitted: Application) -> None:
    cast, other_city = cast_for("hohhot"), cast_for("zhengzhou")
    url = reverse("workshops:application_pdf", args=[submitted.pk])
    assert client_for(cast.other_unit).get(url).status_code == 404
    assert client_for(cast.other_district).get(url).status_code == 404
    assert client_for(other_city.city_staff).get(url).status_code == 404
    assert client_for(cast.expert).get(url).status_code == 404  # not assigned
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert client_for(cast.unit).post(url).status_code == 405
    assert not AuditEvent.objects.filter(action="document.download").exists()


def test_it_keeps_drafts_to_the_unit(cast_for: Any) -> None:
    cast = cast_for("hohhot")
    draft = make_application(cast)
    url = reverse("workshops:application_pdf", args=[draft.pk])
    assert client_for(cast.city_staff).get(url).status_code == 404
    assert client_for(cast.unit).get(url).status_code == 200


def test_it_serves_only_the_documents_the_citys_policy_lists(cast_for: Any, submitted: Application) -> None:
    cast = cast_for("hohhot")
    client = client_for(cast.unit)
    for doc in ("pledge", "book"):
        response = client.get(reverse("workshops:application_document", args=[submitted.pk, doc]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf", doc
    for doc in ("project", "nonsense"):
        assert client.get(reverse("workshops:application_document", args=[submitted.pk, doc])).status_code == 404


def test_it_reuses_the_stored_pdf_until_the_data_changes(cast_for: Any, submitted: Application,
                                                          renders: list[str], read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    client, url = client_for(cast.city_staff), reverse("workshops:application_pdf", args=[submitted.pk])

    first = client.get(url).content
    second = client.get(url).content
    assert first == second and len(renders) == 1
    client_for(cast.observer).get(url)  # same masked document for another reader: no new render
    assert len(renders) == 1

    Application.objects.filter(pk=submitted.pk).update(site_address="新建实训楼五层")
    third = client.get(url).content
    assert len(renders) == 2 and "新建实训楼五层" in read_pdf(third).flat


def test_it_shows_progress_while_a_worker_renders(cast_for: Any, submitted: Application,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cast = cast_for("hohhot")
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(pdf.render_document, "delay", lambda *args: queued.append(args))
    client, url = client_for(cast.city_staff), reverse("workshops:application_pdf", args=[submitted.pk])

    waiting = client.get(url)
    assert waiting.status_code == 200 and waiting["Content-Type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="2">' in waiting.content.decode()
    assert "排队等待生成" in waiting.content.decode() and "<progress" in waiting.content.decode()
    assert client.get(url).status_code == 200 and len(queued) == 1  # the reload does not queue it again
    assert not AuditEvent.objects.filter(action="document.download").exists()

    kind, object_id, variant, key = queued[0]
    pdf.render_document(kind, object_id, variant, key)  # what the worker does
    assert pdf.job_status(key) is None
    done = client.get(url)
    assert done["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(action="document.download").count() == 1


def test_it_offers_a_retry_when_rendering_failed(cast_for: Any, submitted: Application,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cast = cast_for("hohhot")
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(pdf.render_document, "delay", lambda *args: queued.append(args))
    client, url = client_for(cast.city_staff), reverse("workshops:application_pdf", args=[submitted.pk])
    client.get(url)
    key = queued[0][3]
    cache.set(pdf._job_key(key), {"state": "failed", "since": 0}, 60)

    failed = client.get(url).content.decode()
    assert "生成失败" in failed and "?retry=1" in failed and "http-equiv" not in failed
    assert len(queued) == 1
    client.get(url + "?retry=1")
    assert len(queued) == 2 and pdf.job_status(key)["state"] == "queued"


def test_the_task_is_safe_to_run_twice(cast_for: Any, submitted: Application, renders: list[str]) -> None:
    first = pdf.render_document("workshops.application_form", submitted.pk, "", "")
    second = pdf.render_document("workshops.application_form", submitted.pk, "", "")
    assert first == second and len(renders) == 1
    assert pdf.stored(first) is not None
    assert pdf.render_document("workshops.application_form", 10**9, "", "") is None  # deleted meanwhile


def make_studio(cast: Any, **extra: Any) -> Studio:
    return Studio.objects.create(city=cast.city, district=cast.org.district, organization=cast.org,
                                 leader=make_person(organization=cast.org, name="巴特尔"), occupation="焊工",
                                 name="呼和浩特市巴特尔技能大师工作室", established_on=date(2026, 3, 16),
                                 policy_version=get_policy(cast.city.code).version, **extra)


def test_it_gives_the_plaque_certificate_to_the_unit_and_city_staff(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    plaque = Plaque.objects.create(studio=make_studio(cast), number="HOHHOT-2026-0001", issuing_body="呼和浩特市人社局")
    url = reverse("workshops:plaque_pdf", args=[plaque.pk])

    for user in (cast.unit, cast.city_staff):
        response = client_for(user).get(url)
        assert response.status_code == 200, user.role
        assert "HOHHOT-2026-0001" in read_pdf(response.content).flat
    assert client_for(cast.district).get(url).status_code == 403  # sees the studio, issues no plaques
    assert client_for(cast.observer).get(url).status_code == 403
    assert client_for(cast.other_unit).get(url).status_code == 404
    assert client_for(cast_for("zhengzhou").city_staff).get(url).status_code == 404
    assert AuditEvent.objects.filter(action="document.download", object_type="workshops.plaque").count() == 2


def test_it_gives_the_establishment_document_to_whoever_sees_the_studio(cast_for: Any) -> None:
    cast = cast_for("hohhot")
    studio = make_studio(cast, establishment_doc="呼人社发〔2026〕8号")
    url = reverse("reviews:establishment_pdf", args=[studio.pk])
    for user in (cast.unit, cast.district, cast.city_staff, cast.decision):
        assert client_for(user).get(url).status_code == 200, user.role
    assert client_for(cast.other_unit).get(url).status_code == 404
    assert client_for(make_user("expert", cast.city)).get(url).status_code == 404
    undocumented = reverse("reviews:establishment_pdf", args=[make_studio(cast).pk])
    assert client_for(cast.city_staff).get(undocumented).status_code == 404


def test_the_printable_notice_is_public(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    rnd = make_round(cast.city)
    walk(cast, [make_application(cast, rnd)], until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=cast.city_staff, starts_on=timezone.localdate() - timedelta(days=1))

    response = client_for(None).get(reverse("public:notice_pdf", args=[notice.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"].startswith("public")
    assert notice.entries.get().studio_name in read_pdf(response.content).flat
    assert not AuditEvent.objects.filter(action="document.download").exists()
    page = client_for(None).get(reverse("public:notice", args=[notice.pk])).content.decode()
    assert reverse("public:notice_pdf", args=[notice.pk]) in page


def test_an_unpublished_notice_has_no_pdf(cast_for: Any) -> None:
    cast = cast_for("hohhot")
    rnd = make_round(cast.city)
    walk(cast, [make_application(cast, rnd)], until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=cast.city_staff, starts_on=timezone.localdate() + timedelta(days=3))
    type(notice).objects.filter(pk=notice.pk).update(published_at=None)
    assert client_for(None).get(reverse("public:notice_pdf", args=[notice.pk])).status_code == 404


def test_the_pages_link_to_the_pdfs(cast_for: Any, submitted: Application) -> None:
    cast = cast_for("hohhot")
    unit_page = client_for(cast.unit).get(reverse("workshops:detail", args=[submitted.pk])).content.decode()
    for doc in ("pledge", "book"):
        assert reverse("workshops:application_document", args=[submitted.pk, doc]) in unit_page
    assert reverse("workshops:application_pdf", args=[submitted.pk]) in unit_page
    assert "下载建设项目申报表（PDF）" in unit_page
    reviewer_page = client_for(cast.city_staff).get(reverse("reviews:application", args=[submitted.pk]))
    assert reverse("workshops:application_pdf", args=[submitted.pk]) in reviewer_page.content.decode()


def test_documents_load_nothing_from_outside() -> None:
    for url in ("file:///etc/hostname", "http://example.com/x.png", "data:text/plain,hi"):
        with pytest.raises(ValueError):
            pdf._fetcher()(url)


def test_it_has_fast_font_subsetting() -> None:
    """scripts/bootstrap installs libharfbuzz-subset0; without it a Chinese page takes seconds."""
    assert pdf.has_fast_subsetting()
    assert pdf.fast_font_subsetting(None) == []


def test_the_check_warns_without_fast_subsetting(monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint.text.ffi

    monkeypatch.setattr(weasyprint.text.ffi, "harfbuzz_subset", None)
    assert [w.id for w in pdf.fast_font_subsetting(None)] == ["portal.W101"]


def test_it_gives_the_assessment_sheet_to_the_studios_unit_and_bureau(cast_for: Any, read_pdf: Any) -> None:
    from workshops.models import Assessment

    cast = cast_for("wenzhou")
    table = get_policy("wenzhou").assessment.scoring
    scores = {i.code: i.points for s in table.sections for i in s.items}
    assessment = Assessment.objects.create(studio=make_studio(cast), kind="biennial", period=2025, scores=scores,
                                           conducted_on=date(2025, 12, 15), total=Decimal(100), grade="excellent",
                                           passed=True, recorded_by=cast.city_staff)
    url = reverse("workshops:assessment_pdf", args=[assessment.pk])

    for user in (cast.unit, cast.city_staff, cast.observer):
        response = client_for(user).get(url)
        assert response.status_code == 200, user.role
        assert "评估等级优秀" in read_pdf(response.content).flat
    assert client_for(cast.district).get(url).status_code == 403
    assert client_for(cast.other_unit).get(url).status_code == 404
    assert AuditEvent.objects.filter(action="document.download", object_type="workshops.assessment").count() == 3
    hohhot = cast_for("hohhot")
    unscored = Assessment.objects.create(studio=make_studio(hohhot), kind="biennial", period=2025, grade="pass",
                                         conducted_on=date(2025, 12, 15), passed=True, recorded_by=hohhot.city_staff)
    assert client_for(hohhot.unit).get(reverse("workshops:assessment_pdf", args=[unscored.pk])).status_code == 404


def test_the_revocation_notice_is_public(cast_for: Any, read_pdf: Any) -> None:
    from workshops.models import Revocation
    from workshops.states import StudioState

    cast = cast_for("hohhot")
    studio = make_studio(cast, establishment_doc="呼人社发〔2024〕2号")
    Revocation.objects.create(studio=studio, ground="org_dissolved", decided_on=date(2026, 9, 1),
                              decision_body="呼和浩特市人力资源和社会保障局局长办公会", notice_text="依托单位已注销",
                              decided_by=cast.city_staff)
    url = reverse("public:revocation_pdf", args=[studio.pk])
    assert client_for(None).get(url).status_code == 404  # not revoked (yet): nothing to publish

    Studio.objects.filter(pk=studio.pk).update(state=StudioState.REVOKED)
    response = client_for(None).get(url)

    assert response.status_code == 200 and response["Cache-Control"].startswith("public")
    flat = read_pdf(response.content).flat
    assert "关于撤销呼和浩特市巴特尔技能大师工作室称号的通报" in flat and "依托单位已注销" in flat
    assert "所依托单位被撤销或注销的" in flat


def test_a_worker_loads_the_fonts_when_it_starts(renders: list[str]) -> None:
    from celery.signals import worker_process_init

    assert worker_process_init.has_listeners()
    pdf.warm_up()  # the receiver (sending the signal here would also run Celery's own worker fix-ups)
    assert renders == [pdf.WARM_UP_HTML]


def test_a_half_written_pdf_counts_as_not_stored() -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    data = pdf.html_to_pdf("<p>技能</p>")
    pdf.store("a" * 64, data, sensitive=True)
    assert pdf.stored("a" * 64) == data
    default_storage.save(pdf._path("b" * 64), ContentFile(data[: len(data) // 2]))
    assert pdf.stored("b" * 64) is None
    encrypted = default_storage.open(pdf._path("a" * 64)).read()
    default_storage.save(pdf._path("c" * 64), ContentFile(encrypted[:-10]))
    assert pdf.stored("c" * 64) is None


def test_the_studio_pages_link_to_their_pdfs(cast_for: Any) -> None:
    from workshops.models import Revocation
    from workshops.states import StudioState

    cast = cast_for("hohhot")
    studio = make_studio(cast)
    plaque = Plaque.objects.create(studio=studio, number="HOHHOT-2026-0002", issuing_body="呼和浩特市人社局")
    link = reverse("workshops:plaque_pdf", args=[plaque.pk])
    assert link in client_for(cast.unit).get(reverse("workshops:studio", args=[studio.pk])).content.decode()
    assert link not in client_for(cast.district).get(reverse("workshops:studio", args=[studio.pk])).content.decode()

    Studio.objects.filter(pk=studio.pk).update(state=StudioState.REVOKED)
    Revocation.objects.create(studio=studio, ground="org_dissolved", decided_on=date(2026, 9, 1), notice_text="注销",
                              decision_body="局长办公会", decided_by=cast.city_staff)
    public = client_for(None).get(reverse("public:studio", args=[studio.pk])).content.decode()
    assert reverse("public:revocation_pdf", args=[studio.pk]) in public


@pytest.mark.parametrize(("name", "kwargs"), [
    ("workshops:application_pdf", {"pk": 10**6}), ("workshops:application_document", {"pk": 10**6, "doc": "pledge"}),
    ("workshops:plaque_pdf", {"pk": 10**6}), ("workshops:assessment_pdf", {"pk": 10**6}),
    ("reviews:establishment_pdf", {"pk": 10**6}),
])
def test_every_document_url_refuses_posts_strangers_and_unknown_ids(cast_for: Any, name: str,
                                                                     kwargs: dict[str, Any]) -> None:
    cast = cast_for("hohhot")
    url = reverse(name, kwargs=kwargs)
    assert client_for(cast.city_staff).get(url).status_code == 404
    assert client_for(cast.city_staff).post(url).status_code == 405
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.parametrize("name", ["public:notice_pdf", "public:revocation_pdf"])
def test_the_public_document_urls_refuse_posts_and_unknown_ids(name: str) -> None:
    url = reverse(name, args=[10**6])
    assert client_for(None).get(url).status_code == 404
    assert client_for(None).post(url).status_code == 405
