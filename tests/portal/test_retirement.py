"""Tests for portal/retirement.py against the 渐进式延迟法定退休年龄 对照表 (2024-09-13 决定)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.retirement import (
    Category,
    Sex,
    full_months_until_retirement,
    is_at_least_years_before_retirement,
    is_retired,
    retirement_age_months,
    statutory_retirement_date,
    statutory_retirement_month,
)


def age(years: int, months: int = 0) -> int:
    return years * 12 + months


# Rows of the three annexed tables: (first birth month, last birth month, age, first retirement
# month, last retirement month).  None as the last birth month stands for "及以后".
MEN_ROWS = [
    ((1964, 12), (1964, 12), age(60), (2024, 12), (2024, 12)),  # before the reform
    ((1965, 1), (1965, 4), age(60, 1), (2025, 2), (2025, 5)),  # first row
    ((1965, 5), (1965, 8), age(60, 2), (2025, 7), (2025, 10)),
    ((1965, 9), (1965, 12), age(60, 3), (2025, 12), (2026, 3)),
    ((1970, 1), (1970, 4), age(61, 4), (2031, 5), (2031, 8)),
    ((1973, 1), (1973, 4), age(62, 1), (2035, 2), (2035, 5)),
    ((1976, 5), (1976, 8), age(62, 11), (2039, 4), (2039, 7)),  # last row before the cap
    ((1976, 9), None, age(63), (2039, 9), None),  # last row: 1976年9月及以后
]
WOMEN_55_ROWS = [
    ((1969, 12), (1969, 12), age(55), (2024, 12), (2024, 12)),
    ((1970, 1), (1970, 4), age(55, 1), (2025, 2), (2025, 5)),  # first row
    ((1970, 5), (1970, 8), age(55, 2), (2025, 7), (2025, 10)),
    ((1975, 1), (1975, 4), age(56, 4), (2031, 5), (2031, 8)),
    ((1981, 5), (1981, 8), age(57, 11), (2039, 4), (2039, 7)),
    ((1981, 9), None, age(58), (2039, 9), None),  # last row: 1981年9月及以后
]
WOMEN_50_ROWS = [
    ((1974, 12), (1974, 12), age(50), (2024, 12), (2024, 12)),
    ((1975, 1), (1975, 2), age(50, 1), (2025, 2), (2025, 3)),  # first row
    ((1975, 3), (1975, 4), age(50, 2), (2025, 5), (2025, 6)),
    ((1975, 11), (1975, 12), age(50, 6), (2026, 5), (2026, 6)),
    ((1980, 1), (1980, 2), age(52, 7), (2032, 8), (2032, 9)),
    ((1984, 9), (1984, 10), age(54, 11), (2039, 8), (2039, 9)),
    ((1984, 11), None, age(55), (2039, 11), None),  # last row: 1984年11月及以后
]

Row = tuple[tuple[int, int], tuple[int, int] | None, int, tuple[int, int], tuple[int, int] | None]


def check_rows(rows: list[Row], sex: Sex, category: Category | None) -> None:
    for first, last, expected_age, first_retire, last_retire in rows:
        born_first = date(first[0], first[1], 15)
        assert retirement_age_months(born_first, sex, category) == expected_age, first
        assert statutory_retirement_month(born_first, sex, category) == first_retire, first
        if last is None:
            # "及以后": a much later birth keeps the final age.
            later = date(first[0] + 10, first[1], 1)
            assert retirement_age_months(later, sex, category) == expected_age
            continue
        born_last = date(last[0], last[1], 1)
        assert retirement_age_months(born_last, sex, category) == expected_age, last
        assert statutory_retirement_month(born_last, sex, category) == last_retire, last


def test_it_matches_the_mens_table() -> None:
    check_rows(MEN_ROWS, "M", None)


def test_it_matches_the_table_for_women_whose_original_age_was_55() -> None:
    check_rows(WOMEN_55_ROWS, "F", "cadre")


def test_it_matches_the_table_for_women_whose_original_age_was_50() -> None:
    check_rows(WOMEN_50_ROWS, "F", "worker")


@pytest.mark.parametrize(
    ("sex", "category", "first", "step", "start_age", "final_age"),
    [
        ("M", None, (1965, 1), 4, 60, 63),
        ("F", "cadre", (1970, 1), 4, 55, 58),
        ("F", "worker", (1975, 1), 2, 50, 55),
    ],
)
def test_it_adds_one_month_per_step_until_the_final_age(
    sex: Sex,
    category: Category | None,
    first: tuple[int, int],
    step: int,
    start_age: int,
    final_age: int,
) -> None:
    # Walk every birth month from 2 years before the first cohort to 2 years after the cap.
    index = first[0] * 12 + first[1] - 1 - 24
    previous = age(start_age)
    months_at_age: dict[int, int] = {}
    while True:
        born = date(index // 12, index % 12 + 1, 1)
        current = retirement_age_months(born, sex, category)
        assert current - previous in (0, 1)
        months_at_age[current] = months_at_age.get(current, 0) + 1
        previous = current
        if current == age(final_age) and months_at_age[current] > 24:
            break
        index += 1
    assert set(months_at_age) == set(range(age(start_age), age(final_age) + 1))
    for intermediate in range(age(start_age) + 1, age(final_age)):
        assert months_at_age[intermediate] == step


def test_it_ignores_category_for_men() -> None:
    born = date(1970, 3, 10)
    assert statutory_retirement_date(born, "M", "worker") == statutory_retirement_date(born, "M", "cadre")
    assert statutory_retirement_date(born, "M", None) == date(2031, 7, 10)  # 61岁4个月


def test_it_needs_a_category_for_women_and_a_valid_sex() -> None:
    with pytest.raises(ValueError):
        statutory_retirement_date(date(1975, 1, 1), "F", None)
    with pytest.raises(ValueError):
        statutory_retirement_date(date(1975, 1, 1), "F", "farmer")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        statutory_retirement_date(date(1975, 1, 1), "X", None)  # type: ignore[arg-type]


def test_it_dates_retirement_on_the_corresponding_day() -> None:
    # 1965-01-15 + 60岁1个月 → 2025-02-15, inside the table's month 2025-02.
    assert statutory_retirement_date(date(1965, 1, 15), "M", None) == date(2025, 2, 15)
    assert statutory_retirement_date(date(1976, 9, 1), "M", None) == date(2039, 9, 1)
    assert statutory_retirement_date(date(1984, 11, 30), "F", "worker") == date(2039, 11, 30)


def test_it_uses_the_month_end_when_there_is_no_corresponding_day() -> None:
    # 《民法典》第二百零二条: 没有对应日的，为月末日.
    assert statutory_retirement_date(date(1965, 1, 31), "M", None) == date(2025, 2, 28)
    assert statutory_retirement_date(date(1975, 3, 31), "F", "worker") == date(2025, 5, 31)
    assert statutory_retirement_date(date(1976, 8, 31), "M", None) == date(2039, 7, 31)
    assert statutory_retirement_date(date(1968, 2, 29), "M", None) == date(2028, 12, 29)
    assert statutory_retirement_date(date(1964, 2, 29), "M", None) == date(2024, 2, 29)


def test_it_tells_whether_someone_has_retired() -> None:
    born = date(1965, 1, 15)  # retires 2025-02-15
    assert not is_retired(born, "M", None, on=date(2025, 2, 14))
    assert is_retired(born, "M", None, on=date(2025, 2, 15))
    # Without the reform he would have retired on 2025-01-15: he has not.
    assert not is_retired(born, "M", None, on=date(2025, 1, 15))


def test_it_checks_years_before_retirement_inclusively() -> None:
    born = date(1976, 9, 1)  # man, 63岁 → retires 2039-09-01
    assert is_at_least_years_before_retirement(born, "M", None, years=5, on=date(2034, 9, 1))
    assert not is_at_least_years_before_retirement(born, "M", None, years=5, on=date(2034, 9, 2))
    assert is_at_least_years_before_retirement(born, "M", None, years=0, on=date(2039, 9, 1))
    with pytest.raises(ValueError):
        is_at_least_years_before_retirement(born, "M", None, years=-1, on=date(2034, 9, 1))


def test_it_clamps_a_leap_day_when_counting_years() -> None:
    born = date(1984, 11, 29)  # woman worker, 55岁 → retires 2039-11-29
    on = date(2028, 2, 29)  # + 11 years → 2039-02-28
    assert is_at_least_years_before_retirement(born, "F", "worker", years=11, on=on)
    assert not is_at_least_years_before_retirement(born, "F", "worker", years=12, on=on)


def test_it_counts_whole_months_until_retirement() -> None:
    born = date(1965, 1, 15)  # retires 2025-02-15
    assert full_months_until_retirement(born, "M", None, date(2025, 1, 15)) == 1
    assert full_months_until_retirement(born, "M", None, date(2025, 1, 16)) == 0
    assert full_months_until_retirement(born, "M", None, date(2025, 2, 15)) == 0
    assert full_months_until_retirement(born, "M", None, date(2030, 1, 1)) == 0
    assert full_months_until_retirement(born, "M", None, date(2020, 2, 15)) == 60
    late = date(1965, 1, 31)  # retires 2025-02-28 (month end)
    assert full_months_until_retirement(late, "M", None, date(2025, 1, 31)) == 1
    assert full_months_until_retirement(late, "M", None, date(2024, 12, 31)) == 2
