"""The application form's steps: draft saves, errors that keep what was typed, htmx partials, access."""
from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from portal.demo import fake_id_number
from portal.models import AuditEvent, OrgKind, Person
from tests.factories import make_application, make_org, make_person, make_round
from workshops.actions import CONSENT_VERSION
from workshops.models import Application, ApplicationMember, ApplicationProject

pytestmark = pytest.mark.django_db

LEADER_ID = fake_id_number(date(1980, 4, 5), "M", 7, region="330302")
MEMBER_ID = fake_id_number(date(1990, 8, 9), "F", 8, region="330302")
BAD_ID = LEADER_ID[:-1] + ("0" if LEADER_ID[-1] != "0" else "1")


@pytest.fixture
def wz(cast_for):  # noqa: ANN001, ANN201
    return cast_for("wenzhou")


@pytest.fixture
def draft(wz):  # noqa: ANN001, ANN201
    return make_application(wz, make_round(wz.city), complete=False)


def edit(app: Application, step: str) -> str:
    return reverse("workshops:edit", args=[app.pk, step])


def person_data(**extra: str) -> dict[str, str]:
    return {"name": "陈大师", "id_number": LEADER_ID, "job_category": "worker", "skill_level": "5",
            "ich_inheritor_level": "", "honours": "全国技术能手", "mobile": "13812345678", **extra}


# --- every step -----------------------------------------------------------------------------------

@pytest.mark.parametrize("step", ["basic", "leader", "members", "site", "plan", "materials", "declarations"])
def test_it_shows_each_step_with_the_checklist(wz, draft, client, step) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.get(edit(draft, step))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-current="step"' in html and 'id="editor"' in html
    assert "尚未完成" in html and "请填写“工作室名称”" in html
    assert f'{edit(draft, "basic")}#id_studio_name' in html
    assert f'{edit(draft, "materials")}#material-application_form' in html


def test_it_has_a_projects_step_only_where_the_policy_asks_for_projects(cast_for, draft, client) -> None:  # noqa: ANN001
    wz, dg = cast_for("wenzhou"), cast_for("dongguan")
    client.force_login(wz.unit)
    assert client.get(edit(draft, "projects")).status_code == 404
    assert "立项项目" not in client.get(edit(draft, "basic")).content.decode()
    dg_app = make_application(dg, make_round(dg.city, on=date(2025, 6, 1)), complete=False)
    client.force_login(dg.unit)
    html = client.get(edit(dg_app, "projects")).content.decode()
    assert "申报时至少应有 1 个项目纳入工作室实施" in html and "第六条(三)" in html


