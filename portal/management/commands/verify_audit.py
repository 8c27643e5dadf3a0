from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.audit import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链，报告第一条被篡改、删除或插入的记录。"

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(f"审计日志在第 {report.first_broken_id} 号记录处断链：{report.problem}"
                               f"（此前 {report.checked} 条完好）")
        self.stdout.write(self.style.SUCCESS(f"审计日志完好：共 {report.checked} 条，哈希链连续。"))
