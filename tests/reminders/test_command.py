"""`manage.py send_reminders --date YYYY-MM-DD [--dry-run]`."""
from __future__ import annotations

from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from portal.models import Notification
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("send_reminders", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_the_dry_run_prints_what_would_be_sent_and_sends_nothing(zz, make_studio) -> None:  # noqa: ANN001
    studio = make_studio(zz, date(2024, 3, 1))
    out, err = run("--date", "2026-01-21", "--dry-run")
    assert not Notification.objects.exists()
    lines = out.splitlines()
    assert lines[0] == "[试运行] 2026-01-21 的到期提醒"
    assert "[试运行] 2026年度工作计划报送 · 郑州市 · 期限 2026-01-20 · 逾期：将发送 1 条" in lines
    assert "[试运行] 2026年度工作计划报送 · 郑州市 · 期限 2026-01-20 · 逾期（上报督办）：将发送 1 条" in lines
    assert "[试运行] 2026年度工作计划汇总上报 · 郑州市 · 期限 2026-02-10 · 提前30天：将发送 1 条" in lines
    assert lines[-1] == "[试运行] 合计：将发送 3 条提醒。"
    assert studio.name not in out  # no message list unless asked for
    assert err == ""


def test_the_dry_run_lists_the_messages_with_verbosity_2(zz, make_studio) -> None:  # noqa: ANN001
    studio = make_studio(zz, date(2024, 3, 1))
    out, _err = run("--date", "2026-01-21", "--dry-run", verbosity=2)
    assert f"    → {zz.unit.username}：逾期：{studio.name} 2026年度工作计划未在 2026-01-20 前报送" in out.splitlines()
    assert f"    → {zz.agency.username}：督办：郑州市有 1 项“2026年度工作计划报送”已逾期（期限 2026-01-20）" in out


def test_the_dry_run_lists_no_more_than_asked_and_counts_the_rest(zz, make_studio) -> None:  # noqa: ANN001
    from tests.factories import unit_user_of

    for _ in range(3):
        org = make_org(zz.city)
        unit_user_of(org)
        make_studio(zz, date(2024, 3, 1), org=org)
    out, _err = run("--date", "2026-01-21", "--dry-run", "--samples", "1")
    assert "[试运行] 2026年度工作计划报送 · 郑州市 · 期限 2026-01-20 · 逾期：将发送 3 条" in out
    assert "    ……另有 2 条" in out.splitlines()


def test_a_real_run_sends_and_a_second_run_sends_nothing_more(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    zz.unit.email = "unit@example.gov.cn"
    zz.unit.save(update_fields=["email"])
    out, _err = run("--date", "2026-01-21")
    assert "2026年度工作计划报送 · 郑州市 · 期限 2026-01-20 · 逾期：已发送 1 条" in out.splitlines()
    assert out.splitlines()[-1] == "合计：已发送 3 条提醒，排队发送邮件 1 封。"
    out, _err = run("--date", "2026-01-21")
    assert out.splitlines() == ["2026-01-21 的到期提醒", "合计：已发送 0 条提醒，排队发送邮件 0 封。"]
    assert Notification.objects.count() == 3
    out, _err = run("--date", "2026-01-21", "--dry-run")
    assert out.splitlines()[-1] == "[试运行] 合计：将发送 0 条提醒。"


def test_it_reports_what_it_cannot_compute(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    _out, err = run("--date", "2026-12-21", "--dry-run")
    assert "未能计算：郑州市（办法版本 1）：缺少2027年的节假日数据" in err


def test_it_rejects_a_malformed_date() -> None:
    with pytest.raises(CommandError, match="--date 的值无效（2026-13-01）"):
        run("--date", "2026-13-01")
