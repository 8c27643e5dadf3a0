"""The unit's application documents: each city's form, 呼和浩特's 附件1/2/3, 东莞's 项目立项书."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.core.files.storage import default_storage

from portal.masking import mask_id_number, mask_phone
from tests.documents.conftest import assert_well_formed
from tests.factories import make_application, make_person, make_round, walk
from workshops import documents
from workshops.models import Application, ApplicationMember
from workshops.states import AppState

pytestmark = pytest.mark.django_db

# Every box of 附件2's table, in the seed's words (line breaks inside a label are dropped).
HOHHOT_LABELS = [
    "申报单位名称", "单位性质", "负责人", "办公电话", "联系人", "手机", "E-mail", "传真", "开户银行", "账号",
    "通信地址", "邮政编码", "技能大师姓名", "性别", "民族", "出生年月", "参加工作时间", "政治面貌", "身份证号",
    "工作单位及职务", "从事职业（工种）", "职业技能等级", "联系电话", "工作室地点", "工作室面积", "工作室人员",
    "技能大师工作业绩、获奖情况、主要创新发明等情况（可另附页）", "工作室基本设施（可另附页）", "申报单位意见",
    "专家组评审意见", "专家组组长（签字）：", "审批意见", "（签字盖章）", "（盖章）",
]


def filled(cast: Any, rnd: Any = None, **fields: Any) -> Application:
    org = cast.org
    org.legal_representative, org.contact_name, org.contact_phone = "赵德胜", "钱小红", "13812345678"
    org.address = "金山开发区金山大街1号"
    org.save()
    app = make_application(cast, rnd, leader_name=fields.pop("leader_name", "孙师傅"), **fields)
    leader = app.leader
    leader.mobile = "13998765432"
    leader.save()
    for name in ("周成员", "吴助手"):
        ApplicationMember.objects.create(application=app, person=make_person(organization=org, name=name),
                                         role="assistant" if name == "吴助手" else "member")
    return Application.objects.get(pk=app.pk)


def test_it_lays_out_hohhot_attachment_2_as_the_seed_does(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    (app,) = walk(cast, [filled(cast)], until=AppState.READY_FOR_NOTICE)
    app = Application.objects.get(pk=app.pk)

    doc = read_pdf(documents.render_application_form(app), "hohhot-form")

    assert_well_formed(doc, pages=4)
    cover = doc.page_text(0).replace(" ", "")
    for text in ("附件2", "呼和浩特市技能大师工作室", "建设项目申报表", "申报单位", "（公章）", "工作室职业（工种）",
                 "领办人姓名", "领办人职业技能等级", "填报时间", "呼和浩特市人力资源和社会保障局", "制",
                 cast.org.name, "数控车工", "孙师傅", "高级技师（一级）"):
        assert text in cover, text
    assert "页" not in cover  # no page number on the cover
    rules = doc.page_text(1).replace(" ", "")
    assert "填写要求" in rules and "仿宋" in rules and "小四号" in rules and "固定值16磅" in rules
    assert "一式三份" in rules  # 第八条 prevails over 附件2's 四份 (docs/policies.md)
    table = re.sub(r"\s+", "", doc.page_text(2) + doc.page_text(3))
    for label in HOHHOT_LABELS:
        assert label in table, label
    for value in ("赵德胜", "钱小红", "金山开发区金山大街1号", "厂区实训楼三层", "200平方米", "数控车床6台",
                  "全国技术能手", "共2人", "周成员（工作室成员）", "吴助手（青年技术技能骨干（助手））",
                  "专家评审得分", "同意", "1978年3月"):
        assert value in table, value
    assert "第3页共4页" in table


def test_it_masks_numbers_except_on_the_units_own_copy(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    app = filled(cast)
    full_id, mobile = app.leader.id_number, app.leader.mobile

    masked = read_pdf(documents.render_application_form(app), "masked").flat
    assert mask_id_number(full_id) in masked and full_id not in masked
    assert mask_phone(mobile) in masked and mobile not in masked
    assert mask_phone("13812345678") in masked and "13812345678" not in masked

    full = read_pdf(documents.render_application_form(app, reveal=True), "full").flat
    assert full_id in full and mobile in full and "13812345678" in full
    # The copy with full numbers is kept encrypted, like the numbers in the database.
    raw = [default_storage.open(f"documents/{d}/{f}").read() for d in default_storage.listdir("documents")[0]
           for f in default_storage.listdir(f"documents/{d}")[1]]
    assert len(raw) == 2
    assert sum(r.startswith(b"%PDF") for r in raw) == 1 and all(full_id.encode() not in r for r in raw)


@pytest.mark.parametrize(("city", "title", "stages"), [
    ("zhengzhou", "郑州市技能大师工作室申报表", ["汇总报送意见", "专家评审意见", "研究决定意见"]),
    ("pingdingshan", "平顶山市技能大师工作室申报表", ["形式审查意见", "专家评审意见", "研究决定意见"]),
    ("wenzhou", "温州市技能大师工作室申办表", ["形式审查意见", "专家评审意见", "研究决定意见"]),
    ("dongguan", "东莞市技能大师工作室申报书", ["形式审查意见", "专家评审意见", "征求意见", "研究决定意见"]),
])
def test_it_titles_each_citys_form_from_its_policy(cast_for: Any, read_pdf: Any, city: str, title: str,
                                                    stages: list[str]) -> None:
    cast = cast_for(city)
    # 东莞's document is in force until 2025-12-31 (第二十条).
    rnd = make_round(cast.city, on=date(2025, 6, 2)) if city == "dongguan" else None
    app = filled(cast, rnd)

    doc = read_pdf(documents.render_application_form(app), city)

    assert_well_formed(doc)
    cover = doc.page_text(0).replace(" ", "")
    head, _, tail = title.partition("工作室")
    assert head + "工作室" in cover and tail in cover
    assert ("附件1" in cover) == (city == "dongguan")
    flat = doc.flat
    for value in (cast.org.name, app.studio_name, "孙师傅", "数控车工", "高级技师（一级）", cast.org.uscc,
                  "产业急需", "三年培养高技能人才", "以师带徒", "配套资金和场地", "周成员", "吴助手",
                  f"{app.policy.bureau_name}制"):
        assert value in flat, value
    for label in stages:
        assert label in flat, label
    assert "公示意见" not in flat  # a notice is not an opinion box
    assert "意见意见" not in flat
    assert "填写要求" not in flat  # 呼和浩特's page only


def test_it_fills_the_truthfulness_pledge(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    app = filled(cast)

    doc = read_pdf(documents.render_pledge(app), "pledge")

    assert_well_formed(doc, pages=1)
    flat = doc.flat
    assert flat.startswith("附件1申报材料真实性承诺书")
    assert ("我单位承诺，此次申报呼和浩特市技能大师工作室建设项目，所提供的申报材料及所附资料和资质均真实、合法。"
            "如有不实，我单位愿承担法律责任和相应后果。") in flat
    assert f"单位（公章）：{cast.org.name}" in flat and "法人代表（签字）：" in flat and "年月日" in flat


def test_it_fills_the_eight_items_of_the_application_book(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    app = filled(cast)

    doc = read_pdf(documents.render_application_book(app), "book")

    assert_well_formed(doc)
    flat = doc.flat
    headings = ["一、申办工作室名称、职业（工种）", "二、技能大师工作室成立的必要性和现有优势",
                "三、技能大师和工作室成员简介", "四、技能大师工作室基本条件和计划目标",
                "五、技能大师工作室所依托的企业部门或职业培训机构实训基地有关情况",
                "六、加快高技能人才队伍建设的政策措施", "七、企业职工教育经费用于高技能人才培养、交流等方面的费用情况",
                "八、能够为技能大师工作室提供资金支持以及场所、设备等工作条件的情况"]
    positions = [flat.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "附件3" in flat and "呼和浩特市技能大师工作室建设项目申报书" in flat
    for value in (app.studio_name, "呼和浩特市领办人姓名技能大师工作室", "产业急需", "周成员", "吴助手",
                  "三年培养高技能人才", "配套资金和场地", "费用占比60%", "配套资金20万元", cast.org.name):
        assert value in flat, value


def test_it_fills_dongguans_project_proposal(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("dongguan")
    app = filled(cast, make_round(cast.city, on=date(2025, 6, 2)))
    app.projects.create(name="新能源汽车电池包焊接工艺攻关", objective="焊接一次合格率达到99.5%",
                        content="组建攻关小组，开展工艺试验", duration_months=24)

    doc = read_pdf(documents.render_project_proposal(app), "project")

    assert_well_formed(doc)
    flat = doc.flat
    assert "附件2" in flat and "东莞市技能大师工作室项目立项书" in flat and "2项" in flat
    for value in ("高精度零件加工工艺攻关", "良品率提升", "36个月", "新能源汽车电池包焊接工艺攻关",
                  "焊接一次合格率达到99.5%", "组建攻关小组，开展工艺试验", "24个月", "项目1", "项目2"):
        assert value in flat, value


@pytest.mark.parametrize(("city", "slugs"), [
    ("hohhot", ["form", "pledge", "book"]), ("dongguan", ["form", "project"]), ("zhengzhou", ["form"]),
    ("wenzhou", ["form"]), ("pingdingshan", ["form"]),
])
def test_it_offers_each_city_the_documents_its_policy_lists(cast_for: Any, city: str, slugs: list[str]) -> None:
    cast = cast_for(city)
    rnd = make_round(cast.city, on=date(2025, 6, 2)) if city == "dongguan" else None
    app = make_application(cast, rnd, complete=False)

    assert [doc.slug for doc, _ in documents.documents_for(app)] == slugs


def test_it_survives_hostile_input(cast_for: Any, read_pdf: Any) -> None:
    cast = cast_for("hohhot")
    script = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    long_text = "".join(f"第{i}段：带徒传技、技术攻关、技艺传承。" * 6 + "\n" for i in range(60)) + "最后一句话。"
    app = filled(cast, leader_name="吉𠮷", occupation="Ｗ" * 60, equipment=script + "设备",
                 leader_achievements_text=long_text, site_address="土𡈽村" + "A" * 150)
    cast.org.name = "呼和浩特" + "超长单位名称" * 30
    cast.org.save()
    app = Application.objects.get(pk=app.pk)

    data = documents.render_application_form(app)
    doc = read_pdf(data, "hostile")

    assert_well_formed(doc)
    assert doc.pages > 4  # the long box breaks over pages instead of being cut
    flat = doc.flat
    assert "吉𠮷" in flat and "土𡈽村" in flat
    assert "最后一句话。" in flat and "第59段" in flat
    assert "<script>alert('x')</script><imgsrc=xonerror=alert(1)>设备" in flat  # printed as text
    assert b"/JavaScript" not in data and b"/JS " not in data and b"/URI" not in data
    # A box may continue on the next page, after that page's footer: count the run, not its place.
    assert sum(len(run) for run in re.findall(r"A{2,}", flat)) == 150
    assert "Ｗ" * 60 in flat
    assert "超长单位名称" * 30 in flat
    # Long runs wrap inside their boxes: no line of text is wider than the page allows.
    longest = max((len(line) for line in doc.text.splitlines()), default=0)
    assert longest <= 90, longest


def test_it_shows_a_character_no_font_has_as_a_visible_box(cast_for: Any, read_pdf: Any,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    cast = cast_for("hohhot")
    app = filled(cast, equipment="缺字\U00030000测试")  # 𰀀 (CJK Ext. G) is in no font Debian ships

    doc = read_pdf(documents.render_application_form(app), "missing-glyph")

    assert_well_formed(doc, pages=4)
    assert any(".notdef glyph rendered" in r.getMessage() for r in caplog.records)
    assert "d880dc00" in doc.to_unicode()  # still copies and searches as 𰀀

