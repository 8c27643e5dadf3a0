"""Backup and restore of the database and the uploaded files (scripts/backup, scripts/restore;
docs/backup.md).

A backup is one folder `portal-<UTC time>/`:

    database.dump        PostgreSQL: `pg_dump -Fc` (one consistent snapshot, compressed)
    database.sqlite3     SQLite: SQLite's online backup (a consistent copy while the portal runs)
    uploads.tar.gz       everything under MEDIA_ROOT (attachments, evidence, stored PDFs)
    MANIFEST.json        what was saved: sha256 of each file, row counts, the audit chain's head,
                         the applied migrations, and fingerprints of the personal-data keys

It is written as `portal-<time>.partial/` and renamed when complete, so a folder without the suffix is
a whole backup. The personal-data keys (PII_ENCRYPTION_KEYS, PII_HASH_KEY) are never in it: they are
kept apart (docs/backup.md), and restore checks that the keys it is given open the data.

Restore goes into an EMPTY database and an empty upload directory only, after checking every file
against the manifest; then it checks the result: migrations, the audit chain, the keys, the counts.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

MANIFEST = "MANIFEST.json"
FORMAT = 1
# Rows counted into the manifest and compared after a restore: what a bureau would look for first.
COUNTED = ["portal.User", "portal.Organization", "portal.Person", "portal.AuditEvent", "portal.Notification",
           "workshops.Round", "workshops.Application", "workshops.Attachment", "workshops.Studio",
           "reviews.ReviewStep", "reviews.Notice", "reviews.Objection"]


class BackupError(Exception):
    """A backup or restore that must stop; the message says why, in Chinese, for the operator."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _db() -> dict[str, Any]:
    return settings.DATABASES["default"]


def _is_postgres() -> bool:
    return _db()["ENGINE"].endswith("postgresql")


def _pg_env() -> dict[str, str]:
    db = _db()
    env = {**os.environ, "PGHOST": str(db.get("HOST") or "localhost"), "PGPORT": str(db.get("PORT") or 5432),
           "PGUSER": str(db.get("USER") or ""), "PGDATABASE": str(db["NAME"])}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # in the environment, never on a command line (ps shows those)
    return env


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError:
        raise BackupError(f"找不到命令 {cmd[0]}：请安装 PostgreSQL 客户端（postgresql-client）。") from None
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} 失败（退出码 {result.returncode}）：{result.stderr.strip()[-2000:]}")


def counts() -> dict[str, int]:
    from django.apps import apps

    return {label: apps.get_model(label).objects.count() for label in COUNTED}


def _state() -> dict[str, Any]:
    """What the database holds, for the manifest and for the check after a restore."""
    from django.db.migrations.recorder import MigrationRecorder

    from portal import crypto
    from portal.models.audit import AuditChainHead

    head = AuditChainHead.objects.filter(id=1).first()
    applied = sorted(MigrationRecorder(connection).applied_migrations())
    return {
        "counts": counts(),
        "audit_head": {"hash": head.last_hash if head else "0" * 64, "count": head.count if head else 0},
        "migrations": [f"{app}.{name}" for app, name in applied],
        "pii_key_fingerprints": [crypto.key_fingerprint(k) for k in settings.PII_ENCRYPTION_KEYS],
        "pii_hash_key_fingerprint": crypto.key_fingerprint(settings.PII_HASH_KEY),
    }


@dataclass
class Backup:
    folder: Path
    manifest: dict[str, Any] = field(default_factory=dict)


