from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.demo import DEMO_PASSWORD, seed_demo
from portal.models import City


class Command(BaseCommand):
    help = "创建演示账号和单位（可重复运行，不会重复创建）。需先运行 loadpolicies。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="演示账号的密码")
        parser.add_argument("--quiet-list", action="store_true", help="不打印账号清单")

    def handle(self, *args: Any, password: str, quiet_list: bool, **options: Any) -> None:
        if not City.objects.exists():
            raise CommandError("尚未加载城市管理办法：请先运行 python manage.py loadpolicies")
        accounts = seed_demo(password)
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪：{len(accounts)} 个账号，密码均为 {password}"))
        if not quiet_list:
            for a in accounts:
                self.stdout.write(f"  {a.username:<24} {a.role}（{a.scope}）")
