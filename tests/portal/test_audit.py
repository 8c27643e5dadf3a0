"""The audit trail is append-only and tamper-evident."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from portal import audit
from portal.models import AuditEvent
from portal.models.audit import AppendOnlyError

pytestmark = pytest.mark.django_db


def test_it_chains_each_row_to_the_previous_one(zz) -> None:  # noqa: ANN001
    first = audit.record(zz.city_staff, "test.one", zz.org, reason="原因")
    second = audit.record(zz.unit, "test.two", zz.org, from_state="draft", to_state="submitted")
    assert second.prev_hash == first.hash
    assert second.actor_role == "unit" and second.object_type == "portal.organization"
    assert audit.verify_chain().ok


def test_it_refuses_updates_and_deletes_through_the_orm(zz) -> None:  # noqa: ANN001
    event = audit.record(zz.city_staff, "test.one")
    event.reason = "改"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="改")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_verify_audit_reports_the_first_tampered_row(zz) -> None:  # noqa: ANN001
    events = [audit.record(zz.city_staff, f"test.{i}") for i in range(4)]
    call_command("verify_audit", verbosity=0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only a superuser gets past the append-only trigger, by switching triggers off.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE portal_auditevent SET reason = 'forged' WHERE id = %s", [events[2].pk])
    with pytest.raises(CommandError, match=f"第 {events[2].pk} 号"):
        call_command("verify_audit", verbosity=0)


def test_it_blocks_raw_sql_on_postgresql(zz) -> None:  # noqa: ANN001
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    from django.db import DatabaseError, transaction

    event = audit.record(zz.city_staff, "test.one")
    for sql in ("UPDATE portal_auditevent SET reason = 'x' WHERE id = %s",
                "DELETE FROM portal_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, [event.pk])


def test_it_records_logins_and_failed_logins(client, zz) -> None:  # noqa: ANN001
    from tests.factories import PASSWORD

    client.post("/accounts/login/", {"username": zz.unit.username, "password": "wrong"})
    client.post("/accounts/login/", {"username": zz.unit.username, "password": PASSWORD})
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions[-2:] == ["auth.login_failed", "auth.login"]
    assert AuditEvent.objects.get(action="auth.login_failed").data == {"username": zz.unit.username}
