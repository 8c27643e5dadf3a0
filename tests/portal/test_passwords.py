"""Password complexity (等保2.0 三级 身份鉴别: 口令具有复杂度要求): AUTH_PASSWORD_VALIDATORS and
portal.passwords.CharacterClassValidator, on the password-change page as well as in code."""
from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from portal.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.REQUIRE_STAFF_TOTP = False


@pytest.mark.parametrize("password, code", [
    ("Ab#12345", "password_too_short"),          # under ten characters
    ("2026031512345", "password_entirely_numeric"),
    ("password12345", "password_too_common"),
    ("abcdefgh-ijkl", "password_too_simple"),    # two classes only (lower case, symbol)
    ("ABCDEFGH12345", "password_too_simple"),
])
def test_it_refuses_weak_passwords(password: str, code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_password(password)
    assert code in {e.code for e in raised.value.error_list}


def test_it_refuses_a_password_like_the_username(zz) -> None:  # noqa: ANN001
    user = User(username="wang.jianguo", full_name="王建国")
    with pytest.raises(ValidationError) as raised:
        validate_password("Wang.Jianguo1", user)
    assert "password_too_similar" in {e.code for e in raised.value.error_list}


def test_it_accepts_three_character_classes() -> None:
    for password in ("Neu#2026-portal-x", "skill-master-2026", "Skill2026Master"):
        validate_password(password)


def test_it_applies_the_rules_on_the_password_change_page(client, zz) -> None:  # noqa: ANN001
    client.force_login(zz.city_staff)
    page = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "abcdefghijkl",
                                               "new_password2": "abcdefghijkl"})
    assert page.status_code == 200 and "密码须至少包含" in page.content.decode()
    assert User.objects.get(pk=zz.city_staff.pk).check_password(PASSWORD)
