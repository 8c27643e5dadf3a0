"""Recording assessments and acceptances through the assessment page (city staff)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.models import AuditEvent, SkillLevel
from tests.factories import make_studio
from tests.studios.helpers import as_user, ok_post, text, url
from workshops import actions
from workshops.models import Assessment
from workshops.states import StudioState

pytestmark = pytest.mark.django_db


def wenzhou_scores(studio, items: float, **extra: object) -> dict[str, object]:  # noqa: ANN001
    """The 20-item table filled in order up to `items` points in all; the self-scores one point higher."""
    data: dict[str, object] = {"kind": "biennial", "period": 2025, "conducted_on": "2025-12-15",
                               "opinion": "按附件逐项评估"}
    left = Decimal(str(items))
    for section in studio.policy.assessment.scoring.sections:
        for item in section.items:
            score = min(Decimal(item.points), left)
            left -= score
            data[f"score_{item.code}"] = str(score)
            data[f"self_{item.code}"] = str(min(Decimal(item.points), score + 1))
    data.update(extra)
    return data


@pytest.mark.parametrize(("items", "bonus", "total", "grade", "label"), [
    (59, 0, 59, "fail", "不合格"), (60, 0, 60, "pass", "合格"), (79, 0, 79, "pass", "合格"),
    (80, 0, 80, "good", "良好"), (89, 0, 89, "good", "良好"), (90, 0, 90, "excellent", "优秀"),
    (85, 15, 95, "excellent", "优秀"),  # 附件注2: 加分值不越过10分
    (50, 10, 60, "pass", "合格"), (59.5, 0, Decimal("59.5"), "fail", "不合格"),
])
def test_it_totals_and_grades_wenzhous_table_at_the_boundaries(  # noqa: ANN001
        cast_for, client, items, bonus, total, grade, label) -> None:
    wz = cast_for("wenzhou")
    studio = make_studio(wz, established_on=date(2024, 3, 1))
    response = ok_post(as_user(client, wz.city_staff), url("studio_assessment", studio),
                       wenzhou_scores(studio, items, bonus=bonus))
    a = Assessment.objects.get(studio=studio)
    assert (a.total, a.grade, a.passed) == (total, grade, grade != "fail")
    assert a.bonus == min(bonus, 10) and a.self_scores["org_structure"] == 4
    page = text(client.get(response["Location"]))
    shown = f"{total}"
    assert f"已录入两年一次绩效评估（2025年度）：{label}，总分 {shown}。" in page
    assert f"{label} 总分 {shown}（含加分 {min(bonus, 10)}）" in page


def test_it_shows_wenzhous_table_and_the_indicators_of_both_years(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    studio = make_studio(wz, established_on=date(2024, 3, 1))
    actions.do_add_record(studio, actor=wz.unit, kind="apprentice", date=date(2024, 5, 1), title="带徒",
                          person_name="甲", level=SkillLevel.INTERMEDIATE, agreement_on=date(2024, 4, 1))
    html = as_user(client, wz.city_staff).get(url("studio_assessment", studio)).content.decode()
    page = text(client.get(url("studio_assessment", studio), {"period": "2025"}))
    for item in ("建立组织体系，明确岗位及成员职责（4分）", "承担校企合作的技能人才教育培训工作（5分）",
                 "技术研发（10分）"):
        assert item in html, item
    assert html.count('name="score_') == 20 and html.count('name="self_') == 20
    assert 'name="passed"' not in html  # 温州's only assessment is scored
    assert "2024年度" in page and "2025年度" in page and "年均培养中级工以上青年技术技能骨干" in page


def test_it_names_the_item_that_is_missing_or_above_its_points(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    studio = make_studio(wz, established_on=date(2024, 3, 1))
    as_user(client, wz.city_staff)
    data = wenzhou_scores(studio, 70, score_annual_plan="6")
    response = client.post(url("studio_assessment", studio), data)
    page = text(response)
    assert response.status_code == 200 and "制定完善的年度计划（考核分，5分）：确保该值小于或等于5" in page
    assert 'value="按附件逐项评估"' not in response.content.decode()  # a textarea keeps it as content:
    assert "按附件逐项评估" in page
    data = wenzhou_scores(studio, 70)
    data.pop("score_patents")
    page = text(client.post(url("studio_assessment", studio), data))
    assert "请填写“发明相关技术专利，或创新相关工艺技术”的考核分。" in page
    page = text(client.post(url("studio_assessment", studio), wenzhou_scores(studio, 70, bonus="-1")))
    assert "加分：" in page
    page = text(client.post(url("studio_assessment", studio), wenzhou_scores(studio, 70, period="2099")))
    assert "考核年度：不能晚于本年度" in page
    page = text(client.post(url("studio_assessment", studio), wenzhou_scores(studio, 70, kind="annual")))
    assert "考核/验收类别：" in page  # 温州 assesses every two years (第七条(二)), not yearly
    assert not Assessment.objects.exists()


def test_it_requires_zhengzhous_joint_departments_and_a_conclusion(cast_for, client) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2024, 3, 1))
    as_user(client, zz.city_staff)
    html = client.get(url("studio_assessment", studio)).content.decode()
    assert 'value="finance"' in html and 'value="education"' in html and "第十六条" in html
    base = {"kind": "annual", "period": "2024", "conducted_on": "2024-12-16", "opinion": "未完成培养任务"}
    page = text(client.post(url("studio_assessment", studio), {**base, "passed": "0"}))
    assert "会同部门：本市办法规定考核由人社部门会同教育部门、财政部门开展（第十六条），请确认会同情况。" in page
    page = text(client.post(url("studio_assessment", studio), {**base, "joint_with": ["finance", "education"]}))
    assert "考核结论：请选择考核结论（合格/不合格）。" in page
    ok_post(client, url("studio_assessment", studio), {**base, "passed": "0", "joint_with": ["finance", "education"]})
    a = Assessment.objects.get(studio=studio)
    assert (a.kind, a.passed, a.grade, a.joint_with) == ("annual", False, "fail", ["education", "finance"])
    page = text(client.post(url("studio_assessment", studio), {**base, "passed": "1",
                                                               "joint_with": ["finance", "education"]}))
    assert "考核年度：该工作室2024年度的此项考核已有记录。" in page


def test_it_moves_pingdingshan_through_midterm_and_final_acceptance(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    as_user(client, pds.city_staff)
    html = client.get(url("studio_assessment", studio)).content.decode()
    assert 'value="midterm"' in html and 'value="final"' in html and 'value="annual"' in html
    page = text(client.post(url("studio_assessment", studio), {"kind": "biennial", "period": "2024",
                                                               "conducted_on": "2024-12-01", "passed": "1"}))
    assert "考核/验收类别：" in page  # 平顶山 第十三条: yearly, so no biennial
    ok_post(client, url("studio_assessment", studio), {"kind": "midterm", "period": "2025",
                                                      "conducted_on": "2025-03-01", "passed": "1"})
    studio.refresh_from_db()
    assert studio.state == StudioState.MIDTERM_ACCEPTED
    assert AuditEvent.objects.filter(action="studio.accept_midterm", to_state=StudioState.MIDTERM_ACCEPTED).exists()
    # A second midterm cannot move it again: the page says so instead of failing.
    response = client.post(url("studio_assessment", studio), {"kind": "midterm", "period": "2026",
                                                             "conducted_on": "2026-03-01", "passed": "1"})
    assert response.status_code == 200 and "当前状态（中期验收通过）下不能执行此操作" in text(response)


def test_it_lets_only_the_citys_staff_record_assessments(cast_for, client) -> None:  # noqa: ANN001
    pds, zz = cast_for("pingdingshan"), cast_for("zhengzhou")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    data = {"kind": "annual", "period": "2024", "conducted_on": "2024-12-15", "passed": "1"}
    for user, status in ((pds.unit, 403), (pds.observer, 403), (pds.agency, 403), (pds.decision, 403),
                         (pds.other_unit, 404), (zz.city_staff, 404)):
        as_user(client, user)
        assert client.get(url("studio_assessment", studio)).status_code == status, user.role
        assert client.post(url("studio_assessment", studio), data).status_code == status, user.role
    assert not Assessment.objects.exists()
    client.logout()
    response = client.post(url("studio_assessment", studio), data)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_closes_assessments_on_a_revoked_studio(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    actions.do_revoke_studio(studio, actor=hh.decision, ground="other", decided_on=date(2026, 6, 1), notice_text="通报")
    as_user(client, hh.city_staff)
    assert url("studio_assessment", studio) not in client.get(url("studio", studio)).content.decode()
    response = client.post(url("studio_assessment", studio), {"kind": "biennial", "period": "2025",
                                                             "conducted_on": "2025-12-15", "passed": "1"})
    assert response.status_code == 200 and "工作室已撤销，不能再办理此事项。" in text(response)
    assert not Assessment.objects.exists()
