"""The studio's documents: plaque certificate, assessment sheet (温州 绩效评估表), revocation 通报,
and the bureau's published ones: the printable notice and the establishment document."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from portal.policies import get_policy
from reviews import documents as review_documents
from reviews import notices
from reviews.models import NoticeEntry
from tests.documents.conftest import assert_well_formed
from tests.factories import make_application, make_org, make_person, make_round, walk
from workshops import documents
from workshops.documents import AssessmentSheet, RevocationGround, RevocationNotice
from workshops.models import Plaque, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db


def make_studio(cast: Any, *, name: str = "呼和浩特市巴特尔技能大师工作室", doc: str = "呼人社发〔2026〕8号",
                org: Any = None, leader_name: str = "巴特尔") -> Studio:
    org = org or cast.org
    return Studio.objects.create(
        city=cast.city, district=org.district, organization=org, leader=make_person(organization=org, name=leader_name),
        name=name, occupation="乳品检验员", policy_version=get_policy(cast.city.code).version,
        established_on=date(2026, 3, 16), establishment_doc=doc)


def test_it_prints_the_plaque_certificate(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    studio = make_studio(cast)
    plaque = Plaque.objects.create(studio=studio, number="HOHHOT-2026-0007", issued_on=date(2026, 4, 1),
                                   issuing_body="呼和浩特市人力资源和社会保障局")

    doc = read_pdf(documents.render_plaque_certificate(plaque), "plaque")

    assert_well_formed(doc, pages=1)
    flat = doc.flat
    for value in ("证书", f"{cast.org.name}：", "由巴特尔领办", "乳品检验员", "呼和浩特市巴特尔技能大师工作室",
                  "证书（牌匾）编号：HOHHOT-2026-0007", "设立文号：呼人社发〔2026〕8号",
                  "呼和浩特市人力资源和社会保障局", "2026年4月1日"):
        assert value in flat, value
    assert "收回" not in flat


def wenzhou_scores() -> tuple[dict[str, int], dict[str, int]]:
    table = get_policy("wenzhou").assessment.scoring
    assessed = {i.code: i.points - 1 for s in table.sections for i in s.items}  # 100 - 20 items = 80
    self_scores = {i.code: i.points for s in table.sections for i in s.items}  # 100
    return assessed, self_scores


def test_it_builds_the_wenzhou_sheet_from_the_policy() -> None:
    assessed, self_scores = wenzhou_scores()
    sheet = AssessmentSheet.from_scoring(get_policy("wenzhou"), studio_name="温州市王强数控车工技能大师工作室",
                                         organization_name="瑞立集团", leader_name="王强", period="2024—2025年度",
                                         assessed=assessed, self_scores=self_scores, bonus=12, bonus_self=15)

    assert sheet.title == "温州市技能大师工作室绩效评估表"
    assert [s.label for s in sheet.sections] == ["制度建设", "保障建设", "技术攻关", "带徒传艺", "技术研发", "技术交流"]
    assert sum(len(s.lines) for s in sheet.sections) == 20
    assert (sheet.assessed_total, sheet.self_total) == (Decimal(80), Decimal(100))
    assert sheet.bonus == Decimal(10)  # 附件注2: 加分值不超过10分
    assert sheet.final_score == Decimal(90) and sheet.grade == "优秀" and sheet.passing
    assert sheet.notes[0].endswith("90分-100分为优秀，80分-89分为良好，60分-79分为合格，60分以下为不合格")
    assert "加分值不超过10分" in sheet.notes[1]


def test_it_grades_a_failing_sheet() -> None:
    assessed = {code: 0 for code in wenzhou_scores()[0]}
    assessed["solve_problems"] = Decimal("59.5")  # an assessor's typo must not pass anyone
    sheet = AssessmentSheet.from_scoring(get_policy("wenzhou"), studio_name="某工作室", organization_name="某单位",
                                         leader_name="某", period="2025年度", assessed=assessed)
    assert sheet.final_score == Decimal("59.5") and sheet.grade == "不合格" and sheet.passing is False


def test_it_prints_the_assessment_sheet(read_pdf: Any) -> None:
    assessed, self_scores = wenzhou_scores()
    assessed["solve_problems"] = Decimal("8.5")
    sheet = AssessmentSheet.from_scoring(get_policy("wenzhou"), studio_name="温州市王强数控车工技能大师工作室",
                                         organization_name="瑞立集团有限公司", leader_name="王强",
                                         period="2024—2025年度", assessed=assessed, self_scores=self_scores,
                                         bonus=3, bonus_self=5, bonus_note="获得市级以上奖励（温州市五一劳动奖状）",
                                         assessed_on=date(2025, 12, 15))

    doc = read_pdf(documents.render_assessment_sheet(sheet), "assessment")

    assert_well_formed(doc)
    flat = doc.flat
    for value in ("温州市技能大师工作室绩效评估表", "工作室名称：温州市王强数控车工技能大师工作室",
                  "承办单位：瑞立集团有限公司", "领办人：王强", "评估周期：2024—2025年度",
                  "考核项目考核细则及分值自评分数考核分数",
                  "制度建设（20分）建立组织体系，明确岗位及成员职责（4分）43",
                  "解决本单位实际生产或技术难题（10分）108.5",
                  "合计100分10079.5", "加分项目获得市级以上奖励（温州市五一劳动奖状）53",
                  "评估总分考核分数合计＋加分82.5", "评估等级良好",
                  "注：1、技能大师工作室绩效考核满分为100分，90分-100分为优秀",
                  "考核单位：温州市人力资源和社会保障局", "2025年12月15日"):
        assert value in flat, value
    # Every one of the twenty items is on the sheet with both scores.
    table = get_policy("wenzhou").assessment.scoring
    for section in table.sections:
        for item in section.items:
            assert f"{item.label}（{item.points}分）" in flat, item.label


def test_it_prints_the_revocation_notice(read_pdf: Any) -> None:
    notice = RevocationNotice(
        issuer="温州市人力资源和社会保障局", title="关于撤销温州市李明焊工技能大师工作室称号的通报",
        document_number="温人社发〔2026〕31号", studio_name="温州市李明焊工技能大师工作室",
        organization_name="温州某机械有限公司", leader_name="李明",
        grounds=(RevocationGround("工作室领办人调离原工作单位的", "第七条(四)4"),),
        decided_on=date(2026, 9, 1), decided_by="温州市技能大师工作室工作办公室",
        consequences=("取消称号（资格）", "收回牌匾"), policy_title="温州市技能大师工作室管理暂行办法",
        addressees="各县（市、区）人力社保局，市直各单位", established_on=date(2020, 6, 1),
        establishment_doc="温人社发〔2020〕12号", facts="领办人已于2026年5月调离原工作单位", cc=("市财政局",))

    doc = read_pdf(documents.render_revocation_notice(notice), "revocation")

    assert_well_formed(doc, pages=1)
    flat = doc.flat
    for value in ("温州市人力资源和社会保障局", "温人社发〔2026〕31号",
                  "关于撤销温州市李明焊工技能大师工作室称号的通报",
                  "各县（市、区）人力社保局，市直各单位：", "2020年6月1日经温人社发〔2020〕12号设立的",
                  "依托单位：温州某机械有限公司，领办人：李明", "领办人已于2026年5月调离原工作单位",
                  "根据《温州市技能大师工作室管理暂行办法》第七条(四)4规定（工作室领办人调离原工作单位的）",
                  "经温州市技能大师工作室工作办公室研究决定：撤销“温州市李明焊工技能大师工作室”称号，取消称号（资格），收回牌匾。",
                  "特此通报。", "2026年9月1日", "抄送：市财政局。"):
        assert value in flat, value


def test_it_prints_the_public_notice_with_its_header_on_every_page(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    rnd = make_round(cast.city, quota=50)
    (app,) = walk(cast, [make_application(cast, rnd)], until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=cast.city_staff, starts_on=timezone.localdate() - timedelta(days=1))
    first = notice.entries.get()
    for i in range(2, 61):  # a long list: the table runs over pages
        other = make_application(cast, rnd, org=make_org(cast.city), complete=False)
        NoticeEntry.objects.create(notice=notice, application=other, position=i, occupation="焊工",
                                   studio_name=f"呼和浩特市第{i}号技能大师工作室", leader_name=f"领办人{i}",
                                   organization_name=f"依托单位{i}", district_name="新城区")

    doc = read_pdf(review_documents.render_notice(notice), "notice")

    assert_well_formed(doc)
    assert doc.pages >= 3
    for page in range(doc.pages):
        assert re.sub(r"\s+", "", doc.page_text(page)).count("序号工作室名称领办人依托单位职业（工种）类别") == 1, page
    flat = doc.flat
    assert notice.title.replace(" ", "") in flat
    period = f"{notice.starts_on:%Y年%-m月%-d日}至{notice.ends_on:%Y年%-m月%-d日}"
    assert f"公示期：{period}（{notice.working_days}个工作日）" in flat
    assert first.studio_name in flat and "呼和浩特市第60号技能大师工作室" in flat
    assert app.leader.id_number not in flat


def test_it_prints_the_establishment_document(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    first = make_studio(cast)
    second = make_studio(cast, name="呼和浩特市其木格技能大师工作室", org=cast.other_org, leader_name="其木格")
    make_studio(cast, name="另一批的工作室", doc="呼人社发〔2025〕3号")

    doc = read_pdf(review_documents.render_establishment(first), "establishment")

    assert_well_formed(doc, pages=1)
    flat = doc.flat
    for value in ("呼和浩特市人力资源和社会保障局", "呼人社发〔2026〕8号", "关于设立呼和浩特市技能大师工作室的通知",
                  "各旗县区人力资源和社会保障部门，各有关单位：", "《呼和浩特市技能大师工作室建设项目实施细则》",
                  "经单位申报、审核评审和公示，决定设立以下2个呼和浩特市技能大师工作室", first.name, second.name,
                  cast.org.name, cast.other_org.name, "巴特尔", "其木格", "2026年3月16日"):
        assert value in flat, value
    assert "另一批的工作室" not in flat
    assert review_documents.establishment_studios(second) == review_documents.establishment_studios(first)


def test_it_words_a_recorded_revocation_from_the_policy(cast_for: Any, read_pdf: Any) -> None:
    from workshops.models import Revocation

    cast = cast_for("pingdingshan")
    studio = make_studio(cast, name="平顶山市张师傅技能大师工作室", doc="平人社〔2024〕5号", leader_name="张师傅")
    revocation = Revocation.objects.create(
        studio=studio, ground="false_materials", is_fraud=True, decided_on=date(2026, 8, 3),
        decision_body="平顶山市人力资源和社会保障局会同市财政局、市教育局", decided_by=cast.city_staff,
        notice_text="经查，该工作室申报时提供虚假获奖证书。")

    notice = documents.revocation_notice_for(revocation)

    assert notice.grounds == (RevocationGround("提供虚假申报材料的", "第十四条(一)"),)
    assert notice.consequences == ("收回政府投入的配套设备",)
    assert notice.sanction == "所在单位和负责人（领办人）三年内不得参与省市级全民技能振兴工程项目申报和评比表彰"
    flat = read_pdf(documents.render_revocation_notice(notice), "recorded-revocation").flat
    for value in ("关于撤销平顶山市张师傅技能大师工作室称号的通报", "经查，该工作室申报时提供虚假获奖证书",
                  "根据《平顶山市技能大师工作室管理办法》第十四条(一)规定（提供虚假申报材料的）",
                  "撤销“平顶山市张师傅技能大师工作室”称号，收回政府投入的配套设备。",
                  "三年内不得参与省市级全民技能振兴工程项目申报和评比表彰", "2026年8月3日"):
        assert value in flat, value


def test_it_makes_the_sheet_of_a_recorded_wenzhou_assessment(cast_for: Any) -> None:
    from workshops.models import Assessment

    cast = cast_for("wenzhou")
    assessed, self_scores = wenzhou_scores()
    studio = make_studio(cast, name="温州市王强数控车工技能大师工作室", doc="温人社发〔2023〕9号", leader_name="王强")
    recorded = Assessment.objects.create(studio=studio, kind="biennial", period=2025, conducted_on=date(2025, 12, 15),
                                         scores=assessed, self_scores=self_scores, bonus=Decimal(4), total=Decimal(84),
                                         grade="good", passed=True, opinion="获得市级以上奖励",
                                         recorded_by=cast.city_staff)

    sheet = documents.sheet_for_assessment(recorded)

    assert sheet is not None
    assert (sheet.period, sheet.assessed_total, sheet.bonus, sheet.final_score) == (
        "2024—2025年度", Decimal(80), Decimal(4), Decimal(84))
    assert (sheet.grade, sheet.bonus_note, sheet.leader_name) == ("良好", "获得市级以上奖励", "王强")
    hohhot = cast_for("hohhot")
    other = Assessment.objects.create(studio=make_studio(hohhot), kind="biennial", period=2025, grade="pass",
                                      conducted_on=date(2025, 12, 15), passed=True, recorded_by=hohhot.city_staff)
    assert documents.sheet_for_assessment(other) is None  # 呼和浩特 scores no items
