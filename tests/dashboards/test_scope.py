"""A district reviewer never sees another district's figures; roles without a dashboard get nothing."""
from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from portal.roles import Role
from reviews import dashboards
from tests.dashboards.conftest import World, assess, pay, record, studio_at
from tests.factories import make_application, make_org, make_round, make_user, walk
from workshops.models import Upgrade
from workshops.states import AppState

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 22)
PAGES = ("reviews:dashboard", "reviews:dashboard_review", "reviews:dashboard_money", "reviews:dashboard_assessment")


def everything(scope: dashboards.Scope, rnd) -> tuple:  # noqa: ANN001
    return (dashboards.studio_counts(scope), dashboards.application_counts(scope), dashboards.funnel(scope, rnd),
            dashboards.overdue(scope, TODAY), dashboards.money(scope, TODAY),
            dashboards.assessments(scope, 2026, TODAY), dashboards.assessments(scope, 2025, TODAY))


def fill_district_b(world: World, rnd) -> None:  # noqa: ANN001
    """Everything a dashboard counts, all of it in the other district."""
    cast = world.cast
    b = cast.other_org.district
    for established, state in ((date(2021, 1, 5), "operating"), (date(2025, 7, 1), "established"),
                               (date(2024, 1, 1), "revoked"), (date(2020, 3, 3), "period_ended")):
        studio = studio_at(cast, cast.other_org, established_on=established, state=state, occupation="焊工")
        assess(cast, studio, 2025, passed=False)
        assess(cast, studio, 2026)
        assess(cast, studio, 2024, kind="final")
        pay(cast, studio, "construction_grant", 90000, date(2025, 5, 5))
        pay(cast, studio, "work_fund", 20000, date(2026, 5, 5))
        record(cast, studio, "apprentice", date(2026, 2, 2), level=4, new=True)
        record(cast, studio, "textbook", date(2026, 2, 2))
        Upgrade.objects.create(studio=studio, level="provincial", recognized_on=date(2026, 1, 1), document="文件",
                               recorded_by=cast.city_staff)
    apps = [make_application(cast, rnd, org=make_org(cast.city, b)) for _ in range(3)]
    walk(cast, apps, until=AppState.EXPERT_REVIEW, on=date(2026, 8, 3))


def test_it_shows_a_district_reviewer_figures_nothing_in_another_district_can_change(world: World) -> None:
    rnd = make_round(world.cast.city, quota=2)
    a_scope = dashboards.scope_for(world.cast.district)
    before = everything(a_scope, rnd)
    city_before = everything(dashboards.scope_for(world.cast.city_staff), rnd)
    fill_district_b(world, rnd)
    assert everything(a_scope, rnd) == before
    assert everything(dashboards.scope_for(world.cast.city_staff), rnd) != city_before  # the data did land


def test_it_never_names_another_district_on_a_district_reviewers_pages(world: World) -> None:
    rnd = make_round(world.cast.city, quota=2)
    fill_district_b(world, rnd)
    client = Client()
    client.force_login(world.cast.district)
    other = world.cast.other_org.district.name
    for name in PAGES:
        page = client.get(reverse(name)).content.decode()
        assert other not in page, name
        assert world.b1.name not in page, name
    for dataset in ("applications", "studios", "disbursements", "assessments", "records", "plans"):
        page = client.get(reverse("reviews:data", args=[dataset])).content.decode()
        assert other not in page, dataset
    # Filtering by the other district's id changes nothing: the field is not there to be used.
    page = client.get(reverse("reviews:data", args=["studios"]), {"district": world.cast.other_org.district_id})
    assert world.b1.name not in page.content.decode()
    assert world.a1.name in page.content.decode()


def test_it_refuses_the_roles_without_a_dashboard(world: World) -> None:
    for role in (Role.UNIT, Role.EXPERT, Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN):
        user = world.cast.unit if role == Role.UNIT else make_user(role, world.cast.city if role == Role.EXPERT
                                                                    else None)
        with pytest.raises(PermissionDenied):
            dashboards.scope_for(user)


def test_it_gives_every_city_bureau_role_the_city_and_a_district_reviewer_the_district(world: World) -> None:
    cast = world.cast
    for user in (cast.city_staff, cast.agency, cast.decision, cast.observer):
        assert dashboards.scope_for(user) == dashboards.Scope(cast.city.pk, "zhengzhou", cast.city.name)
    scope = dashboards.scope_for(cast.other_district)
    assert (scope.city_id, scope.district_id) == (cast.city.pk, cast.other_org.district_id)
    assert scope.label == f"{cast.city.name}{cast.other_org.district.name}"


def test_it_keeps_cities_apart(world: World, cast_for) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    assert dashboards.studio_counts(dashboards.scope_for(wz.city_staff)).total == 0
    assert dashboards.money(dashboards.scope_for(wz.city_staff), TODAY).paid == 0
