"""On PostgreSQL, refuse UPDATE and DELETE on the audit log in the database itself.

The ORM already refuses them (portal/models/audit.py); the trigger also stops raw SQL from the
application's own database role. TRUNCATE is left to the table's owner (test databases are
flushed with it; the production role is granted no TRUNCATE, see docs/security.md), and a superuser
can disable triggers: that is why the rows are hash-chained as well and the chain head counts them
(`manage.py verify_audit` reports a truncated or edited log).
"""
from __future__ import annotations

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'portal_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditevent_append_only
    BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_audit_append_only();
"""


def forward(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        # A bare cursor: with no parameters psycopg2 leaves the "%" in RAISE alone.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def backward(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
