"""manage.py purge_attachments: the retention purge the beat runs daily, by hand (workshops/retention.py)."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workshops import retention


class Command(BaseCommand):
    help = "删除保存期满的未通过、已撤回申报的申报材料（保留审计记录）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", dest="on", help="按此日期计算保存期（YYYY-MM-DD，默认今天）")
        parser.add_argument("--dry-run", action="store_true", help="只列出将删除的材料，不作任何修改")

    def handle(self, *args: Any, on: str | None, dry_run: bool, **options: Any) -> None:
        report = retention.purge_expired(_parse(on) if on else timezone.localdate(), dry_run=dry_run)
        cutoff = timezone.localtime(report.cutoff).date()
        verb = "将删除" if dry_run else "已删除"
        for a in report.applications:
            decided = timezone.localtime(a.decided_at).date()
            self.stdout.write(f"  申报 #{a.application_id}（{a.state}，{decided} 办结）："
                              f"{verb} {a.attachments} 个文件，{a.bytes} 字节")
        self.stdout.write(self.style.SUCCESS(
            f"保存期 {report.years} 年，{cutoff} 之前办结的申报：{verb} {len(report.applications)} 件申报的 "
            f"{report.attachment_count} 个文件。" + ("（试运行，未作修改）" if dry_run else "")))


def _parse(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date 的值无效（{value!r}）：应为 YYYY-MM-DD。") from None
