"""The public site carries no 身份证号, phone number or birth date (个人信息保护法 第二十五条: 不得公开其处理的
个人信息, 取得单独同意的除外). It publishes only what the cities' documents say is published: the studio's
name, the leader's name, the unit, occupation, category, district and status.

Seeded here: two cities' notices (呼和浩特, 东莞) with an objection, and 温州's established studios, all
with leaders and members who have mobiles and addresses and units with contact phones. Every route of
the public site is then fetched, pages, JSON, CSV and the Atom feed, and searched for each value.
"""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from portal.masking import mask_id_number, mask_phone
from portal.models import Organization, Person
from reviews import notices
from reviews.models import Notice
from tests.factories import Cast, make_application, make_org, make_person, make_round, walk
from workshops import actions
from workshops.models import Application, ApplicationMember, Revocation, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db

OBJECTOR_PHONE = "13511112222"
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MASKED = re.compile(r"\d\*{4,}\d")  # even masked values are not published


def staffed(cast: Cast, rnd: Any, n: int) -> Application:
    """A complete application whose leader and two members have mobiles, addresses, and birth dates of
    their own, from a unit with a contact phone."""
    org = make_org(cast.city, cast.org.district, contact_phone=f"1390000{n:04d}")
    app = make_application(cast, rnd, org=org, leader_name=f"领办人{n}")
    leader = app.leader
    leader.mobile, leader.home_address = f"1380000{n:04d}", f"某省某市某区幸福路{n}号"
    leader.save()
    for k in (1, 2):
        member = make_person(organization=org, birth=date(1980 + k, k + 2, 10 + n % 15), name=f"成员{n}-{k}",
                             mobile=f"1590000{n:02d}{k:02d}", home_address=f"某省某市某区和平路{n}-{k}号")
        ApplicationMember.objects.create(application=app, person=member)
    return app


@pytest.fixture
def seeded(cast_for: Any) -> dict[str, list[Any]]:
    today = timezone.localdate()
    published: list[Notice] = []
    # 呼和浩特's notice is open today; 东莞's ran in 2025, under the 办法 then in force.
    for code, n, on in (("hohhot", 10, today), ("dongguan", 20, date(2025, 6, 2))):
        cast = cast_for(code)
        rnd = make_round(cast.city, on=on, quota=2)
        walk(cast, [staffed(cast, rnd, n), staffed(cast, rnd, n + 1)], until=AppState.READY_FOR_NOTICE, on=on)
        published.append(notices.do_publish_notice(rnd, actor=cast.city_staff, starts_on=on - timedelta(days=1),
                                                   contact="市人社局职业能力建设处 0471-6961234"))
    notice = published[0]
    notices.do_submit_objection(notice, entry=notice.entries.first(), name="张三", phone=OBJECTOR_PHONE, email="",
                                reason="该工作室领办人已退休多年，不符合条件。", evidence=None, source_ip="10.0.0.9")
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    walk(wz, [staffed(wz, rnd, 30), staffed(wz, rnd, 31)], until=AppState.APPROVED)
    studios = actions.do_establish_studios(rnd, actor=wz.city_staff, doc_number="温人社发〔2026〕8号",
                                           established_on=today)
    assert len(studios) == 2 and all(n.entries.count() == 2 for n in published)
    # A revoked studio stays public with its 通报 (public:revocation_pdf).
    Studio.objects.filter(pk=studios[1].pk).update(state="revoked")
    Revocation.objects.create(studio=studios[1], ground="org_dissolved", decided_on=today, decided_by=wz.city_staff,
                              decision_body="温州市技能大师工作室工作办公室", notice_text="依托单位已注销。")
    return {"notices": published, "studios": studios}


def forbidden_values() -> list[str]:
    """Every ID number, phone and birth date in the database, in the forms a page might print them."""
    values = []
    for p in Person.objects.all():
        b = p.birth_date
        values += [p.id_number, p.id_number[6:14], b.isoformat(), b.strftime("%Y%m%d"), b.strftime("%Y/%m/%d"),
                   f"{b.year}年{b.month}月{b.day}日", f"{b.year}年{b.month}月", f"{b.year}年{b.month:02d}月",
                   b.strftime("%Y.%m"), mask_id_number(p.id_number)]
        if p.mobile:
            values += [p.mobile, mask_phone(p.mobile), p.home_address]
    for org in Organization.objects.all():
        if org.contact_phone:
            values += [org.contact_phone, mask_phone(org.contact_phone)]
    return values + [OBJECTOR_PHONE, mask_phone(OBJECTOR_PHONE)]


