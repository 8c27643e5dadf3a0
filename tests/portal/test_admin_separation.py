"""三权分立: the system, security and audit administrators cannot do each other's jobs
(等保2.0 三级 安全管理中心 / 访问控制)."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from portal import access, audit
from portal.models import AuditEvent, User
from portal.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.REQUIRE_STAFF_TOTP = False


@pytest.fixture
def admins(db: Any, policies: None) -> dict[str, User]:
    return {
        "sys": make_user(Role.SYSADMIN, is_staff=True),
        "sec": make_user(Role.SECADMIN),
        "aud": make_user(Role.AUDITADMIN),
    }


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_never_lets_one_account_hold_two_admin_roles(admins) -> None:  # noqa: ANN001
    field = User._meta.get_field("role")
    assert not field.many_to_many and not field.one_to_many  # one value per account
    account = admins["sys"]
    account.role = Role.SECADMIN  # a second role replaces the first; it cannot be added to it
    account.save()
    account.refresh_from_db()
    assert account.role == Role.SECADMIN
    assert not access.can(account, "account.manage") and access.can(account, "account.assign_role")


def test_it_lets_sysadmin_manage_accounts_but_not_roles(admins, zz) -> None:  # noqa: ANN001
    c = client_for(admins["sys"])
    assert c.get("/admin/portal/user/").status_code == 200
    page = c.get(f"/admin/portal/user/{zz.unit.pk}/change/").content.decode()
    assert 'name="full_name"' in page and 'name="role"' not in page and 'name="is_superuser"' not in page
    data = {"username": zz.unit.username, "full_name": "改名后", "title": "", "email": "", "role": Role.CITY,
            "city": zz.city.pk, "district": "", "organization": zz.org.pk, "is_active": "on",
            "is_superuser": "on", "is_staff": "on"}
    response = c.post(f"/admin/portal/user/{zz.unit.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    zz.unit.refresh_from_db()
    assert zz.unit.full_name == "改名后"
    assert zz.unit.role == Role.UNIT and not zz.unit.is_superuser and not zz.unit.is_staff
    assert AuditEvent.objects.filter(action="account.changed", object_id=str(zz.unit.pk),
                                     actor_id=admins["sys"].pk).exists()
    add_page = c.get("/admin/portal/user/add/").content.decode()
    assert 'value="city"' in add_page and 'value="secadmin"' not in add_page and 'value="auditadmin"' not in add_page


def test_it_keeps_sysadmin_out_of_other_administrators_accounts(admins) -> None:  # noqa: ANN001
    c = client_for(admins["sys"])
    target = admins["aud"]
    assert c.post(f"/admin/portal/user/{target.pk}/change/", {"full_name": "x"}).status_code == 403
    response = c.post(f"/admin/portal/user/{target.pk}/password/",
                      {"password1": "Takeover#2026x", "password2": "Takeover#2026x"})
    assert response.status_code == 403
    assert User.objects.get(pk=target.pk).check_password("Takeover#2026x") is False


def test_it_audits_password_resets_and_unlocks_done_in_the_admin(admins, zz) -> None:  # noqa: ANN001
    from django.utils import timezone

    c = client_for(admins["sys"])
    response = c.post(f"/admin/portal/user/{zz.unit.pk}/password/",
                      {"password1": "Reset#2026-portal", "password2": "Reset#2026-portal", "usable_password": "true"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_changed", object_id=str(zz.unit.pk),
                                     actor_id=admins["sys"].pk).exists()
    User.objects.filter(pk=zz.unit.pk).update(locked_until=timezone.now() + timezone.timedelta(minutes=10),
                                              failed_login_count=0)
    c.post("/admin/portal/user/", {"action": "unlock_accounts", "_selected_action": [zz.unit.pk]})
    assert User.objects.get(pk=zz.unit.pk).locked_until is None
    assert AuditEvent.objects.filter(action="auth.unlocked", object_id=str(zz.unit.pk)).exists()


def test_it_keeps_secadmin_and_auditadmin_out_of_the_account_admin(admins) -> None:  # noqa: ANN001
    for key in ("sec", "aud"):
        User.objects.filter(pk=admins[key].pk).update(is_staff=True)  # even if someone sets the flag
        assert client_for(admins[key]).get("/admin/portal/user/").status_code == 403


def test_it_gives_sysadmin_reference_data_but_not_people_or_the_trail(admins) -> None:  # noqa: ANN001
    c = client_for(admins["sys"])
    assert c.get("/admin/portal/city/").status_code == 200
    assert c.get("/admin/portal/calendarday/").status_code == 200
    assert c.get("/admin/portal/person/").status_code == 403
    assert c.get("/admin/portal/auditevent/").status_code == 403


def test_it_lets_only_the_audit_administrator_read_the_trail(admins, zz) -> None:  # noqa: ANN001
    assert client_for(admins["aud"]).get("/audit/").status_code == 200
    for user in (admins["sys"], admins["sec"], zz.city_staff, zz.unit):
        assert client_for(user).get("/audit/").status_code == 403
        assert client_for(user).get("/audit/export.csv").status_code == 403


def test_it_filters_the_audit_log(admins, zz) -> None:  # noqa: ANN001
    audit.record(zz.city_staff, "application.approve", zz.org)
    audit.record(zz.unit, "application.submit", zz.org, ip="10.1.1.1")
    c = client_for(admins["aud"])
    page = c.get("/audit/", {"action": "application.", "actor": zz.unit.username})
    assert [e.action for e in page.context["page"]] == ["application.submit"]
    assert [e.action for e in c.get("/audit/", {"ip": "10.1.1.1"}).context["page"]] == ["application.submit"]
    bad = c.get("/audit/", {"start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 200 and "起始日期不能晚于截止日期" in bad.content.decode()
    assert c.get("/audit/", {"page": "9999"}).status_code == 200


def test_it_exports_the_trail_as_csv_and_audits_the_export(admins, zz) -> None:  # noqa: ANN001
    audit.record(zz.unit, "application.submit", zz.org, reason="=HYPERLINK(\"http://evil\")")
    c = client_for(admins["aud"])
    response = c.get("/audit/export.csv", {"action": "application."})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:5] == ["ID", "时间", "操作人账号", "操作人角色", "操作"]
    assert len(rows) == 2 and rows[1][4] == "application.submit"
    assert rows[1][10].startswith("'=")  # a formula in the data is neutralised (CSV injection)
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_id == admins["aud"].pk
    assert export.data == {"filters": {"action": "application."}, "rows": 1}
    assert audit.verify_chain().ok


def test_it_lets_secadmin_assign_roles_and_audits_it(admins, zz) -> None:  # noqa: ANN001
    c = client_for(admins["sec"])
    assert c.get("/accounts/roles/").status_code == 200
    response = c.post(f"/accounts/roles/{zz.agency.pk}/", {"role": Role.DECISION, "is_active": "on"})
    assert response.status_code == 302
    zz.agency.refresh_from_db()
    assert zz.agency.role == Role.DECISION
    event = AuditEvent.objects.get(action="account.role_assigned")
    assert (event.from_state, event.to_state, event.actor_id) == (Role.AGENCY, Role.DECISION, admins["sec"].pk)
    c.post(f"/accounts/roles/{zz.agency.pk}/", {"role": Role.DECISION})  # unticked: disabled
    assert not User.objects.get(pk=zz.agency.pk).is_active


def test_it_refuses_a_role_the_account_data_cannot_support(admins, zz) -> None:  # noqa: ANN001
    c = client_for(admins["sec"])
    page = c.post(f"/accounts/roles/{zz.agency.pk}/", {"role": Role.DISTRICT, "is_active": "on"})
    assert page.status_code == 200 and "必须指定所属县区" in page.content.decode()
    assert User.objects.get(pk=zz.agency.pk).role == Role.AGENCY


def test_it_keeps_secadmin_off_its_own_account_and_others_off_the_role_page(admins, zz) -> None:  # noqa: ANN001
    assert client_for(admins["sec"]).get(f"/accounts/roles/{admins['sec'].pk}/").status_code == 403
    for user in (admins["sys"], admins["aud"], zz.city_staff):
        c = client_for(user)
        assert c.get("/accounts/roles/").status_code == 403
        assert c.post(f"/accounts/roles/{zz.unit.pk}/", {"role": Role.CITY, "is_active": "on"}).status_code == 403
    assert User.objects.get(pk=zz.unit.pk).role == Role.UNIT


def test_it_keeps_admin_roles_with_a_deployment_wide_secadmin(admins, zz) -> None:  # noqa: ANN001
    city_sec = make_user(Role.SECADMIN, zz.city)
    c = client_for(city_sec)
    assert c.get(f"/accounts/roles/{admins['aud'].pk}/").status_code == 404  # outside its city
    c.post(f"/accounts/roles/{zz.city_staff.pk}/", {"role": Role.SYSADMIN, "is_active": "on"})
    assert User.objects.get(pk=zz.city_staff.pk).role == Role.CITY  # not among its choices


def test_it_gives_no_demo_account_the_superuser_flag(db, policies) -> None:  # noqa: ANN001
    call_command("seed_demo", "--quiet-list", verbosity=0, stdout=io.StringIO())
    assert not User.objects.filter(is_superuser=True).exists()
    roles = dict(User.objects.filter(username__in=["sysadmin", "secadmin", "auditadmin"])
                 .values_list("username", "role"))
    assert roles == {"sysadmin": Role.SYSADMIN, "secadmin": Role.SECADMIN, "auditadmin": Role.AUDITADMIN}