def test_it_answers_404_for_an_unknown_step(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    assert client.get(edit(draft, "nonsense")).status_code == 404


# --- access ---------------------------------------------------------------------------------------

def test_it_sends_anonymous_users_to_login(draft, client) -> None:  # noqa: ANN001
    for response in (client.get(edit(draft, "basic")), client.post(edit(draft, "basic"), {"studio_name": "X"})):
        assert response.status_code == 302 and reverse("portal:login") in response["Location"]
    draft.refresh_from_db()
    assert draft.studio_name == ""


def test_it_hides_drafts_from_other_units_and_every_bureau(cast_for, wz, draft, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    for user in (wz.other_unit, wz.city_staff, wz.district, pds.city_staff, pds.unit):
        client.force_login(user)
        assert client.get(edit(draft, "basic")).status_code == 404
        assert client.post(edit(draft, "basic"), {"studio_name": "X"}).status_code == 404


def test_it_refuses_editing_once_submitted(wz, client) -> None:  # noqa: ANN001
    app = make_application(wz, make_round(wz.city))
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    client.force_login(wz.unit)
    assert client.get(edit(app, "basic")).status_code == 403
    assert client.post(edit(app, "basic"), {"studio_name": "改名"}).status_code == 403
    client.force_login(wz.district)  # visible to the district reviewer, but not theirs to edit
    assert client.get(edit(app, "basic")).status_code == 403
    app.refresh_from_db()
    assert app.studio_name != "改名"


def test_it_refuses_wrong_methods(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    assert client.put(edit(draft, "basic")).status_code == 405
    assert client.post(edit(draft, "materials")).status_code == 405


# --- basic ----------------------------------------------------------------------------------------

def test_it_saves_a_blank_step_as_a_draft(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "basic"), {})
    assert response.status_code == 302 and response["Location"] == edit(draft, "basic")
    assert "已保存" in client.get(edit(draft, "basic")).content.decode()


def test_it_saves_the_basic_step_and_moves_on(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "basic"), {"studio_name": "温州市陈大师数控车工技能大师工作室",
                                                  "occupation": "数控车工", "go": "next"})
    assert response["Location"] == edit(draft, "leader")
    draft.refresh_from_db()
    assert (draft.studio_name, draft.occupation) == ("温州市陈大师数控车工技能大师工作室", "数控车工")
    event = AuditEvent.objects.for_object(draft).get(action="application.edit")
    assert event.data == {"fields": ["occupation", "studio_name"]}


def test_it_answers_htmx_with_the_step_partial(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "basic"), {"studio_name": "草稿名", "occupation": ""}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="editor"') and "<html" not in html
    assert 'role="status">已保存<' in html and 'value="草稿名"' in html
    response = client.post(edit(draft, "basic"), {"studio_name": "草稿名", "go": "next"}, HTTP_HX_REQUEST="true")
    assert response["HX-Push-Url"] == edit(draft, "leader")
    assert 'aria-current="step">领办人' in response.content.decode()


def test_it_offers_the_policys_name_for_the_studio(wz, client) -> None:  # noqa: ANN001
    app = make_application(wz, make_round(wz.city), studio_name="")
    client.force_login(wz.unit)
    html = client.get(edit(app, "basic")).content.decode()
    assert "命名格式：温州市〔领办人姓名〕〔职业（工种）〕技能大师工作室" in html
    assert "温州市王师傅数控车工技能大师工作室" in html
    client.post(edit(app, "basic"), {"studio_name": "", "occupation": "钳工", "use_suggestion": "1"})
    app.refresh_from_db()
    assert app.studio_name == "温州市王师傅钳工技能大师工作室"


def test_it_offers_categories_only_where_the_policy_has_them(cast_for, draft, client) -> None:  # noqa: ANN001
    wz, zz = cast_for("wenzhou"), cast_for("zhengzhou")
    client.force_login(wz.unit)
    assert 'name="category"' not in client.get(edit(draft, "basic")).content.decode()
    zz_app = make_application(zz, make_round(zz.city), complete=False)
    client.force_login(zz.unit)
    html = client.get(edit(zz_app, "basic")).content.decode()
    assert 'name="category"' in html and "现代技术类" in html
    response = client.post(edit(zz_app, "basic"), {"studio_name": "保留我", "category": "bogus"})
    html = response.content.decode()
    assert response.status_code == 200 and "工作室类别：" in html and 'value="保留我"' in html
    zz_app.refresh_from_db()
    assert zz_app.studio_name == ""


# --- leader ---------------------------------------------------------------------------------------

def test_it_registers_the_leader_and_then_shows_the_id_number_masked(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "leader"), person_data())
    assert response.status_code == 302
    draft.refresh_from_db()
    leader = draft.leader
    assert (leader.name, leader.id_number, leader.mobile, leader.organization) == (
        "陈大师", LEADER_ID, "13812345678", wz.org)
    html = client.get(edit(draft, "leader")).content.decode()
    assert leader.masked_id_number in html and LEADER_ID not in html
    assert "138****5678" in html and "13812345678" not in html
    assert reverse("workshops:reveal", args=[draft.pk, leader.pk]) in html


