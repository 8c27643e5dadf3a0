"""Working-day calendar: statutory holidays (法定节假日) and makeup working days (调休上班).

Deadlines in the portal (公示期, 申报/备案期限, reminders) are counted in working days, and in
China a working day is not simply Monday–Friday: each year the State Council's 国务院办公厅关于
部分节假日安排的通知 moves weekends around the holidays of 《全国年节及纪念日放假办法》.

Where the answer comes from, for a given day, in this order:

1. a ``CalendarDay`` row for that date (entered by the bureau in the admin) — always wins, so a
   wrong or late-changed package entry can be corrected;
2. the ``chinesecalendar`` package (import name ``chinese_calendar``), for the years it covers;
3. if a ``CalendarYear`` row for that year is marked ``complete``: Monday–Friday work, Saturday
   and Sunday rest (the bureau has entered every holiday and makeup day of the year as rows);
4. otherwise ``CalendarDataMissing`` is raised.  The portal refuses to compute a deadline across
   a year it has no holiday data for rather than guess: a guessed deadline that ends in the middle
   of next year's 春节 would silently cut an applicant's statutory period short.

Lookups are served from an in-process per-year cache.  Saving or deleting a ``CalendarDay`` or
``CalendarYear`` clears it in the saving process (signals in portal/models/calendar.py); other
processes (web workers, Celery) drop their cache after ``CACHE_TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import chinese_calendar
from chinese_calendar.constants import holidays as _package_holidays
from django.utils.translation import gettext

__all__ = [
    "CACHE_TTL_SECONDS",
    "CalendarDataMissing",
    "add_working_days",
    "clear_cache",
    "due_date_for_fixed_day",
    "is_working_day",
    "next_working_day_on_or_after",
    "package_covers_year",
    "working_days_between",
]

# How long another process may keep serving a calendar the bureau has since edited.  Short enough
# that an admin correction reaches the reminder sweep within a minute; long enough that a sweep
# over thousands of deadlines costs a couple of queries per year touched.
CACHE_TTL_SECONDS: float = 60.0

_ONE_DAY: Final = timedelta(days=1)
# The longest run of rest days ever scheduled is 9 (2026 春节); a year without a single working day
# can only be a data-entry mistake, and stopping beats looping until the data runs out.
_MAX_REST_RUN: Final = 366

_PACKAGE_FIRST_YEAR: Final = min(_package_holidays).year
_PACKAGE_LAST_YEAR: Final = max(_package_holidays).year


class CalendarDataMissing(ValueError):
    """Raised when a computation needs a day of a year that has no holiday data."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(gettext("缺少%(year)s年的节假日数据，请管理员在“工作日历”中录入后再计算期限") % {"year": year})


@dataclass(frozen=True, slots=True)
class _YearDays:
    """Status of every day of one year: True work, False rest, None unknown."""

    first_ordinal: int
    days: tuple[bool | None, ...]


_clock: Callable[[], float] = time.monotonic  # replaced in tests
_lock = threading.Lock()
_years: dict[int, _YearDays] = {}
_generation = 0  # bumped by every clear, so a load that raced with a clear is not stored
_expires_at = 0.0


