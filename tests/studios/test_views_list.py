"""The studio lists (unit and bureaus) and 郑州's plan forwarding page."""
from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, Notification
from tests.factories import make_org, make_studio
from tests.studios.helpers import as_user, text, url
from workshops import actions
from workshops.models import AnnualPlan, PlanAggregation, Studio
from workshops.states import StudioState

pytestmark = pytest.mark.django_db


def test_it_lists_each_users_own_scope(cast_for, client) -> None:  # noqa: ANN001
    hh, zz = cast_for("hohhot"), cast_for("zhengzhou")
    mine = make_studio(hh, established_on=date(2024, 3, 1), name="本单位的工作室")
    other_org = make_org(hh.city, hh.other_org.district)
    theirs = make_studio(hh, established_on=date(2024, 3, 1), name="他单位的工作室")
    Studio.objects.filter(pk=theirs.pk).update(organization=other_org, district=other_org.district)
    elsewhere = make_studio(zz, established_on=date(2024, 3, 1), name="郑州的工作室")
    expectations = {hh.unit: {mine}, hh.other_unit: set(), hh.district: {mine}, hh.other_district: {theirs},
                    hh.city_staff: {mine, theirs}, hh.observer: {mine, theirs}, hh.agency: {mine, theirs},
                    hh.decision: {mine, theirs}, zz.city_staff: {elsewhere}}
    for user, expected in expectations.items():
        page = text(as_user(client, user).get(url("studios")))
        for studio in (mine, theirs, elsewhere):
            assert (studio.name in page) == (studio in expected), (user.role, studio.name)
    assert "我的工作室" in text(as_user(client, hh.unit).get(url("studios")))
    assert "工作室管理" in text(as_user(client, hh.city_staff).get(url("studios")))