def test_it_refuses_a_bad_id_check_digit_and_keeps_what_was_typed(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "leader"), person_data(id_number=BAD_ID, mobile="12345"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "身份证号：居民身份证号码校验位错误（GB 11643-1999）" in html
    assert "手机号码：手机号码应为以 1 开头的11位数字。" in html
    assert f'value="{BAD_ID}"' in html and 'value="陈大师"' in html and "全国技术能手" in html
    assert 'aria-invalid="true"' in html
    draft.refresh_from_db()
    assert draft.leader is None and not Person.objects.filter(name="陈大师").exists()


def test_it_needs_a_name_and_an_id_number_to_register_a_leader(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    html = client.post(edit(draft, "leader"), {"name": "陈大师", "job_category": "worker"}).content.decode()
    assert "请填写身份证号：人员按身份证号登记。" in html
    html = client.post(edit(draft, "leader"), {"id_number": LEADER_ID, "job_category": "worker"}).content.decode()
    assert "姓名：请填写姓名。" in html
    assert client.post(edit(draft, "leader"), {"job_category": "worker"}).status_code == 302  # nothing yet: fine


def test_it_keeps_the_leader_when_the_id_number_is_left_blank(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    client.post(edit(draft, "leader"), person_data())
    draft.refresh_from_db()
    first = draft.leader
    client.post(edit(draft, "leader"), person_data(id_number="", mobile="", name="陈大师傅", skill_level="4"))
    draft.refresh_from_db()
    assert draft.leader.pk == first.pk
    assert (draft.leader.name, draft.leader.skill_level, draft.leader.mobile) == ("陈大师傅", 4, "13812345678")


def test_it_refuses_a_malformed_skill_level_without_an_error_page(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "leader"), person_data(skill_level="abc", job_category="nope"))
    html = response.content.decode()
    assert response.status_code == 200 and "职业技能等级：" in html and "岗位类别：" in html


# --- members --------------------------------------------------------------------------------------

def test_it_adds_and_deletes_members(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "members"), person_data(name="赵徒弟", id_number=MEMBER_ID, role="assistant"))
    assert response.status_code == 302
    member = ApplicationMember.objects.get(application=draft)
    assert (member.person.name, member.role) == ("赵徒弟", "assistant")
    html = client.get(edit(draft, "members")).content.decode()
    assert "赵徒弟" in html and member.person.masked_id_number in html and MEMBER_ID not in html
    assert AuditEvent.objects.for_object(draft).filter(action="application.member_add").exists()
    delete = reverse("workshops:member_delete", args=[draft.pk, member.pk])
    assert client.get(delete).status_code == 405
    response = client.post(delete, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "已删除成员" in response.content.decode()
    assert not ApplicationMember.objects.exists()
    assert client.post(delete).status_code == 404


def test_it_refuses_a_member_twice_or_the_leader_as_member(wz, client) -> None:  # noqa: ANN001
    app = make_application(wz, make_round(wz.city))
    client.force_login(wz.unit)
    client.post(edit(app, "members"), person_data(name="赵徒弟", id_number=MEMBER_ID, role="member"))
    html = client.post(edit(app, "members"), person_data(name="赵徒弟", id_number=MEMBER_ID, role="member")
                       ).content.decode()
    assert "此人已是本工作室成员。" in html
    html = client.post(edit(app, "members"), person_data(name=app.leader.name, id_number=app.leader.id_number,
                                                         role="member")).content.decode()
    assert "此人是本工作室的领办人，不必再作为成员添加。" in html
    assert ApplicationMember.objects.filter(application=app).count() == 1


def test_it_keeps_member_input_when_invalid(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "members"), person_data(name="赵徒弟", id_number=BAD_ID, role="boss"))
    html = response.content.decode()
    assert response.status_code == 200 and "校验位错误" in html and "成员角色：" in html
    assert 'value="赵徒弟"' in html and not ApplicationMember.objects.exists()


def test_it_hides_another_applications_member(wz, draft, client) -> None:  # noqa: ANN001
    other = make_application(wz, draft.round, org=wz.other_org)
    member = ApplicationMember.objects.create(application=other, person=make_person(organization=wz.other_org))
    client.force_login(wz.unit)
    assert client.post(reverse("workshops:member_delete", args=[draft.pk, member.pk])).status_code == 404
    assert client.post(reverse("workshops:member_delete", args=[other.pk, member.pk])).status_code == 404
    assert ApplicationMember.objects.filter(pk=member.pk).exists()


# --- site -----------------------------------------------------------------------------------------

def test_it_refuses_a_negative_area_and_keeps_the_input(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "site"), {"site_address": "实训楼", "site_area": "-5",
                                                 "funding_commitment": "abc", "education_fund_share": "101"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "工作室面积（平方米）：不能为负数。" in html
    assert "单位承诺配套资金（万元）：" in html and "不能大于 100。" in html
    assert 'value="-5"' in html and 'value="实训楼"' in html
    draft.refresh_from_db()
    assert draft.site_address == "" and draft.site_area is None


def test_it_labels_the_education_share_with_the_policys_minimum(cast_for, draft, client) -> None:  # noqa: ANN001
    wz, pds, hh = cast_for("wenzhou"), cast_for("pingdingshan"), cast_for("hohhot")
    client.force_login(wz.unit)
    html = client.get(edit(draft, "site")).content.decode()
    assert "职工教育经费用于高技能人才培养的比例（%）（不低于30%）" in html and "第四条(二)" in html
    client.force_login(pds.unit)
    html = client.get(edit(make_application(pds, make_round(pds.city), complete=False), "site")).content.decode()
    assert 'name="education_fund_share"' not in html
    assert "应不少于50平方米（《平顶山市技能大师工作室管理办法》第三条）" in html
    school = make_org(hh.city, kind=OrgKind.TRAINING_INSTITUTION)  # 呼和浩特 第七条(二): not for training bodies
    hh_app = make_application(hh, make_round(hh.city), org=school, complete=False)
    hh.other_unit.organization = school
    hh.other_unit.save(update_fields=["organization"])
    client.force_login(hh.other_unit)
    assert 'name="education_fund_share"' not in client.get(edit(hh_app, "site")).content.decode()


def test_it_saves_the_site_and_shows_what_the_policy_still_requires(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    app = make_application(pds, make_round(pds.city), complete=False)
    client.force_login(pds.unit)
    client.post(edit(app, "site"), {"site_address": "车间", "site_area": "30.5", "equipment": "车床"})
    app.refresh_from_db()
    assert app.site_area == 30.5
    html = client.get(edit(app, "site")).content.decode()
    assert "工作室固定场所面积应不少于50平方米（现为30.5平方米）。" in html


# --- projects -------------------------------------------------------------------------------------

def test_it_adds_and_deletes_projects(cast_for, client) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    app = make_application(dg, make_round(dg.city, on=date(2025, 6, 1)), complete=False)
    client.force_login(dg.unit)
    url = edit(app, "projects")
    response = client.post(url, {"name": "精密模具攻关", "objective": "", "duration_months": "abc"})
    html = response.content.decode()
    assert response.status_code == 200 and "项目目标：" in html and "实施周期（月）：" in html
    assert 'value="精密模具攻关"' in html and not ApplicationProject.objects.exists()
    response = client.post(url, {"name": "精密模具攻关", "objective": "良品率提升", "duration_months": "36"})
    assert response.status_code == 302
    project = ApplicationProject.objects.get(application=app)
    assert "精密模具攻关" in client.get(url).content.decode()
    delete = reverse("workshops:project_delete", args=[app.pk, project.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302 and not ApplicationProject.objects.exists()


# --- plan -----------------------------------------------------------------------------------------

def test_it_offers_the_policys_leader_achievements(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    html = client.get(edit(draft, "plan")).content.decode()
    assert html.count('name="leader_achievements"') == 3 and "至少具备其中 1 项" in html
    client.post(edit(draft, "plan"), {"goals": "培养骨干",
                                      "leader_achievements": ["key_technology", "major_innovation"]})
    draft.refresh_from_db()
    assert draft.goals == "培养骨干" and draft.leader_achievements == ["major_innovation", "key_technology"]


def test_it_refuses_huge_text_and_unknown_achievements(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "plan"), {"necessity": "很" * 6000, "leader_achievements": ["bogus"],
                                                 "goals": "保留"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "成立的必要性和现有优势：" in html and "领办人符合的业绩条件：" in html and "保留</textarea>" in html
    draft.refresh_from_db()
    assert draft.necessity == "" and draft.goals == ""


# --- declarations and consent ---------------------------------------------------------------------

def test_it_records_declarations_and_consent(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    html = client.get(edit(draft, "declarations")).content.decode()
    assert "个人信息处理告知书" in html and f"版本 {CONSENT_VERSION}" in html
    assert "申报材料保存期限" in html and "温州市人力资源和社会保障局" in html and "第四十四条至第四十八条" in html
    codes = [c.code for c in draft.policy.eligibility.conditions]
    client.post(edit(draft, "declarations"), {"declarations": list(reversed(codes)), "consent": "on"})
    draft.refresh_from_db()
    assert draft.declarations == codes and draft.consent_version == CONSENT_VERSION and draft.consented_at
    assert AuditEvent.objects.for_object(draft).filter(action="application.consent").count() == 1
    html = client.get(edit(draft, "declarations")).content.decode()
    assert "同意本告知书（版本 2026-1）" in html and 'name="consent"' not in html
    assert "请阅读并同意《个人信息处理告知书》" not in html


def test_it_saves_declarations_without_consent(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    client.post(edit(draft, "declarations"), {"declarations": ["talent_dense"]})
    draft.refresh_from_db()
    assert draft.declarations == ["talent_dense"] and draft.consented_at is None
    html = client.get(edit(draft, "declarations")).content.decode()
    assert "请逐项确认申报条件承诺（尚有 3 项未确认）。" in html and "请阅读并同意《个人信息处理告知书》。" in html


def test_it_refuses_null_characters_without_an_error_page(wz, draft, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = client.post(edit(draft, "basic"), {"studio_name": "坏\x00名", "occupation": "钳工"})
    assert response.status_code == 200 and "工作室名称：" in response.content.decode()
    draft.refresh_from_db()
    assert draft.occupation == ""


def test_it_guards_deleting_members_and_projects(cast_for, client) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    app = make_application(dg, make_round(dg.city, on=date(2025, 6, 1)))
    member = ApplicationMember.objects.create(application=app, person=make_person(organization=dg.org))
    project = app.projects.get()
    urls = [reverse("workshops:member_delete", args=[app.pk, member.pk]),
            reverse("workshops:project_delete", args=[app.pk, project.pk])]
    for url in urls:
        assert reverse("portal:login") in client.post(url)["Location"]
    for user, status in ((dg.other_unit, 404), (dg.city_staff, 404), (cast_for("wenzhou").unit, 404)):
        client.force_login(user)
        assert [client.post(url).status_code for url in urls] == [status, status]
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    client.force_login(dg.unit)
    assert [client.post(url).status_code for url in urls] == [403, 403]
    assert ApplicationMember.objects.filter(pk=member.pk).exists() and app.projects.exists()
