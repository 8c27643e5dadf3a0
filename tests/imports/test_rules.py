"""Each validation rule rejects its bad row with the right message, row and column; the good row beside it
stays ready. Rules are the web forms' (validators, person form, eligibility, assessment and payment actions)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from portal.demo import fake_uscc
from portal.models import OrgKind
from tests.factories import make_org, make_person
from tests.imports.builders import check, member_row, person_id, problems, studio_row, unit_row, workbook
from workshops import imports
from workshops.models import Assessment, ImportJob

pytestmark = pytest.mark.django_db
UNITS, STUDIOS, ASSESSMENTS, PAYMENTS = (ImportJob.Kind.UNITS, ImportJob.Kind.STUDIOS, ImportJob.Kind.ASSESSMENTS,
                                         ImportJob.Kind.PAYMENTS)


def only_problem(outcome: imports.Outcome, row: int) -> tuple[str, str]:
    """The one (column, message) of `row`; every other row must be ready or already there."""
    found = [(c, m) for r, c, m in problems(outcome) if r == row]
    assert len(found) == 1, found
    others = [c for c in outcome.rows if c.row.number != row]
    assert all(c.status in (imports.NEW, imports.UPDATE, imports.SAME) for c in others), problems(outcome)
    return found[0]


# --- Units -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "column", "message"), [
    ({"uscc": "91330302000012345C"}, "统一社会信用代码", "校验位错误"),
    ({"uscc": "9133030200000"}, "统一社会信用代码", "应为18位"),
    ({"uscc": "91330302IO0000000X"}, "统一社会信用代码", "无效字符"),
    ({"district": "朝阳区"}, "所在县区/镇街", "“朝阳区”不是可选值，应为：鹿城区、"),
    ({"kind": "个体户"}, "单位类型", "“个体户”不是可选值，应为：企业、"),
    ({"name": ""}, "单位名称", "必填，不能为空"),
    ({"training_site_area": "很大"}, "技能实训场地面积（平方米）", "不是数字"),
])
def test_it_rejects_a_bad_unit_row(cast_for: Any, change: dict[str, Any], column: str, message: str) -> None:
    wz = cast_for("wenzhou")
    content = workbook(wz.city, UNITS, [unit_row(wz.city), unit_row(wz.city, **change)])
    got = only_problem(check(wz.city, UNITS, content), 3)
    assert got[0] == column and message in got[1], got


def test_it_accepts_a_district_by_its_code_and_blanks_and_full_width_in_codes(cast_for: Any) -> None:
    wz = cast_for("wenzhou")
    row = unit_row(wz.city, district="330303")
    row["uscc"] = " ".join(row["uscc"][i:i + 6] for i in (0, 6, 12)).translate(
        str.maketrans("0123456789", "０１２３４５６７８９"))
    outcome = check(wz.city, UNITS, workbook(wz.city, UNITS, [row]))
    assert not problems(outcome)
    assert outcome.rows[0].payload.district.code == "330303"


def test_it_rejects_a_unit_registered_in_another_city_and_a_duplicate_in_the_file(cast_for: Any) -> None:
    wz, zz = cast_for("wenzhou"), cast_for("zhengzhou")
    twice = unit_row(wz.city)
    content = workbook(wz.city, UNITS, [unit_row(wz.city, uscc=zz.org.uscc), twice, dict(twice)])
    outcome = check(wz.city, UNITS, content)
    assert (2, "统一社会信用代码", f"该统一社会信用代码已登记为郑州市的单位“{zz.org.name}”。") in problems(outcome)
    assert (4, "统一社会信用代码", "与第3行的统一社会信用代码重复。") in problems(outcome)
    assert [c.status for c in outcome.rows] == ["error", "new", "error"]


# --- Studios and their people ------------------------------------------------------------------------------

@pytest.fixture
def wz(cast_for: Any) -> Any:
    return cast_for("wenzhou")


def studios_check(cast: Any, studios: list[dict[str, Any]], members: list[dict[str, Any]] | None = None
                  ) -> imports.Outcome:
    return check(cast.city, STUDIOS, workbook(cast.city, STUDIOS, {"工作室": studios, "成员": members or []}))


@pytest.mark.parametrize(("change", "column", "message"), [
    ({"leader_id": "330302197204010015"}, "领办人身份证号", "校验位错误（GB 11643-1999）"),
    ({"leader_id": "330302720401001"}, "领办人身份证号", "15位的旧身份证号码"),
    ({"leader_id": 330302197204010000}, "领办人身份证号", "请以文本格式填写"),
    ({"leader_name": ""}, "领办人姓名", "请填写姓名"),
    ({"leader_mobile": "12345"}, "领办人手机号码", "手机号码应为以 1 开头的11位数字"),
    ({"leader_level": "中级工（四级）"}, "领办人职业技能等级",
     "领办人须具有技师及以上职业资格（技能等级）。（《温州市技能大师工作室管理暂行办法》第四条(一)）"),
    ({"leader_level": "大师"}, "领办人职业技能等级", "“大师”不是可选值"),
    ({"established_on": "2016年13月1日"}, "设立日期", "不是有效日期"),
    ({"established_on": date(2099, 1, 1)}, "设立日期", "不能晚于今天"),
    ({"state": "验收合格"}, "状态", "本市办法没有验收环节"),
    ({"state": "扶持期满"}, "状态", "本市办法没有扶持期"),
    ({"state": "正常"}, "状态", "“正常”不是可选值"),
    ({"category": "A类"}, "类别", "本市办法不分类别，请留空"),
    ({"state": "已撤销", "revocation_ground": "工作室领办人调离原工作单位的"}, "撤销日期",
     "已撤销的工作室请填写撤销日期"),
    ({"state": "已撤销", "revoked_on": date(2019, 1, 1)}, "撤销情形", "已撤销的工作室请填写撤销情形（第七条(四)）"),
    ({"revoked_on": date(2020, 1, 1)}, "撤销日期", "只有状态为“已撤销”的工作室"),
    ({"plaque_issued_on": date(2016, 7, 1)}, "牌匾编号", "请同时填写牌匾编号"),
    ({"support_ends_on": date(2015, 1, 1)}, "扶持期满日期", "不能早于设立日期"),
    ({"occupation": ""}, "职业（工种）", "必填"),
])
def test_it_rejects_a_bad_studio_row(wz: Any, change: dict[str, Any], column: str, message: str) -> None:
    units = [make_org(wz.city), make_org(wz.city)]
    outcome = studios_check(wz, [studio_row(wz.city, units[0].uscc), studio_row(wz.city, units[1].uscc, **change)])
    got = only_problem(outcome, 3)
    assert got[0] == column and message in got[1], got


def test_it_judges_the_leader_on_the_day_the_studio_was_established(cast_for: Any) -> None:
    """平顶山 第三条: 未到法定退休年龄 — on the establishment date, not today (eligibility.leader_eligibility)."""
    pds = cast_for("pingdingshan")
    born = date(1958, 1, 1)  # retired in 2018
    rows = [studio_row(pds.city, make_org(pds.city).uscc, leader_id=person_id(pds.city, born),
                       established_on=date(2019, 6, 1)),
            studio_row(pds.city, make_org(pds.city).uscc, leader_id=person_id(pds.city, born),
                       established_on=date(2016, 6, 1))]
    (row, column, message), = problems(studios_check(pds, rows))
    assert (row, column) == (2, "领办人职业技能等级") and "领办人已到法定退休年龄（2018-01-01）" in message


def test_it_rejects_a_revocation_ground_the_policy_does_not_have(wz: Any) -> None:
    row = studio_row(wz.city, make_org(wz.city).uscc, state="已撤销", revoked_on=date(2020, 5, 1),
                     revocation_ground="未按时报送计划")
    (_, column, message), = problems(studios_check(wz, [row]))
    assert column == "撤销情形" and "“未按时报送计划”不是可选值" in message and "领办人调离" in message


def test_it_requires_a_category_where_the_policy_has_categories(cast_for: Any) -> None:
    zz = cast_for("zhengzhou")
    rows = [studio_row(zz.city, make_org(zz.city).uscc, category="现代技术类"),
            studio_row(zz.city, make_org(zz.city).uscc), studio_row(zz.city, make_org(zz.city).uscc, category="X类")]
    outcome = studios_check(zz, rows)
    assert [c.status for c in outcome.rows] == ["new", "error", "error"]
    assert (3, "类别", "必填，不能为空。") in problems(outcome)
    assert (4, "类别", "“X类”不是可选值，应为：现代技术类、传统工艺类、文化创意类。") in problems(outcome)


def test_it_hands_the_plaque_over_only_after_acceptance_where_the_policy_says_so(cast_for: Any) -> None:
    zz = cast_for("zhengzhou")
    rows = [studio_row(zz.city, make_org(zz.city).uscc, category="现代技术类", state="验收合格", plaque_number="ZZ-1",
                       plaque_issued_on=date(2020, 1, 1)),
            studio_row(zz.city, make_org(zz.city).uscc, category="现代技术类", state="已设立（建设中）",
                       plaque_number="ZZ-2", plaque_issued_on=date(2020, 1, 1))]
    (_, column, message), = problems(studios_check(zz, rows))
    assert column == "授牌日期" and "本市办法规定验收合格后授予牌匾" in message


def test_it_refuses_a_plaque_number_used_twice(wz: Any) -> None:
    from tests.factories import make_studio
    from workshops.models import Plaque

    Plaque.objects.create(studio=make_studio(wz), number="WZ-0001", issuing_body="市人社局")
    rows = [studio_row(wz.city, make_org(wz.city).uscc, plaque_number="WZ-0001"),
            studio_row(wz.city, make_org(wz.city).uscc, plaque_number="WZ-0002"),
            studio_row(wz.city, make_org(wz.city).uscc, plaque_number="WZ-0002")]
    found = problems(studios_check(wz, rows))
    assert (2, "牌匾编号", "牌匾编号已被其他工作室使用。") in found
    assert (4, "牌匾编号", "与第3行的牌匾编号重复。") in found


def test_it_rejects_a_unit_not_imported_yet_or_of_another_city(wz: Any, cast_for: Any) -> None:
    zz = cast_for("zhengzhou")
    missing = fake_uscc(777, "330302")
    found = problems(studios_check(wz, [studio_row(wz.city, missing), studio_row(wz.city, zz.org.uscc)]))
    assert (2, "依托单位统一社会信用代码", f"依托单位未登记（{missing}）：请先导入依托单位表。") in found
    assert (3, "依托单位统一社会信用代码", "该单位登记在郑州市，不属于本市。") in found


def test_it_never_touches_a_person_registered_with_another_unit(wz: Any) -> None:
    theirs = make_person(organization=wz.other_org, name="赵师傅")
    outcome = studios_check(wz, [studio_row(wz.city, wz.org.uscc, leader_id=theirs.id_number, leader_name="赵师傅")])
    (_, column, message), = problems(outcome)
    assert column == "领办人身份证号" and "该身份证号对应的人员登记在其他单位" in message
    theirs.refresh_from_db()
    assert theirs.organization_id == wz.other_org.pk and theirs.name == "赵师傅"


def test_it_rejects_a_person_named_differently_in_two_rows_and_a_studio_twice(wz: Any) -> None:
    org = make_org(wz.city)
    first = studio_row(wz.city, org.uscc)
    member = member_row(wz.city, first)
    renamed = member_row(wz.city, first, id_number=first["leader_id"], name="另一个名字")
    twice = dict(first, name="重复的工作室")
    found = problems(studios_check(wz, [first, twice], [member, renamed]))
    assert (3, "领办人身份证号", "与第2行是同一工作室（依托单位和领办人相同）。") in found
    assert (3, "成员姓名", f"与第2行同一身份证号的姓名“{first['leader_name']}”不一致。") in found


def test_it_rejects_bad_member_rows(wz: Any) -> None:
    org = make_org(wz.city)
    good, bad = studio_row(wz.city, org.uscc), studio_row(wz.city, org.uscc, leader_level="初级工")
    member = member_row(wz.city, good)
    rows = [
        member,
        dict(member),  # the same person twice in one studio
        member_row(wz.city, good, id_number=good["leader_id"], name=good["leader_name"]),  # the leader
        member_row(wz.city, bad),  # the studio's own row has errors
        member_row(wz.city, dict(good, leader_id=person_id(wz.city))),  # no such studio
        member_row(wz.city, good, studio_name="别的工作室"),
        member_row(wz.city, good, role="徒弟"),
    ]
    found = problems(studios_check(wz, [good, bad], rows))
    assert (3, "成员身份证号", "此人已是本工作室成员（第2行）。") in found
    assert (4, "成员身份证号", "此人是本工作室的领办人，不必再作为成员添加。") in found
    assert (5, "领办人身份证号", "所属工作室（工作室表第3行）有错误，请先改正。") in found
    assert (6, "领办人身份证号", "未找到该依托单位和领办人的工作室：请先导入工作室表。") in found
    assert (7, "工作室名称", f"与系统中的工作室名称“{good['name']}”不一致。") in found
    assert any(r == 8 and c == "成员角色" and "“徒弟”不是可选值" in m for r, c, m in found)


def test_it_picks_the_policy_version_by_establishment_date(wz: Any, cast_for: Any) -> None:
    """温州's 办法 starts 2013-05-08; its first studios are older: they take that version, with a note.
    东莞's 办法 ended 2025-12-31 with no successor: a studio dated after it is refused."""
    early = studio_row(wz.city, make_org(wz.city).uscc, established_on=date(2012, 11, 20))
    outcome = studios_check(wz, [early])
    assert outcome.rows[0].status == "new" and outcome.rows[0].payload.studio.policy_version == "1"
    assert "设立日期早于本市最早的管理办法" in outcome.report()["notes"][0]
    dg = cast_for("dongguan")
    late = studio_row(dg.city, make_org(dg.city).uscc, category="A类", established_on=date(2026, 3, 1))
    (_, column, message), = problems(studios_check(dg, [late]))
    assert column == "设立日期" and "2026-03-01 本市没有施行中的管理办法" in message


