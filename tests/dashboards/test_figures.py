"""Dashboard figures against seeded data (tests/dashboards/conftest.py: World, 郑州, two districts)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reviews import dashboards
from tests.dashboards.conftest import World, assess, pay, record, studio_at
from workshops import money as studio_money
from workshops.models import Studio

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 22)


def city(world: World) -> dashboards.Scope:
    return dashboards.scope_for(world.cast.city_staff)


def district_a(world: World) -> dashboards.Scope:
    return dashboards.scope_for(world.cast.district)


def tallies(items: list[dashboards.Tally]) -> dict[str, int]:
    return {t.key: t.n for t in items}


def test_it_counts_studios_by_state_district_category_year_and_occupation(world: World) -> None:
    counts = dashboards.studio_counts(city(world))
    assert (counts.total, counts.standing) == (5, 4)
    assert tallies(counts.by_state) == {"operating": 2, "established": 2, "revoked": 1}
    by_district = {r.name: (r.total, r.standing, r.by_state) for r in counts.by_district}
    a, b = world.cast.org.district.name, world.cast.other_org.district.name
    assert by_district == {a: (3, 2, {"operating": 1, "established": 1, "revoked": 1}),
                           b: (2, 2, {"operating": 1, "established": 1})}
    assert tallies(counts.by_category) == {"modern_tech": 3, "traditional_craft": 1, "cultural_creative": 1}
    labels = {t.key: t.label for t in counts.by_category}
    assert labels["modern_tech"] == world.a1.policy.category("modern_tech").label
    assert tallies(counts.by_year) == {"2022": 1, "2023": 1, "2024": 1, "2025": 1, "2026": 1}
    assert tallies(counts.by_occupation) == {"数控车工": 2, "焊工": 2, "电工": 1}


def test_it_counts_only_the_district_for_a_district_reviewer(world: World) -> None:
    counts = dashboards.studio_counts(district_a(world))
    assert (counts.total, counts.standing) == (3, 2)
    assert [r.name for r in counts.by_district] == [world.cast.org.district.name]
    assert tallies(counts.by_occupation) == {"焊工": 2, "数控车工": 1}


def test_it_lists_occupations_beyond_the_top_ones_as_other(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboards, "OCCUPATION_TOP", 2)
    counts = dashboards.studio_counts(city(world))
    assert [(t.key, t.n) for t in counts.by_occupation] == [("数控车工", 2), ("焊工", 2), ("", 1)]


def test_it_sums_money_committed_due_and_paid_under_the_citys_rules(world: World) -> None:
    cash = dashboards.money(city(world), TODAY)
    lines = {line.code: line for line in cash.lines}
    # 郑州 第十三条: ≤15万 modern_tech, ≤10万 traditional/cultural, on establishment; the revoked studio's stops.
    assert lines["construction_grant"].committed == Decimal(150000 + 100000 + 150000 + 150000)
    assert lines["construction_grant"].is_cap
    # 2万/year for a passed annual assessment, three years at most: a1 2022–2024 (not 2025), b1 2024–2026.
    assert lines["work_fund"].committed == Decimal(6 * 20000)
    assert cash.committed == cash.due == Decimal(670000)
    assert cash.paid == Decimal(320000)
    assert cash.paid_revoked == Decimal(50000)
    assert lines["construction_grant"].outstanding == Decimal(550000 - 250000)
    assert lines["work_fund"].outstanding == Decimal(120000 - 20000)
    years = {y.year: (y.committed, y.paid) for y in cash.years}
    assert years[2022] == (Decimal(150000 + 20000), Decimal(150000))
    assert years[2023] == (Decimal(150000 + 20000), Decimal(120000))
    assert years[2024] == (Decimal(100000 + 40000), Decimal(0))
    assert years[2025] == (Decimal(20000), Decimal(50000))
    assert years[2026] == (Decimal(150000 + 20000), Decimal(0))


def test_it_agrees_with_the_per_studio_entitlements_in_every_city(cast_for) -> None:  # noqa: ANN001
    """The aggregate is workshops.money's `entitled`, summed: tranches (平顶山 第十条), caps by category
    (郑州), level-priced and after-the-period rewards, upgrades and acceptances (东莞), every city."""
    from workshops.models import Upgrade

    for code in ("pingdingshan", "zhengzhou", "dongguan", "wenzhou", "hohhot"):
        cast = cast_for(code)
        early = studio_at(cast, established_on=date(2024, 2, 1), state="period_ended")
        late = studio_at(cast, cast.other_org, established_on=date(2025, 6, 1))
        for kind in ("midterm", "final"):
            assess(cast, early, 2023, kind=kind)
        for year in (2022, 2023, 2024, 2025):
            assess(cast, early, year)
        assess(cast, late, 2025, kind="final", passed=False)
        Upgrade.objects.create(studio=early, level="provincial", recognized_on=date(2024, 5, 1), document="省文件",
                               recorded_by=cast.city_staff)
        record(cast, early, "textbook", date(2024, 9, 1))
        for level in (3, 3, 4, 5, None):
            record(cast, early, "apprentice", date(2025, 3, 1), level=level, new=True)
        record(cast, late, "trainee", date(2025, 9, 1), level=4, new=True)
        cash = dashboards.money(dashboards.scope_for(cast.city_staff), date.today())
        studios = Studio.objects.filter(city=cast.city).exclude(state="revoked")
        entitled: dict[str, Decimal] = {}
        for studio in studios:
            for e in studio_money.entitlements(studio):
                entitled[e.code] = entitled.get(e.code, Decimal(0)) + e.entitled
        assert {line.code: line.due for line in cash.lines} == entitled, code
        assert cash.due == sum(entitled.values(), Decimal(0)), code


def test_it_counts_a_tranche_when_its_trigger_happens(cast_for) -> None:  # noqa: ANN001
    """平顶山 第十条: 10万 committed on establishment, paid half on mid-term and half on final acceptance."""
    pds = cast_for("pingdingshan")
    studio = studio_at(pds, established_on=date(2023, 3, 1))
    assess(pds, studio, 2024, kind="midterm", conducted_on=date(2024, 3, 5))
    cash = dashboards.money(dashboards.scope_for(pds.city_staff), TODAY)
    assert (cash.committed, cash.due) == (Decimal(100000), Decimal(50000))
    assert {y.year: (y.committed, y.due) for y in cash.years} == {2023: (Decimal(100000), Decimal(0)),
                                                                 2024: (Decimal(0), Decimal(50000))}


def test_it_shows_the_rule_each_subsidy_follows(world: World) -> None:
    lines = {line.code: line for line in dashboards.money(city(world), TODAY).lines}
    assert lines["work_fund"].article == "第十三条、第十六条"
    assert "最多3年" in lines["work_fund"].rule
    assert "不高于" in lines["construction_grant"].rule and "15万元" in lines["construction_grant"].rule


def test_it_counts_a_districts_money_only(world: World) -> None:
    cash = dashboards.money(district_a(world), TODAY)
    assert cash.committed == Decimal(150000 + 100000 + 3 * 20000)
    assert cash.paid == Decimal(150000 + 20000 + 50000)


def test_it_lists_studios_due_for_assessment_and_results_by_grade(world: World) -> None:
    assessed = dashboards.assessments(city(world), 2026, TODAY)
    # 郑州 第十六条 yearly: studios set up before 2026 and standing — a1, a2, b1; b1's 2026 result is in.
    by_district = {r.district: (r.due, r.done) for r in assessed.periodic}
    assert by_district == {world.cast.org.district.name: (2, 0), world.cast.other_org.district.name: (0, 1)}
    assert (assessed.periodic_due, assessed.periodic_done) == (2, 1)
    # 郑州 第十二条: acceptance 12 months after establishment: a2 (2024-06) overdue, b2 (2026-01) within 90 days.
    (final,) = assessed.milestones
    assert (final.months, final.coming, final.overdue) == (12, 1, 1)
    results = {r.period: r.counts for r in assessed.results}
    assert results == {2022: {"pass": 1}, 2023: {"pass": 1}, 2024: {"pass": 2}, 2025: {"pass": 2, "fail": 1},
                       2026: {"pass": 1}}
    assert [g.key for g in assessed.grades] == ["pass", "fail"]
    assert assessed.passing == frozenset({"pass"})


def test_it_follows_a_two_year_cycle(cast_for) -> None:  # noqa: ANN001
    """温州 第七条(二): every two years, first in the second year after the year of establishment."""
    wz = cast_for("wenzhou")
    studio_at(wz, established_on=date(2024, 5, 1))  # 2026: due
    studio_at(wz, established_on=date(2023, 5, 1))  # 2025, 2027: not due
    studio_at(wz, established_on=date(2025, 5, 1))  # 2027: not yet
    assert dashboards.assessments(dashboards.scope_for(wz.city_staff), 2026, TODAY).periodic_due == 1
    assert dashboards.assessments(dashboards.scope_for(wz.city_staff), 2027, TODAY).periodic_due == 2


def test_it_lists_overdue_plans_by_district_with_the_unit_holding_them(world: World) -> None:
    late = dashboards.overdue(city(world), TODAY)
    plans = {g.holder: g.n for g in late.groups if "工作计划" in g.what}
    # 郑州 第九条(六): plans due 20 January; a1 filed; a2, b1 and b2 (set up 10 January) did not.
    assert plans == {f"依托单位（{world.cast.org.district.name}）": 1,
                     f"依托单位（{world.cast.other_org.district.name}）": 2}
    assert all(g.oldest == date(2026, 1, 20) for g in late.groups if "工作计划" in g.what)


def test_it_sums_the_citys_year_for_the_report(world: World) -> None:
    summary = dashboards.yearly_summary(world.cast.city, 2026, TODAY)
    assert (summary.established, summary.standing_at_end, summary.revoked) == (1, 4, 0)
    assert dashboards.yearly_summary(world.cast.city, 2025, TODAY).revoked == 1
    world.a3.revocation.delete()  # revoked with no decision on file (an import): not standing either
    assert dashboards.yearly_summary(world.cast.city, 2026, TODAY).standing_at_end == 4
    assert {t.key: t.n for t in summary.trained} == {"apprentice": 1, "trainee": 2}
    assert [(t.label, t.n) for t in summary.certified] == [("技师（二级）", 1), ("高级工（三级）", 1)]
    assert {t.key: t.n for t in summary.activities} == {"activity": 1, "competition": 0, "achievement": 0,
                                                        "textbook": 0}
    assert summary.money_year.committed == Decimal(150000 + 20000)
    assert {t.key: t.n for t in summary.grades} == {"pass": 1, "fail": 0}


def test_it_names_payments_under_codes_the_rules_do_not_have(world: World) -> None:
    pay(world.cast, world.b1, "old_code", 1000, date(2024, 1, 1))
    lines = {line.code: line for line in dashboards.money(city(world), TODAY).lines}
    assert lines["old_code"].paid == Decimal(1000)
    assert lines["old_code"].rule == "办法中没有此资金项目"
