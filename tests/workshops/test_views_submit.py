"""Submitting, the detail page, withdrawing, and the audited reveal of personal information."""
from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from reviews import actions as review_actions
from tests.factories import make_application, make_person, make_round
from workshops.models import Application, ApplicationMember, ApplicationRevision

pytestmark = pytest.mark.django_db


@pytest.fixture
def wz(cast_for):  # noqa: ANN001, ANN201
    return cast_for("wenzhou")


@pytest.fixture
def rnd(wz):  # noqa: ANN001, ANN201
    return make_round(wz.city)


@pytest.fixture
def app(wz, rnd):  # noqa: ANN001, ANN201
    return make_application(wz, rnd)


def submit(client, app: Application, **data: Any):  # noqa: ANN001, ANN201
    return client.post(reverse("workshops:submit", args=[app.pk]), {"version": app.version, **data})


# --- submit ---------------------------------------------------------------------------------------

def test_it_shows_the_checklist_grouped_by_step_with_articles(wz, rnd, client) -> None:  # noqa: ANN001
    draft = make_application(wz, rnd, complete=False)
    client.force_login(wz.unit)
    response = client.get(reverse("workshops:submit", args=[draft.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "基本信息" in html and "工作室名称</a>：请填写“工作室名称”。" in html
    assert f'{reverse("workshops:edit", args=[draft.pk, "materials"])}#material-application_form' in html
    assert "依据：《温州市技能大师工作室管理暂行办法》第五条(一)1" in html
    assert "确认提交" not in html


def test_it_shows_every_problem_when_not_eligible(wz, rnd, client) -> None:  # noqa: ANN001
    app = make_application(wz, rnd, education_fund_share=29, studio_name="")
    client.force_login(wz.unit)
    response = submit(client, app)
    html = response.content.decode()
    assert response.status_code == 200 and "未能提交。" in html
    assert "职工教育经费用于高技能人才培养、交流等方面的费用应不低于30%。" in html
    assert "依据：《温州市技能大师工作室管理暂行办法》第四条(二)" in html
    assert "请填写“工作室名称”" in html and "还有 2 项需要补充或不符合条件" in html
    app.refresh_from_db()
    assert app.state == "draft" and not ApplicationRevision.objects.exists()


def test_it_submits_an_eligible_application(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    assert "确认提交" in client.get(reverse("workshops:submit", args=[app.pk])).content.decode()
    response = submit(client, app)
    assert response.status_code == 302 and response["Location"] == reverse("workshops:detail", args=[app.pk])
    app.refresh_from_db()
    assert app.state == "formal_review" and app.stage_due_on is not None
    assert app.revisions.get().number == 1
    assert "申报已提交，当前状态：形式审查中。" in client.get(response["Location"]).content.decode()


def test_it_resubmits_after_being_returned(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    submit(client, app)
    app.refresh_from_db()
    review_actions.do_review_stage(app, actor=wz.district, outcome="returned", opinion="请补充设备清单")
    detail = client.get(reverse("workshops:detail", args=[app.pk])).content.decode()
    assert "退回修改意见：" in detail and "请补充设备清单" in detail and "修改申报内容" in detail
    client.post(reverse("workshops:edit", args=[app.pk, "site"]), {
        "site_address": "实训楼", "site_area": "300", "equipment": "数控车床 8 台", "education_fund_share": "60"})
    app.refresh_from_db()
    page = client.get(reverse("workshops:submit", args=[app.pk])).content.decode()
    assert "退回修改后的重新提交" in page
    assert submit(client, app).status_code == 302
    app.refresh_from_db()
    assert app.state == "formal_review"
    assert list(app.revisions.values_list("number", flat=True)) == [1, 2]
    assert app.revisions.get(number=2).data["equipment"] == "数控车床 8 台"


def test_it_reports_a_stale_form_instead_of_submitting_twice(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = submit(client, app, version=app.version - 1)
    assert response.status_code == 302
    assert "请刷新页面后查看" in client.get(response["Location"]).content.decode()
    app.refresh_from_db()
    assert app.state == "draft" and not ApplicationRevision.objects.exists()


def test_it_ignores_a_malformed_version(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    response = submit(client, app, version="abc")
    assert response.status_code == 200
    app.refresh_from_db()
    assert app.state == "draft"


def test_it_guards_the_submit_page(cast_for, wz, app, client) -> None:  # noqa: ANN001
    url = reverse("workshops:submit", args=[app.pk])
    assert reverse("portal:login") in client.post(url)["Location"]
    client.force_login(wz.unit)
    assert client.put(url).status_code == 405
    for user in (wz.other_unit, wz.city_staff, cast_for("pingdingshan").unit):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert submit(client, app).status_code == 404
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    client.force_login(wz.unit)
    assert client.get(url).status_code == 403
    client.force_login(wz.district)
    assert client.post(url).status_code == 403


# --- detail ---------------------------------------------------------------------------------------

def test_it_shows_state_history_and_masked_people(wz, app, client) -> None:  # noqa: ANN001
    member = ApplicationMember.objects.create(application=app, person=make_person(organization=wz.org,
                                                                                  mobile="13912345678"))
    client.force_login(wz.unit)
    submit(client, app)
    html = client.get(reverse("workshops:detail", args=[app.pk])).content.decode()
    assert "形式审查中" in html and "办理记录" in html and "提交申报" in html and "草稿 → 形式审查中" in html
    assert app.leader.masked_id_number in html and app.leader.id_number not in html
    assert member.person.masked_id_number in html and "139****5678" in html and "13912345678" not in html
    assert "撤回申报" in html and reverse("workshops:withdraw", args=[app.pk]) in html
    assert reverse("workshops:attachment", args=[app.pk, app.attachments.first().pk]) in html


def test_it_shows_the_detail_to_reviewers_in_scope_only(cast_for, wz, app, client) -> None:  # noqa: ANN001
    url = reverse("workshops:detail", args=[app.pk])
    client.force_login(wz.district)
    assert client.get(url).status_code == 404  # a draft is the unit's own business
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    html = client.get(url).content.decode()
    assert "形式审查中" in html and "撤回申报" not in html and app.leader.id_number not in html
    for user in (wz.other_district, wz.other_unit, cast_for("pingdingshan").city_staff):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert reverse("portal:login") in client.get(url)["Location"]
    client.force_login(wz.unit)
    assert client.post(url).status_code == 405


# --- withdraw -------------------------------------------------------------------------------------

def test_it_withdraws_with_a_reason(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    submit(client, app)
    app.refresh_from_db()
    response = client.post(reverse("workshops:withdraw", args=[app.pk]),
                           {"reason": "领办人调离", "version": app.version})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.state == "withdrawn"
    event = AuditEvent.objects.for_object(app).get(action="application.withdraw")
    assert event.reason == "领办人调离"
    html = client.get(reverse("workshops:detail", args=[app.pk])).content.decode()
    assert "申报已撤回。" in html and "领办人调离" in html
    assert reverse("workshops:withdraw", args=[app.pk]) not in html


def test_it_requires_a_reason_to_withdraw(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    submit(client, app)
    response = client.post(reverse("workshops:withdraw", args=[app.pk]), {"reason": "  ", "version": "x"})
    html = response.content.decode()
    assert response.status_code == 200 and "撤回理由：请填写撤回理由。" in html
    response = client.post(reverse("workshops:withdraw", args=[app.pk]), {"reason": "太" * 600})
    assert response.status_code == 200 and "撤回理由：" in response.content.decode()
    app.refresh_from_db()
    assert app.state == "formal_review"


def test_it_reports_a_conflict_when_withdrawing_a_changed_application(wz, app, client) -> None:  # noqa: ANN001
    client.force_login(wz.unit)
    submit(client, app)
    app.refresh_from_db()
    stale = app.version
    review_actions.do_review_stage(app, actor=wz.district, outcome="passed", opinion="同意", originals_checked=True)
    response = client.post(reverse("workshops:withdraw", args=[app.pk]), {"reason": "不再申报", "version": stale})
    assert response.status_code == 302
    assert "该事项已被他人处理" in client.get(response["Location"]).content.decode()
    app.refresh_from_db()
    assert app.state == "expert_review"


def test_it_guards_withdrawal(cast_for, wz, app, client) -> None:  # noqa: ANN001
    url = reverse("workshops:withdraw", args=[app.pk])
    assert reverse("portal:login") in client.post(url, {"reason": "x"})["Location"]
    client.force_login(wz.unit)
    assert client.get(url).status_code == 405
    assert client.post(url, {"reason": "草稿不能撤回"}).status_code == 403  # a draft is not withdrawable
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    for user, status in ((wz.other_unit, 404), (cast_for("pingdingshan").unit, 404), (wz.district, 403)):
        client.force_login(user)
        assert client.post(url, {"reason": "x"}).status_code == status
    assert Application.objects.get(pk=app.pk).state == "formal_review"


# --- reveal ---------------------------------------------------------------------------------------

def test_it_reveals_and_audits_the_full_id_number(wz, app, client) -> None:  # noqa: ANN001
    leader = app.leader
    url = reverse("workshops:reveal", args=[app.pk, leader.pk])
    client.force_login(wz.unit)
    response = client.post(url, REMOTE_ADDR="10.9.8.7")
    html = response.content.decode()
    assert response.status_code == 200 and leader.id_number in html and "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.for_object(app).get(action="person.reveal")
    assert event.data == {"person": leader.pk, "role": "leader"} and event.ip == "10.9.8.7"
    response = client.post(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and f'id="pii-{leader.pk}"' in html and leader.id_number in html


def test_it_reveals_to_the_formal_reviewer_only_while_checking(wz, app, client) -> None:  # noqa: ANN001
    member = ApplicationMember.objects.create(application=app, person=make_person(organization=wz.org))
    url = reverse("workshops:reveal", args=[app.pk, member.person.pk])
    Application.objects.filter(pk=app.pk).update(state="formal_review")
    client.force_login(wz.district)
    assert member.person.id_number in client.post(url).content.decode()
    client.force_login(wz.city_staff)  # can see the application, but is not the one checking originals
    assert client.post(url).status_code == 403
    Application.objects.filter(pk=app.pk).update(state="expert_review")
    client.force_login(wz.district)
    assert client.post(url).status_code == 403
    assert AuditEvent.objects.filter(action="person.reveal").count() == 1


def test_it_guards_the_reveal(cast_for, wz, app, client) -> None:  # noqa: ANN001
    url = reverse("workshops:reveal", args=[app.pk, app.leader.pk])
    assert reverse("portal:login") in client.post(url)["Location"]
    client.force_login(wz.unit)
    assert client.get(url).status_code == 405
    stranger = make_person(organization=wz.org)
    assert client.post(reverse("workshops:reveal", args=[app.pk, stranger.pk])).status_code == 404
    for user in (wz.other_unit, cast_for("pingdingshan").city_staff):
        client.force_login(user)
        assert client.post(url).status_code == 404
    assert not AuditEvent.objects.filter(action="person.reveal").exists()