def test_it_reports_a_missing_sheet_column_and_a_foreign_workbook(wz: Any) -> None:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "工作室"
    wb.active.append(["工作室名称", "职业（工种）"])
    buffer = io.BytesIO()
    wb.save(buffer)
    outcome = check(wz.city, STUDIOS, buffer.getvalue())
    assert not outcome.clean and not outcome.rows
    columns = {c for _r, c, _m in problems(outcome)}
    assert {"依托单位统一社会信用代码", "设立日期", "状态", "领办人身份证号"} <= columns
    wb.active.title = "别的表"
    buffer = io.BytesIO()
    wb.save(buffer)
    assert problems(check(wz.city, STUDIOS, buffer.getvalue())) == [(0, "", "缺少工作表“工作室”：请使用下载的模板。")]


# --- Assessments -------------------------------------------------------------------------------------------

def assessment_row(studio: Any, **over: Any) -> dict[str, Any]:
    return {"org_uscc": studio.organization.uscc, "leader_id": studio.leader.id_number, "studio_name": studio.name,
            "kind": "年度考核", "period": 2021, "conducted_on": date(2021, 12, 15), "passed": "合格", **over}


def test_it_checks_an_assessment_by_the_studios_policy(cast_for: Any) -> None:
    """郑州 第十六条: assessed by the bureau together with finance and education (actions.assessment_outcome)."""
    from tests.factories import make_studio

    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2019, 3, 1))
    rows = [assessment_row(studio, joint_with="财政部门、教育部门"), assessment_row(studio, period=2022),
            assessment_row(studio, period=2023, joint_with="财政、教育", passed=""),
            assessment_row(studio, period=2024, joint_with="财政、人大"),
            assessment_row(studio, period=2021, joint_with="财政、教育"),
            assessment_row(studio, period=2018, joint_with="财政、教育", conducted_on=date(2018, 12, 1))]
    found = problems(check(zz.city, ASSESSMENTS, workbook(zz.city, ASSESSMENTS, rows)))
    assert any(r == 3 and c == "会同部门" and m.startswith("本市办法规定考核由人社部门会同") and "（第十六条）" in m
               for r, c, m in found), found
    assert (4, "考核结论", "请选择考核结论（合格/不合格）。") in found
    assert any(r == 5 and c == "会同部门" and "“人大”不是可选的部门" in m for r, c, m in found)
    assert (6, "年度", "与第2行是同一工作室同一年度的同类考核。") in found
    assert (7, "考核日期", "考核日期应在工作室设立日期（2019-03-01）和今天之间。") in found


