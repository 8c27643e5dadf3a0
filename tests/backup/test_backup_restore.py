"""scripts/backup and scripts/restore, run as an operator would: the portal's data (applications,
reviews, a studio, encrypted personal data, uploaded files, the audit chain) goes into a backup
folder, comes back into an EMPTY database and an empty uploads directory, and is found there by the
portal itself. A damaged backup, a non-empty target or the wrong keys are refused before anything
is written.

Runs on PostgreSQL (pg_dump -Fc / pg_restore into a database created for the test) and on SQLite
(the test database copied to a file, restored into a new file).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

from portal.models import SkillLevel
from tests.factories import make_application, make_person, make_round, make_studio, walk
from workshops.models import Attachment
from workshops.states import AppState

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SECRET_BYTES = b"%PDF-1.4\n% backup-restore marker " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"


def db_url(settings_dict: dict[str, Any], name: str | None = None) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{name}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return (f"postgres://{user}{password}@{settings_dict.get('HOST') or '127.0.0.1'}:"
            f"{settings_dict.get('PORT') or 5432}/{name or settings_dict['NAME']}")


@dataclass
class Side:
    """One installation: its database and its var directory (uploads under var/uploads)."""

    url: str
    var: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PORTAL_VAR_DIR"}}
        env.update({"DATABASE_URL": self.url, "PORTAL_VAR_DIR": str(self.var), "DJANGO_SETTINGS_MODULE":
                    "portal.settings", "PII_ENCRYPTION_KEYS": ",".join(settings.PII_ENCRYPTION_KEYS),
                    "PII_HASH_KEY": settings.PII_HASH_KEY, "LOG_LEVEL": "WARNING", **extra})
        return env

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*args], cwd=ROOT, env=self.env(**extra), capture_output=True, text=True, timeout=600)


@pytest.fixture
def uploads(settings: Any, tmp_path: Path) -> Path:
    # The portal's uploads live in <PORTAL_VAR_DIR>/uploads; the scripts run with that layout.
    var = tmp_path / "var-source"
    media = var / "uploads"
    media.mkdir(parents=True)
    settings.MEDIA_ROOT = media
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(media)}}}
    return var


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Side]:
    """An empty database and an empty var directory to restore into."""
    var = tmp_path / "var-restored"
    var.mkdir()
    if connection.vendor == "sqlite":
        yield Side(db_url(connection.settings_dict, str(tmp_path / "restored.sqlite3")), var)
        return
    import psycopg2

    name = f"portal_restore_{uuid.uuid4().hex[:10]}"
    params = connection.settings_dict
    admin = psycopg2.connect(host=params.get("HOST") or "127.0.0.1", port=params.get("PORT") or 5432,
                             user=params.get("USER") or "postgres", password=params.get("PASSWORD") or None,
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Side(db_url(params, name), var)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def source_side(var: Path, tmp_path: Path) -> Side:
    if connection.vendor == "sqlite":
        # The test database lives in memory; copy it (committed: this is a transactional test) to a file.
        path = tmp_path / "source.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(path) as copy:
            connection.connection.backup(copy)
        return Side(db_url(connection.settings_dict, str(path)), var)
    return Side(db_url(connection.settings_dict), var)


FIND = """
import hashlib, json
from portal import crypto
from portal.audit import verify_chain
from portal.models import Person
from workshops.models import Application, Attachment, Studio
app = Application.objects.select_related("leader").get(pk={app})
attachment = Attachment.objects.get(pk={attachment})
print(json.dumps({{
  "state": app.state, "studio_name": app.studio_name, "leader_id": app.leader.id_number,
  "found_by_id": Person.objects.filter(id_hash=crypto.blind_index(app.leader.id_number)).count(),
  "attachment_sha": hashlib.sha256(attachment.file.read()).hexdigest(),
  "studio": Studio.objects.get(pk={studio}).name, "chain_ok": verify_chain().ok,
  "reviews": app.review_steps.count(),
}}, ensure_ascii=False))
"""


APPEND_ONLY = """
from django.db import DatabaseError, connection
try:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE portal_auditevent SET reason = 'forged'")
    print("allowed")
