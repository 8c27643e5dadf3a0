"""The public site as an anonymous citizen sees it: notices, objections, directory, open data."""
from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.core import signing
from django.core.management import call_command
from django.utils import timezone

from reviews import notices
from reviews.models import Objection
from tests.factories import make_application, make_org, make_round, walk
from workshops import actions
from workshops.states import AppState

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(cast_for):  # noqa: ANN001, ANN201
    """A 呼和浩特 notice running today with two studios, one of them with a rare-character name."""
    cast = cast_for("hohhot")
    rnd = make_round(cast.city, quota=2)
    apps = [make_application(cast, rnd), make_application(cast, rnd, org=make_org(cast.city, cast.org.district),
                                                          leader_name="吉𠮷")]
    walk(cast, apps, until=AppState.READY_FOR_NOTICE)
    today = timezone.localdate()
    start = today - timedelta(days=1)
    notice = notices.do_publish_notice(rnd, actor=cast.city_staff, starts_on=start, contact="0471-1234567")
    return cast, notice


def test_it_shows_the_home_page_with_current_notices(client, published) -> None:  # noqa: ANN001
    _, notice = published
    page = client.get("/").content.decode()
    assert notice.title in page and "呼和浩特市" in page


def test_it_lists_and_shows_notices_without_personal_data(client, published) -> None:  # noqa: ANN001
    cast, notice = published
    listing = client.get("/notices/")
    assert listing.status_code == 200 and notice.title in listing.content.decode()
    detail = client.get(f"/notices/{notice.pk}/").content.decode()
    assert "吉𠮷" in detail and cast.org.name in detail and "对公示名单提出异议" in detail
    for entry in notice.entries.select_related("application__leader"):
        leader = entry.application.leader
        assert leader.id_number not in detail and leader.id_number[6:14] not in detail


def test_it_pins_the_query_count_of_the_notice_list(client, published, django_assert_num_queries) -> None:  # noqa: ANN001
    from django.core.cache import cache

    cache.clear()  # the cold render: what a cache miss costs
    with django_assert_num_queries(3):  # count, page (entry counts annotated in), cities for the filter
        client.get("/notices/")
    with django_assert_num_queries(0):  # the same page again comes from the cache
        client.get("/notices/")


def rendered_ago(notice, seconds: int) -> str:  # noqa: ANN001
    """The form's signed render time, as if the page had been opened `seconds` ago."""
    signer = signing.TimestampSigner(salt="objection-form")
    signer.timestamp = lambda: signing.b62_encode(int(time.time()) - seconds)  # type: ignore[method-assign]
    return signer.sign(str(notice.pk))


def test_it_takes_an_objection_from_a_citizen(client, published) -> None:  # noqa: ANN001
    _, notice = published
    form = client.get(f"/notices/{notice.pk}/objection/")
    data = {"entry": notice.entries.first().pk, "name": "张三", "phone": "13812345678", "email": "",
            "reason": "该工作室领办人已退休多年，不符合条件。", "website": "", "ts": form.context["form"].initial["ts"]}
    too_fast = client.post(f"/notices/{notice.pk}/objection/", data).content.decode()
    assert "提交过快" in too_fast and "该工作室领办人已退休多年" in too_fast  # nothing typed is lost
    data["ts"] = rendered_ago(notice, 60)
    done = client.post(f"/notices/{notice.pk}/objection/", data, follow=True)
    assert "异议已提交" in done.content.decode()
    objection = Objection.objects.get()
    assert objection.phone == "13812345678" and objection.name == "张三"
    data["website"] = "http://spam.example"
    spam = client.post(f"/notices/{notice.pk}/objection/", data)
    assert "未通过校验" in spam.content.decode() and Objection.objects.count() == 1
    data["website"], data["ts"] = "", rendered_ago(notice, 3 * 3600)
    stale = client.post(f"/notices/{notice.pk}/objection/", data).content.decode()
    assert "页面已过期" in stale and "该工作室领办人已退休多年" in stale