def package_covers_year(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` release has that year's arrangement."""
    return _PACKAGE_FIRST_YEAR <= year <= _PACKAGE_LAST_YEAR


def clear_cache() -> None:
    """Forget every cached year (called when calendar data changes, and by tests)."""
    global _generation, _expires_at
    with _lock:
        _generation += 1
        _expires_at = 0.0
        _years.clear()


def _load_year(year: int) -> _YearDays:
    # Imported here so that importing this module never needs the app registry to be ready.
    from portal.models.calendar import CalendarDay, CalendarYear

    first = date(year, 1, 1)
    count = (date(year + 1, 1, 1) - first).days
    overrides: dict[date, bool] = dict(
        CalendarDay.objects.filter(date__range=(first, date(year, 12, 31))).values_list("date", "is_working_day")
    )
    if package_covers_year(year):
        source = "package"
    elif CalendarYear.objects.filter(year=year, complete=True).exists():
        source = "weekdays"
    else:
        source = "none"

    days: list[bool | None] = []
    for offset in range(count):
        d = first + timedelta(days=offset)
        status = overrides.get(d)
        if status is None:
            if source == "package":
                status = bool(chinese_calendar.is_workday(d))
            elif source == "weekdays":
                status = d.weekday() < 5  # Monday = 0 … Friday = 4
        days.append(status)
    return _YearDays(first_ordinal=first.toordinal(), days=tuple(days))


def _year(year: int) -> _YearDays:
    global _generation, _expires_at
    now = _clock()
    cached = _years.get(year)
    if cached is not None and now < _expires_at:
        return cached
    with _lock:
        if now >= _expires_at:
            _years.clear()
            _generation += 1
            _expires_at = now + CACHE_TTL_SECONDS
        generation = _generation
    loaded = _load_year(year)  # the query runs outside the lock
    with _lock:
        if generation == _generation:
            _years[year] = loaded
    return loaded


def _require_date(d: object) -> date:
    # A datetime is a date subclass, but its .date() depends on its time zone: make the caller
    # choose the local date (timezone.localdate()) instead of silently using the UTC one.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a datetime.date, got {type(d).__name__}")
    return d


def is_working_day(d: date) -> bool:
    """Whether ``d`` is a working day; raises ``CalendarDataMissing`` if its year has no data."""
    d = _require_date(d)
    data = _year(d.year)
    status = data.days[d.toordinal() - data.first_ordinal]
    if status is None:
        raise CalendarDataMissing(d.year)
    return status


def next_working_day_on_or_after(d: date) -> date:
    """``d`` itself if it is a working day, else the first working day after it."""
    day = _require_date(d)
    for _ in range(_MAX_REST_RUN):
        if is_working_day(day):
            return day
        day += _ONE_DAY
    raise ValueError(
        gettext("自%(start)s起连续一年以上没有工作日，请检查“工作日历”中的数据") % {"start": d.isoformat()}
    )


def add_working_days(start: date, n: int) -> date:
    """Return the date of the ``n``-th working day of a period that starts on ``start``.

    Convention: ``start`` is day 1 if it is a working day — a notice posted on a working day
    counts that day, as a 公示 "自2026年9月28日起公示5个工作日" runs 9-28 … 10-09 — otherwise the
    first working day after ``start`` is day 1.  So ``add_working_days(d, 1)`` is
    ``next_working_day_on_or_after(d)``.

    This is *not* the 《民法典》第二百零一条 rule for 期间 ("开始的当日不计入，自下一日开始
    计算"); for a period governed by that rule, pass the day after the triggering event.

    Raises ``ValueError`` if ``n`` < 1 and ``CalendarDataMissing`` if the period reaches a year
    without holiday data.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    day = next_working_day_on_or_after(start)
    for _ in range(n - 1):
        day = next_working_day_on_or_after(day + _ONE_DAY)
    return day


def working_days_between(a: date, b: date) -> int:
    """Number of working days from ``a`` to ``b``, both included; 0 if ``a`` is after ``b``.

    Raises ``CalendarDataMissing`` if any day of the range lies in a year without data.
    """
    a, b = _require_date(a), _require_date(b)
    total = 0
    for year in range(a.year, b.year + 1):
        data = _year(year)
        lo = max(a, date(year, 1, 1)).toordinal() - data.first_ordinal
        hi = min(b, date(year, 12, 31)).toordinal() - data.first_ordinal
        span = data.days[lo : hi + 1]
        if None in span:
            raise CalendarDataMissing(year)
        total += sum(1 for status in span if status)
    return total


def due_date_for_fixed_day(year: int, month: int, day: int) -> date:
    """The effective due date of a deadline fixed on a calendar day (e.g. "每年3月31日前报送").

    The date itself if it is a working day, else the NEXT working day.  A filing deadline that
    falls on a rest day moves to the next working day, by analogy with 《民法典》第二百零三条
    ("期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日") and the matching
    期间 rule of 《民事诉讼法》: no one has to file on a day the offices are closed.
    Rest days include ordinary weekends, and a 调休上班 Saturday counts as a working day.
    """
    return next_working_day_on_or_after(date(year, month, day))
