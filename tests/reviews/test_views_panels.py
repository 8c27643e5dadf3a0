"""reviews:panels, reviews:panel, reviews:assign, reviews:panel_close — expert panels (city staff)."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.roles import Role
from reviews import actions as review_actions
from reviews.models import Assignment, Panel, ReviewStep
from tests.factories import Cast, make_application, make_org, make_round, make_user
from workshops import actions
from workshops.models import Application, Round
from workshops.states import AppState

pytestmark = pytest.mark.django_db


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def in_expert_review(cast: Cast, rnd: Round, unit: Any = None, **fields: Any) -> Application:
    """Submitted and passed through every stage before expert review, by the policy's own order."""
    unit = unit or cast.unit
    app = actions.do_submit_application(make_application(cast, rnd, org=unit.organization, **fields), actor=unit)
    while app.state != AppState.EXPERT_REVIEW:
        actor = {AppState.AGGREGATION: cast.agency, AppState.FORMAL_REVIEW: {
            "district": cast.district, "city": cast.city_staff, "agency": cast.agency}[app.policy.formal_review_level],
        }[app.state]
        app = review_actions.do_review_stage(app, actor=actor, outcome="passed", opinion="同意", originals_checked=True)
    return app


def another_unit(cast: Cast) -> Any:
    return make_user(Role.UNIT, cast.city, organization=make_org(cast.city, cast.org.district))


def score(assignment: Assignment, points: int | None = None) -> None:
    """Every criterion at `points` below its weight (None: full marks)."""
    criteria = assignment.application.policy.expert_rubric.criteria
    review_actions.do_submit_scores(assignment, actor=assignment.expert, scores={
        c.code: c.weight - (points or 0) for c in criteria})


@pytest.fixture
def rnd(zz: Cast) -> Round:
    return make_round(zz.city, quota=1)


@pytest.fixture
def panel(zz: Cast, rnd: Round) -> Panel:
    return review_actions.do_create_panel(rnd, actor=zz.city_staff, name="第一组")


# --- reviews:panels --------------------------------------------------------------------------------

