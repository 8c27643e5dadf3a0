"""reviews:application and reviews:decide — one application, the reviewer's page and decision."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent
from reviews import actions as review_actions
from reviews.models import ReviewStep
from tests.factories import Cast, make_application, make_person
from workshops import actions
from workshops.models import Application, ApplicationMember
from workshops.states import AppState

pytestmark = pytest.mark.django_db


@pytest.fixture
def wz(cast_for: Any) -> Cast:
    """温州: district formal review that must check originals (第五条(一))."""
    return cast_for("wenzhou")


def submitted(cast: Cast, **kwargs: Any) -> Application:
    return actions.do_submit_application(make_application(cast, **kwargs), actor=cast.unit)


def page(app: Application) -> str:
    return reverse("reviews:application", args=[app.pk])


def decide(app: Application) -> str:
    return reverse("reviews:decide", args=[app.pk])


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


# --- reviews:application ---------------------------------------------------------------------------

def test_it_shows_every_field_with_personal_data_masked(client: Client, wz: Cast) -> None:
    app = make_application(wz)
    member = make_person(organization=wz.org, name="李徒弟", mobile="13812345678")
    ApplicationMember.objects.create(application=app, person=member)
    app = actions.do_submit_application(app, actor=wz.unit)
    response = login(client, wz.district).get(page(app))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (app.studio_name, "数控车床 6 台", "以师带徒", "全国技术能手", wz.org.name, "李徒弟"):
        assert text in body
    for person in (app.leader, member):
        assert person.id_number not in body
        assert person.masked_id_number in body
    assert "13812345678" not in body and "138****5678" in body
    attachment = app.attachments.first()
    assert reverse("workshops:attachment", args=[app.pk, attachment.pk]) in body


def test_it_offers_the_audited_reveal_only_to_whom_may_reveal(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    reveal = reverse("workshops:reveal", args=[app.pk, app.leader_id])
    assert reveal in login(client, wz.district).get(page(app)).content.decode()
    assert reveal not in login(Client(), wz.observer).get(page(app)).content.decode()


def test_it_limits_the_outcomes_to_the_stage_and_asks_for_originals_where_the_policy_does(
        client: Client, wz: Cast, zz: Cast) -> None:
    app = submitted(wz)
    form = login(client, wz.district).get(page(app)).context["form"]
    assert [c for c, _label in form.fields["outcome"].choices] == ["passed", "returned", "rejected"]
    assert "originals_checked" in form.fields
    assert form["version"].value() == app.version
    zz_app = submitted(zz)  # 郑州: aggregation, no originals rule
    form = login(Client(), zz.agency).get(page(zz_app)).context["form"]
    assert "originals_checked" not in form.fields


def test_it_shows_no_decision_form_to_whom_may_not_decide(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    response = login(client, wz.city_staff).get(page(app))
    assert response.status_code == 200 and response.context["form"] is None
    assert decide(app) not in response.content.decode()


def test_it_shows_the_diff_after_return_and_resubmission(client: Client, wz: Cast) -> None:
    app = submitted(wz, necessity="产业急需。" + "原有说明文字" * 10)
    review_actions.do_review_stage(app, actor=wz.district, outcome="returned", opinion="请补充场地说明")
    app.refresh_from_db()
    Application.objects.filter(pk=app.pk).update(
        site_area=260, necessity="产业急需。" + "原有说明文字" * 10 + "新增骨干培养")
    app = actions.do_submit_application(Application.objects.get(pk=app.pk), actor=wz.unit)
    assert app.revisions.count() == 2
    body = login(client, wz.district).get(page(app)).content.decode()
    assert "与上次提交相比的修改" in body
    assert "工作室面积（平方米）" in body and "200" in body and "260" in body
    assert "新增骨干培养</ins>" in body.replace('<span class="sr-only">］</span>', "")
    assert "请补充场地说明" in body  # the review history


def test_it_shows_no_diff_on_a_first_submission(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    response = login(client, wz.district).get(page(app))
    assert response.context["diff"] is None


def test_it_answers_404_to_another_districts_reviewer(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    assert login(client, wz.other_district).get(page(app)).status_code == 404


def test_it_answers_404_to_another_citys_staff(client: Client, wz: Cast, cast_for: Any) -> None:
    app = submitted(wz)
    assert login(client, cast_for("hohhot").city_staff).get(page(app)).status_code == 404


def test_it_answers_403_to_the_unit_on_the_reviewers_page(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    assert login(client, wz.unit).get(page(app)).status_code == 403


def test_it_answers_404_for_a_draft(client: Client, wz: Cast) -> None:
    app = make_application(wz)
    assert login(client, wz.district).get(page(app)).status_code == 404


def test_it_sends_anonymous_users_to_sign_in(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    for response in (client.get(page(app)), client.post(decide(app), {"outcome": "passed"})):
        assert response.status_code == 302 and reverse("portal:login") in response["Location"]


def test_it_refuses_the_wrong_method(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    login(client, wz.district)
    assert client.post(page(app)).status_code == 405
    assert client.get(decide(app)).status_code == 405


# --- reviews:decide --------------------------------------------------------------------------------

def test_it_records_the_decision_and_returns_to_the_queue(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    response = login(client, wz.district).post(decide(app), {
        "outcome": "passed", "opinion": "材料齐全，原件已核", "originals_checked": "on", "version": app.version})
    assert response.status_code == 302 and response["Location"] == reverse("reviews:queue")
    app.refresh_from_db()
    assert app.state == AppState.EXPERT_REVIEW
    step = ReviewStep.objects.get(application=app)
    assert (step.stage, step.outcome, step.originals_checked, step.actor) == (
        "formal_review", "passed", True, wz.district)
    assert AuditEvent.objects.filter(action="review.formal_review.passed", object_id=str(app.pk)).exists()
    assert "已办理" in client.get(reverse("reviews:queue")).content.decode()


def test_it_returns_for_revision_with_the_reason(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    login(client, wz.district).post(decide(app), {"outcome": "returned", "opinion": "缺少营业执照",
                                                  "version": app.version})
    app.refresh_from_db()
    assert app.state == AppState.RETURNED
    assert ReviewStep.objects.get(application=app).opinion == "缺少营业执照"


def test_it_rerenders_errors_naming_the_rule_and_keeps_the_opinion(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    response = login(client, wz.district).post(decide(app), {
        "outcome": "passed", "opinion": "我写了很长的意见", "version": app.version})
    assert response.status_code == 400
    body = response.content.decode()
    assert "请核对原件后勾选" in body and "第五条" in body
    assert "我写了很长的意见</textarea>" in body
    assert 'aria-invalid="true"' in body
    app.refresh_from_db()
    assert app.state == AppState.FORMAL_REVIEW and not ReviewStep.objects.exists()


def test_it_requires_a_reason_to_return(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    response = login(client, wz.district).post(decide(app), {"outcome": "returned", "opinion": " ",
                                                             "version": app.version})
    assert response.status_code == 400
    assert "必须填写理由" in response.content.decode()


@pytest.mark.parametrize("data", [
    {"outcome": "backup", "opinion": "x"},  # not an outcome of formal review
    {"outcome": "<script>", "opinion": "x"},
    {"opinion": "x"},
])
def test_it_refuses_outcomes_the_stage_does_not_have(client: Client, wz: Cast, data: dict[str, str]) -> None:
    app = submitted(wz)
    response = login(client, wz.district).post(decide(app), {**data, "version": app.version})
    assert response.status_code == 400
    assert "审查结果" in response.content.decode()
    app.refresh_from_db()
    assert app.state == AppState.FORMAL_REVIEW


@pytest.mark.parametrize("version", ["", "abc", "9" * 5000, "-1"])
def test_it_refuses_a_missing_or_garbled_version(client: Client, wz: Cast, version: str) -> None:
    app = submitted(wz)
    response = login(client, wz.district).post(decide(app), {"outcome": "rejected", "opinion": "不符合条件",
                                                             "version": version})
    assert response.status_code == 400
    assert "请刷新页面后重新提交" in response.content.decode()


def test_it_tells_the_second_reviewer_someone_else_decided(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    seen = app.version
    review_actions.do_review_stage(app, actor=wz.district, outcome="passed", opinion="同意", originals_checked=True)
    response = login(client, wz.district).post(decide(app), {"outcome": "rejected", "opinion": "不同意",
                                                             "version": seen}, follow=True)
    assert response.redirect_chain[-1][0] == page(app)
    assert "该事项已被他人处理" in response.content.decode()
    app.refresh_from_db()
    assert app.state == AppState.EXPERT_REVIEW and ReviewStep.objects.filter(application=app).count() == 1


def test_it_answers_403_to_a_visible_reviewer_who_does_not_decide_this_stage(client: Client, wz: Cast) -> None:
    app = submitted(wz)
    response = login(client, wz.city_staff).post(decide(app), {"outcome": "passed", "opinion": "同意",
                                                               "originals_checked": "on", "version": app.version})
    assert response.status_code == 403


def test_it_answers_404_to_other_scopes_on_decide(client: Client, wz: Cast, cast_for: Any) -> None:
    app = submitted(wz)
    data = {"outcome": "passed", "opinion": "同意", "originals_checked": "on", "version": app.version}
    assert login(client, wz.other_district).post(decide(app), data).status_code == 404
    assert login(Client(), cast_for("hohhot").city_staff).post(decide(app), data).status_code == 404
    app.refresh_from_db()
    assert app.state == AppState.FORMAL_REVIEW
