"""reviews:assignments, reviews:assignment, reviews:recuse — the experts' side."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.roles import Role
from reviews import actions as review_actions
from reviews.models import Assignment, Panel, Score
from tests.factories import Cast, make_application, make_org, make_round, make_user
from workshops import actions
from workshops.models import Application, Round
from workshops.states import AppState

pytestmark = pytest.mark.django_db


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def rnd(zz: Cast) -> Round:
    return make_round(zz.city)


@pytest.fixture
def app(zz: Cast, rnd: Round) -> Application:
    app = actions.do_submit_application(make_application(zz, rnd), actor=zz.unit)
    return review_actions.do_review_stage(app, actor=zz.agency, outcome="passed", opinion="同意报送")  # 郑州 第七条


@pytest.fixture
def panel(zz: Cast, rnd: Round) -> Panel:
    return review_actions.do_create_panel(rnd, actor=zz.city_staff, name="第一组")


@pytest.fixture
def second_expert(zz: Cast) -> Any:
    return make_user(Role.EXPERT, zz.city, organization=make_org(zz.city, zz.other_org.district), full_name="钱专家")


@pytest.fixture
def mine(zz: Cast, panel: Panel, app: Application) -> Assignment:
    assert app.state == AppState.EXPERT_REVIEW
    return review_actions.do_assign_expert(panel, app, zz.expert, actor=zz.city_staff)


def url(assignment: Assignment, name: str = "reviews:assignment") -> str:
    return reverse(name, args=[assignment.pk])


def full_marks(assignment: Assignment, minus: int = 0) -> dict[str, str]:
    return {f"score_{c.code}": str(c.weight - minus) for c in assignment.application.policy.expert_rubric.criteria}


# --- reviews:assignments ---------------------------------------------------------------------------

def test_it_lists_only_the_experts_own_assignments(client: Client, zz: Cast, panel: Panel, app: Application,
                                                  mine: Assignment, second_expert: Any) -> None:
    other = review_actions.do_assign_expert(panel, app, second_expert, actor=zz.city_staff)
    body = login(client, zz.expert).get(reverse("reviews:assignments")).content.decode()
    assert url(mine) in body and url(other) not in body and "待评分" in body
    body = login(Client(), second_expert).get(reverse("reviews:assignments")).content.decode()
    assert url(other) in body and url(mine) not in body


def test_it_guards_the_assignment_list(client: Client, zz: Cast) -> None:
    list_url = reverse("reviews:assignments")
    assert client.get(list_url).status_code == 302
    assert login(client, zz.city_staff).get(list_url).status_code == 403
    assert login(Client(), zz.expert).post(list_url).status_code == 405
    assert login(Client(), zz.expert).get(list_url, {"page": "<x>"}).status_code == 200


# --- reviews:assignment ----------------------------------------------------------------------------

def test_it_shows_the_rubric_with_labels_weights_and_basis(client: Client, zz: Cast, mine: Assignment) -> None:
    response = login(client, zz.expert).get(url(mine))
    assert response.status_code == 200
    body = response.content.decode()
    for c in mine.application.policy.expert_rubric.criteria:
        assert c.label in body and f"满分 {c.weight}" in body and c.basis in body
        assert f'name="score_{c.code}"' in body and f'max="{c.weight}"' in body
    app = mine.application
    assert app.leader.id_number not in body and app.leader.masked_id_number in body
    assert reverse("workshops:reveal", args=[app.pk, app.leader_id]) not in body
    attachment = app.attachments.first()
    assert reverse("workshops:attachment", args=[app.pk, attachment.pk]) in body


def test_it_records_the_scores(client: Client, zz: Cast, mine: Assignment) -> None:
    response = login(client, zz.expert).post(url(mine), {**full_marks(mine, minus=1), "comment": "基础扎实"})
    assert response.status_code == 302 and response["Location"] == reverse("reviews:assignments")
    mine.refresh_from_db()
    assert mine.submitted_at and mine.comment == "基础扎实"
    criteria = mine.application.policy.expert_rubric.criteria
    assert mine.total == sum(c.weight - 1 for c in criteria)
    # Resubmitting before the panel closes replaces the scores.
    login(client, zz.expert).post(url(mine), full_marks(mine))
    assert Score.objects.filter(assignment=mine).count() == len(criteria)
    mine.refresh_from_db()
    assert mine.total == 100


@pytest.mark.parametrize(("value", "message"), [
    ("999", "的得分应在 0 到"), ("-1", "的得分应在 0 到"), ("", "请填写分数"), ("NaN", "请填写分数"),
    ("abc", "请填写分数"), ("1e999999", "请填写分数"),
])
def test_it_refuses_a_score_outside_the_criterions_range(client: Client, zz: Cast, mine: Assignment, value: str,
                                                         message: str) -> None:
    data = full_marks(mine)
    first = mine.application.policy.expert_rubric.criteria[0]
    data[f"score_{first.code}"] = value
    response = login(client, zz.expert).post(url(mine), {**data, "comment": "我的评价"})
    assert response.status_code == 400
    body = response.content.decode()
    assert f"“{first.label}”" in body and message in body
    assert f'id="id_score_{first.code}_error"' in body and "我的评价</textarea>" in body
    mine.refresh_from_db()
    assert mine.submitted_at is None and not Score.objects.exists()


def test_it_hides_other_experts_scores_until_the_panel_closes(client: Client, zz: Cast, panel: Panel,
                                                              app: Application, mine: Assignment,
                                                              second_expert: Any) -> None:
    theirs = review_actions.do_assign_expert(panel, app, second_expert, actor=zz.city_staff)
    login(client, zz.expert).post(url(mine), {**full_marks(mine, minus=3), "comment": "甲专家的评价文字"})
    second = login(Client(), second_expert)
    response = second.get(url(theirs))
    body = response.content.decode()
    assert response.context["results"] is None
    assert "甲专家的评价文字" not in body and "各专家评分" not in body
    second.post(url(theirs), full_marks(theirs))
    body = second.get(url(theirs)).content.decode()
    assert "甲专家的评价文字" not in body
    review_actions.do_close_panel(panel, actor=zz.city_staff)
    response = second.get(url(theirs))
    body = response.content.decode()
    assert "各专家评分" in body and "甲专家的评价文字" in body
    assert str(zz.expert) not in body  # the other expert appears by number, not by name
    assert "钱专家（本人）" in body


def test_it_lets_bureau_staff_read_scores_as_they_come(client: Client, zz: Cast, mine: Assignment) -> None:
    login(Client(), zz.expert).post(url(mine), {**full_marks(mine), "comment": "甲专家的评价文字"})
    response = login(client, zz.city_staff).get(url(mine))
    assert response.status_code == 200
    assert "甲专家的评价文字" in response.content.decode() and response.context["can_score"] is False
    assert login(Client(), zz.city_staff).post(url(mine), full_marks(mine)).status_code == 403


def test_it_refuses_scores_after_the_panel_closed(client: Client, zz: Cast, panel: Panel,
                                                  mine: Assignment) -> None:
    login(client, zz.expert).post(url(mine), full_marks(mine, minus=1))
    review_actions.do_close_panel(panel, actor=zz.city_staff)
    response = client.post(url(mine), full_marks(mine), follow=True)
    assert "评审已经结束" in response.content.decode()
    mine.refresh_from_db()
    assert mine.total == 100 - len(mine.application.policy.expert_rubric.criteria)


def test_it_answers_404_to_an_expert_not_assigned(client: Client, zz: Cast, mine: Assignment,
                                                  second_expert: Any, cast_for: Any) -> None:
    assert login(client, second_expert).get(url(mine)).status_code == 404
    assert login(Client(), second_expert).post(url(mine), full_marks(mine)).status_code == 404
    assert login(Client(), cast_for("hohhot").city_staff).get(url(mine)).status_code == 404
    assert login(Client(), zz.district).get(url(mine)).status_code == 404


def test_it_guards_the_assignment_page(client: Client, zz: Cast, mine: Assignment) -> None:
    assert client.get(url(mine)).status_code == 302
    assert login(client, zz.expert).put(url(mine)).status_code == 405
    assert login(Client(), zz.agency).get(url(mine)).status_code == 404  # agencies hold no assignments


# --- reviews:recuse --------------------------------------------------------------------------------

def test_it_records_a_recusal(client: Client, zz: Cast, mine: Assignment) -> None:
    response = login(client, zz.expert).post(url(mine, "reviews:recuse"), {"conflict_note": "与领办人曾为师徒"})
    assert response.status_code == 302 and response["Location"] == reverse("reviews:assignments")
    mine.refresh_from_db()
    assert mine.conflict_declared and mine.conflict_note == "与领办人曾为师徒"
    body = client.get(url(mine)).content.decode()
    assert "已申报回避" in body and 'name="score_' not in body


def test_it_asks_for_the_reason_to_recuse(client: Client, zz: Cast, mine: Assignment) -> None:
    response = login(client, zz.expert).post(url(mine, "reviews:recuse"), {"conflict_note": "  "})
    assert response.status_code == 400 and "请说明回避理由" in response.content.decode()
    mine.refresh_from_db()
    assert not mine.conflict_declared


def test_it_guards_recusal(client: Client, zz: Cast, mine: Assignment, second_expert: Any) -> None:
    recuse = url(mine, "reviews:recuse")
    assert client.post(recuse, {"conflict_note": "x"}).status_code == 302
    assert login(client, zz.expert).get(recuse).status_code == 405
    assert login(Client(), second_expert).post(recuse, {"conflict_note": "x"}).status_code == 404
    assert login(Client(), zz.city_staff).post(recuse, {"conflict_note": "x"}).status_code == 403
    mine.refresh_from_db()
    assert not mine.conflict_declared
