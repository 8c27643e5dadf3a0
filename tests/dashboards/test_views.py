"""The dashboard pages: who gets them, what they show, and a query count that does not grow with the data."""
from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import AuditEvent
from portal.roles import Role
from tests.dashboards.conftest import World, assess, pay, record, studio_at
from tests.dashboards.test_scope import fill_district_b
from tests.factories import make_application, make_org, make_round, make_user, walk
from workshops.states import AppState

pytestmark = pytest.mark.django_db
PAGES = ("reviews:dashboard", "reviews:dashboard_review", "reviews:dashboard_money", "reviews:dashboard_assessment")


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", PAGES)
def test_it_shows_each_bureau_role_its_dashboard(world: World, name: str) -> None:
    cast = world.cast
    for user in (cast.city_staff, cast.agency, cast.decision, cast.observer, cast.district):
        response = client_for(user).get(reverse(name))
        assert response.status_code == 200, (name, user.role)
        assert response["Content-Security-Policy"]
        assert b"<script" not in response.content.split(b"</head>")[1]  # charts are SVG, no script


@pytest.mark.parametrize("name", PAGES)
def test_it_refuses_units_experts_and_administrators(world: World, name: str) -> None:
    for user in (world.cast.unit, world.cast.expert, make_user(Role.SYSADMIN), make_user(Role.AUDITADMIN)):
        assert client_for(user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_it_sends_anonymous_visitors_to_sign_in_and_refuses_other_methods(world: World, name: str) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client_for(world.cast.city_staff).post(reverse(name)).status_code == 405


def test_it_shows_the_figures_and_charts_on_the_overview(world: World) -> None:
    page = client_for(world.cast.city_staff).get(reverse("reviews:dashboard")).content.decode()
    assert 'data-figure="studios-total">5<' in page
    assert 'data-figure="studios-sum">5<' in page
    assert page.count("<svg") >= 4 and 'role="img"' in page
    assert world.cast.other_org.district.name in page
    assert reverse("reviews:yearly_report", args=[2026]) in page or reverse("reviews:yearly_report",
                                                                            args=[2025]) in page


def test_it_offers_the_yearly_report_to_city_roles_only(world: World) -> None:
    url = reverse("reviews:yearly_report", args=[2025])
    assert url not in client_for(world.cast.district).get(reverse("reviews:dashboard")).content.decode()
    assert client_for(world.cast.district).get(url).status_code == 403
    assert client_for(world.cast.unit).get(url).status_code == 403
    assert client_for(world.cast.city_staff).get(reverse("reviews:yearly_report", args=[1999])).status_code == 404
    assert client_for(world.cast.city_staff).get(reverse("reviews:yearly_report", args=[2999])).status_code == 404


@pytest.mark.slow
def test_it_renders_the_yearly_report_as_a_pdf_and_audits_the_download(world: World) -> None:
    from pypdf import PdfReader

    response = client_for(world.cast.observer).get(reverse("reviews:yearly_report", args=[2026]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "2026年度工作统计报告" in text.replace(" ", "").replace("\n", "")
    event = AuditEvent.objects.get(action="document.download")
    assert (event.object_type, event.object_id, event.data["variant"]) == ("portal.city", str(world.cast.city.pk),
                                                                           "2026")


def test_it_takes_the_round_and_year_from_the_query_and_ignores_nonsense(world: World) -> None:
    client = client_for(world.cast.city_staff)
    old = make_round(world.cast.city, on=date(2025, 3, 1))
    new = make_round(world.cast.city)
    page = client.get(reverse("reviews:dashboard_review")).content.decode()
    assert f'<option value="{new.pk}" selected>' in page
    page = client.get(reverse("reviews:dashboard_review"), {"round": old.pk}).content.decode()
    assert f'<option value="{old.pk}" selected>' in page
    for junk in ("abc", "999999", "-1"):
        assert client.get(reverse("reviews:dashboard_review"), {"round": junk}).status_code == 200
        assert client.get(reverse("reviews:dashboard_assessment"), {"year": junk}).status_code == 200
    page = client.get(reverse("reviews:dashboard_assessment"), {"year": "2025"}).content.decode()
    assert '<option value="2025" selected>' in page


def _counts(client: Client) -> dict[str, int]:
    counts = {}
    for name in PAGES:
        client.get(reverse(name))  # warm the per-process caches (policies, calendar) first
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(name)).status_code == 200
        counts[name] = len(ctx.captured_queries)
    return counts


def test_it_uses_as_many_queries_for_many_studios_as_for_few(world: World) -> None:
    """Aggregates in the database: more studios, records, payments and applications, same query count."""
    cast = world.cast
    rnd = make_round(cast.city, quota=2)
    apps = [make_application(cast, rnd, org=make_org(cast.city, cast.org.district)) for _ in range(2)]
    walk(cast, apps, until=AppState.EXPERT_REVIEW, on=date(2026, 8, 3))
    city, district = client_for(cast.city_staff), client_for(cast.district)
    small = _counts(city), _counts(district)
    fill_district_b(world, rnd)
    for i in range(12):
        studio = studio_at(cast, established_on=date(2019 + i % 7, 1 + i % 12, 3), category="traditional_craft",
                           occupation=f"工种{i}")
        assess(cast, studio, 2025, passed=bool(i % 2))
        pay(cast, studio, "work_fund", 20000, date(2025, 6, 1))
        for k in range(3):
            record(cast, studio, "trainee", date(2025, 2, 1 + k), level=3 + k % 2, new=True)
    more = [make_application(cast, rnd, org=make_org(cast.city, cast.org.district)) for _ in range(3)]
    walk(cast, more, until=AppState.DECISION, on=date(2026, 8, 3))
    assert (_counts(city), _counts(district)) == small
    assert max(small[0].values()) <= 40


def test_it_serves_cached_figures_until_a_counted_record_changes(world: World, settings) -> None:  # noqa: ANN001
    settings.DASHBOARD_CACHE_SECONDS = 300
    client = client_for(world.cast.city_staff)
    client.get(reverse("reviews:dashboard"))
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("reviews:dashboard")).content.decode()
    assert 'data-figure="studios-total">5<' in page
    assert len(ctx.captured_queries) <= 3, [q["sql"][:80] for q in ctx.captured_queries]  # session, user, inbox
    studio_at(world.cast, established_on=date(2026, 2, 2))
    page = client.get(reverse("reviews:dashboard")).content.decode()
    assert 'data-figure="studios-total">6<' in page
