"""reviews:opinions (征求意见) and reviews:round_decision (研究决定)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.roles import Role
from reviews import actions as review_actions
from reviews.models import OpinionRequest, ReviewStep
from tests.factories import Cast, make_application, make_org, make_round, make_user
from workshops import actions
from workshops.models import Application, Round
from workshops.states import AppState

pytestmark = pytest.mark.django_db


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def through_expert_review(cast: Cast, rnd: Round, count: int = 1, *, on: date | None = None) -> list[Application]:
    """`count` applications (one unit each) passed up to and through a closed expert panel, ranked in order."""
    apps = []
    for i in range(count):
        unit = cast.unit if i == 0 else make_user(Role.UNIT, cast.city,
                                                  organization=make_org(cast.city, cast.org.district))
        app = actions.do_submit_application(
            make_application(cast, rnd, org=unit.organization, leader_name=f"第{i + 1}位师傅"), actor=unit, on=on)
        while app.state != AppState.EXPERT_REVIEW:
            actor = {AppState.AGGREGATION: cast.agency, AppState.FORMAL_REVIEW: {
                "district": cast.district, "city": cast.city_staff, "agency": cast.agency,
            }[app.policy.formal_review_level]}[app.state]
            app = review_actions.do_review_stage(app, actor=actor, outcome="passed", opinion="同意",
                                                 originals_checked=True)
        apps.append(app)
    panel = review_actions.do_create_panel(rnd, actor=cast.city_staff, name="评审组")
    for i, app in enumerate(apps):
        assignment = review_actions.do_assign_expert(panel, app, cast.expert, actor=cast.city_staff)
        review_actions.do_submit_scores(assignment, actor=cast.expert, scores={
            c.code: c.weight - i for c in app.policy.expert_rubric.criteria})
    review_actions.do_close_panel(panel, actor=cast.city_staff)
    return [Application.objects.get(pk=a.pk) for a in apps]


# --- reviews:opinions ------------------------------------------------------------------------------

@pytest.fixture
def dg(cast_for: Any) -> Cast:
    return cast_for("dongguan")  # 东莞 第九条(四): opinions of the city's departments after expert review


@pytest.fixture
def dg_round(dg: Cast) -> Round:
    return make_round(dg.city, on=date(2025, 6, 1))


def test_it_lists_the_rounds_applications_awaiting_opinions(client: Client, dg: Cast, dg_round: Round) -> None:
    (app,) = through_expert_review(dg, dg_round, on=date(2025, 6, 2))
    assert app.state == AppState.OPINION
    response = login(client, dg.city_staff).get(reverse("reviews:opinions", args=[dg_round.pk]))
    assert response.status_code == 200
    assert reverse("reviews:application", args=[app.pk]) in response.content.decode()


def test_it_records_a_departments_opinion_and_the_application_is_then_decided(
        client: Client, dg: Cast, dg_round: Round) -> None:
    (app,) = through_expert_review(dg, dg_round, on=date(2025, 6, 2))
    url = reverse("reviews:opinions", args=[dg_round.pk])
    response = login(client, dg.city_staff).post(url, {
        "department": "市财政局", "due_on": "2025-07-01", "response": "无异议", "objects_to": [app.pk]}, follow=True)
    assert response.redirect_chain[-1][0] == url
    req = OpinionRequest.objects.get(round=dg_round)
    assert (req.department, req.response, list(req.objects_to.all())) == ("市财政局", "无异议", [app])
    assert "已登记市财政局的意见" in response.content.decode()
    # Each application is then passed or rejected on its own page.
    client.post(reverse("reviews:decide", args=[app.pk]), {"outcome": "passed", "opinion": "各部门无异议",
                                                           "version": app.version})
    app.refresh_from_db()
    assert app.state == AppState.READY_FOR_NOTICE
    assert ReviewStep.objects.filter(application=app, stage="opinion", outcome="passed").exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"department": "", "due_on": "2025-07-01"}, "请填写征求意见部门"),
    ({"department": "市教育局"}, "请填写反馈期限"),
    ({"department": "市教育局", "due_on": "七月"}, "反馈期限格式"),
    ({"department": "市教育局", "due_on": "2025-07-01", "objects_to": ["999999"]}, "不在本批次的征求意见环节"),
    ({"department": "市教育局", "due_on": "2025-07-01", "objects_to": ["x"]}, "请刷新页面后重新提交"),
])
def test_it_refuses_an_invalid_opinion(client: Client, dg: Cast, dg_round: Round, data: dict[str, Any],
                                       message: str) -> None:
    response = login(client, dg.city_staff).post(reverse("reviews:opinions", args=[dg_round.pk]), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not OpinionRequest.objects.exists()


def test_it_has_no_opinion_page_where_the_policy_solicits_none(client: Client, zz: Cast) -> None:
    rnd = make_round(zz.city)
    assert login(client, zz.city_staff).get(reverse("reviews:opinions", args=[rnd.pk])).status_code == 404


def test_it_guards_the_opinion_page(client: Client, dg: Cast, dg_round: Round, cast_for: Any) -> None:
    url = reverse("reviews:opinions", args=[dg_round.pk])
    data = {"department": "市财政局", "due_on": "2025-07-01"}
    assert client.get(url).status_code == 302
    assert login(Client(), cast_for("hohhot").city_staff).get(url).status_code == 404
    assert login(Client(), cast_for("hohhot").city_staff).post(url, data).status_code == 404
    assert login(Client(), dg.district).get(url).status_code == 403
    assert login(Client(), dg.decision).post(url, data).status_code == 403
    assert login(Client(), dg.city_staff).delete(url).status_code == 405
    assert not OpinionRequest.objects.exists()


# --- reviews:round_decision ------------------------------------------------------------------------

def test_it_shows_the_ranked_list_and_the_backup_list(client: Client, zz: Cast) -> None:
    rnd = make_round(zz.city, quota=2)
    first, second, third = through_expert_review(zz, rnd, 3)
    assert [a.state for a in (first, second, third)] == [AppState.DECISION, AppState.DECISION, AppState.BACKUP]
    response = login(client, zz.decision).get(reverse("reviews:round_decision", args=[rnd.pk]))
    assert response.status_code == 200
    assert response.context["apps"] == [first, second]
    assert list(response.context["backup"]) == [third]
    body = response.content.decode()
    assert body.index(str(first)) < body.index(str(second)) < body.index("备选名单") < body.index(str(third))


def test_it_confirms_the_list_and_approves_where_no_notice_follows(client: Client, zz: Cast) -> None:
    rnd = make_round(zz.city, quota=1)
    chosen, backup = through_expert_review(zz, rnd, 2)
    url = reverse("reviews:round_decision", args=[rnd.pk])
    response = login(client, zz.decision).post(url, {"opinion": "2026年第5次局长办公会议研究同意"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "已确认拟设立名单，共 1 项" in response.content.decode()
    chosen.refresh_from_db()
    backup.refresh_from_db()
    assert (chosen.state, backup.state) == (AppState.APPROVED, AppState.BACKUP)
    step = ReviewStep.objects.get(application=chosen, stage="decision")
    assert (step.outcome, step.opinion, step.actor) == ("passed", "2026年第5次局长办公会议研究同意", zz.decision)


def test_it_sends_the_list_to_notice_where_the_notice_follows(client: Client, cast_for: Any) -> None:
    hh = cast_for("hohhot")  # 呼和浩特 第九条(三)–(四): 会议研究 then 公示
    rnd = make_round(hh.city)
    (app,) = through_expert_review(hh, rnd)
    login(client, hh.decision).post(reverse("reviews:round_decision", args=[rnd.pk]),
                                    {"opinion": "局长办公会议研究同意"})
    app.refresh_from_db()
    assert app.state == AppState.READY_FOR_NOTICE
    body = login(Client(), hh.city_staff).get(reverse("reviews:application", args=[app.pk])).content.decode()
    assert reverse("reviews:notices", args=[rnd.pk]) in body  # the notice is published for the round


def test_it_asks_for_the_meetings_opinion(client: Client, zz: Cast) -> None:
    rnd = make_round(zz.city)
    (app,) = through_expert_review(zz, rnd)
    response = login(client, zz.decision).post(reverse("reviews:round_decision", args=[rnd.pk]), {"opinion": " "})
    assert response.status_code == 400 and "请填写会议研究意见" in response.content.decode()
    app.refresh_from_db()
    assert app.state == AppState.DECISION


def test_it_has_nothing_to_confirm_on_an_empty_list(client: Client, zz: Cast) -> None:
    rnd = make_round(zz.city)
    response = login(client, zz.decision).post(reverse("reviews:round_decision", args=[rnd.pk]),
                                               {"opinion": "同意"}, follow=True)
    assert "没有待研究决定的申报" in response.content.decode()


def test_it_has_no_decision_page_where_the_decision_follows_the_notice(client: Client, dg: Cast,
                                                                         dg_round: Round) -> None:
    # 东莞 第九条(六): 审定授牌 comes after the notice; there is no list to confirm before it.
    assert login(client, dg.decision).get(reverse("reviews:round_decision", args=[dg_round.pk])).status_code == 404


def test_it_guards_the_decision_page(client: Client, zz: Cast, cast_for: Any) -> None:
    rnd = make_round(zz.city)
    url = reverse("reviews:round_decision", args=[rnd.pk])
    assert client.get(url).status_code == 302
    assert login(Client(), cast_for("hohhot").decision).get(url).status_code == 404
    assert login(Client(), cast_for("hohhot").decision).post(url, {"opinion": "同意"}).status_code == 404
    assert login(Client(), zz.city_staff).get(url).status_code == 403
    assert login(Client(), zz.expert).post(url, {"opinion": "同意"}).status_code == 403
    assert login(Client(), zz.decision).put(url).status_code == 405
