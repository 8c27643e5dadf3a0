"""`manage.py send_reminders [--date YYYY-MM-DD] [--dry-run]`: the daily sweep, for any day, by hand."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from portal.reminders import SweepReport, sweep


class Command(BaseCommand):
    help = ("发送到期提醒（与每日定时任务相同）：年度计划、考核、验收节点、审查与评审期限、公示期满。"
            "可重复运行，不会重复发送。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="按该日期计算（YYYY-MM-DD），默认今天")
        parser.add_argument("--dry-run", action="store_true",
                            help="只列出将要发送的提醒（已发送过的不计），不写入、不发邮件、不结束公示")
        parser.add_argument("--samples", type=int, default=None,
                            help="试运行时每项列出的消息条数（默认：-v 2 时 10 条，否则不列）")

    def handle(self, *args: Any, date: str | None = None, dry_run: bool = False, samples: int | None = None,
               **options: Any) -> None:
        on = None
        if date:
            try:
                on = _parse(date)
            except ValueError:
                raise CommandError(f"--date 的值无效（{date}）：应为 YYYY-MM-DD。") from None
        if samples is None:
            samples = 10 if options.get("verbosity", 1) >= 2 else 0
        self.print_report(sweep(on, dry_run=dry_run, samples=samples if dry_run else 0))

    def print_report(self, report: SweepReport) -> None:
        prefix = _("[试运行] ") if report.dry_run else ""
        verb = _("将发送") if report.dry_run else _("已发送")
        self.stdout.write(prefix + _("%(date)s 的到期提醒") % {"date": report.on.isoformat()})
        for line in report.closed:
            self.stdout.write(f"{prefix}{line}")
        for line in report.lines:
            if not line.count:
                continue
            self.stdout.write(f"{prefix}{line.label}：{verb} {line.count} 条")
            for recipient, subject in line.samples:
                self.stdout.write(f"    → {recipient}：{subject}")
            if len(line.samples) < line.count and line.samples:
                self.stdout.write("    " + _("……另有 %(n)d 条") % {"n": line.count - len(line.samples)})
        for problem in report.problems:
            self.stderr.write(prefix + _("未能计算：%(scope)s：%(message)s") % {"scope": problem.scope,
                                                                            "message": problem.message})
        total = _("合计：%(verb)s %(n)d 条提醒") % {"verb": verb, "n": report.sent}
        if not report.dry_run:
            total += _("，排队发送邮件 %(n)d 封") % {"n": report.emails_queued}
        self.stdout.write(f"{prefix}{total}。")


def _parse(value: str) -> date:
    return date.fromisoformat(value)