except DatabaseError:
    print("refused")
"""


def test_it_restores_a_backup_into_an_empty_database_and_finds_everything(cast_for, uploads, target, tmp_path) -> None:  # noqa: ANN001, E501
    zz = cast_for("zhengzhou")
    app = make_application(zz, make_round(zz.city))
    (app,) = walk(zz, [app], until=AppState.EXPERT_REVIEW)
    attachment = Attachment.objects.filter(application=app).first()
    attachment.file.save("证明材料.pdf", ContentFile(SECRET_BYTES))
    studio = make_studio(zz, established_on=date(2026, 1, 5), leader=make_person(
        organization=zz.org, birth=date(1972, 2, 2), skill_level=SkillLevel.SENIOR_TECHNICIAN, name="备份大师"))
    leader_id = app.leader.id_number
    steps = app.review_steps.count()
    assert steps >= 1

    source = source_side(uploads, tmp_path)
    made = source.run("scripts/backup", str(tmp_path / "backups"), "--keep", "3")
    assert made.returncode == 0, made.stdout + made.stderr
    (folder,) = (tmp_path / "backups").glob("portal-*")
    assert f"备份完成：{folder}" in made.stdout
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["counts"]["workshops.Application"] >= 1 and manifest["counts"]["workshops.Studio"] == 1
    assert leader_id not in (folder / "MANIFEST.json").read_text()

    restored = target.run("scripts/restore", str(folder))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "恢复完成" in restored.stdout and "审计日志哈希链完好" in restored.stdout

    found = target.run(".venv/bin/python", "manage.py", "shell", "-c",
                       FIND.format(app=app.pk, attachment=attachment.pk, studio=studio.pk))
    assert found.returncode == 0, found.stderr
    got = json.loads(found.stdout.strip().splitlines()[-1])
    assert got == {"state": AppState.EXPERT_REVIEW, "studio_name": app.studio_name, "leader_id": leader_id,
                   "found_by_id": 1, "attachment_sha": hashlib.sha256(SECRET_BYTES).hexdigest(),
                   "studio": studio.name, "chain_ok": True, "reviews": steps}
    stored = target.var / "uploads" / attachment.file.name
    assert stored.read_bytes() == SECRET_BYTES

    if connection.vendor == "postgresql":
        # The trail's append-only trigger (created by a migration) comes back with the dump.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'portal_auditevent'::regclass "
                           "AND NOT tgisinternal")
            triggers = cursor.fetchone()[0]
        blocked = target.run(".venv/bin/python", "manage.py", "shell", "-c", APPEND_ONLY)
        assert blocked.stdout.strip().splitlines()[-1] == ("refused" if triggers else "allowed"), blocked.stderr

    # A second restore onto the now full database is refused.
    again = target.run("scripts/restore", str(folder))
    assert again.returncode != 0 and "不是空的" in again.stderr


def test_it_refuses_a_damaged_backup_or_the_wrong_keys_before_writing_anything(cast_for, uploads, target,  # noqa: ANN001
                                                                                 tmp_path) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    make_application(zz, make_round(zz.city))
    source = source_side(uploads, tmp_path)
    assert source.run("scripts/backup", str(tmp_path / "backups")).returncode == 0
    (folder,) = (tmp_path / "backups").glob("portal-*")

    from cryptography.fernet import Fernet

    wrong = target.run("scripts/restore", str(folder), PII_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert wrong.returncode != 0 and "个人信息加密密钥" in wrong.stderr

    damaged = folder / "uploads.tar.gz"
    data = bytearray(damaged.read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    refused = target.run("scripts/restore", str(folder))
    assert refused.returncode != 0 and "uploads.tar.gz 的校验值与清单不符" in refused.stderr

    # Nothing was written: the target is still an empty database with no uploads.
    probe = target.run(".venv/bin/python", "manage.py", "shell", "-c",
                       "from django.db import connection; print(len(connection.introspection.table_names()))")
    assert probe.stdout.strip().splitlines()[-1] == "0"
    assert not (target.var / "uploads").exists() or not any((target.var / "uploads").iterdir())
