from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from reviews.notices import close_due_notices


class Command(BaseCommand):
    help = "结束期满且无未办结异议的公示，名单中的申报进入下一环节（或批准设立）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="按该日期处理（YYYY-MM-DD），默认今天")
        parser.add_argument("--dry-run", action="store_true", help="只列出将要处理的公示，不做修改")

    def handle(self, *args: Any, date: str | None = None, dry_run: bool = False, **options: Any) -> None:
        on = None
        if date:
            try:
                on = _parse(date)
            except ValueError:
                raise CommandError(f"--date 的值无效（{date}）：应为 YYYY-MM-DD。") from None
        report = close_due_notices(on, dry_run=dry_run)
        prefix = "[试运行] " if dry_run else ""
        for pk in report.closed:
            self.stdout.write(f"{prefix}公示 #{pk} 期满结束")
        for pk in report.waiting:
            self.stdout.write(f"{prefix}公示 #{pk} 期满，但仍有未办结的异议，暂不结束")
        self.stdout.write(f"{prefix}结束 {len(report.closed)} 个公示，{len(report.moved)} 个申报进入下一环节。")


def _parse(value: str) -> date:
    return date.fromisoformat(value)
