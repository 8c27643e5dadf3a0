"""reviews:queue — the reviewer's work queue."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from reviews import actions as review_actions
from tests.factories import Cast, make_application, make_org, make_round, make_user
from workshops import actions
from workshops.models import Application
from workshops.states import AppState

pytestmark = pytest.mark.django_db
URL = reverse("reviews:queue")


def submitted(cast: Cast, rnd: Any = None, *, unit: Any = None, **kwargs: Any) -> Application:
    """A submitted application; `unit` (a unit user) files it for that user's own organization."""
    if unit is not None:
        kwargs["org"] = unit.organization
    return actions.do_submit_application(make_application(cast, rnd, **kwargs), actor=unit or cast.unit)


def another_unit(cast: Cast, district: Any = None) -> Any:
    org = make_org(cast.city, district or cast.org.district)
    return make_user(Role.UNIT, cast.city, organization=org)


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def test_it_lists_the_district_reviewers_applications_oldest_submission_first(client: Client, cast_for: Any) -> None:
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    newer, older = submitted(wz, rnd), submitted(wz, rnd, unit=another_unit(wz))
    Application.objects.filter(pk=older.pk).update(submitted_at=newer.submitted_at - timedelta(days=3))
    response = login(client, wz.district).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(reverse("reviews:application", args=[older.pk])) < body.index(
        reverse("reviews:application", args=[newer.pk]))


def test_it_shows_overdue_in_words_not_colour_alone(client: Client, cast_for: Any) -> None:
    wz = cast_for("wenzhou")
    app = submitted(wz)
    Application.objects.filter(pk=app.pk).update(stage_due_on=timezone.localdate() - timedelta(days=2))
    body = login(client, wz.district).get(URL).content.decode()
    assert 'class="overdue"' in body and "已逾期" in body


def test_it_hides_another_districts_applications(client: Client, cast_for: Any) -> None:
    wz = cast_for("wenzhou")
    app = submitted(wz)
    body = login(client, wz.other_district).get(URL).content.decode()
    assert reverse("reviews:application", args=[app.pk]) not in body
    assert "目前没有需要您办理的申报" in body


def test_it_hides_another_citys_applications(client: Client, cast_for: Any) -> None:
    pds, hh = cast_for("pingdingshan"), cast_for("hohhot")
    app = submitted(pds)  # 平顶山: the city bureau does the formal review
    assert reverse("reviews:application", args=[app.pk]) in login(client, pds.city_staff).get(URL).content.decode()
    assert reverse("reviews:application", args=[app.pk]) not in login(
        Client(), hh.city_staff).get(URL).content.decode()


def test_it_lists_only_the_stages_the_role_decides(client: Client, zz: Cast) -> None:
    app = submitted(zz)  # 郑州: the agency aggregates first
    assert app.state == AppState.AGGREGATION
    assert reverse("reviews:application", args=[app.pk]) in login(client, zz.agency).get(URL).content.decode()
    assert reverse("reviews:application", args=[app.pk]) not in login(
        Client(), zz.city_staff).get(URL).content.decode()


def test_it_keeps_reviewing_rounds_opened_under_an_expired_policy(client: Client, cast_for: Any) -> None:
    dg = cast_for("dongguan")  # 东莞's 办法 lapsed on 2025-12-31 (第二十条); its 2025 round is still reviewed
    rnd = make_round(dg.city, on=date(2025, 6, 1))
    app = actions.do_submit_application(make_application(dg, rnd), actor=dg.unit, on=date(2025, 6, 2))
    response = login(client, dg.district).get(URL)
    assert response.status_code == 200
    assert reverse("reviews:application", args=[app.pk]) in response.content.decode()


def test_it_links_city_staff_to_panels_and_decision_makers_to_decisions(client: Client, cast_for: Any) -> None:
    hh = cast_for("hohhot")
    rnd = make_round(hh.city)
    body = login(client, hh.city_staff).get(URL).content.decode()
    assert reverse("reviews:panels", args=[rnd.pk]) in body and reverse("reviews:notices", args=[rnd.pk]) in body
    assert reverse("reviews:round_decision", args=[rnd.pk]) not in body
    body = login(Client(), hh.decision).get(URL).content.decode()
    assert reverse("reviews:round_decision", args=[rnd.pk]) in body
    assert reverse("reviews:panels", args=[rnd.pk]) not in body


def test_it_links_opinions_only_where_the_policy_solicits_them(client: Client, cast_for: Any) -> None:
    dg, hh = cast_for("dongguan"), cast_for("hohhot")
    dg_round, hh_round = make_round(dg.city, on=date(2025, 6, 1)), make_round(hh.city)
    assert reverse("reviews:opinions", args=[dg_round.pk]) in login(client, dg.city_staff).get(URL).content.decode()
    assert reverse("reviews:opinions", args=[hh_round.pk]) not in login(
        Client(), hh.city_staff).get(URL).content.decode()


def test_it_pins_the_query_count_as_rows_grow(client: Client, cast_for: Any, django_assert_num_queries: Any) -> None:
    pds = cast_for("pingdingshan")
    rnd = make_round(pds.city)
    submitted(pds, rnd)
    login(client, pds.city_staff).get(URL)  # the first request after login writes the session
    with django_assert_num_queries(8):  # 7th: the unread-message count; 8th: rounds awaiting 发文设立
        assert client.get(URL).status_code == 200
    for _ in range(4):
        submitted(pds, rnd, unit=another_unit(pds))
    with django_assert_num_queries(8):  # 7th: the unread-message count; 8th: rounds awaiting 发文设立
        response = client.get(URL)
    assert len(response.context["rows"]) == 5


def test_it_refuses_roles_without_a_queue(client: Client, zz: Cast) -> None:
    assert login(client, zz.unit).get(URL).status_code == 403
    assert login(Client(), zz.expert).get(URL).status_code == 403


def test_it_sends_anonymous_users_to_sign_in(client: Client, db: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]


def test_it_refuses_the_wrong_method(client: Client, zz: Cast) -> None:
    assert login(client, zz.agency).post(URL).status_code == 405


def test_it_answers_invalid_input_without_error(client: Client, zz: Cast) -> None:
    # The queue takes no input; stray query parameters change nothing.
    assert login(client, zz.agency).get(URL, {"page": "x", "state": "<script>"}).status_code == 200


def test_it_moves_a_decided_application_out_of_the_queue(client: Client, zz: Cast) -> None:
    app = submitted(zz)
    review_actions.do_review_stage(app, actor=zz.agency, outcome="passed", opinion="同意")
    assert reverse("reviews:application", args=[app.pk]) not in login(client, zz.agency).get(URL).content.decode()
