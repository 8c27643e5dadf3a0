from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.backup import BackupError, restore


class Command(BaseCommand):
    help = ("把一份备份恢复到当前配置的空数据库（DATABASE_URL）和空的上传文件目录，然后核对：文件校验值、"
            "行数、审计日志哈希链、个人信息密钥（scripts/restore；见 docs/backup.md）。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="scripts/backup 生成的备份目录 portal-<时间>")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = restore(Path(options["folder"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for label, n in report.restored.items():
            want = report.manifest["counts"].get(label)
            mark = "" if n == want else f"  ≠ 备份清单 {want}"
            self.stdout.write(f"  {label:<24} {n:>10}{mark}")
        self.stdout.write(f"审计日志哈希链完好：{report.audit_rows} 条。" if not any(
            "审计" in p for p in report.problems) else "审计日志核对未通过。")
        if report.pending_migrations:
            self.stdout.write(self.style.WARNING(
                f"备份来自较早的版本：还有 {len(report.pending_migrations)} 个数据库迁移未执行，"
                "请运行 manage.py migrate。"))
        if not report.ok:
            raise CommandError("恢复后核对未通过：\n" + "\n".join(report.problems))
        self.stdout.write(self.style.SUCCESS(
            f"恢复完成：{report.manifest['created_at']} 的备份已恢复并核对无误。"))