def test_it_lists_panels_and_the_rounds_applications_in_expert_review(client: Client, zz: Cast, rnd: Round,
                                                                       panel: Panel) -> None:
    app = in_expert_review(zz, rnd)
    response = login(client, zz.city_staff).get(reverse("reviews:panels", args=[rnd.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("reviews:panel", args=[panel.pk]) in body
    assert reverse("reviews:application", args=[app.pk]) in body and "尚未分配专家" in body


def test_it_creates_a_panel(client: Client, zz: Cast, rnd: Round) -> None:
    response = login(client, zz.city_staff).post(reverse("reviews:panels", args=[rnd.pk]),
                                                 {"name": "数控专业组", "due_on": "2099-01-31"})
    panel = Panel.objects.get(round=rnd)
    assert response.status_code == 302 and response["Location"] == reverse("reviews:panel", args=[panel.pk])
    assert (panel.name, str(panel.due_on), panel.created_by) == ("数控专业组", "2099-01-31", zz.city_staff)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": ""}, "请填写专家组名称"),
    ({"name": "组", "due_on": "明天"}, "评审截止日期格式"),
    ({"name": "组", "due_on": "2000-01-01"}, "不能早于今天"),
    ({"name": "组" * 101}, "不能超过 100 个字"),
])
def test_it_refuses_an_invalid_panel(client: Client, zz: Cast, rnd: Round, data: dict[str, str],
                                     message: str) -> None:
    response = login(client, zz.city_staff).post(reverse("reviews:panels", args=[rnd.pk]), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Panel.objects.exists()


def test_it_guards_the_panels_page(client: Client, zz: Cast, rnd: Round, cast_for: Any) -> None:
    url = reverse("reviews:panels", args=[rnd.pk])
    assert client.get(url).status_code == 302  # anonymous: to sign in
    assert login(client, cast_for("hohhot").city_staff).get(url).status_code == 404
    assert login(Client(), zz.district).get(url).status_code == 403
    assert login(Client(), zz.city_staff).put(url).status_code == 405
    assert login(Client(), zz.city_staff).get(reverse("reviews:panels", args=[rnd.pk + 999])).status_code == 404


# --- reviews:panel and reviews:assign ---------------------------------------------------------------

def test_it_assigns_an_expert(client: Client, zz: Cast, rnd: Round, panel: Panel) -> None:
    app = in_expert_review(zz, rnd)
    response = login(client, zz.city_staff).post(reverse("reviews:assign", args=[panel.pk]),
                                                 {"application": app.pk, "expert": zz.expert.pk}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("reviews:panel", args=[panel.pk])
    assignment = Assignment.objects.get(panel=panel)
    assert (assignment.application, assignment.expert) == (app, zz.expert)
    assert "已分配专家" in response.content.decode()
    assert reverse("reviews:assignment", args=[assignment.pk]) in response.content.decode()


def test_it_refuses_an_expert_from_the_applicants_own_organization(client: Client, zz: Cast, rnd: Round,
                                                                    panel: Panel) -> None:
    app = in_expert_review(zz, rnd)
    colleague = make_user(Role.EXPERT, zz.city, organization=zz.org, full_name="张同事")
    response = login(client, zz.city_staff).post(reverse("reviews:assign", args=[panel.pk]),
                                                 {"application": app.pk, "expert": colleague.pk})
    assert response.status_code == 400
    body = response.content.decode()
    assert "专家张同事与申报单位为同一单位，应当回避，不能分配" in body
    assert 'id="id_expert_error"' in body
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("field", ["application", "expert"])
def test_it_refuses_an_incomplete_or_foreign_assignment(client: Client, zz: Cast, rnd: Round, panel: Panel,
                                                        cast_for: Any, field: str) -> None:
    app = in_expert_review(zz, rnd)
    data = {"application": app.pk, "expert": zz.expert.pk}
    login(client, zz.city_staff)
    assert client.post(reverse("reviews:assign", args=[panel.pk]), {**data, field: ""}).status_code == 400
    foreign = {"application": make_application(zz, rnd, org=zz.other_org).pk,  # a draft
               "expert": cast_for("hohhot").expert.pk}[field]
    response = client.post(reverse("reviews:assign", args=[panel.pk]), {**data, field: foreign})
    assert response.status_code == 400 and "请" in response.content.decode()
    assert not Assignment.objects.exists()


def test_it_guards_the_panel_pages(client: Client, zz: Cast, rnd: Round, panel: Panel, cast_for: Any) -> None:
    app = in_expert_review(zz, rnd)
    review_actions.do_assign_expert(panel, app, zz.expert, actor=zz.city_staff)
    page, assign = reverse("reviews:panel", args=[panel.pk]), reverse("reviews:assign", args=[panel.pk])
    data = {"application": app.pk, "expert": zz.expert.pk}
    assert client.get(page).status_code == 302 and client.post(assign, data).status_code == 302
    hh = cast_for("hohhot")
    assert login(Client(), hh.city_staff).get(page).status_code == 404
    assert login(Client(), hh.city_staff).post(assign, data).status_code == 404
    assert login(Client(), zz.expert).get(page).status_code == 403  # in the panel, but not its manager
    assert login(Client(), zz.decision).get(page).status_code == 200  # reads it
    assert login(Client(), zz.decision).post(assign, data).status_code == 403
    assert login(Client(), zz.city_staff).post(page).status_code == 405
    assert login(Client(), zz.city_staff).get(assign).status_code == 405


# --- reviews:panel_close ----------------------------------------------------------------------------

def test_it_ranks_with_the_quota_cut_off_and_a_backup_list(client: Client, zz: Cast, rnd: Round,
                                                          panel: Panel) -> None:
    first, second = in_expert_review(zz, rnd), in_expert_review(zz, rnd, another_unit(zz), leader_name="赵师傅")
    score(review_actions.do_assign_expert(panel, first, zz.expert, actor=zz.city_staff))
    score(review_actions.do_assign_expert(panel, second, zz.expert, actor=zz.city_staff), points=2)
    response = login(client, zz.city_staff).post(reverse("reviews:panel_close", args=[panel.pk]),
                                                 {"confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("reviews:panel", args=[panel.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.rank, first.state) == (1, AppState.DECISION)
    assert (second.rank, second.state) == (2, AppState.BACKUP)
    assert second.score == 100 - 2 * len(second.policy.expert_rubric.criteria)
    context = response.context
    assert [r.app for r in context["selected"]] == [first] and [r.app for r in context["backup"]] == [second]
    body = response.content.decode()
    assert "1 项进入下一环节，1 项列入备选名单" in body
    assert str(first) != str(second)
    assert body.index(str(first)) < body.index("以下为备选名单") < body.index(str(second))
    assert ReviewStep.objects.get(application=second, stage="expert_review").outcome == "backup"


def test_it_refuses_to_close_with_scores_outstanding(client: Client, zz: Cast, rnd: Round, panel: Panel) -> None:
    app = in_expert_review(zz, rnd)
    review_actions.do_assign_expert(panel, app, zz.expert, actor=zz.city_staff)
    response = login(client, zz.city_staff).post(reverse("reviews:panel_close", args=[panel.pk]), {"confirm": "on"})
    assert response.status_code == 400
    assert "尚有 1 项评审任务未提交评分" in response.content.decode()
    panel.refresh_from_db()
    assert not panel.is_closed


def test_it_asks_to_confirm_before_closing(client: Client, zz: Cast, rnd: Round, panel: Panel) -> None:
    response = login(client, zz.city_staff).post(reverse("reviews:panel_close", args=[panel.pk]), {})
    assert response.status_code == 400 and "请勾选“确认结束评审”" in response.content.decode()
    panel.refresh_from_db()
    assert not panel.is_closed


def test_it_closes_around_an_application_withdrawn_during_expert_review(client: Client, zz: Cast, rnd: Round,
                                                                         panel: Panel) -> None:
    kept, withdrawn = in_expert_review(zz, rnd), in_expert_review(zz, rnd, another_unit(zz))
    score(review_actions.do_assign_expert(panel, kept, zz.expert, actor=zz.city_staff))
    review_actions.do_assign_expert(panel, withdrawn, zz.expert, actor=zz.city_staff)
    unit = withdrawn.organization.users.get()
    actions.do_withdraw_application(withdrawn, actor=unit, reason="领办人调离")
    response = login(client, zz.city_staff).post(reverse("reviews:panel_close", args=[panel.pk]), {"confirm": "on"})
    assert response.status_code == 302
    kept.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (kept.rank, kept.state) == (1, AppState.DECISION)
    assert (withdrawn.rank, withdrawn.state) == (None, AppState.WITHDRAWN)


def test_it_guards_closing(client: Client, zz: Cast, rnd: Round, panel: Panel, cast_for: Any) -> None:
    url = reverse("reviews:panel_close", args=[panel.pk])
    assert client.post(url, {"confirm": "on"}).status_code == 302  # anonymous: to sign in
    assert login(Client(), cast_for("hohhot").city_staff).post(url, {"confirm": "on"}).status_code == 404
    assert login(Client(), zz.observer).post(url, {"confirm": "on"}).status_code == 403
    assert login(Client(), zz.city_staff).get(url).status_code == 405
    panel.refresh_from_db()
    assert not panel.is_closed


def test_it_stops_assigning_once_closed(client: Client, zz: Cast, rnd: Round, panel: Panel) -> None:
    review_actions.do_close_panel(panel, actor=zz.city_staff)
    app = in_expert_review(zz, rnd)
    response = login(client, zz.city_staff).post(reverse("reviews:assign", args=[panel.pk]),
                                                 {"application": app.pk, "expert": zz.expert.pk}, follow=True)
    assert "不能再分配" in response.content.decode()
    assert response.context["assign_form"] is None and response.context["close_form"] is None
    assert not Assignment.objects.exists()
