"""reviews:notices, reviews:notice_manage, reviews:objection, reviews:establish — the city staff's pages
for the public notice (公示), the objections raised during it, and establishment (发文设立).

Each view: the happy path, a wrong method, anonymous, another city's staff and a unit, invalid input
(the Chinese error shown, what was typed kept).
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import calendar
from portal.models import AuditEvent, CalendarYear
from reviews import notices
from reviews.models import Notice, Objection, ObjectionState
from tests.factories import Cast, make_application, make_org, make_round, walk
from workshops.models import Application, Round, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _next_years_holidays(db: Any) -> None:
    # Deadlines counted from today may run into next year, which chinesecalendar may not cover yet.
    year = timezone.localdate().year + 1
    if not calendar.package_covers_year(year):
        CalendarYear.objects.create(year=year, complete=True, note="测试：按周一至周五计算")


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hh(cast_for: Any) -> Cast:
    return cast_for("hohhot")  # 呼和浩特 第九条(四): 公示时间不少于5个工作日


@pytest.fixture
def ready(hh: Cast) -> Round:
    """A 呼和浩特 round with one application decided and waiting for its notice."""
    rnd = make_round(hh.city)
    walk(hh, [make_application(hh, rnd)], until=AppState.READY_FOR_NOTICE)
    return rnd


@pytest.fixture
def notice(hh: Cast, ready: Round) -> Notice:
    return notices.do_publish_notice(ready, actor=hh.city_staff, starts_on=timezone.localdate())


@pytest.fixture
def objection(notice: Notice) -> Objection:
    return notices.do_submit_objection(notice, entry=notice.entries.get(), name="张三", phone="13812345678",
                                       email="", reason="领办人已调离本单位，请核实。", evidence=None,
                                       source_ip="10.0.0.1")


@pytest.fixture
def approved(hh: Cast) -> Round:
    """A 呼和浩特 round whose notice ran a month ago and was closed: its application is approved."""
    rnd = make_round(hh.city)
    (app,) = walk(hh, [make_application(hh, rnd)], until=AppState.READY_FOR_NOTICE)
    notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=timezone.localdate() - timedelta(days=30))
    notices.close_due_notices()
    app.refresh_from_db()
    assert app.state == AppState.APPROVED
    return rnd


# --- reviews:notices ---------------------------------------------------------------------------------

def test_it_lists_the_applications_ready_for_notice_and_publishes_them(hh: Cast, ready: Round) -> None:
    app = Application.objects.get(round=ready)
    url = reverse("reviews:notices", args=[ready.pk])
    staff = login(hh.city_staff)
    page = staff.get(url).content.decode()
    assert app.studio_name in page and "本市办法规定公示时间不少于 5 个工作日，可以延长。" in page
    start = date(2026, 9, 28)  # across 国庆 and 中秋: 7 working days end on 12 Oct (tests/reviews/test_notices.py)
    response = staff.post(url, {"starts_on": start.isoformat(), "working_days": "7", "title": "",
                                "body": "拟设立名单如下。", "contact": "0471-1234567"}, follow=True)
    notice = Notice.objects.get(round=ready)
    assert response.redirect_chain[-1][0] == reverse("reviews:notice_manage", args=[notice.pk])
    assert "公示已发布：2026-09-28 至 2026-10-12。" in response.content.decode()
    assert (notice.working_days, notice.ends_on, notice.contact) == (7, date(2026, 10, 12), "0471-1234567")
    app.refresh_from_db()
    assert app.state == AppState.ON_NOTICE
    event = AuditEvent.objects.for_object(app).filter(action="notice.start").get()
    assert (event.actor_id, event.to_state) == (hh.city_staff.pk, AppState.ON_NOTICE)


def test_it_refuses_a_notice_shorter_than_the_policy_allows(hh: Cast, ready: Round) -> None:
    response = login(hh.city_staff).post(reverse("reviews:notices", args=[ready.pk]), {
        "starts_on": "2026-09-28", "working_days": "4", "title": "呼和浩特市拟设立名单公示（测试）", "contact": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "公示时间不少于5个工作日（第九条(四)）。" in page
    assert 'value="呼和浩特市拟设立名单公示（测试）"' in page and 'value="4"' in page and 'value="2026-09-28"' in page
    assert not Notice.objects.exists()
    assert Application.objects.get(round=ready).state == AppState.READY_FOR_NOTICE


@pytest.mark.parametrize(("data", "message"), [
    ({"starts_on": "", "working_days": "5"}, "公示开始日期：这个字段是必填项。"),
    ({"starts_on": "九月", "working_days": "5"}, "公示开始日期：输入一个有效的日期。"),
    ({"starts_on": "2026-09-28", "working_days": "0"}, "公示期（工作日）：确保该值大于或等于1。"),
])
def test_it_refuses_a_malformed_notice(hh: Cast, ready: Round, data: dict[str, str], message: str) -> None:
    page = login(hh.city_staff).post(reverse("reviews:notices", args=[ready.pk]), data).content.decode()
    assert message in page and not Notice.objects.exists()


def test_it_holds_dongguan_to_exactly_five_working_days(cast_for: Any) -> None:
    dg = cast_for("dongguan")  # 东莞 第九条(五): 公示5个工作日 — neither shorter nor longer
    rnd = make_round(dg.city, on=date(2025, 6, 1))
    walk(dg, [make_application(dg, rnd)], until=AppState.READY_FOR_NOTICE, on=date(2025, 6, 2))
    page = login(dg.city_staff).post(reverse("reviews:notices", args=[rnd.pk]), {
        "starts_on": "2025-09-29", "working_days": "7"}).content.decode()
    assert "本市办法规定公示5个工作日（第九条(五)）。" in page and not Notice.objects.exists()


def test_it_sends_a_city_without_a_notice_stage_to_establishment(zz: Cast) -> None:
    rnd = make_round(zz.city)  # 郑州 第七条: no notice; the decision is final
    response = login(zz.city_staff).get(reverse("reviews:notices", args=[rnd.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("reviews:establish", args=[rnd.pk])
    assert "本市办法没有公示环节：决定后直接发文设立。" in response.content.decode()


def test_it_guards_the_notices_page(hh: Cast, ready: Round, cast_for: Any) -> None:
    url = reverse("reviews:notices", args=[ready.pk])
    data = {"starts_on": timezone.localdate().isoformat(), "working_days": "5"}
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().post(url, data).status_code == 302
    assert login(cast_for("zhengzhou").city_staff).get(url).status_code == 404
    assert login(cast_for("zhengzhou").city_staff).post(url, data).status_code == 404
    assert login(hh.unit).get(url).status_code == 403
    assert login(hh.unit).post(url, data).status_code == 403
    assert login(hh.decision).post(url, data).status_code == 403
    assert login(hh.city_staff).put(url).status_code == 405
    assert not Notice.objects.exists()


# --- reviews:notice_manage -----------------------------------------------------------------------------

def test_it_shows_the_notice_with_its_entries_and_objections(hh: Cast, notice: Notice, objection: Objection) -> None:
    page = login(hh.city_staff).get(reverse("reviews:notice_manage", args=[notice.pk])).content.decode()
    assert notice.title in page and notice.entries.get().studio_name in page
    assert reverse("reviews:objection", args=[objection.pk]) in page and "张三" in page and "已受理" in page
    assert reverse("public:notice", args=[notice.pk]) in page and "公示中" in page


def test_it_guards_the_notice_page(hh: Cast, notice: Notice, cast_for: Any) -> None:
    url = reverse("reviews:notice_manage", args=[notice.pk])
    assert login(hh.city_staff).post(url).status_code == 405  # a read-only page
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login(cast_for("zhengzhou").city_staff).get(url).status_code == 404
    # A published notice is public: a unit may find it, but not manage it.
    assert login(hh.unit).get(url).status_code == 403
    assert login(hh.district).get(url).status_code == 403
    assert login(hh.city_staff).get(reverse("reviews:notice_manage", args=[notice.pk + 999])).status_code == 404


# --- reviews:objection ---------------------------------------------------------------------------------

def test_it_shows_an_objection_to_city_staff_with_the_phone_masked(hh: Cast, objection: Objection) -> None:
    page = login(hh.city_staff).get(reverse("reviews:objection", args=[objection.pk])).content.decode()
    assert "领办人已调离本单位，请核实。" in page and "138****5678" in page and "13812345678" not in page
    assert 'value="dismiss"' in page and 'value="uphold"' in page


def test_it_dismisses_an_objection(hh: Cast, objection: Objection) -> None:
    response = login(hh.city_staff).post(reverse("reviews:objection", args=[objection.pk]), {
        "action": "dismiss", "findings": "经核查，领办人仍在本单位在岗。"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("reviews:notice_manage", args=[objection.notice_id])
    assert "异议处理已保存。" in response.content.decode()
    objection.refresh_from_db()
    assert (objection.state, objection.findings, objection.handled_by) == (
        ObjectionState.DISMISSED, "经核查，领办人仍在本单位在岗。", hh.city_staff)
    event = AuditEvent.objects.for_object(objection).get(action="objection.dismiss")
    assert (event.actor_id, event.to_state) == (hh.city_staff.pk, ObjectionState.DISMISSED)
    # Handled: the page still shows it, without the form.
    page = login(hh.city_staff).get(reverse("reviews:objection", args=[objection.pk])).content.decode()
    assert "经核查，领办人仍在本单位在岗。" in page and 'value="uphold"' not in page


def test_it_starts_an_investigation_without_findings(hh: Cast, objection: Objection) -> None:
    response = login(hh.city_staff).post(reverse("reviews:objection", args=[objection.pk]),
                                         {"action": "investigate", "findings": ""})
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.state == ObjectionState.INVESTIGATING and objection.handled_at is None


def test_an_upheld_objection_disqualifies_where_there_is_no_backup_list(hh: Cast, objection: Objection) -> None:
    # 呼和浩特 第九条(四) has no backup list: the application is only disqualified.
    response = login(hh.city_staff).post(reverse("reviews:objection", args=[objection.pk]), {
        "action": "uphold", "findings": "经核查，领办人已于上月调离。"}, follow=True)
    page = response.content.decode()
    assert "异议处理已保存。" in page and "替补" not in page
    objection.refresh_from_db()
    app = objection.entry.application
    app.refresh_from_db()
    assert (objection.state, app.state) == (ObjectionState.UPHELD, AppState.DISQUALIFIED)
    assert AuditEvent.objects.for_object(app).filter(action="application.disqualify",
                                                     actor_id=hh.city_staff.pk).exists()


def test_an_upheld_objection_in_dongguan_renotices_the_best_backup(cast_for: Any) -> None:
    # 东莞 第九条(五): 异议成立 → 撤消其资格，从备选名单中择优替补，重新公示.
    dg = cast_for("dongguan")
    rnd = make_round(dg.city, on=date(2025, 6, 1), quota=1)
    first, second = (make_application(dg, rnd), make_application(dg, rnd, org=make_org(dg.city, dg.org.district)))
    walk(dg, [first, second], until=AppState.READY_FOR_NOTICE, on=date(2025, 6, 2),
         scores={first.pk: 95, second.pk: 80})
    notice = notices.do_publish_notice(rnd, actor=dg.city_staff, starts_on=timezone.localdate())
    objection = notices.do_submit_objection(notice, entry=notice.entries.get(), name="王某", phone="13800001111",
                                            email="", reason="申报材料与实际不符。", evidence=None,
                                            source_ip="10.1.1.1")
    response = login(dg.city_staff).post(reverse("reviews:objection", args=[objection.pk]), {
        "action": "uphold", "findings": "核实材料不实。"}, follow=True)
    followup = Notice.objects.get(replaces=notice)
    assert (f"已从备选名单替补并发布替补公示：{followup.starts_on} 至 {followup.ends_on}。"
            in response.content.decode())
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (AppState.DISQUALIFIED, AppState.ON_NOTICE)
    assert followup.entries.get().application == second


@pytest.mark.parametrize("action", ["uphold", "dismiss"])
def test_it_asks_for_findings_before_closing_an_objection(hh: Cast, objection: Objection, action: str) -> None:
    response = login(hh.city_staff).post(reverse("reviews:objection", args=[objection.pk]),
                                         {"action": action, "findings": "  "})
    page = response.content.decode()
    assert response.status_code == 200 and "调查结论：请填写调查结论。" in page
    assert re.search(rf'<input[^>]*value="{action}"[^>]*checked', page)  # the choice made is kept
    objection.refresh_from_db()
    assert objection.state == ObjectionState.RECEIVED
    assert objection.entry.application.state == AppState.ON_NOTICE


def test_it_asks_what_to_do_with_the_objection(hh: Cast, objection: Objection) -> None:
    response = login(hh.city_staff).post(reverse("reviews:objection", args=[objection.pk]),
                                         {"findings": "已电话联系提出人。"})
    page = response.content.decode()
    assert "处理：这个字段是必填项。" in page and "已电话联系提出人。" in page
    objection.refresh_from_db()
    assert objection.state == ObjectionState.RECEIVED


def test_it_guards_the_objection_page(hh: Cast, objection: Objection, cast_for: Any) -> None:
    url = reverse("reviews:objection", args=[objection.pk])
    data = {"action": "dismiss", "findings": "不成立"}
    response = Client().post(url, data)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login(cast_for("zhengzhou").city_staff).get(url).status_code == 404
    assert login(cast_for("zhengzhou").city_staff).post(url, data).status_code == 404
    assert login(hh.unit).get(url).status_code == 404  # objections are never a unit's to see
    assert login(hh.district).get(url).status_code == 404
    # The decision makers may read an objection; only city staff handle it.
    page = login(hh.decision).get(url).content.decode()
    assert "领办人已调离本单位" in page and 'value="dismiss"' not in page
    assert login(hh.decision).post(url, data).status_code == 403
    assert login(hh.city_staff).put(url).status_code == 405
    objection.refresh_from_db()
    assert objection.state == ObjectionState.RECEIVED


# --- reviews:establish ---------------------------------------------------------------------------------

def test_it_establishes_the_approved_studios(hh: Cast, approved: Round) -> None:
    app = Application.objects.get(round=approved)
    url = reverse("reviews:establish", args=[approved.pk])
    staff = login(hh.city_staff)
    page = staff.get(url).content.decode()
    assert app.studio_name in page and "待发文设立" in page
    response = staff.post(url, {"doc_number": "呼人社发〔2026〕8号", "established_on": "2026-12-01"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    page = response.content.decode()
    assert "已发文设立 1 个技能大师工作室。" in page and "已设立（呼人社发〔2026〕8号）" in page
    studio = Studio.objects.get(application=app)
    assert (studio.establishment_doc, studio.established_on) == ("呼人社发〔2026〕8号", date(2026, 12, 1))
    assert AuditEvent.objects.for_object(studio).get(action="studio.establish").actor_id == hh.city_staff.pk
    again = staff.post(url, {"doc_number": "呼人社发〔2026〕9号", "established_on": "2026-12-02"}, follow=True)
    assert "没有待设立的申报。" in again.content.decode() and Studio.objects.count() == 1


@pytest.mark.parametrize("doc_number", ["", "   "])
def test_it_asks_for_the_document_number(hh: Cast, approved: Round, doc_number: str) -> None:
    response = login(hh.city_staff).post(reverse("reviews:establish", args=[approved.pk]),
                                         {"doc_number": doc_number, "established_on": "2026-12-01"})
    page = response.content.decode()
    assert response.status_code == 200 and "设立文件文号：这个字段是必填项。" in page
    assert 'value="2026-12-01"' in page  # the date typed is kept
    assert not Studio.objects.exists()


def test_it_guards_the_establishment_page(hh: Cast, approved: Round, cast_for: Any) -> None:
    url = reverse("reviews:establish", args=[approved.pk])
    data = {"doc_number": "文号", "established_on": "2026-12-01"}
    response = Client().post(url, data)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login(cast_for("zhengzhou").city_staff).get(url).status_code == 404
    assert login(cast_for("zhengzhou").city_staff).post(url, data).status_code == 404
    assert login(hh.unit).post(url, data).status_code == 403
    assert login(hh.decision).post(url, data).status_code == 403
    assert login(hh.city_staff).put(url).status_code == 405
    assert not Studio.objects.exists()