def test_it_scores_an_assessment_on_the_citys_table(wz: Any) -> None:
    """温州 附件: each item within its points, bonus capped at 10, grade from the total."""
    from tests.factories import make_studio

    studio = make_studio(wz, established_on=date(2015, 3, 1))
    table = studio.policy.assessment.scoring
    full = {f"score:{i.code}": i.points for s in table.sections for i in s.items}
    over = dict(full, **{"score:org_structure": 9})
    rows = [assessment_row(studio, kind="两年一次绩效评估", **full, bonus=15, passed="合格"),
            assessment_row(studio, kind="两年一次绩效评估", period=2023, **over),
            assessment_row(studio, kind="两年一次绩效评估", period=2019, **dict(full, **{"score:patents": None})),
            assessment_row(studio, kind="两年一次绩效评估", period=2017, **{k: 1 for k in full}, passed="合格")]
    outcome = check(wz.city, ASSESSMENTS, workbook(wz.city, ASSESSMENTS, rows))
    found = problems(outcome)
    assert outcome.rows[0].status == "new"
    first = outcome.rows[0].payload
    assert (first.total, first.bonus, first.grade, first.passed) == (110, 10, "excellent", True)
    item, patents = "建立组织体系，明确岗位及成员职责", "发明相关技术专利，或创新相关工艺技术"
    assert (3, f"得分：{item}", f"“{item}”的得分应在 0 到 4 之间。") in found
    assert (4, f"得分：{patents}", f"“{patents}”请填写得分。") in found
    assert (5, "考核结论", "与按得分评定的等级“不合格”不一致。") in found


