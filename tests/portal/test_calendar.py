"""Tests for portal/calendar.py (working days) and its admin-entered data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from django.contrib.admin import AdminSite
from pytest_django import DjangoAssertNumQueries

from portal import calendar as cal
from portal.admin_calendar import CalendarDayAdmin, CalendarYearAdmin, register
from portal.calendar import (
    CalendarDataMissing,
    add_working_days,
    due_date_for_fixed_day,
    is_working_day,
    next_working_day_on_or_after,
    package_covers_year,
    working_days_between,
)
from portal.models.calendar import CalendarDay, CalendarYear

pytestmark = pytest.mark.django_db

# 国务院办公厅关于2026年部分节假日安排的通知 (published 2025-11): days off and 调休上班 days.
OFFICIAL_2026_REST = {
    "元旦": ("2026-01-01", "2026-01-03"),
    "春节": ("2026-02-15", "2026-02-23"),
    "清明节": ("2026-04-04", "2026-04-06"),
    "劳动节": ("2026-05-01", "2026-05-05"),
    "端午节": ("2026-06-19", "2026-06-21"),
    "中秋节": ("2026-09-25", "2026-09-27"),
    "国庆节": ("2026-10-01", "2026-10-07"),
}
OFFICIAL_2026_MAKEUP = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
                        "2026-10-10"]  # fmt: skip


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def days(first: str, last: str) -> list[date]:
    start, end = d(first), d(last)
    return [start + timedelta(n) for n in range((end - start).days + 1)]


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # Test transactions are rolled back without post_delete signals: never let one test's rows
    # survive in the process-wide cache.
    cal.clear_cache()
    yield
    cal.clear_cache()


# --- 2026 from the chinesecalendar package ---------------------------------------------------


def test_it_knows_the_2026_national_day_and_mid_autumn_holidays() -> None:
    for day in days("2026-10-01", "2026-10-07"):
        assert not is_working_day(day), day
    # 2026's 中秋 (农历八月十五 = 9-25, a Friday) is its own three-day break, not merged with 国庆.
    for day in days("2026-09-25", "2026-09-27"):
        assert not is_working_day(day), day
    assert is_working_day(d("2026-09-28"))
    assert is_working_day(d("2026-10-08"))


def test_it_treats_the_2026_makeup_weekend_days_as_working_days() -> None:
    assert d("2026-09-20").isoweekday() == 7  # Sunday
    assert d("2026-10-10").isoweekday() == 6  # Saturday
    assert is_working_day(d("2026-09-20"))
    assert is_working_day(d("2026-10-10"))
    assert not is_working_day(d("2026-10-11"))  # the Sunday after stays a rest day


def test_it_agrees_with_the_published_2026_arrangement() -> None:
    rest = {day for first, last in OFFICIAL_2026_REST.values() for day in days(first, last)}
    makeup = {d(iso) for iso in OFFICIAL_2026_MAKEUP}
    for day in days("2026-01-01", "2026-12-31"):
        expected = day in makeup or (day.weekday() < 5 and day not in rest)
        assert is_working_day(day) is expected, day
        assert chinese_calendar.is_workday(day) is expected, day
    # 261 weekdays − 19 holidays falling on weekdays + 6 makeup days.
    assert working_days_between(d("2026-01-01"), d("2026-12-31")) == 248


def test_it_ends_a_five_working_day_notice_posted_2026_09_28_on_2026_10_09() -> None:
    # 9-28 (Mon) 1, 9-29 2, 9-30 3, 10-01…10-07 holiday, 10-08 4, 10-09 5.
    assert add_working_days(d("2026-09-28"), 5) == d("2026-10-09")
    assert working_days_between(d("2026-09-28"), d("2026-10-09")) == 5


def test_it_starts_counting_on_the_next_working_day_when_start_is_a_rest_day() -> None:
    # 10-08 1, 10-09 2, 10-10 (makeup Saturday) 3, 10-11 rest, 10-12 4, 10-13 5.
    assert add_working_days(d("2026-10-01"), 5) == d("2026-10-13")
    assert add_working_days(d("2026-10-01"), 1) == d("2026-10-08")
    assert add_working_days(d("2026-09-26"), 1) == d("2026-09-28")


def test_it_counts_a_makeup_sunday_as_day_one() -> None:
    assert add_working_days(d("2026-09-20"), 1) == d("2026-09-20")
    assert add_working_days(d("2026-09-20"), 2) == d("2026-09-21")


def test_it_skips_the_mid_autumn_break() -> None:
    # 9-24 (Thu) 1, 9-25…27 off, 9-28 2, 9-29 3.
    assert add_working_days(d("2026-09-24"), 3) == d("2026-09-29")


def test_it_finds_the_next_working_day_on_or_after() -> None:
    assert next_working_day_on_or_after(d("2026-10-09")) == d("2026-10-09")
    assert next_working_day_on_or_after(d("2026-10-03")) == d("2026-10-08")
    assert next_working_day_on_or_after(d("2026-02-15")) == d("2026-02-24")


def test_it_counts_working_days_inclusively() -> None:
    assert working_days_between(d("2026-10-09"), d("2026-10-09")) == 1
    assert working_days_between(d("2026-10-01"), d("2026-10-07")) == 0
    assert working_days_between(d("2026-10-08"), d("2026-10-12")) == 4
    assert working_days_between(d("2026-10-12"), d("2026-10-08")) == 0  # reversed range


def test_it_moves_a_fixed_deadline_on_a_rest_day_to_the_next_working_day() -> None:
    assert due_date_for_fixed_day(2026, 10, 1) == d("2026-10-08")
    assert due_date_for_fixed_day(2026, 10, 11) == d("2026-10-12")  # ordinary Sunday
    assert due_date_for_fixed_day(2026, 10, 10) == d("2026-10-10")  # makeup Saturday works
    assert due_date_for_fixed_day(2026, 3, 31) == d("2026-03-31")


def test_it_rejects_a_non_positive_period() -> None:
    with pytest.raises(ValueError):
        add_working_days(d("2026-09-28"), 0)
    with pytest.raises(ValueError):
        add_working_days(d("2026-09-28"), -3)
    with pytest.raises(TypeError):
        add_working_days(d("2026-09-28"), True)


def test_it_refuses_a_datetime_so_the_caller_picks_the_local_date() -> None:
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 10, 9, 12, 0, tzinfo=UTC))


def test_it_reports_the_package_coverage() -> None:
    assert package_covers_year(2026)
    assert package_covers_year(2004)
    assert not package_covers_year(2027)


# --- years without package data ---------------------------------------------------------------


def test_it_raises_for_a_year_without_data() -> None:
    with pytest.raises(CalendarDataMissing) as exc:
        is_working_day(d("2027-03-01"))
    assert isinstance(exc.value, ValueError)
    assert exc.value.year == 2027
    assert str(exc.value) == "缺少2027年的节假日数据，请管理员在“工作日历”中录入后再计算期限"


def test_it_refuses_a_deadline_that_runs_into_a_year_without_data() -> None:
    assert add_working_days(d("2026-12-28"), 4) == d("2026-12-31")
    with pytest.raises(CalendarDataMissing):
        add_working_days(d("2026-12-28"), 5)
    with pytest.raises(CalendarDataMissing):
        working_days_between(d("2026-12-01"), d("2027-01-05"))
    with pytest.raises(CalendarDataMissing):
        due_date_for_fixed_day(2027, 1, 1)


def test_it_raises_for_years_before_the_package_too() -> None:
    with pytest.raises(CalendarDataMissing):
        is_working_day(d("2003-05-06"))


def test_it_does_not_guess_in_an_incomplete_year() -> None:
    CalendarYear.objects.create(year=2027, complete=False, note="录入中")
    CalendarDay.objects.create(date=d("2027-01-01"), is_working_day=False, name="元旦")
    assert not is_working_day(d("2027-01-01"))  # an entered day is known …
    with pytest.raises(CalendarDataMissing):
        is_working_day(d("2027-01-04"))  # … the rest of the year is not


def test_it_uses_an_admin_entered_complete_year() -> None:
    CalendarYear.objects.create(year=2027, complete=True)
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=d("2027-01-01"), is_working_day=False, name="元旦"),
            CalendarDay(date=d("2027-02-20"), is_working_day=True, name="调休上班"),
        ]
    )
    cal.clear_cache()  # bulk_create sends no signals
    assert not is_working_day(d("2027-01-01"))  # Friday, holiday
    assert not is_working_day(d("2027-01-02"))  # Saturday
    assert is_working_day(d("2027-01-04"))  # Monday, not entered: weekday rule
    assert is_working_day(d("2027-02-20"))  # Saturday entered as 调休上班
    # 12-30 (Wed) 1, 12-31 2, 1-01 holiday, 1-02/03 weekend, 1-04 3.
    assert add_working_days(d("2026-12-30"), 3) == d("2027-01-04")
    assert working_days_between(d("2026-12-31"), d("2027-01-08")) == 6


# --- overrides and cache ----------------------------------------------------------------------


def test_it_lets_an_entered_day_override_the_package() -> None:
    CalendarDay.objects.create(date=d("2026-10-08"), is_working_day=False, name="临时放假")
    CalendarDay.objects.create(date=d("2026-10-03"), is_working_day=True, name="调休上班")
    assert not is_working_day(d("2026-10-08"))
    assert is_working_day(d("2026-10-03"))
    # 9-28 1, 9-29 2, 9-30 3, 10-03 4, 10-09 5.
    assert add_working_days(d("2026-09-28"), 5) == d("2026-10-09")
    assert add_working_days(d("2026-09-28"), 6) == d("2026-10-10")


def test_it_sees_saves_and_deletes_without_a_manual_cache_clear() -> None:
    with pytest.raises(CalendarDataMissing):
        is_working_day(d("2027-01-04"))
    year = CalendarYear.objects.create(year=2027, complete=True)
    assert is_working_day(d("2027-01-04"))

    day = CalendarDay.objects.create(date=d("2027-01-04"), is_working_day=False, name="测试")
    assert not is_working_day(d("2027-01-04"))
    day.is_working_day = True
    day.save()
    assert is_working_day(d("2027-01-04"))
    day.delete()
    assert is_working_day(d("2027-01-04"))

    year.complete = False
    year.save()
    with pytest.raises(CalendarDataMissing):
        is_working_day(d("2027-01-04"))
    year.delete()
    with pytest.raises(CalendarDataMissing):
        is_working_day(d("2027-01-04"))


def test_it_answers_repeated_lookups_from_the_cache(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    add_working_days(d("2026-01-01"), 200)  # warm up 2026
    with django_assert_num_queries(0):
        for _ in range(3):
            assert add_working_days(d("2026-09-28"), 5) == d("2026-10-09")
            assert working_days_between(d("2026-01-01"), d("2026-12-31")) == 248


def test_it_loads_a_year_with_at_most_two_queries(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_max_num_queries(2):
        is_working_day(d("2026-06-01"))


def test_it_reloads_after_the_time_to_live(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process (say the admin's web worker) changed the data: no signal reaches us.
    now = [1000.0]
    monkeypatch.setattr(cal, "_clock", lambda: now[0])
    cal.clear_cache()
    CalendarDay.objects.create(date=d("2026-10-09"), is_working_day=True, name="")
    assert is_working_day(d("2026-10-09"))
    CalendarDay.objects.filter(date=d("2026-10-09")).update(is_working_day=False)  # no signal
    now[0] += cal.CACHE_TTL_SECONDS / 2
    assert is_working_day(d("2026-10-09"))  # still cached
    now[0] += cal.CACHE_TTL_SECONDS
    assert not is_working_day(d("2026-10-09"))


# --- models and admin ---------------------------------------------------------------------------


def test_it_describes_calendar_rows_in_chinese() -> None:
    day = CalendarDay(date=d("2026-10-10"), is_working_day=True, name="调休上班")
    assert str(day) == "2026-10-10 上班（调休上班）"
    assert str(CalendarDay(date=d("2026-10-01"), is_working_day=False)) == "2026-10-01 放假"
    assert str(CalendarYear(year=2027)) == "2027"


def test_it_registers_the_admin_idempotently() -> None:
    site = AdminSite(name="calendar-test")
    register(site)
    register(site)
    assert site.is_registered(CalendarYear)
    assert site.is_registered(CalendarDay)


def test_it_shows_each_years_data_source_in_the_admin() -> None:
    admin = CalendarYearAdmin(CalendarYear, AdminSite(name="calendar-test"))
    assert "内置" in admin.data_source(CalendarYear(year=2026))
    assert "已完整" in admin.data_source(CalendarYear(year=2027, complete=True))
    assert "不能计算" in admin.data_source(CalendarYear(year=2027, complete=False))
    CalendarDay.objects.create(date=d("2027-01-01"), is_working_day=False, name="元旦")
    assert admin.entered_days(CalendarYear(year=2027)) == 1
    day_admin = CalendarDayAdmin(CalendarDay, AdminSite(name="calendar-test"))
    assert day_admin.weekday(CalendarDay(date=d("2026-10-10"))) == "星期六"
