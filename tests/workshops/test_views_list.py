"""The unit's list of applications, the city's rounds, and creating an application."""
from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from tests.factories import make_application, make_round
from workshops.models import Application, Round

pytestmark = pytest.mark.django_db


# --- workshops:list ---------------------------------------------------------------------------------

def test_it_lists_the_units_own_applications_and_the_open_rounds(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    mine = make_application(wz, rnd, leader_name="王师傅")
    theirs = make_application(wz, rnd, org=wz.other_org, leader_name="李师傅")
    client.force_login(wz.unit)
    response = client.get(reverse("workshops:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert mine.studio_name in html and theirs.studio_name not in html
    assert "草稿" in html and "申报截止 2026-12-31" in html
    assert reverse("workshops:create", args=[rnd.pk]) in html and "新建申报" in html
    assert "本单位已有该批次的申报" in html


def test_it_offers_no_create_button_for_a_closed_round(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    closed = make_round(wz.city, on=date(2025, 6, 1))
    client.force_login(wz.unit)
    html = client.get(reverse("workshops:list")).content.decode()
    assert reverse("workshops:create", args=[closed.pk]) not in html
    assert "本市目前没有正在申报的批次" in html


def test_it_pins_the_list_query_count(cast_for, client, django_assert_num_queries) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    make_application(wz, rnd)
    client.force_login(wz.unit)
    client.get(reverse("workshops:list"))  # warm the session and the policy cache
    with django_assert_num_queries(7):  # 7th: the header's unread-message count
        assert client.get(reverse("workshops:list")).status_code == 200
    for _ in range(3):
        make_application(wz, rnd, complete=False)
    with django_assert_num_queries(7):  # 7th: the header's unread-message count
        response = client.get(reverse("workshops:list"))
    assert response.content.decode().count("继续填写") == 4


def test_it_refuses_the_list_to_bureau_roles(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    for user in (wz.city_staff, wz.district, wz.expert):
        client.force_login(user)
        assert client.get(reverse("workshops:list")).status_code == 403


def test_it_sends_anonymous_users_to_login(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    for method, url in (("get", reverse("workshops:list")), ("get", reverse("workshops:rounds")),
                        ("get", reverse("workshops:round_create")),
                        ("post", reverse("workshops:create", args=[rnd.pk]))):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and reverse("portal:login") in response["Location"], url
    assert not Application.objects.exists()


def test_it_refuses_wrong_methods(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    client.force_login(wz.unit)
    assert client.post(reverse("workshops:list")).status_code == 405
    assert client.get(reverse("workshops:create", args=[rnd.pk])).status_code == 405
    client.force_login(wz.city_staff)
    assert client.post(reverse("workshops:rounds")).status_code == 405
    assert client.put(reverse("workshops:round_create")).status_code == 405


# --- workshops:rounds / round_create ------------------------------------------------------------------

def test_it_lists_the_rounds_of_the_users_city_only(cast_for, client) -> None:  # noqa: ANN001
    wz, pds = cast_for("wenzhou"), cast_for("pingdingshan")
    mine, other = make_round(wz.city), make_round(pds.city)
    submitted = make_application(wz, mine)
    Application.objects.filter(pk=submitted.pk).update(state="formal_review")
    make_application(wz, mine, org=wz.other_org)  # a draft is not counted
    client.force_login(wz.city_staff)
    response = client.get(reverse("workshops:rounds"))
    html = response.content.decode()
    assert response.status_code == 200
    assert mine.title in html and other.title not in html
    assert "申报中" in html and reverse("workshops:round_create") in html
    assert re.search(r'data-label="已提交">1<', html)


def test_it_offers_opening_a_round_only_to_city_staff(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    make_round(wz.city)
    client.force_login(wz.district)
    html = client.get(reverse("workshops:rounds")).content.decode()
    assert reverse("workshops:round_create") not in html
    for user in (wz.district, wz.unit, wz.agency):
        client.force_login(user)
        assert client.get(reverse("workshops:round_create")).status_code == 403
        assert client.post(reverse("workshops:round_create"), {}).status_code == 403


def test_it_opens_a_round_under_the_policy_in_force(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    client.force_login(wz.city_staff)
    response = client.post(reverse("workshops:round_create"), {
        "year": "2027", "title": "2027年度温州市技能大师工作室申报",
        "opens_on": "2027-03-01", "closes_on": "2027-04-30"})
    assert response.status_code == 302 and response["Location"] == reverse("workshops:rounds")
    rnd = Round.objects.get(city=wz.city, year=2027)
    assert rnd.policy_version == "1" and rnd.closes_on == date(2027, 4, 30)
    assert AuditEvent.objects.for_object(rnd).filter(action="round.open").exists()
    assert "已开启申报批次" in client.get(reverse("workshops:rounds")).content.decode()


def test_it_shows_the_expired_policy_message_on_the_round_form(cast_for, client) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    client.force_login(dg.city_staff)
    response = client.post(reverse("workshops:round_create"), {
        "year": "2026", "title": "2026年度东莞市申报", "opens_on": "2026-03-01", "closes_on": "2026-04-30"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "现行管理办法已于2025-12-31到期，不能开启新一轮申报" in html
    assert 'value="2026年度东莞市申报"' in html
    assert not Round.objects.filter(city=dg.city).exists()


def test_it_keeps_round_input_when_dates_are_invalid(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    client.force_login(wz.city_staff)
    response = client.post(reverse("workshops:round_create"), {
        "year": "abc", "title": "第一批", "opens_on": "2027-13-45", "closes_on": "2027-04-30"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "年度：" in html and "开始申报日期：" in html
    assert 'value="第一批"' in html and 'value="2027-13-45"' in html
    response = client.post(reverse("workshops:round_create"), {
        "year": "2027", "title": "第一批", "opens_on": "2027-05-01", "closes_on": "2027-04-30"})
    assert "截止日期不能早于开始日期" in response.content.decode()
    assert not Round.objects.filter(city=wz.city).exists()


def test_it_refuses_a_second_round_with_the_same_title(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    client.force_login(wz.city_staff)
    response = client.post(reverse("workshops:round_create"), {
        "year": str(rnd.year), "title": rnd.title, "opens_on": "2026-12-01", "closes_on": "2026-12-20"})
    assert response.status_code == 200 and "已有同名批次" in response.content.decode()


# --- workshops:create ---------------------------------------------------------------------------------

def test_it_creates_a_draft_and_opens_its_first_step(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    client.force_login(wz.unit)
    response = client.post(reverse("workshops:create", args=[rnd.pk]))
    app = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("workshops:edit", args=[app.pk, "basic"])
    assert (app.organization, app.state, app.created_by) == (wz.org, "draft", wz.unit)
    assert AuditEvent.objects.for_object(app).filter(action="application.create").exists()


def test_it_hides_another_citys_round(cast_for, client) -> None:  # noqa: ANN001
    wz, pds = cast_for("wenzhou"), cast_for("pingdingshan")
    other = make_round(pds.city)
    client.force_login(wz.unit)
    assert client.post(reverse("workshops:create", args=[other.pk])).status_code == 404
    assert client.post(reverse("workshops:create", args=[999999])).status_code == 404


def test_it_refuses_to_create_in_a_closed_round_or_for_bureau_staff(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    closed = make_round(wz.city, on=date(2025, 6, 1))
    client.force_login(wz.unit)
    assert client.post(reverse("workshops:create", args=[closed.pk])).status_code == 403
    client.force_login(wz.city_staff)
    assert client.post(reverse("workshops:create", args=[make_round(wz.city).pk])).status_code == 403
    assert not Application.objects.exists()