def test_it_finds_the_studio_of_an_assessment_or_says_why_not(wz: Any) -> None:
    rows = [{"org_uscc": wz.org.uscc, "leader_id": person_id(wz.city), "kind": "年度考核", "period": 2021,
             "conducted_on": date(2021, 12, 1), "passed": "合格"}]
    found = problems(check(wz.city, ASSESSMENTS, workbook(wz.city, ASSESSMENTS, rows)))
    assert found == [(2, "领办人身份证号", "未找到该依托单位和领办人的工作室：请先导入工作室表。")]


# --- Payments ----------------------------------------------------------------------------------------------

def payment_row(studio: Any, **over: Any) -> dict[str, Any]:
    return {"org_uscc": studio.organization.uscc, "leader_id": studio.leader.id_number, "studio_name": studio.name,
            "subsidy": "一次性建设补助经费", "amount": 30000, "paid_on": date(2016, 9, 1),
            "basis": "温人社发〔2016〕1号", "approver": "张局长", **over}


def test_it_holds_payments_to_the_policys_caps_counting_earlier_rows_of_the_file(wz: Any) -> None:
    """温州 第六条(一): 3万 once; rows of one file count against each other (actions.checked_disbursement)."""
    from tests.factories import make_studio

    studio = make_studio(wz, established_on=date(2016, 6, 1))
    rows = [payment_row(studio, amount=20000), payment_row(studio, amount=15000, paid_on=date(2016, 10, 1)),
            payment_row(studio, amount=10000, paid_on=date(2016, 11, 1)), payment_row(studio, subsidy="奖励"),
            payment_row(studio, amount=-5), payment_row(studio, approver=""),
            payment_row(studio, paid_on=date(2015, 1, 1))]
    outcome = check(wz.city, PAYMENTS, workbook(wz.city, PAYMENTS, rows))
    found = problems(outcome)
    assert [c.status for c in outcome.rows] == ["new", "error", "new", "error", "error", "error", "error"]
    assert (3, "金额（元）", "超出可拨付额度：一次性建设补助经费按规定至今可拨付 30000 元，已拨付 20000.00 元，"
            "本次最多 10000.00 元（第六条(一)）。") in found
    assert (5, "资金项目", "本市办法没有该资金项目。") in found
    assert (6, "金额（元）", "金额应大于 0。") in found
    assert (7, "审批人", "必填，不能为空。") in found
    assert (8, "拨付日期", "拨付日期应在工作室设立日期（2016-06-01）和今天之间。") in found