def public_routes() -> list[tuple[str, tuple[str, ...]]]:
    """(name, parameter names) of every route in the public namespace, including ones added later."""
    resolver = next(r for r in get_resolver().url_patterns
                    if isinstance(r, URLResolver) and r.namespace == "public")
    routes = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        routes.append((pattern.name, tuple(pattern.pattern.converters)))
    return routes


def urls_for(seeded: dict[str, list[Any]]) -> list[str]:
    notice_ids = [n.pk for n in seeded["notices"]]
    studio_ids = list(Studio.objects.public().values_list("pk", flat=True))
    assert set(studio_ids) == {s.pk for s in seeded["studios"]}
    # Which object a route's <pk> names. A new public route with a parameter must be added here, so
    # that no public page escapes this test.
    objects = {"notice": notice_ids, "objection": notice_ids, "objection_done": notice_ids, "studio": studio_ids,
               "notice_pdf": notice_ids,
               "revocation_pdf": list(Studio.objects.filter(state="revoked").values_list("pk", flat=True))}
    urls = []
    for name, params in public_routes():
        if not params:
            urls.append(reverse(f"public:{name}"))
            continue
        assert params == ("pk",) and name in objects, (
            f"public:{name} takes {params}: add it to tests/privacy/test_public_no_pii.py::urls_for")
        urls += [reverse(f"public:{name}", args=[pk]) for pk in objects[name]]
    filters = ["city=hohhot", "city=dongguan", "city=wenzhou", "q=领办人", "occupation=数控", "status=established"]
    for base in ("notices", "notices_json", "notices_csv", "studios", "studios_json", "studios_csv"):
        urls += [f"{reverse(f'public:{base}')}?{f}" for f in filters]
    return urls


def fetch_text(client: Any, url: str) -> tuple[str, str]:
    """(content type, text) of a public URL; a PDF is read as text, once it is rendered."""
    for _attempt in range(3):  # a PDF's first request may only queue the render and show its progress
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        kind = response["Content-Type"].split(";")[0]
        if kind == "application/pdf":
            from pypdf import PdfReader

            return kind, "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
        if not url.endswith(".pdf"):
            return kind, body.decode("utf-8-sig")
    raise AssertionError(f"{url} never answered with a PDF")


def test_it_publishes_no_id_number_phone_or_birth_date_anywhere(client, seeded) -> None:  # noqa: ANN001
    forbidden = forbidden_values()
    checked = set()
    for url in urls_for(seeded):
        kind, text = fetch_text(client, url)
        checked.add(kind)
        leaked = [v for v in forbidden if v and v in text]
        assert not leaked, f"{url} shows {leaked}"
        for pattern in (MOBILE, ID_NUMBER, MASKED):
            assert not pattern.search(text), f"{url} matches {pattern.pattern}: {pattern.search(text)[0]!r}"
    assert {"text/html", "application/json", "text/csv", "application/atom+xml"} <= checked
    if any(name.endswith("_pdf") for name, _params in public_routes()):
        assert "application/pdf" in checked


def test_it_still_publishes_what_the_documents_require(client, seeded) -> None:  # noqa: ANN001
    notice = seeded["notices"][0]
    page = client.get(reverse("public:notice", args=[notice.pk])).content.decode()
    for entry in notice.entries.all():
        assert entry.leader_name in page and entry.organization_name in page and entry.occupation in page
    rows = client.get(reverse("public:studios_json")).json()["results"]
    assert {r["leader"] for r in rows} == {s.leader.name for s in seeded["studios"]}
    assert set(rows[0]) == {"id", "name", "leader", "organization", "occupation", "category", "city", "district",
                            "established_on", "status"}
    (row,) = [n for n in client.get(reverse("public:notices_json")).json()["results"] if n["id"] == notice.pk]
    assert set(row["entries"][0]) == {"studio_name", "leader", "organization", "occupation", "category", "district"}
