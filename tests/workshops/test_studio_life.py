"""The studio's life by each city's rules: plans, ledger indicators, assessments, money, revocation."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portal.models import AuditEvent, Notification, SkillLevel
from tests.factories import make_application, make_person, make_studio
from workshops import actions, eligibility, money
from workshops.indicators import yearly_indicators
from workshops.models import Assessment, Sanction
from workshops.states import StudioState

pytestmark = pytest.mark.django_db


def test_plan_deadlines_follow_each_policy_and_late_plans_are_kept(cast_for) -> None:  # noqa: ANN001
    zz, pds = cast_for("zhengzhou"), cast_for("pingdingshan")
    zz_studio, pds_studio = make_studio(zz), make_studio(pds)
    # 郑州 第九条(六): 1月20日 (2026-01-20 is a Tuesday). 平顶山 第八条(五): 4月30日.
    assert actions.plan_due_on(zz_studio, 2026) == date(2026, 1, 20)
    from portal.calendar import CalendarDataMissing

    with pytest.raises(CalendarDataMissing):  # no 2027 holiday data yet: refuse rather than guess
        actions.plan_due_on(zz_studio, 2027)
    # 2026-04-30 is a Thursday (劳动节 starts 5-1), so it stays.
    assert actions.plan_due_on(pds_studio, 2026) == date(2026, 4, 30)
    on_time = actions.do_file_plan(zz_studio, actor=zz.unit, year=2026, content="带徒计划", on=date(2026, 1, 20))
    late = actions.do_file_plan(pds_studio, actor=pds.unit, year=2026, content="带徒计划", on=date(2026, 5, 6))
    assert not on_time.is_late and late.is_late and late.content == "带徒计划"


def test_a_filing_date_on_a_rest_day_moves_to_the_next_working_day(cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    # 2024-01-20 was a Saturday: due the next working day, Monday 22 January (民法典 第二百零三条 by analogy).
    from portal.calendar import due_date_for_fixed_day

    assert due_date_for_fixed_day(2024, 1, 20) == date(2024, 1, 22)
    assert actions.plan_due_on(make_studio(zz, established_on=date(2023, 6, 1)), 2024) == date(2024, 1, 22)


def test_the_agency_forwards_zhengzhou_plans_by_10_february(  # noqa: ANN001
        cast_for, django_capture_on_commit_callbacks) -> None:
    zz = cast_for("zhengzhou")
    studio = make_studio(zz)
    actions.do_file_plan(studio, actor=zz.unit, year=2026, content="计划", on=date(2026, 1, 10))
    with django_capture_on_commit_callbacks(execute=True):
        aggregation = actions.do_forward_plans(zz.city, actor=zz.agency, year=2026, on=date(2026, 2, 10))
    assert aggregation.plan_count == 1 and not aggregation.is_late
    assert studio.plans.get().forwarded_at is not None
    assert Notification.objects.filter(recipient=zz.city_staff, kind="plan.forwarded").exists()
    with pytest.raises(ValidationError, match="没有年度计划汇总"):
        actions.do_forward_plans(cast_for("pingdingshan").city, actor=cast_for("pingdingshan").agency, year=2026)


def add_people(studio, actor, n: int, *, level: int, new: bool = True, kind: str = "trainee") -> None:  # noqa: ANN001
    for i in range(n):
        actions.do_add_record(studio, actor=actor, kind=kind, date=date(2026, 3, 1), title="培训",
                              person_name=f"学员{i}",
                              level=level, is_new_certificate=new, agreement_on=date(2026, 1, 1))


def test_zhengzhou_indicators_against_its_category_minima(cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, category="traditional_craft")  # 第九条(一): 传统工艺类 ≥ 6 人
    add_people(studio, zz.unit, 5, level=SkillLevel.SENIOR)
    add_people(studio, zz.unit, 3, level=SkillLevel.INTERMEDIATE)  # below 高级工: not counted
    actions.do_add_record(studio, actor=zz.unit, kind="activity", date=date(2026, 5, 1), title="技艺交流会")
    actions.do_add_record(studio, actor=zz.unit, kind="activity", date=date(2026, 9, 1), title="推广活动")
    results = {r.code: r for r in yearly_indicators(studio, 2026)}
    assert results["high_skill_trained"].value == 5 and results["high_skill_trained"].minimum == 6
    assert not results["high_skill_trained"].met
    assert results["newly_certified_share"].value == Decimal("83.3") and results["newly_certified_share"].met
    assert results["exchange_activities"].met and not results["competitions"].met


def test_pingdingshan_counts_apprentices_and_their_high_skilled_part(cast_for) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds)
    add_people(studio, pds.unit, 25, level=SkillLevel.INTERMEDIATE, kind="apprentice")
    add_people(studio, pds.unit, 10, level=SkillLevel.TECHNICIAN, kind="apprentice")
    results = {r.code: r for r in yearly_indicators(studio, 2026)}
    assert results["apprentices"].value == 35 and results["apprentices"].met  # 第三条: 30 人以上
    assert results["high_skill_apprentices"].value == 10 and results["high_skill_apprentices"].met


@pytest.mark.parametrize(("items", "bonus", "total", "grade"), [
    (59, 0, 59, "fail"), (60, 0, 60, "pass"), (79, 0, 79, "pass"), (80, 0, 80, "good"),
    (89, 0, 89, "good"), (90, 0, 90, "excellent"), (85, 15, 95, "excellent"), (55, 4, 59, "fail"),
])
def test_wenzhou_table_totals_and_grades_at_the_boundaries(cast_for, items, bonus, total, grade) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    studio = make_studio(wz)
    table = studio.policy.assessment.scoring
    scores, left = {}, items
    for section in table.sections:
        for item in section.items:
            scores[item.code] = min(item.points, left)
            left -= scores[item.code]
    a = actions.do_record_assessment(studio, actor=wz.city_staff, kind="biennial", period=2027,
                                     conducted_on=date(2027, 12, 15), scores=scores, bonus=bonus)
    assert a.total == total and a.grade == grade  # 附件注: 加分值不越过10分
    assert a.passed == (grade != "fail")


def test_wenzhou_refuses_an_item_above_its_points(cast_for) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    studio = make_studio(wz)
    first = studio.policy.assessment.scoring.sections[0].items[0]
    with pytest.raises(ValidationError, match=f"0 到 {first.points}"):
        actions.do_record_assessment(studio, actor=wz.city_staff, kind="biennial", period=2027,
                                     conducted_on=date(2027, 12, 15), scores={first.code: first.points + 1})


def test_two_failed_years_raise_a_revocation_proposal_in_zhengzhou(  # noqa: ANN001
        cast_for, django_capture_on_commit_callbacks) -> None:
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2024, 1, 5))
    with pytest.raises(ValidationError, match="会同"):  # 第十六条: 会同财政、教育等有关部门
        actions.do_record_assessment(studio, actor=zz.city_staff, kind="annual", period=2024,
                                     conducted_on=date(2024, 12, 16), passed=False)
    with django_capture_on_commit_callbacks(execute=True):
        for year in (2024, 2025):
            actions.do_record_assessment(studio, actor=zz.city_staff, kind="annual", period=year,
                                         conducted_on=date(year, 12, 16), passed=False,
                                         joint_with=["education", "finance"])
    studio.refresh_from_db()
    assert studio.revocation_proposed_at is not None
    assert Notification.objects.filter(kind="studio.revocation_proposed", recipient=zz.city_staff).exists()


def test_zhengzhou_money_caps_and_yearly_work_fund(cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, category="modern_tech")
    kw = {"paid_on": date(2026, 3, 1), "basis": "郑人社文", "approver": "局长"}
    with pytest.raises(ValidationError, match="第十三条"):  # 现代技术类不高于15万元
        actions.do_record_disbursement(studio, actor=zz.city_staff, subsidy="construction_grant", amount=150001, **kw)
    actions.do_record_disbursement(studio, actor=zz.city_staff, subsidy="construction_grant", amount=150000, **kw)
    with pytest.raises(ValidationError, match="超出可拨付额度"):  # 2万/年 only after a passed annual assessment
        actions.do_record_disbursement(studio, actor=zz.city_staff, subsidy="work_fund", amount=20000, **kw)
    actions.do_record_assessment(studio, actor=zz.city_staff, kind="annual", period=2026,
                                 conducted_on=date(2026, 12, 16),
                                 passed=True, joint_with=["education", "finance"])
    actions.do_record_disbursement(studio, actor=zz.city_staff, subsidy="work_fund", amount=20000, **kw)
    rights = {e.code: e for e in money.entitlements(studio)}
    assert rights["work_fund"].remaining == 0 and rights["construction_grant"].paid == 150000


def test_pingdingshan_grant_comes_in_two_tranches(cast_for) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds)
    kw = {"paid_on": date(2026, 6, 1), "basis": "平人社文", "approver": "局长", "subsidy": "construction_grant"}
    with pytest.raises(ValidationError, match="第十条"):
        actions.do_record_disbursement(studio, actor=pds.city_staff, amount=1, **kw)
    actions.do_record_assessment(studio, actor=pds.city_staff, kind="midterm", period=2026,
                                 conducted_on=date(2026, 12, 1), passed=True)
    studio.refresh_from_db()
    assert studio.state == StudioState.MIDTERM_ACCEPTED
    actions.do_record_disbursement(studio, actor=pds.city_staff, amount=50000, **kw)
    with pytest.raises(ValidationError, match="超出"):
        actions.do_record_disbursement(studio, actor=pds.city_staff, amount=1, **kw)


def test_dongguan_rewards_by_category_and_level(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    studio = make_studio(dg, established_on=date(2024, 3, 1), category="b")
    kw = {"paid_on": date(2025, 6, 1), "basis": "东人社文", "approver": "局长"}
    actions.do_record_assessment(studio, actor=dg.city_staff, kind="final", period=2025,
                                 conducted_on=date(2025, 3, 1), passed=True)
    with pytest.raises(ValidationError, match="300000"):  # 第十一条(2): B类 30万
        actions.do_record_disbursement(studio, actor=dg.city_staff, subsidy="acceptance_reward", amount=400000, **kw)
    actions.do_record_disbursement(studio, actor=dg.city_staff, subsidy="acceptance_reward", amount=300000, **kw)
    add_people(studio, dg.unit, 2, level=SkillLevel.TECHNICIAN)  # 二级: 5000 元/人 (第十二条(二))
    with pytest.raises(ValidationError, match="第十二条"):  # output rewards only once the 3 years are over
        actions.do_record_disbursement(studio, actor=dg.city_staff, subsidy="certification_reward", amount=5000,
                                       level=SkillLevel.TECHNICIAN, **kw)
    actions.do_change_studio_state(studio, actor=dg.city_staff, method="end_support_period")
    actions.do_record_disbursement(studio, actor=dg.city_staff, subsidy="certification_reward", amount=10000,
                                   level=SkillLevel.TECHNICIAN, quantity=2, **kw)
    with pytest.raises(ValidationError, match="超出"):
        actions.do_record_disbursement(studio, actor=dg.city_staff, subsidy="certification_reward", amount=5000,
                                       level=SkillLevel.TECHNICIAN, **kw)


def test_fraud_revocation_bans_the_unit_and_leader_for_three_years(cast_for) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds)
    actions.do_issue_plaque(studio, actor=pds.city_staff, issued_on=date(2026, 2, 1))
    with pytest.raises(ValidationError, match="会同"):  # 第十五条: 会同市财政、教育部门研究确定
        actions.do_revoke_studio(studio, actor=pds.city_staff, ground="false_materials", decided_on=date(2026, 6, 1),
                                 notice_text="通报")
    actions.do_revoke_studio(studio, actor=pds.city_staff, ground="false_materials", decided_on=date(2026, 6, 1),
                             notice_text="经查，该工作室提供虚假申报材料，予以撤销。",
                             joint_with=["finance", "education"])
    studio.refresh_from_db()
    assert studio.state == StudioState.REVOKED
    assert studio.plaques.get().withdrawn_on == date(2026, 6, 1)
    bans = Sanction.objects.filter(starts_on=date(2026, 6, 1))
    assert {b.ends_on for b in bans} == {date(2029, 6, 1)} and bans.count() == 2
    # The banned unit's next application is refused (第十四条).
    app = make_application(pds)
    problems = [str(p) for p in eligibility.eligibility(app, date(2026, 11, 22))]
    assert any("不得申报" in p for p in problems)
    with pytest.raises(ValidationError, match="停发"):
        actions.do_record_disbursement(studio, actor=pds.city_staff, subsidy="construction_grant", amount=1,
                                       paid_on=date(2026, 7, 1), basis="x", approver="y")


def test_leader_change_in_hohhot_and_refused_in_wenzhou(cast_for) -> None:  # noqa: ANN001
    hh, wz = cast_for("hohhot"), cast_for("wenzhou")
    studio = make_studio(hh)
    successor = make_person(organization=hh.org, skill_level=SkillLevel.SENIOR_TECHNICIAN, name="李接班")
    change = actions.do_request_leader_change(studio, actor=hh.unit, id_number=successor.id_number,
                                              reason="原领办人退休",
                                              name="李接班")
    actions.do_decide_leader_change(change, actor=hh.city_staff, approve=True, opinion="符合条件，同意变更")
    studio.refresh_from_db()
    assert studio.leader == successor
    assert AuditEvent.objects.filter(action="leader_change.approved").exists()
    weak = make_person(organization=hh.org, skill_level=SkillLevel.INTERMEDIATE)
    with pytest.raises(ValidationError, match="高级工及以上"):
        actions.do_request_leader_change(studio, actor=hh.unit, id_number=weak.id_number, reason="调离")
    wz_studio = make_studio(wz)
    with pytest.raises(ValidationError, match="第七条"):
        actions.do_request_leader_change(wz_studio, actor=wz.unit, id_number=successor.id_number, reason="调离")


def test_final_acceptance_issues_zhengzhous_plaque_only_then(cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz)
    with pytest.raises(ValidationError, match="第十二条"):
        actions.do_issue_plaque(studio, actor=zz.city_staff, issued_on=date(2026, 3, 1))
    actions.do_record_assessment(studio, actor=zz.city_staff, kind="final", period=2026,
                                 conducted_on=date(2026, 12, 20), passed=True)
    studio.refresh_from_db()
    assert studio.state == StudioState.ACCEPTED and studio.plaques.count() == 1
    actions.do_change_studio_state(studio, actor=zz.city_staff, method="start_operation")
    studio.refresh_from_db()
    assert studio.state == StudioState.OPERATING
    assert Assessment.objects.filter(studio=studio).count() == 1


def test_upgrade_unlocks_dongguans_provincial_reward(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    studio = make_studio(dg, established_on=date(2024, 3, 1))
    kw = {"paid_on": date(2025, 6, 1), "basis": "东人社文", "approver": "局长", "subsidy": "provincial_upgrade"}
    with pytest.raises(ValidationError, match="超出"):
        actions.do_record_disbursement(studio, actor=dg.city_staff, amount=200000, **kw)
    actions.do_record_upgrade(studio, actor=dg.city_staff, level="provincial", recognized_on=date(2025, 5, 1),
                              document="粤人社函")
    actions.do_record_disbursement(studio, actor=dg.city_staff, amount=200000, **kw)


def test_a_renewed_zhengzhou_studio_earns_a_new_period_of_work_fund(cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2019, 1, 7), category="modern_tech")
    kw = {"paid_on": date(2026, 3, 1), "basis": "郑人社文", "approver": "局长", "subsidy": "work_fund"}
    for year in range(2019, 2023):
        actions.do_record_assessment(studio, actor=zz.city_staff, kind="annual", period=year,
                                     conducted_on=date(year, 12, 16), passed=True, joint_with=["education", "finance"])
    actions.do_record_disbursement(studio, actor=zz.city_staff, amount=60000, **kw)  # 3 years × 2万 (第十三条)
    with pytest.raises(ValidationError, match="超出"):
        actions.do_record_disbursement(studio, actor=zz.city_staff, amount=20000, **kw)
    actions.do_record_assessment(studio, actor=zz.city_staff, kind="final", period=2019,
                                 conducted_on=date(2019, 12, 20), passed=True)
    for method in ("end_support_period", "renew"):  # 第十六条: 期满后成绩突出的，重新享受下一轮扶持
        actions.do_change_studio_state(studio, actor=zz.city_staff, method=method)
        studio.refresh_from_db()
    actions.do_record_disbursement(studio, actor=zz.city_staff, amount=20000, **kw)
