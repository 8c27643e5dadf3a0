"""The access module: scoping by role and jurisdiction, and fail-closed rules."""
from __future__ import annotations

import pytest
from django.http import Http404

from portal import access
from portal.models import AuditEvent, Organization
from portal.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def visible_orgs(user) -> set[int]:  # noqa: ANN001
    return set(access.visible(user, Organization.objects.all()).values_list("pk", flat=True))


def test_it_scopes_organizations_by_role_and_jurisdiction(cast_for) -> None:  # noqa: ANN001
    zz, dg = cast_for("zhengzhou"), cast_for("dongguan")
    zz_orgs = set(Organization.objects.filter(city=zz.city).values_list("pk", flat=True))
    assert visible_orgs(zz.unit) == {zz.org.pk}
    assert visible_orgs(zz.district) == set(
        Organization.objects.filter(district=zz.district.district).values_list("pk", flat=True))
    assert zz.other_org.pk not in visible_orgs(zz.district)
    assert visible_orgs(zz.city_staff) == zz_orgs
    assert dg.org.pk not in visible_orgs(zz.city_staff)
    assert visible_orgs(zz.expert) == set()


def test_it_hides_everything_from_anonymous_and_inactive_users(zz) -> None:  # noqa: ANN001
    from django.contrib.auth.models import AnonymousUser

    assert visible_orgs(AnonymousUser()) == set()
    zz.city_staff.is_active = False
    assert visible_orgs(zz.city_staff) == set()
    assert not access.can(zz.city_staff, "organization.edit", zz.org)


def test_it_answers_404_outside_scope(zz) -> None:  # noqa: ANN001
    assert access.get_visible_or_404(zz.unit, Organization.objects.all(), pk=zz.org.pk) == zz.org
    with pytest.raises(Http404):
        access.get_visible_or_404(zz.unit, Organization.objects.all(), pk=zz.other_org.pk)


def test_it_fails_closed_for_unknown_actions_and_models(zz) -> None:  # noqa: ANN001
    with pytest.raises(KeyError):
        access.can(zz.city_staff, "no.such.action")
    from portal.models import City

    with pytest.raises(KeyError):
        access.visible(zz.city_staff, City.objects.all())


def test_it_separates_the_three_administrators(db, policies) -> None:  # noqa: ANN001
    sysadmin, secadmin, auditadmin = (make_user(r) for r in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN))
    assert access.can(sysadmin, "account.manage") and not access.can(sysadmin, "account.assign_role")
    assert access.can(secadmin, "account.assign_role") and not access.can(secadmin, "account.manage")
    assert access.can(auditadmin, "audit.view")
    assert not access.can(sysadmin, "audit.view") and not access.can(secadmin, "audit.view")
    assert not access.can(auditadmin, "account.manage") and not access.can(auditadmin, "account.assign_role")
    assert access.visible(sysadmin, AuditEvent.objects.all()).query.is_empty()


def test_it_requires_scope_fields_per_role(zz) -> None:  # noqa: ANN001
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="县区"):
        make_user(Role.DISTRICT, zz.city)
    with pytest.raises(ValidationError, match="单位"):
        make_user(Role.UNIT, zz.city)
    other_city_district = zz.city.districts.none()
    assert not other_city_district.exists()