def test_it_refuses_the_list_to_roles_without_studios(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    assert as_user(client, hh.expert).get(url("studios")).status_code == 403
    client.logout()
    response = client.get(url("studios"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert as_user(client, hh.city_staff).post(url("studios")).status_code == 405


def test_the_nav_links_to_the_studios_by_role(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    link = f'href="{url("studios")}"'
    assert link in as_user(client, hh.unit).get(reverse("portal:dashboard")).content.decode()
    html = as_user(client, hh.city_staff).get(reverse("portal:dashboard")).content.decode()
    assert link in html and "工作室管理" in html
    assert link not in as_user(client, hh.expert).get(reverse("portal:dashboard")).content.decode()


def test_it_filters_by_state_year_and_plan(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    year = timezone.localdate().year
    filed = make_studio(pds, established_on=date(2024, 3, 1), name="已报计划的工作室")
    missing = make_studio(pds, established_on=date(2025, 3, 1), name="未报计划的工作室")
    revoked = make_studio(pds, established_on=date(2025, 5, 1), name="已撤销的工作室", state=StudioState.REVOKED)
    actions.do_file_plan(filed, actor=pds.unit, year=year, content="计划")
    due = actions.plan_due_on(missing, year)
    overdue = timezone.localdate() > due
    as_user(client, pds.city_staff)

    def names(**params: object) -> set[str]:
        page = text(client.get(url("studios"), params))
        return {s.name for s in (filed, missing, revoked) if s.name in page}

    assert names() == {filed.name, missing.name, revoked.name}
    assert names(state="revoked") == {revoked.name}
    assert names(year=2024) == {filed.name}
    assert names(plan="filed") == {filed.name}
    assert names(plan="late") == ({filed.name} if overdue else set())
    assert names(plan="overdue") == ({missing.name, revoked.name} if overdue else set())
    assert names(q="未报") == {missing.name}
    # Nonsense in the query string is ignored, never an error.
    assert client.get(url("studios"), {"year": "去年", "state": "x", "page": "abc"}).status_code == 200
    page = text(client.get(url("studios")))
    assert ("逾期未报送" in page) == overdue


def test_it_pages_the_list_and_pins_its_query_count(cast_for, client, django_assert_num_queries) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    for i in range(3):
        make_studio(pds, established_on=date(2024, 3, 1), name=f"工作室{i:02d}")
    as_user(client, pds.city_staff)
    client.get(url("studios"))  # warm the session, the policy and the calendar caches
    # session, user, count, page (studio with city, district, unit, leader), this year's plans, the header's
    # city and unread-message count; due dates come from the cached policy and calendar.
    with django_assert_num_queries(7):
        client.get(url("studios"))
    for i in range(3, 25):
        make_studio(pds, established_on=date(2024, 3, 1), name=f"工作室{i:02d}")
    with django_assert_num_queries(7):
        response = client.get(url("studios"))
    page = text(response)
    assert "共 25 个工作室" in page and "第 1 / 2 页" in page
    second = text(client.get(url("studios"), {"page": 2}))
    assert "第 2 / 2 页" in second and sum(f"工作室{i:02d}" in second for i in range(25)) == 5


# --- 郑州 第十一条(五): the agency forwards the plans -----------------------------------------------------

def test_the_agency_forwards_zhengzhous_plans_with_late_marks(  # noqa: ANN001
        cast_for, client, django_capture_on_commit_callbacks) -> None:
    zz = cast_for("zhengzhou")
    year = timezone.localdate().year
    filed = make_studio(zz, established_on=date(2024, 3, 1), name="报了计划的工作室")
    silent = make_studio(zz, established_on=date(2024, 3, 1), name="没报计划的工作室")
    plan = actions.do_file_plan(filed, actor=zz.unit, year=year, content="计划")
    as_user(client, zz.agency)
    assert f'href="{url("plan_forward")}"' in client.get(url("studios")).content.decode()
    page = text(client.get(url("plan_forward")))
    assert "郑州市高技能人才公共实训管理服务机构于每年2月10日前将当年工作计划汇总上报" in page
    assert "第十一条(五)" in page
    assert filed.name in page and silent.name in page and "已报送 1 份，待汇总 1 份" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("plan_forward"), {"year": year})
    assert response.status_code == 302
    aggregation = PlanAggregation.objects.get(city=zz.city, year=year)
    due = actions.calendar.due_date_for_fixed_day(year, 2, 10)
    assert aggregation.plan_count == 1 and aggregation.is_late == (timezone.localdate() > due)
    plan.refresh_from_db()
    assert plan.forwarded_at is not None
    assert AuditEvent.objects.filter(action="plan.forward", actor_id=zz.agency.pk).exists()
    assert Notification.objects.filter(recipient=zz.city_staff, kind="plan.forwarded").exists()
    page = text(client.get(response["Location"]))
    assert "工作计划已汇总上报，共 1 份" in page and "待汇总 0 份" in page


def test_other_cities_agencies_are_told_there_is_no_forwarding(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    as_user(client, pds.agency)
    page = text(client.get(url("plan_forward")))
    assert "本市现行办法没有年度计划汇总上报环节" in page
    assert f'href="{url("plan_forward")}"' not in client.get(url("studios")).content.decode()
    response = client.post(url("plan_forward"), {"year": timezone.localdate().year})
    assert response.status_code == 200 and "本市现行办法没有年度计划汇总上报环节" in text(response)
    assert not PlanAggregation.objects.exists()


def test_only_the_agency_forwards_plans(cast_for, client) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    for user in (zz.city_staff, zz.unit, zz.decision, zz.observer, zz.district, zz.expert):
        as_user(client, user)
        assert client.get(url("plan_forward")).status_code == 403, user.role
        assert client.post(url("plan_forward"), {"year": 2026}).status_code == 403, user.role
    client.logout()
    response = client.get(url("plan_forward"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    as_user(client, zz.agency)
    assert client.put(url("plan_forward")).status_code == 405
    response = client.post(url("plan_forward"), {"year": "今年"})
    assert response.status_code == 200 and "计划年度：" in text(response)
    assert not AnnualPlan.objects.exists() and not PlanAggregation.objects.exists()
