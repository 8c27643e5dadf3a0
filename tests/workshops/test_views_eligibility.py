"""Each eligibility rule of the five policies, passing and failing, with the Chinese message the unit
sees on the submit page (eligibility.check is what the submit view shows)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from portal.models import OrgKind, SkillLevel
from tests.factories import make_application, make_org, make_person, make_round
from workshops import actions, eligibility
from workshops.models import Application, Sanction

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
DG_ROUND_ON, DG_ON = date(2025, 6, 1), date(2025, 6, 2)  # 东莞's 办法 lapsed on 2025-12-31 (第二十条)


def problems(app: Application, on: date = TODAY) -> list[str]:
    return [str(p) for p in eligibility.check(app, on)]


def city_app(cast_for: Any, code: str, **fields: Any) -> Application:
    cast = cast_for(code)
    if code == "dongguan":
        return make_application(cast, make_round(cast.city, on=DG_ROUND_ON), **fields)
    return make_application(cast, make_round(cast.city, on=TODAY), **fields)


def leader(app: Application, **extra: Any) -> Application:
    app.leader = make_person(organization=app.organization, **extra)
    app.save(update_fields=["leader"])
    return app


@pytest.mark.parametrize("code", ["pingdingshan", "zhengzhou", "wenzhou", "hohhot", "dongguan"])
def test_it_passes_a_complete_eligible_application(cast_for, code) -> None:  # noqa: ANN001
    app = city_app(cast_for, code)
    assert problems(app, DG_ON if code == "dongguan" else TODAY) == []


# --- the leader -----------------------------------------------------------------------------------

def test_it_requires_a_technician_leader_in_pingdingshan(cast_for) -> None:  # noqa: ANN001
    app = leader(city_app(cast_for, "pingdingshan"), skill_level=SkillLevel.SENIOR)
    assert problems(app) == ["领办人须具有技师及以上职业资格（技能等级）。（《平顶山市技能大师工作室管理办法》第三条）"]
    app = leader(app, skill_level=SkillLevel.TECHNICIAN)
    assert problems(app) == []


def test_it_waives_level_and_age_for_an_ich_inheritor_in_pingdingshan(cast_for) -> None:  # noqa: ANN001
    app = leader(city_app(cast_for, "pingdingshan"), skill_level=SkillLevel.SENIOR, birth=date(1955, 1, 1),
                 ich_inheritor_level="city")
    assert problems(app) == []


def test_it_refuses_a_retired_leader_in_pingdingshan(cast_for) -> None:  # noqa: ANN001
    app = leader(city_app(cast_for, "pingdingshan"), birth=date(1960, 1, 1))
    assert problems(app) == ["领办人已到法定退休年龄（2020-01-01），不符合“未到法定退休年龄”的条件。"
                             "（《平顶山市技能大师工作室管理办法》第三条）"]
    app = leader(app, birth=date(1967, 1, 1))  # 60岁7个月 → retires 2027-08-01
    assert problems(app) == []


def test_it_needs_three_years_before_retirement_in_dongguan(cast_for) -> None:  # noqa: ANN001
    app = leader(city_app(cast_for, "dongguan"), birth=date(1967, 1, 1))
    assert problems(app, DG_ON) == ["领办人申请时距法定退休年龄（2027-08-01）不足3年。"
                                    "（《东莞市技能大师工作室设立管理办法（征求意见稿）》第六条(一)）"]
    app = leader(app, birth=date(1975, 1, 1))
    assert problems(app, DG_ON) == []


def test_it_needs_one_of_the_leader_achievements(cast_for) -> None:  # noqa: ANN001
    app = city_app(cast_for, "hohhot", leader_achievements=[])
    [message] = problems(app)
    assert message.startswith("领办人应至少具备下列条件之一：高技能领军人才") and "第二条、第七条(一)" in message


def test_it_needs_the_leader_to_work_for_the_unit(cast_for) -> None:  # noqa: ANN001
    app = leader(city_app(cast_for, "wenzhou"))
    app.leader.organization = make_org(app.city)
    assert problems(app) == ["领办人应为申报单位在岗人员（与申报单位有稳定的劳动关系）。"]


# --- site and money -------------------------------------------------------------------------------

def test_it_needs_50_square_metres_in_pingdingshan(cast_for) -> None:  # noqa: ANN001
    app = city_app(cast_for, "pingdingshan", site_area=49)
    assert problems(app) == ["工作室固定场所面积应不少于50平方米（现为49平方米）。"
                             "（《平顶山市技能大师工作室管理办法》第三条）"]
    app.site_area = 50
    assert problems(app) == []


def test_it_needs_1000_square_metres_of_training_site_for_a_dongguan_association(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    association = make_org(dg.city, kind=OrgKind.ASSOCIATION)
    app = make_application(dg, make_round(dg.city, on=DG_ROUND_ON), org=association)
    association.training_site_area = 999
    association.save()
    app.refresh_from_db()
    assert problems(app, DG_ON) == ["技能实训场地面积应不少于1000平方米（现为999.0平方米）。"
                                    "（《东莞市技能大师工作室设立管理办法（征求意见稿）》第六条(二)2、3）"]
    association.training_site_area = 1000
    association.save()
    app.refresh_from_db()
    assert problems(app, DG_ON) == []


@pytest.mark.parametrize(("code", "share", "ok"), [
    ("wenzhou", 29, False), ("wenzhou", 30, True), ("hohhot", 49, False), ("hohhot", 50, True)])
def test_it_checks_the_education_fund_share(cast_for, code, share, ok) -> None:  # noqa: ANN001
    app = city_app(cast_for, code, education_fund_share=share)
    minimum = {"wenzhou": 30, "hohhot": 50}[code]
    expected = [] if ok else [f"职工教育经费用于高技能人才培养、交流等方面的费用应不低于{minimum}%。"
                              f"（《{app.policy.title}》{app.policy.eligibility.education_fund.article}）"]
    assert problems(app) == expected


# --- the unit -------------------------------------------------------------------------------------

def test_it_allows_one_studio_per_legal_entity_in_dongguan(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    rnd = make_round(dg.city, on=DG_ROUND_ON)
    first, second = make_application(dg, rnd), make_application(dg, rnd)
    assert problems(second, DG_ON) == []  # a draft is nobody's studio yet
    actions.do_submit_application(first, actor=dg.unit, on=DG_ON)
    assert problems(second, DG_ON) == ["同一法人单位原则上只设立一个技能大师工作室，本单位已有在审或已设立的工作室。"
                                       "（《东莞市技能大师工作室设立管理办法（征求意见稿）》第七条）"]


def test_it_excludes_a_dongguan_unit_on_a_dishonesty_list(cast_for) -> None:  # noqa: ANN001
    app = city_app(cast_for, "dongguan")
    app.organization.on_dishonesty_list = True
    assert problems(app, DG_ON) == ["申报单位被列入失信名单，不纳入申报范围。"
                                    "（《东莞市技能大师工作室设立管理办法（征求意见稿）》第十九条、第十八条(三)）"]


def test_it_needs_a_project_in_dongguan(cast_for) -> None:  # noqa: ANN001
    app = city_app(cast_for, "dongguan")
    app.projects.all().delete()
    assert problems(app, DG_ON) == ["申报时至少应有1个项目纳入工作室实施。"
                                    "（《东莞市技能大师工作室设立管理办法（征求意见稿）》第六条(三)）"]


def test_it_refuses_an_organization_under_an_active_sanction(cast_for) -> None:  # noqa: ANN001
    app = city_app(cast_for, "pingdingshan")
    Sanction.objects.create(organization=app.organization, reason="提供虚假申报材料", article="平顶山 第十四条",
                            starts_on=date(2024, 6, 1), ends_on=date(2027, 5, 31))
    assert problems(app) == ["申报单位因“提供虚假申报材料”在2027-05-31前不得申报。（平顶山 第十四条）"]
    app.round.closes_on = date(2027, 12, 31)  # a round still open the day after the ban ends
    app.round.save()
    assert problems(app, date(2027, 6, 1)) == []


def test_it_refuses_a_leader_under_an_active_sanction(cast_for) -> None:  # noqa: ANN001
    app = city_app(cast_for, "zhengzhou")
    Sanction.objects.create(person=app.leader, reason="弄虚作假", article="郑州 第十七条",
                            starts_on=date(2025, 1, 1), ends_on=date(2027, 12, 31))
    assert problems(app) == ["领办人因“弄虚作假”在2027-12-31前不得申报。（郑州 第十七条）"]


def test_it_shows_a_rule_with_its_article_next_to_its_step_on_the_submit_page(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    app = make_application(pds, make_round(pds.city), site_area=20)
    client.force_login(pds.unit)
    html = client.post(reverse("workshops:submit", args=[app.pk]), {"version": app.version}).content.decode()
    assert f'{reverse("workshops:edit", args=[app.pk, "site"])}#id_site_area' in html
    assert "工作室面积（平方米）</a>：工作室固定场所面积应不少于50平方米（现为20.0平方米）。" in html
    assert "依据：《平顶山市技能大师工作室管理办法》第三条" in html
