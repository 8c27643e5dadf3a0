"""Statutory retirement age and date under the 2025 gradual reform.

Source: 《全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定》(2024-09-13, in force
2025-01-01) and its annex 《国务院关于渐进式延迟法定退休年龄的办法》, 第一条:

    从2025年1月1日起，男职工和原法定退休年龄为五十五周岁的女职工，法定退休年龄每四个月延迟一个
    月，分别逐步延迟至六十三周岁和五十八周岁；原法定退休年龄为五十周岁的女职工，法定退休年龄每
    二个月延迟一个月，逐步延迟至五十五周岁。

The annexed 对照表 (one per group) map a birth year-month to a retirement age and a retirement
year-month; the first reformed cohort is the one whose *original* retirement month was 2025-01
(men born 1965-01, 55-year women born 1970-01, 50-year women born 1975-01), each of which gets one
extra month.  This module reproduces those tables arithmetically:

* men: born 1965-01…1965-04 → 60岁1个月 (retire 2025-02…2025-05), …, born 1976-09 or later → 63岁;
* women, original age 55 (``category="cadre"``, 管理和技术岗位): born 1970-01…04 → 55岁1个月, …,
  born 1981-09 or later → 58岁;
* women, original age 50 (``category="worker"``, 生产岗位): born 1975-01…02 → 50岁1个月, …, born
  1984-11 or later → 55岁.

Date convention: the statutory retirement date is the day the person reaches the statutory age,
i.e. the day in the table's retirement month that corresponds to the birth day; if that month has
no such day (born on the 29th–31st), it is the month's last day — 《民法典》第二百零二条 "按照年、
月计算期间的，到期月的对应日为期间的最后一日；没有对应日的，为月末日".  The date therefore always
lies in the retirement month of the 对照表.  (Pension payment usually starts the following month;
that is a social-insurance matter, not the statutory age.)

Not modelled: 弹性提前/弹性延迟退休 (第二条, at the employee's request) and the earlier ages of
特殊工种 etc. ("国家另有规定的，从其规定") — those need the person's own file.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

__all__ = [
    "Category",
    "Sex",
    "full_months_until_retirement",
    "is_at_least_years_before_retirement",
    "is_retired",
    "retirement_age_months",
    "statutory_retirement_date",
    "statutory_retirement_month",
]

Sex = Literal["M", "F"]
# Women's original statutory age: 55 for 女干部 (管理和技术岗位), 50 for 女工人 (生产岗位), per
# 《国务院关于安置老弱病残干部的暂行办法》 and 《国务院关于工人退休、退职的暂行办法》
# (both 国发〔1978〕104号).
Category = Literal["worker", "cadre"]


@dataclass(frozen=True, slots=True)
class _Schedule:
    original_age_years: int
    first_birth_month: int  # months since year 0 of the first cohort that gets a delay
    step_months: int  # every this many birth months the age rises by one month
    max_delay_months: int


def _month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


_MEN: Final = _Schedule(60, _month_index(1965, 1), 4, 36)
_WOMEN_CADRE: Final = _Schedule(55, _month_index(1970, 1), 4, 36)
_WOMEN_WORKER: Final = _Schedule(50, _month_index(1975, 1), 2, 60)


def _schedule(sex: str, category: str | None) -> _Schedule:
    if sex == "M":
        return _MEN  # men have a single statutory age, whatever their post
    if sex == "F":
        if category == "cadre":
            return _WOMEN_CADRE
        if category == "worker":
            return _WOMEN_WORKER
        raise ValueError(f"women need category 'worker' or 'cadre', got {category!r}")
    raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")


def retirement_age_months(birth_date: date, sex: Sex, category: Category | None) -> int:
    """Statutory retirement age in months (e.g. 60岁1个月 → 721)."""
    plan = _schedule(sex, category)
    cohort = _month_index(birth_date.year, birth_date.month) - plan.first_birth_month
    delay = 0 if cohort < 0 else min(plan.max_delay_months, cohort // plan.step_months + 1)
    return plan.original_age_years * 12 + delay


def statutory_retirement_month(birth_date: date, sex: Sex, category: Category | None) -> tuple[int, int]:
    """(year, month) of retirement — the 对照表's "改革后退休时间" column."""
    index = _month_index(birth_date.year, birth_date.month) + retirement_age_months(birth_date, sex, category)
    return index // 12, index % 12 + 1


def _add_years_clamped(d: date, years: int) -> date:
    # 《民法典》第二百零二条: the corresponding day, or the month's last day if there is none
    # (29 February + 1 year → 28 February).
    last = calendar.monthrange(d.year + years, d.month)[1]
    return date(d.year + years, d.month, min(d.day, last))


def statutory_retirement_date(birth_date: date, sex: Sex, category: Category | None) -> date:
    """The day the statutory retirement age is reached (see the module docstring)."""
    year, month = statutory_retirement_month(birth_date, sex, category)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(birth_date.day, last))


def is_retired(birth_date: date, sex: Sex, category: Category | None, on: date) -> bool:
    """Whether the person has reached the statutory retirement age on ``on``."""
    return on >= statutory_retirement_date(birth_date, sex, category)


def is_at_least_years_before_retirement(
    birth_date: date, sex: Sex, category: Category | None, *, years: int, on: date
) -> bool:
    """Whether ``on`` is at least ``years`` full years before the statutory retirement date.

    For eligibility rules such as "距法定退休年龄不少于N年": exactly N years before counts
    ("不少于" includes N).  Years are counted to the corresponding day (《民法典》第二百零二条).
    """
    if years < 0:
        raise ValueError(f"years must not be negative, got {years}")
    return _add_years_clamped(on, years) <= statutory_retirement_date(birth_date, sex, category)


def full_months_until_retirement(birth_date: date, sex: Sex, category: Category | None, on: date) -> int:
    """Whole months from ``on`` to the statutory retirement date; 0 once retired.

    For display ("距法定退休还有3年2个月" is ``divmod(result, 12)``).
    """
    target = statutory_retirement_date(birth_date, sex, category)
    if on >= target:
        return 0
    months = (target.year - on.year) * 12 + (target.month - on.month)
    # A month is complete once the corresponding day is reached (clamped to the month's end).
    last = calendar.monthrange(target.year, target.month)[1]
    if min(on.day, last) > target.day:
        months -= 1
    return months