def test_it_counts_passed_assessments_for_a_yearly_fund(cast_for: Any) -> None:
    """郑州 第十三条: 2万/year for each passed annual assessment, for 3 years."""
    from tests.factories import make_studio

    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2019, 3, 1))
    Assessment.objects.create(studio=studio, kind="annual", period=2020, conducted_on=date(2020, 12, 1), grade="pass",
                              passed=True, recorded_by=zz.city_staff)
    rows = [payment_row(studio, subsidy="工作经费补贴", amount=20000, paid_on=date(2021, 1, 10)),
            payment_row(studio, subsidy="工作经费补贴", amount=20000, paid_on=date(2022, 1, 10))]
    found = problems(check(zz.city, PAYMENTS, workbook(zz.city, PAYMENTS, rows)))
    assert len(found) == 1 and found[0][:2] == (3, "金额（元）") and "本次最多 0 元" in found[0][2]


def test_it_stops_payments_after_revocation_but_keeps_earlier_ones(wz: Any) -> None:
    from tests.factories import make_studio
    from workshops.models import Revocation

    studio = make_studio(wz, established_on=date(2016, 6, 1), state="revoked")
    Revocation.objects.create(studio=studio, ground="serious_misconduct", decided_on=date(2019, 1, 1),
                              decision_body="市人社局", notice_text="通报", decided_by=wz.city_staff)
    rows = [payment_row(studio, amount=10000, paid_on=date(2017, 1, 1)),
            payment_row(studio, amount=10000, paid_on=date(2019, 2, 1))]
    found = problems(check(wz.city, PAYMENTS, workbook(wz.city, PAYMENTS, rows)))
    assert found == [(3, "资金项目", "工作室已撤销，停发补贴奖励。")]


