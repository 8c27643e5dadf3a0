"""Due dates come from each city's policy and the working-day calendar.

The holiday rule: a deadline fixed on a calendar day that falls on a rest day (weekend or statutory
holiday) moves to the next working day — portal.calendar.due_date_for_fixed_day, by analogy with
《民法典》第二百零三条 ("期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日").
A 调休 Sunday that is a working day is a working day.
"""
from __future__ import annotations

from datetime import date

import pytest

from portal.calendar import due_date_for_fixed_day
from portal.policies import get_policy_version
from portal.reminders import add_months, buckets, fixed_due, months_after_ranges, reach

pytestmark = pytest.mark.django_db


def policy(code: str):  # noqa: ANN201
    return get_policy_version(code, "1")


def due(code: str, raw: date | None) -> date | None:
    return due_date_for_fixed_day(raw.year, raw.month, raw.day) if raw else None


# --- annual plan filing and its aggregation ---------------------------------------------------------

def test_it_takes_zhengzhous_plan_date_from_its_policy(policies) -> None:  # noqa: ANN001
    # 郑州 第九条(六): 每年1月20日前报公共实训管理服务机构备案.
    p = policy("zhengzhou")
    assert p.plan_deadline(2026) == date(2026, 1, 20)
    assert p.annual_plan.filed_with == "郑州市高技能人才公共实训管理服务机构"
    assert due("zhengzhou", p.plan_deadline(2026)) == date(2026, 1, 20)  # a Tuesday


def test_it_takes_pingdingshans_plan_date_and_moves_it_past_labour_day(policies) -> None:  # noqa: ANN001
    # 平顶山 第八条(五): 4月30日前报市人社局. In 2022 the 30th was the first day of the 劳动节 holiday
    # (4-30 … 5-04), so the plan was due on 5-05, the first working day after it.
    p = policy("pingdingshan")
    assert p.plan_deadline(2026) == date(2026, 4, 30)
    assert p.annual_plan.filed_with == "平顶山市人力资源和社会保障局"
    assert due("pingdingshan", p.plan_deadline(2026)) == date(2026, 4, 30)
    assert due("pingdingshan", p.plan_deadline(2022)) == date(2022, 5, 5)


def test_it_moves_a_weekend_plan_date_to_monday_in_wenzhou_and_hohhot(policies) -> None:  # noqa: ANN001
    # Bureau settings (source = "bureau"): 1月31日; in 2026 that is a Saturday.
    for code in ("wenzhou", "hohhot"):
        p = policy(code)
        assert p.annual_plan.is_bureau_setting
        assert due(code, p.plan_deadline(2026)) == date(2026, 2, 2)


def test_dongguan_files_no_annual_plan(policies) -> None:  # noqa: ANN001
    # 东莞 第十四条 puts the work plan in the 6-month setup milestone instead.
    assert policy("dongguan").plan_deadline(2026) is None


def test_it_moves_the_aggregation_out_of_spring_festival_onto_a_working_sunday(policies) -> None:  # noqa: ANN001
    # 郑州 第十一条(五): 2月10日前汇总上报. 2024-02-10 was 春节; the holiday ran to 2-17 and Sunday 2-18 was a
    # 调休 working day, so that Sunday is the due date.
    p = policy("zhengzhou")
    assert p.plan_aggregation_deadline(2024) == date(2024, 2, 10)
    assert due("zhengzhou", p.plan_aggregation_deadline(2024)) == date(2024, 2, 18)
    assert policy("pingdingshan").plan_aggregation_deadline(2024) is None


# --- assessments ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "cycle"), [("zhengzhou", 1), ("pingdingshan", 1), ("wenzhou", 2), ("hohhot", 2)])
def test_it_takes_the_mid_december_assessment_and_its_cycle_from_the_policy(policies, code: str,  # noqa: ANN001
                                                                            cycle: int) -> None:
    # 12月中旬 stored as the 15th (平顶山 第十三条, 郑州 第十六条; 温州 第七条(二) and 呼和浩特 第十二条 每两年).
    p = policy(code)
    assert p.assessment_cycle_years == cycle
    assert p.assessment_date(2025) == date(2025, 12, 15)
    assert due(code, p.assessment_date(2024)) == date(2024, 12, 16)  # the 15th was a Sunday


def test_dongguan_has_no_periodic_assessment(policies) -> None:  # noqa: ANN001
    assert policy("dongguan").assessment_cycle_years is None
    assert policy("dongguan").assessment_date(2025) is None


# --- 东莞's milestones, counted from establishment ---------------------------------------------------

def test_dongguans_milestones_come_from_its_policy(policies) -> None:  # noqa: ANN001
    ms = {m.code: (m.kind, m.due_months, m.third_party) for m in policy("dongguan").acceptance.milestones}
    assert ms == {"setup": ("setup", 6, False), "progress_report": ("progress_report", 18, False),
                  "third_party_evaluation": ("evaluation", 24, True), "final": ("final", 36, False)}
    assert policy("dongguan").support_period_years == 3


def test_add_months_clamps_to_the_end_of_a_shorter_month() -> None:
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2025, 6, 15), 6) == date(2025, 12, 15)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)


def test_it_maps_establishment_dates_to_their_setup_due_date(policies) -> None:  # noqa: ANN001
    # Set up 2025-08-29/30/31 → six months later is 2026-02-28, a 调休 working Saturday: due that day.
    spans = months_after_ranges(6, date(2026, 2, 28), date(2026, 2, 28))
    assert spans == [(date(2025, 8, 28), date(2025, 8, 31), date(2026, 2, 28))]
    # 2026-01-31 is a Saturday (rest): studios set up 2025-07-31 and 08-01/02 (→ 02-01, 02-02) are due Monday 02-02.
    spans = months_after_ranges(6, date(2026, 2, 2), date(2026, 2, 2))
    assert spans == [(date(2025, 7, 31), date(2025, 8, 2), date(2026, 2, 2))]


# --- offsets ----------------------------------------------------------------------------------------

def test_it_buckets_deadlines_by_the_policys_offsets(policies) -> None:  # noqa: ANN001
    offsets = policy("zhengzhou").reminders.offsets_days
    assert offsets == (30, 7, 1)
    on = date(2026, 1, 1)
    got = [(b.label, b.first, b.last) for b in buckets(offsets, on)]
    assert got == [("30", date(2026, 1, 9), date(2026, 1, 31)), ("7", date(2026, 1, 3), date(2026, 1, 8)),
                   ("1", date(2026, 1, 2), date(2026, 1, 2)), ("overdue", date(2025, 12, 2), date(2025, 12, 31))]
    assert reach(offsets, on) == (date(2025, 12, 2), date(2026, 1, 31))


def test_fixed_due_gives_the_shifted_date_only_when_a_reminder_is_due(policies) -> None:  # noqa: ANN001
    offsets = (30, 7, 1)
    raw = date(2026, 1, 31)  # a Saturday → Monday 2026-02-02
    assert fixed_due(raw, date(2026, 1, 3), offsets) == date(2026, 2, 2)  # 30 days ahead
    assert fixed_due(raw, date(2026, 2, 1), offsets) == date(2026, 2, 2)  # the day before
    assert fixed_due(raw, date(2026, 2, 2), offsets) is None  # due today: nothing
    assert fixed_due(raw, date(2026, 2, 3), offsets) == date(2026, 2, 2)  # overdue
    assert fixed_due(raw, date(2025, 12, 1), offsets) is None  # too early
    assert fixed_due(raw, date(2026, 3, 10), offsets) is None  # past the catch-up window
    assert fixed_due(None, date(2026, 1, 3), offsets) is None