def test_it_rejects_a_renamed_executable_as_evidence(client, published) -> None:  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, notice = published
    exe = SimpleUploadedFile("证据.pdf", b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf")
    response = client.post(f"/notices/{notice.pk}/objection/", {
        "entry": notice.entries.first().pk, "name": "张三", "phone": "13812345678", "reason": "证据见附件，请核实。",
        "ts": rendered_ago(notice, 60), "evidence": exe})
    assert "文件类型不受支持" in response.content.decode()
    assert not Objection.objects.exists()


def test_it_closes_the_objection_form_outside_the_period(client, published) -> None:  # noqa: ANN001
    _, notice = published
    notice.ends_on = timezone.localdate() - timedelta(days=1)
    notice.save()
    page = client.get(f"/notices/{notice.pk}/objection/").content.decode()
    assert "当前不在受理期内" in page


def test_open_data_parses(client, published) -> None:  # noqa: ANN001
    _, notice = published
    data = json.loads(client.get("/notices.json").content)
    assert data["count"] == 1 and len(data["results"][0]["entries"]) == 2
    rows = list(csv.reader(io.StringIO(client.get("/notices.csv").content.decode("utf-8-sig"))))
    assert rows[0][0] == "公示编号" and len(rows) == 3
    feed = ET.fromstring(client.get("/notices/feed.atom").content)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1 and notice.title in entries[0].find("{http://www.w3.org/2005/Atom}title").text
    for body in (client.get("/notices.json").content.decode(), client.get("/notices.csv").content.decode()):
        for entry in notice.entries.select_related("application__leader"):
            assert entry.application.leader.id_number not in body


def test_notice_end_approves_and_establishment_fills_the_directory(client, published) -> None:  # noqa: ANN001
    cast, notice = published
    call_command("close_notices", date=(notice.ends_on + timedelta(days=1)).isoformat(), verbosity=0)
    apps = list(notice.entries.values_list("application__state", flat=True))
    assert apps == [AppState.APPROVED, AppState.APPROVED]
    actions.do_establish_studios(notice.round, actor=cast.city_staff, doc_number="呼人社发〔2026〕9号",
                                 established_on=date(2026, 12, 1))
    page = client.get("/studios/?city=hohhot").content.decode()
    assert "吉𠮷" in page and "建设中" in page
    listing = json.loads(client.get("/studios.json?city=hohhot").content)
    assert listing["count"] == 2
    assert set(listing["results"][0]) == {"id", "name", "leader", "organization", "occupation", "category", "city",
                                          "district", "established_on", "status"}
    studio_id = listing["results"][0]["id"]
    assert client.get(f"/studios/{studio_id}/").status_code == 200
    rows = list(csv.reader(io.StringIO(client.get("/studios.csv").content.decode("utf-8-sig"))))
    assert len(rows) == 3


def test_directory_query_count_does_not_grow(client, published, django_assert_num_queries) -> None:  # noqa: ANN001
    from django.core.cache import cache

    cast, notice = published
    call_command("close_notices", date=(notice.ends_on + timedelta(days=1)).isoformat(), verbosity=0)
    actions.do_establish_studios(notice.round, actor=cast.city_staff, doc_number="文号",
                                 established_on=date(2026, 12, 1))
    for _ in range(2):  # the same count with two studios and with twenty-two
        cache.clear()
        with django_assert_num_queries(4):  # count, page, cities, districts
            client.get("/studios/?q=工作室&year=2026")
        seed_more_studios(cast, 20)


def seed_more_studios(cast, n: int) -> None:  # noqa: ANN001
    from workshops.models import Studio

    template = Studio.objects.first()
    for i in range(n):
        Studio.objects.create(city=template.city, district=template.district, organization=template.organization,
                              leader=template.leader, name=f"{template.name}{i}", occupation="焊工",
                              policy_version=template.policy_version, established_on=template.established_on)


def test_close_notices_dry_run_prints_and_changes_nothing(published) -> None:  # noqa: ANN001
    _, notice = published
    out = io.StringIO()
    call_command("close_notices", date=(notice.ends_on + timedelta(days=1)).isoformat(), dry_run=True, stdout=out)
    assert f"[试运行] 公示 #{notice.pk} 期满结束" in out.getvalue()
    assert set(notice.entries.values_list("application__state", flat=True)) == {AppState.ON_NOTICE}


def test_bad_filters_do_not_break_the_directory(client, db) -> None:  # noqa: ANN001
    for query in ("year=abc", "city=nowhere", "page=-1", "status=bogus", "district=x"):
        assert client.get(f"/studios/?{query}").status_code == 200
    assert client.get("/notices/?page=zzz").status_code == 200
    assert client.get("/notices/999999/").status_code == 404


def test_open_data_csv_cells_never_start_a_formula(client, published) -> None:  # noqa: ANN001
    _, notice = published
    notice.entries.filter(position=1).update(studio_name="=HYPERLINK(\"http://evil\")")
    body = client.get("/notices.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body
