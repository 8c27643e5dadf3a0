"""The studio page and the actions on it: happy path, wrong method, anonymous, other scope, invalid input."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from portal.models import AuditEvent, SkillLevel
from tests.factories import make_person, make_studio
from tests.studios.helpers import as_user, ok_post, prefixed, text, url
from workshops import actions
from workshops.models import AnnualPlan, Disbursement, LeaderChange, Plaque, StudioRecord, Upgrade
from workshops.states import StudioState

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# --- workshops:studio ---------------------------------------------------------------------------------

def test_it_shows_the_unit_its_studio_with_the_leader_masked(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    response = as_user(client, hh.unit).get(url("studio", studio))
    page = text(response)
    assert response.status_code == 200
    assert studio.leader.masked_id_number in page and studio.leader.id_number not in response.content.decode()
    assert "年均培养青年技术技能骨干" in page and "第十三条(一)" in page  # indicators against the minima
    assert url("studio_record", studio) in response.content.decode()  # the unit keeps the ledger
    assert url("studio_plan", studio) in response.content.decode()
    for name in ("studio_plaque", "studio_disbursement", "studio_upgrade", "studio_assessment", "studio_revoke"):
        assert url(name, studio) not in response.content.decode(), name


def test_it_shows_each_bureau_role_only_the_forms_it_may_use(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    html = as_user(client, hh.city_staff).get(url("studio", studio)).content.decode()
    for name in ("studio_plaque", "studio_disbursement", "studio_upgrade", "studio_assessment", "studio_revoke"):
        assert url(name, studio) in html, name
    # 呼和浩特 第十条: operation starts after acceptance, so there is no state change to offer yet.
    assert url("studio_state", studio) not in html
    assert url("studio_record", studio) not in html and url("studio_plan", studio) not in html
    html = as_user(client, hh.decision).get(url("studio", studio)).content.decode()
    assert url("studio_revoke", studio) in html  # 呼和浩特 第十二条: 局长办公会研究后予以取消
    assert url("studio_disbursement", studio) not in html
    for user in (hh.observer, hh.agency, hh.district):
        response = as_user(client, user).get(url("studio", studio))
        html = response.content.decode()
        assert response.status_code == 200 and "年均培养青年技术技能骨干" in html
        assert "<form method=\"post\"" not in html.split("</header>")[1], user.role


def test_the_studio_pages_query_count_does_not_grow_with_the_ledger(  # noqa: ANN001
        cast_for, client, django_assert_num_queries) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wz = cast_for("wenzhou")
    studio = make_studio(wz, established_on=date(2024, 3, 1))
    year = timezone.localdate().year
    as_user(client, wz.unit)
    client.get(url("studio", studio))  # warm the session, the policy and the calendar caches
    with CaptureQueriesContext(connection) as first:
        client.get(url("studio", studio))
    for i in range(30):
        actions.do_add_record(studio, actor=wz.unit, kind="apprentice", date=date(year, 1, 2), title=f"带徒{i}",
                              person_name=f"徒弟{i}", level=SkillLevel.SENIOR, agreement_on=date(year, 1, 1))
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(url("studio", studio))
    assert text(response).count("带徒") >= 30


def test_it_hides_the_studio_outside_the_users_scope(cast_for, client) -> None:  # noqa: ANN001
    hh, zz = cast_for("hohhot"), cast_for("zhengzhou")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    for user in (hh.other_unit, hh.other_district, hh.expert, zz.city_staff):
        assert as_user(client, user).get(url("studio", studio)).status_code == 404, user.role


def test_it_sends_anonymous_users_to_login_and_refuses_wrong_methods(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    for method, target in (("get", url("studio", studio)), ("post", url("studio_plan", studio)),
                           ("post", url("studio_record", studio)), ("get", url("studio_assessment", studio)),
                           ("post", url("studio_disbursement", studio)), ("get", url("studio_revoke", studio))):
        response = getattr(client, method)(target)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], target
    as_user(client, hh.unit)
    assert client.post(url("studio", studio)).status_code == 405
    for name in ("studio_plan", "studio_record", "studio_leader_change"):
        assert client.get(url(name, studio)).status_code == 405, name
    as_user(client, hh.city_staff)
    for name in ("studio_plaque", "studio_disbursement", "studio_upgrade", "studio_state"):
        assert client.get(url(name, studio)).status_code == 405, name
    assert client.put(url("studio_assessment", studio)).status_code == 405


# --- the unit: plan ----------------------------------------------------------------------------------------

def test_it_files_the_plan_and_marks_it_late_by_the_policys_date(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    year = timezone.localdate().year
    response = ok_post(as_user(client, pds.unit), url("studio_plan", studio),
                       prefixed("plan", year=year, content="带徒30人，攻关两项"))
    plan = AnnualPlan.objects.get(studio=studio, year=year)
    due = actions.plan_due_on(studio, year)  # 平顶山 第八条(五): 4月30日前
    assert plan.due_on == due and plan.is_late == (timezone.localdate() > due)
    assert AuditEvent.objects.filter(action="plan.file", actor_id=pds.unit.pk).exists()
    page = text(client.get(response["Location"]))
    assert "工作计划已报送" in page and "带徒30人，攻关两项" in page
    assert ("逾期报送" in page) == plan.is_late


def test_it_keeps_what_was_typed_when_the_plan_is_refused(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    as_user(client, pds.unit)
    response = client.post(url("studio_plan", studio), prefixed("plan", year=1999, content="我的计划草稿"))
    page = text(response)
    assert response.status_code == 200 and "计划年度：只能报送" in page and "我的计划草稿" in page
    response = client.post(url("studio_plan", studio), prefixed("plan", year=timezone.localdate().year, content=""))
    assert "带徒传技和技术攻关计划：请填写年度带徒传技和技术攻关计划。" in text(response)
    response = client.post(url("studio_plan", studio), prefixed("plan", year="明年", content="x"))
    assert response.status_code == 200 and "计划年度" in text(response)
    assert not AnnualPlan.objects.exists()


def test_it_refuses_a_plan_where_the_policy_asks_for_none(cast_for, client) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    studio = make_studio(dg, established_on=date(2024, 3, 1))
    as_user(client, dg.unit)
    assert url("studio_plan", studio) not in client.get(url("studio", studio)).content.decode()
    response = client.post(url("studio_plan", studio), prefixed("plan", year=timezone.localdate().year, content="x"))
    assert response.status_code == 200 and "本市办法不要求报送年度工作计划（第十四条）" in text(response)
    assert not AnnualPlan.objects.exists()


def test_it_lets_only_the_studios_own_unit_file_a_plan(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    data = prefixed("plan", year=timezone.localdate().year, content="计划")
    assert as_user(client, pds.other_unit).post(url("studio_plan", studio), data).status_code == 404
    assert as_user(client, pds.city_staff).post(url("studio_plan", studio), data).status_code == 403
    assert not AnnualPlan.objects.exists()


# --- the unit: ledger ----------------------------------------------------------------------------------------

def record_data(**values: object) -> dict[str, object]:
    base = {"kind": "apprentice", "date": "2025-03-01", "title": "数控车削师带徒", "person_name": "学员甲",
            "level": SkillLevel.SENIOR, "certificate_no": "Z2025-001", "is_new_certificate": "on",
            "agreement_on": "2025-02-20", "detail": ""}
    base.update(values)
    return prefixed("record", **base)


def test_it_adds_a_ledger_record_and_counts_it_in_the_indicators(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    response = ok_post(as_user(client, hh.unit), url("studio_record", studio), record_data())
    assert response["Location"].endswith("?year=2025#ledger")
    record = StudioRecord.objects.get(studio=studio)
    assert (record.kind, record.level, record.is_new_certificate, record.agreement_on) == (
        "apprentice", SkillLevel.SENIOR, True, date(2025, 2, 20))
    page = text(client.get(response["Location"]))
    assert "2025年度台账" in page and "学员甲" in page and "当年新取证" in page


def test_it_answers_htmx_with_the_ledger_alone(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    as_user(client, hh.unit)
    response = client.post(url("studio_record", studio), record_data(), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="ledger-body"' in html
    assert "已登记：数控车削师带徒（2025-03-01）" in html and "学员甲" in html
    response = client.post(url("studio_record", studio), record_data(agreement_on="", title="第二位徒弟"), **HTMX)
    html = response.content.decode()
    assert "以师带徒协议签订日期" in html and "以师带徒须填写师带徒协议签订日期" in html
    assert 'value="第二位徒弟"' in html
    assert StudioRecord.objects.count() == 1


def test_it_refuses_invalid_ledger_records_naming_the_field(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    as_user(client, hh.unit)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    cases = [
        (record_data(agreement_on=""), "以师带徒协议签订日期：以师带徒须填写师带徒协议签订日期。"),
        (record_data(kind="trainee", person_name=""), "人员姓名：请填写学员姓名。"),
        (record_data(date=tomorrow), "日期：不能晚于今天"),
        (record_data(kind="seminar"), "台账类别："),
        (record_data(level="9"), "取得的职业技能等级："),
        (record_data(title=""), "名称/事项："),
    ]
    for data, error in cases:
        response = client.post(url("studio_record", studio), data)
        assert response.status_code == 200 and error in text(response), error
    assert 'value="学员甲"' in response.content.decode()
    assert not StudioRecord.objects.exists()


def test_it_closes_the_ledger_of_other_units_and_of_a_revoked_studio(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    assert as_user(client, hh.other_unit).post(url("studio_record", studio), record_data()).status_code == 404
    assert as_user(client, hh.city_staff).post(url("studio_record", studio), record_data()).status_code == 403
    actions.do_revoke_studio(studio, actor=hh.decision, ground="other", decided_on=date(2026, 6, 1),
                             notice_text="撤销通报")
    assert as_user(client, hh.unit).post(url("studio_record", studio), record_data()).status_code == 403
    assert url("studio_record", studio) not in client.get(url("studio", studio)).content.decode()
    assert not StudioRecord.objects.exists()


# --- city staff: plaque, money, upgrade, state ------------------------------------------------------------

def test_it_records_the_plaque_where_it_is_due_and_refuses_it_before_zhengzhous_acceptance(  # noqa: ANN001
        cast_for, client) -> None:
    pds, zz = cast_for("pingdingshan"), cast_for("zhengzhou")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    ok_post(as_user(client, pds.city_staff), url("studio_plaque", studio), prefixed("plaque", issued_on="2024-03-20"))
    plaque = Plaque.objects.get(studio=studio)
    assert plaque.issued_on == date(2024, 3, 20) and plaque.issuing_body == "平顶山市人力资源和社会保障局"
    zz_studio = make_studio(zz, established_on=date(2024, 3, 1))
    response = as_user(client, zz.city_staff).post(url("studio_plaque", zz_studio),
                                                   prefixed("plaque", issued_on="2024-03-20"))
    assert response.status_code == 200 and "本市办法规定验收合格后授予牌匾（第十二条）" in text(response)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(url("studio_plaque", zz_studio), prefixed("plaque", issued_on=tomorrow))
    assert "授牌日期：不能晚于今天" in text(response)
    assert not Plaque.objects.filter(studio=zz_studio).exists()


def test_it_lets_only_the_citys_staff_record_a_plaque(cast_for, client) -> None:  # noqa: ANN001
    pds, zz = cast_for("pingdingshan"), cast_for("zhengzhou")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    data = prefixed("plaque", issued_on="2024-03-20")
    for user, status in ((pds.unit, 403), (pds.observer, 403), (pds.decision, 403), (zz.city_staff, 404)):
        assert as_user(client, user).post(url("studio_plaque", studio), data).status_code == status, user.role
    assert not Plaque.objects.exists()


MONEY = {"paid_on": "2024-06-01", "basis": "郑人社文〔2024〕1号", "approver": "王局长", "quantity": 1}


def test_it_refuses_money_above_the_cap_citing_the_article(cast_for, client) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2024, 3, 1), category="modern_tech")
    as_user(client, zz.city_staff)
    response = client.post(url("studio_disbursement", studio),
                           prefixed("money", subsidy="construction_grant", amount="150000.01", **MONEY))
    page = text(response)
    assert response.status_code == 200
    assert "金额（元）：超出可拨付额度：一次性建设奖补资金按规定至今可拨付 150000 元" in page and "第十三条" in page
    assert 'value="郑人社文〔2024〕1号"' in response.content.decode()  # typed input kept
    ok_post(client, url("studio_disbursement", studio),
            prefixed("money", subsidy="construction_grant", amount="150000", **MONEY))
    row = Disbursement.objects.get(studio=studio)
    assert (row.amount, row.basis, row.approver, row.recorded_by) == (150000, MONEY["basis"], "王局长", zz.city_staff)
    # 第十三条: the work fund follows a passed annual assessment; none yet.
    response = client.post(url("studio_disbursement", studio),
                           prefixed("money", subsidy="work_fund", amount="20000", **MONEY))
    assert "超出可拨付额度：工作经费补贴按规定至今可拨付 0 元" in text(response)


def test_it_refuses_unusable_money_input(cast_for, client) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2024, 3, 1))
    as_user(client, zz.city_staff)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    cases = [
        ({"subsidy": "construction_grant", "amount": "十万"}, "金额（元）："),
        ({"subsidy": "construction_grant", "amount": "-5"}, "金额（元）："),
        ({"subsidy": "construction_grant", "amount": "1e400"}, "金额（元）："),
        ({"subsidy": "moon_fund", "amount": "1"}, "资金项目："),
        ({"subsidy": "construction_grant", "amount": "1", "paid_on": tomorrow}, "拨付日期：不能晚于今天"),
        ({"subsidy": "construction_grant", "amount": "1", "basis": ""}, "拨付依据："),
    ]
    for values, error in cases:
        response = client.post(url("studio_disbursement", studio), prefixed("money", **{**MONEY, **values}))
        assert response.status_code == 200 and error in text(response), error
    assert not Disbursement.objects.exists()
    assert as_user(client, zz.unit).post(url("studio_disbursement", studio),
                                         prefixed("money", subsidy="construction_grant", amount="1", **MONEY)
                                         ).status_code == 403


def test_it_pays_level_priced_rewards_by_the_level_chosen(cast_for, client) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    studio = make_studio(dg, established_on=date(2024, 3, 1), category="b")
    for i in range(2):
        actions.do_add_record(studio, actor=dg.unit, kind="trainee", date=date(2025, 3, 1), title="认定",
                              person_name=f"学员{i}", level=SkillLevel.TECHNICIAN, is_new_certificate=True)
    actions.do_record_assessment(studio, actor=dg.city_staff, kind="final", period=2025,
                                 conducted_on=date(2025, 12, 1), passed=True)
    actions.do_change_studio_state(studio, actor=dg.city_staff, method="end_support_period")
    as_user(client, dg.city_staff)
    html = client.get(url("studio", studio)).content.decode()
    assert f'value="certification_reward@{SkillLevel.TECHNICIAN}"' in html and "技师（二级）" in html
    data = prefixed("money", subsidy=f"certification_reward@{SkillLevel.TECHNICIAN}", amount="10000",
                    **{**MONEY, "quantity": 2})
    ok_post(client, url("studio_disbursement", studio), data)
    assert Disbursement.objects.get().level == SkillLevel.TECHNICIAN
    response = client.post(url("studio_disbursement", studio), data)
    assert "第十二条(二)" in text(response) and Disbursement.objects.count() == 1  # 二级 5000 元/人 × 2 paid


def test_it_records_an_upgrade_once(cast_for, client) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    studio = make_studio(dg, established_on=date(2024, 3, 1))
    data = prefixed("upgrade", level="provincial", recognized_on="2025-05-01", document="粤人社函〔2025〕9号")
    ok_post(as_user(client, dg.city_staff), url("studio_upgrade", studio), data)
    assert Upgrade.objects.get(studio=studio).document == "粤人社函〔2025〕9号"
    response = client.post(url("studio_upgrade", studio), data)
    assert "认定级别：该工作室已有此级别的认定记录。" in text(response)
    response = client.post(url("studio_upgrade", studio), prefixed("upgrade", level="global", recognized_on="x"))
    assert "认定级别：" in text(response) and "认定日期：" in text(response)
    assert as_user(client, dg.unit).post(url("studio_upgrade", studio), data).status_code == 403


def test_it_changes_state_only_along_the_policys_steps(cast_for, client) -> None:  # noqa: ANN001
    wz, zz = cast_for("wenzhou"), cast_for("zhengzhou")
    studio = make_studio(wz, established_on=date(2024, 3, 1))
    as_user(client, wz.city_staff)
    # 温州 has no acceptance, so the studio operates at once; it has no support period to end.
    response = client.post(url("studio_state", studio), prefixed("state", method="end_support_period"))
    assert "状态变更：当前状态（已设立（建设中））下不能进行此变更" in text(response)
    ok_post(client, url("studio_state", studio), prefixed("state", method="start_operation", reason="运行"))
    studio.refresh_from_db()
    assert studio.state == StudioState.OPERATING
    assert AuditEvent.objects.filter(action="studio.start_operation", to_state=StudioState.OPERATING).exists()
    # 郑州 operates only after acceptance (第十二条).
    zz_studio = make_studio(zz, established_on=date(2024, 3, 1))
    as_user(client, zz.city_staff)
    assert url("studio_state", zz_studio) not in client.get(url("studio", zz_studio)).content.decode()
    response = client.post(url("studio_state", zz_studio), prefixed("state", method="start_operation"))
    assert response.status_code == 200 and "状态变更：" in text(response)
    zz_studio.refresh_from_db()
    assert zz_studio.state == StudioState.ESTABLISHED


# --- leader change ---------------------------------------------------------------------------------------

def leader_data(person: object = None, **values: object) -> dict[str, object]:
    base = {"reason": "原领办人退休", "name": getattr(person, "name", "李接班"),
            "id_number": getattr(person, "id_number", ""), "job_category": "worker",
            "skill_level": SkillLevel.SENIOR_TECHNICIAN, "ich_inheritor_level": "", "honours": "", "mobile": ""}
    base.update(values)
    return prefixed("leader", **base)


def test_it_changes_hohhots_leader_on_request_and_approval(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    successor = make_person(organization=hh.org, skill_level=SkillLevel.SENIOR_TECHNICIAN, name="李接班")
    ok_post(as_user(client, hh.unit), url("studio_leader_change", studio), leader_data(successor))
    change = LeaderChange.objects.get(studio=studio)
    assert change.state == LeaderChange.State.REQUESTED and change.new_leader == successor
    decide = url("studio_leader_decide", studio, change_id=change.pk)
    assert client.post(decide, prefixed(f"decide-{change.pk}", decision="approve")).status_code == 403
    as_user(client, hh.city_staff)
    response = client.post(decide, prefixed(f"decide-{change.pk}", decision="reject", opinion=""))
    assert "审核意见：不予核准时请填写理由。" in text(response)
    ok_post(client, decide, prefixed(f"decide-{change.pk}", decision="approve", opinion="符合第十二条(二)，核准"))
    studio.refresh_from_db()
    change.refresh_from_db()
    assert studio.leader == successor and change.state == LeaderChange.State.APPROVED
    response = client.post(decide, prefixed(f"decide-{change.pk}", decision="approve"))
    assert response.status_code == 302  # already decided: a message, not a second decision
    assert "该申请已处理" in text(client.get(response["Location"]))


def test_it_refuses_a_leader_below_the_policys_level_naming_the_rule(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    weak = make_person(organization=hh.org, skill_level=SkillLevel.INTERMEDIATE, name="王中级")
    response = as_user(client, hh.unit).post(url("studio_leader_change", studio),
                                             leader_data(weak, skill_level=SkillLevel.INTERMEDIATE))
    assert response.status_code == 200 and "身份证号：新领办人须具有高级工及以上" in text(response)
    assert 'value="原领办人退休"' in response.content.decode()
    response = client.post(url("studio_leader_change", studio), leader_data(None, id_number="123"))
    assert "身份证号：" in text(response)
    response = client.post(url("studio_leader_change", studio), leader_data(weak, reason=""))
    assert "变更原因：请填写变更原因（如调离、退休）。" in text(response)
    assert not LeaderChange.objects.exists()


def test_it_refuses_a_leader_change_in_wenzhou_where_departure_revokes(cast_for, client) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    studio = make_studio(wz, established_on=date(2024, 3, 1))
    successor = make_person(organization=wz.org, skill_level=SkillLevel.SENIOR_TECHNICIAN)
    as_user(client, wz.unit)
    page = text(client.get(url("studio", studio)))
    assert "领办人调离原工作单位的，取消工作室称号，不能变更领办人。 第七条(四)4" in page
    response = client.post(url("studio_leader_change", studio), leader_data(successor))
    assert response.status_code == 200 and "第七条(四)4" in text(response)
    assert not LeaderChange.objects.exists()
