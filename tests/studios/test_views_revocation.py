"""Revocation through its page: the policy's grounds, 会同 departments, the 通报, plaque and money, bans."""
from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, Notification
from tests.factories import make_application, make_studio
from tests.studios.helpers import as_user, ok_post, prefixed, text, url
from workshops import actions
from workshops.models import Application, Disbursement, Revocation, Sanction
from workshops.states import AppState, StudioState

pytestmark = pytest.mark.django_db


def revoke_data(**values: object) -> dict[str, object]:
    base = {"ground": "not_functioning", "decided_on": "2026-06-01",
            "notice_text": "经研究，该工作室不能正常发挥作用，予以通报并取消称号。",
            "plaque_recovered_on": "2026-06-10",
            "equipment_note": "数控车床2台已收回"}
    base.update(values)
    return base


def test_it_revokes_zhengzhou_jointly_and_publishes_the_notice(  # noqa: ANN001
        cast_for, client, django_capture_on_commit_callbacks) -> None:
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2024, 3, 1))
    as_user(client, zz.city_staff)
    page = text(client.get(url("studio_revoke", studio)))
    assert "收回政府投入的配套设备" in page and "提供虚假申报材料的（第十七条(一)）" in page
    assert "撤销由郑州市人力资源社会保障局会同财政部门、教育部门研究确定（第十八条）" in page
    response = client.post(url("studio_revoke", studio), revoke_data())
    assert response.status_code == 200
    assert "会同部门：撤销须由郑州市人力资源社会保障局会同教育部门、财政部门研究确定（第十八条）。" in text(response)
    assert "经研究，该工作室不能正常发挥作用" in text(response)  # typed notice kept
    with django_capture_on_commit_callbacks(execute=True):
        response = ok_post(client, url("studio_revoke", studio), revoke_data(joint_with=["finance", "education"]))
    studio.refresh_from_db()
    revocation = Revocation.objects.get(studio=studio)
    assert studio.state == StudioState.REVOKED and revocation.joint_with == ["education", "finance"]
    assert revocation.equipment_note == "数控车床2台已收回" and not revocation.is_fraud
    assert AuditEvent.objects.filter(action="studio.revoke", to_state=StudioState.REVOKED).exists()
    assert Notification.objects.filter(recipient=zz.unit, kind="studio.revoked").exists()
    page = text(client.get(response["Location"]))
    assert "撤销情形 不能正常发挥作用并无法完成年度任务的 第十七条(二)" in page and "已停发" in page
    assert url("studio_disbursement", studio) not in client.get(url("studio", studio)).content.decode()
    public = Client().get(reverse("public:studio", args=[studio.pk]))
    assert "撤销通报" in text(public) and "予以通报并取消称号" in text(public) and "第十七条(二)" in text(public)
    response = client.post(url("studio_disbursement", studio),
                           prefixed("money", subsidy="construction_grant", amount="1", paid_on="2026-07-01",
                                    basis="x", approver="y", quantity=1))
    assert response.status_code == 200 and "工作室已撤销，停发补贴奖励。" in text(response)
    assert not Disbursement.objects.exists()
    page = text(client.get(url("studio_revoke", studio)))
    assert "该工作室已撤销。" in page


def test_fraud_bans_the_unit_and_the_leader_whose_next_application_is_refused(cast_for, client) -> None:  # noqa: ANN001
    pds = cast_for("pingdingshan")
    studio = make_studio(pds, established_on=date(2024, 3, 1))
    actions.do_issue_plaque(studio, actor=pds.city_staff, issued_on=date(2024, 3, 20))
    as_user(client, pds.city_staff)
    ok_post(client, url("studio_revoke", studio), revoke_data(
        ground="false_materials", joint_with=["finance", "education"], plaque_recovered_on="",
        notice_text="经查，该工作室提供虚假申报材料，予以通报并取消称号。"))
    bans = Sanction.objects.filter(starts_on=date(2026, 6, 1))
    assert bans.count() == 2 and {b.ends_on for b in bans} == {date(2029, 6, 1)}  # 第十四条: 三年内
    assert studio.plaques.get().withdrawn_on == date(2026, 6, 1)
    page = text(client.get(url("studio", studio)))
    assert "申报限制" in page and "2026-06-01 至 2029-06-01 不得申报" in page
    # The banned unit applies again: the submission is refused, naming the ban.
    app = make_application(pds)
    as_user(client, pds.unit)
    response = client.post(reverse("workshops:submit", args=[app.pk]), {"version": app.version})
    assert response.status_code == 200 and "前不得申报" in text(response)
    assert Application.objects.get(pk=app.pk).state == AppState.DRAFT


def test_hohhots_decision_body_revokes_and_the_unit_cannot(cast_for, client) -> None:  # noqa: ANN001
    hh, zz = cast_for("hohhot"), cast_for("zhengzhou")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    for user, status in ((hh.unit, 403), (hh.observer, 403), (hh.agency, 403), (hh.district, 403),
                         (hh.other_unit, 404), (zz.city_staff, 404)):
        as_user(client, user)
        assert client.get(url("studio_revoke", studio)).status_code == status, user.role
        assert client.post(url("studio_revoke", studio), revoke_data(ground="other")).status_code == status
    client.logout()
    response = client.post(url("studio_revoke", studio), revoke_data(ground="other"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    as_user(client, hh.decision)
    assert 'name="joint_with"' not in client.get(url("studio_revoke", studio)).content.decode()
    ok_post(client, url("studio_revoke", studio), revoke_data(ground="other"))
    revocation = Revocation.objects.get(studio=studio)
    assert revocation.decision_body == "呼和浩特市人力资源和社会保障局局长办公会"
    assert revocation.decided_by == hh.decision
    assert client.put(url("studio_revoke", studio)).status_code == 405


def test_it_refuses_unusable_revocation_input(cast_for, client) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    studio = make_studio(hh, established_on=date(2024, 3, 1))
    as_user(client, hh.city_staff)
    cases = [
        (revoke_data(ground="false_materials"), "撤销情形："),  # 平顶山's ground, not 呼和浩特's
        (revoke_data(notice_text=""), "通报内容：请填写通报内容。"),
        (revoke_data(decided_on="2999-01-01"), "决定日期：不能晚于今天"),
        (revoke_data(decided_on="1999-12-31"), "决定日期：不能早于 2000-01-01"),
        (revoke_data(plaque_recovered_on="昨天"), "牌匾收回日期："),
    ]
    for data, error in cases:
        response = client.post(url("studio_revoke", studio), data)
        assert response.status_code == 200 and error in text(response), error
    studio.refresh_from_db()
    assert studio.state == StudioState.ESTABLISHED and not Revocation.objects.exists()


def test_it_offers_the_consecutive_failures_ground_once_proposed(cast_for, client) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    studio = make_studio(zz, established_on=date(2024, 3, 1))
    for year in (2024, 2025):
        actions.do_record_assessment(studio, actor=zz.city_staff, kind="annual", period=year,
                                     conducted_on=date(year, 12, 16), passed=False, joint_with=["finance", "education"])
    as_user(client, zz.decision)
    page = text(client.get(url("studio", studio)))
    assert "撤销建议：" in page and "因连续2年考核不合格提出（第十六条、第十七条(四)）" in page
    html = as_user(client, zz.city_staff).get(url("studio_revoke", studio)).content.decode()
    assert re.search(r'<input[^>]*value="consecutive_assessment_failures"[^>]*checked', html)
    page = text(client.get(url("studio_revoke", studio)))
    assert "已因连续考核不合格提出撤销建议" in page and "不合格的考核：2025 年度考核；2024 年度考核" in page
