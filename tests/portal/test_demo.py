"""seed_demo: one account per role in every city, safe to run twice."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from portal.demo import DEMO_PASSWORD, fake_id_number, fake_uscc
from portal.models import City, Organization, User
from portal.roles import Role
from portal.validators import validate_id_number, validate_uscc

pytestmark = pytest.mark.django_db


def test_it_creates_every_role_in_every_city_and_is_idempotent(capsys) -> None:  # noqa: ANN001
    call_command("seed_demo", password=DEMO_PASSWORD)
    counts = (User.objects.count(), Organization.objects.count())
    call_command("seed_demo", password=DEMO_PASSWORD)
    assert (User.objects.count(), Organization.objects.count()) == counts
    for city in City.objects.all():
        roles = set(User.objects.filter(city=city).values_list("role", flat=True))
        assert {Role.UNIT, Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION, Role.EXPERT, Role.OBSERVER} <= roles
    for role in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN):
        assert User.objects.get(username=role).role == role
    assert not User.objects.filter(is_superuser=True).exists()
    out = capsys.readouterr().out
    assert "zhengzhou_unit" in out and DEMO_PASSWORD in out
    for user in User.objects.all():
        user.full_clean()


def test_demo_logins_work(client) -> None:  # noqa: ANN001
    call_command("seed_demo", password=DEMO_PASSWORD, quiet_list=True)
    response = client.post("/accounts/login/", {"username": "wenzhou_district", "password": DEMO_PASSWORD},
                           follow=True)
    assert response.status_code == 200
    assert response.context["user"].username == "wenzhou_district"
    assert "县区" in response.content.decode() or "鹿城区" in response.content.decode()


def test_generated_codes_pass_the_national_checks() -> None:
    from datetime import date

    for n in range(1, 50):
        validate_uscc(fake_uscc(n))
        validate_id_number(fake_id_number(date(1980, 1, 1), "F", n))
