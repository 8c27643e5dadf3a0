from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.backup import BackupError, backup


class Command(BaseCommand):
    help = "备份数据库和上传文件到一个带时间戳的目录（scripts/backup；见 docs/backup.md）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dest", nargs="?", default=None,
                            help="备份存放目录（默认 $BACKUP_DIR 或 <PORTAL_VAR_DIR>/backups）")
        parser.add_argument("--keep", type=int, default=None, help="只保留最新的 N 份备份（默认全部保留）")

    def handle(self, *args: Any, **options: Any) -> None:
        import os

        dest = Path(options["dest"] or os.environ.get("BACKUP_DIR") or Path(settings.VAR_DIR) / "backups")
        try:
            done = backup(dest, keep=options["keep"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        counts = done.manifest["counts"]
        self.stdout.write(f"申报 {counts['workshops.Application']} 项，工作室 {counts['workshops.Studio']} 个，"
                          f"附件 {counts['workshops.Attachment']} 个，审计日志 {counts['portal.AuditEvent']} 条")
        for name, meta in done.manifest["files"].items():
            self.stdout.write(f"  {name}  {meta['bytes']:>12,} 字节  sha256 {meta['sha256'][:16]}…")
        self.stdout.write(self.style.SUCCESS(f"备份完成：{done.folder}"))