def backup(dest_root: Path, *, keep: int | None = None) -> Backup:
    """Write one backup folder under `dest_root`; with `keep`, delete all but the newest `keep`."""
    media = Path(settings.MEDIA_ROOT)
    if dest_root.resolve().is_relative_to(media.resolve()):
        raise BackupError(f"备份目录 {dest_root} 不能放在上传文件目录 {media} 之内。")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = dest_root / f"portal-{stamp}"
    work = dest_root / f"portal-{stamp}.partial"
    work.mkdir(parents=True)
    os.chmod(work, 0o700)  # it holds everything the portal knows (personal data encrypted, but still)
    db = _db()
    if _is_postgres():
        dump = work / "database.dump"
        _run(["pg_dump", "--format=custom", "--no-password", f"--file={dump}"], env=_pg_env())
    else:
        dump = work / "database.sqlite3"
        source = sqlite3.connect(str(db["NAME"]))
        target = sqlite3.connect(str(dump))
        with target:
            source.backup(target)  # consistent even while the portal writes
        source.close()
        target.close()
    uploads = work / "uploads.tar.gz"
    with tarfile.open(uploads, "w:gz") as tar:
        if media.is_dir():
            for child in sorted(media.iterdir()):
                tar.add(child, arcname=child.name)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "engine": "postgresql" if _is_postgres() else "sqlite",
        "database": str(db["NAME"]) if _is_postgres() else Path(str(db["NAME"])).name,
        "media_root": str(media),
        "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in (dump, uploads)},
        **_state(),
    }
    (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    work.rename(final)
    if keep:
        for old in sorted(p for p in dest_root.glob("portal-*") if not p.name.endswith(".partial"))[:-keep]:
            shutil.rmtree(old)
    return Backup(final, manifest)


# --- restore -------------------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if folder.name.endswith(".partial") or not path.exists():
        raise BackupError(f"{folder} 不是完整的备份（缺少 {MANIFEST}，或备份未完成）。")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式 {manifest.get('format')} 不受支持（本程序支持格式 {FORMAT}）。")
    for name, meta in manifest["files"].items():
        file = folder / name
        if not file.exists():
            raise BackupError(f"备份缺少文件 {name}。")
        if sha256(file) != meta["sha256"]:
            raise BackupError(f"备份文件 {name} 的校验值与清单不符：文件已损坏或被改动，拒绝恢复。")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _media_is_empty() -> bool:
    media = Path(settings.MEDIA_ROOT)
    return not media.exists() or not any(media.iterdir())


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    restored: dict[str, int]
    pending_migrations: list[str]
    audit_rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def restore(folder: Path) -> RestoreReport:
    """Restore `folder` into the configured (empty) database and (empty) MEDIA_ROOT, then check it."""
    manifest = read_manifest(folder)
    engine = "postgresql" if _is_postgres() else "sqlite"
    if manifest["engine"] != engine:
        raise BackupError(f"备份来自 {manifest['engine']} 数据库，当前配置的是 {engine}：请配置同类数据库。")
    if not _database_is_empty():
        raise BackupError(f"目标数据库 {_db()['NAME']} 不是空的：只能恢复到新建的空数据库（见 docs/backup.md）。")
    if not _media_is_empty():
        raise BackupError(f"上传文件目录 {settings.MEDIA_ROOT} 不是空的：请指向新的空目录（PORTAL_VAR_DIR）。")
    _check_keys(manifest)
    connection.close()
    if engine == "postgresql":
        # One transaction: a failure leaves the database empty, never half restored.
        _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password",
              f"--dbname={_db()['NAME']}", str(folder / "database.dump")], env=_pg_env())
    else:
        target = Path(str(_db()["NAME"]))
        target.unlink(missing_ok=True)  # an empty file (no tables) may exist: Django creates it on connect
        shutil.copyfile(folder / "database.sqlite3", target)
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "uploads.tar.gz", "r:gz") as tar:
        tar.extractall(media, filter="data")  # "data": no absolute paths, no links out of the directory
    return check(manifest)


def _check_keys(manifest: dict[str, Any]) -> None:
    from portal import crypto

    have = {crypto.key_fingerprint(k) for k in settings.PII_ENCRYPTION_KEYS}
    if not have & set(manifest["pii_key_fingerprints"]):
        raise BackupError(
            "当前配置的 PII_ENCRYPTION_KEYS 中没有备份时使用的个人信息加密密钥（指纹 "
            f"{', '.join(manifest['pii_key_fingerprints'])}）：恢复后身份证号等将无法解密。"
            "请从密钥保管处取回备份时的密钥再恢复（docs/backup.md）。")
    if crypto.key_fingerprint(settings.PII_HASH_KEY) != manifest["pii_hash_key_fingerprint"]:
        raise BackupError("当前配置的 PII_HASH_KEY 与备份时不同：按身份证号查找人员将失效。请配置备份时的密钥。")


def check(manifest: dict[str, Any]) -> RestoreReport:
    """After a restore: does the database hold what the manifest says, intact and readable?"""
    from django.db.migrations.executor import MigrationExecutor

    from portal.audit import verify_chain

    connection.close()
    problems = []
    state = _state()
    for label, want in manifest["counts"].items():
        if state["counts"].get(label) != want:
            problems.append(f"{label}: 备份清单 {want} 行，恢复后 {state['counts'].get(label)} 行")
    chain = verify_chain()
    if not chain.ok:
        problems.append(f"审计日志哈希链在第 {chain.first_broken_id} 号记录处断开：{chain.problem}")
    if state["audit_head"] != manifest["audit_head"]:
        problems.append("审计链头与备份清单不符")
    problems += _unreadable_personal_data()
    executor = MigrationExecutor(connection)
    pending = [f"{m.app_label}.{m.name}" for m, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())]
    return RestoreReport(manifest, state["counts"], pending, chain.checked, problems)


def _unreadable_personal_data() -> list[str]:
    """Decrypt one stored value of every encrypted column: the keys must open what was restored."""
    from portal import crypto
    from portal.management.commands.rotate_pii_keys import encrypted_columns

    qn = connection.ops.quote_name
    problems = []
    with connection.cursor() as cursor:
        for table, _pk, column in encrypted_columns():
            cursor.execute(f"SELECT {qn(column)} FROM {qn(table)} WHERE {qn(column)} LIKE %s LIMIT 1",
                           [crypto.PREFIX + "%"])
            row = cursor.fetchone()
            if row is None:
                continue
            try:
                crypto.decrypt(row[0])
            except Exception:  # noqa: BLE001 - any failure means the operator must fix the keys
                problems.append(f"{table}.{column} 无法用当前密钥解密")
    return problems