def test_it_pays_a_level_priced_reward_only_at_a_level(cast_for: Any) -> None:
    """东莞 第十二条(二): certification rewards are priced by the certified level."""
    from tests.factories import make_studio
    from workshops.models import StudioRecord

    dg = cast_for("dongguan")
    # 第十二条: rewarded only once the cultivation period is over.
    studio = make_studio(dg, established_on=date(2024, 3, 1), state="period_ended")
    StudioRecord.objects.create(studio=studio, kind="apprentice", date=date(2024, 9, 1), title="徒弟取证",
                                person_name="小李", level=4, is_new_certificate=True, created_by=dg.city_staff)
    reward = "重要岗位高技能人才培养奖励"
    rows = [payment_row(studio, subsidy=reward, amount=5000, level="技师", paid_on=date(2024, 10, 1)),
            payment_row(studio, subsidy=reward, amount=5000, level="高级技师", paid_on=date(2024, 10, 1))]
    found = problems(check(dg.city, PAYMENTS, workbook(dg.city, PAYMENTS, rows)))
    assert len(found) == 1 and found[0][0] == 3 and "本次最多 0 元" in found[0][2]


def test_it_needs_a_registered_recipient(wz: Any) -> None:
    from tests.factories import make_studio

    studio = make_studio(wz, established_on=date(2016, 6, 1))
    rows = [payment_row(studio, recipient_id=studio.leader.id_number),
            payment_row(studio, amount=1, recipient_id=person_id(wz.city))]
    found = problems(check(wz.city, PAYMENTS, workbook(wz.city, PAYMENTS, rows)))
    assert found == [(3, "领取人身份证号", "领取人未登记：请先在工作室表中登记（领办人或成员）。")]


def test_it_checks_a_file_without_a_query_per_row(wz: Any, django_assert_max_num_queries: Any) -> None:
    """Validation runs in memory: the query count does not grow with the rows (units are the pure case)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (5, 50):
        content = workbook(wz.city, UNITS, [unit_row(wz.city, kind=str(OrgKind.ENTERPRISE.label)) for _ in range(n)])
        with CaptureQueriesContext(connection) as ctx:
            outcome = check(wz.city, UNITS, content)
        assert outcome.clean
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_it_chooses_a_version_as_the_registry_does(wz: Any) -> None:
    """Context.version_on repeats registry.version_in_force in memory; the two must agree."""
    from portal.models import PolicyVersion
    from portal.policies import PolicyNotFound, version_in_force

    first = PolicyVersion.objects.get(city=wz.city, version="1")
    PolicyVersion.objects.create(city=wz.city, version="2", title="新办法", effective_from=date(2020, 1, 1),
                                 data=first.data, source_name=first.source_name, sha256=first.sha256)
    ctx = imports.Context(wz.city)
    for on in (date(2013, 5, 7), date(2013, 5, 8), date(2019, 12, 31), date(2020, 1, 1), date(2024, 6, 1)):
        try:
            expected = version_in_force(wz.city.code, on).version
        except PolicyNotFound:
            expected = "1"  # before every version: the earliest, with a note
        assert ctx.version_on(on)[0] == expected, on
    assert ctx.version_on(date(2013, 5, 7))[1].startswith("设立日期早于本市最早的管理办法")
