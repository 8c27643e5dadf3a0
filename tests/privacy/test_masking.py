"""Masking by default (个人信息保护法 第五十一条; 等保2.0 三级 数据保密性): every page that shows a leader or
a member shows the 身份证号 and the mobile masked; only the unit itself and the reviewer of the formal
check may reveal them, by an explicit action that is audited with the viewer's address."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from portal.masking import mask_id_number, mask_phone
from portal.models import AuditEvent, Person, User
from portal.roles import Role
from reviews import actions as review_actions
from tests.factories import Cast, make_application, make_person, make_user, walk
from workshops import actions
from workshops import forms as wforms
from workshops.models import Application, ApplicationMember
from workshops.states import AppState

pytestmark = pytest.mark.django_db

LEADER_MOBILE = "13812345678"
MEMBER_MOBILE = "15987654321"
ORG_PHONE = "13700001111"
ADDRESS = "浙江省温州市鹿城区五马街88号"


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.REQUIRE_STAFF_TOTP = False


@pytest.fixture
def wz(cast_for: Any) -> Cast:
    return cast_for("wenzhou")  # formal review by the district, which also checks the originals


def with_people(cast: Cast) -> Application:
    """A complete draft whose leader and member have mobiles and addresses, and a unit phone."""
    app = make_application(cast)
    leader = app.leader
    leader.mobile, leader.home_address = LEADER_MOBILE, ADDRESS
    leader.save()
    member = make_person(organization=cast.org, mobile=MEMBER_MOBILE, home_address=ADDRESS, name="李成员")
    ApplicationMember.objects.create(application=app, person=member)
    cast.org.contact_phone = ORG_PHONE
    cast.org.save()
    return app


def people(app: Application) -> list[Person]:
    return [Person.objects.get(pk=app.leader_id), *(m.person for m in app.members.select_related("person"))]


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reveal_url(app: Application, person: Person) -> str:
    return reverse("workshops:reveal", args=[app.pk, person.pk])


def assert_masked(html: str, app: Application, *, can_reveal: bool, only: list[Person] | None = None) -> None:
    for person in people(app):
        assert person.id_number not in html and person.mobile not in html
    for person in only if only is not None else people(app):
        assert person.id_number not in html and person.id_number[6:14] not in html
        assert person.mobile not in html and person.home_address not in html
        assert mask_id_number(person.id_number) in html and mask_phone(person.mobile) in html
        assert (reveal_url(app, person) in html) is can_reveal
    assert ORG_PHONE not in html


def assert_full(html: str, person: Person) -> None:
    assert person.id_number in html and person.mobile in html


def reveal(user: User, app: Application, person: Person, **headers: Any) -> Any:
    return client_for(user).post(reveal_url(app, person), REMOTE_ADDR="10.1.2.3", **headers)


def reveals() -> int:
    return AuditEvent.objects.filter(action="person.reveal").count()


def assert_revealed_and_audited(user: User, app: Application) -> None:
    for person in people(app):
        before = reveals()
        response = reveal(user, app, person)
        assert response.status_code == 200, (user.role, response.status_code)
        assert_full(response.content.decode(), person)
        assert "no-store" in response["Cache-Control"]
        row = AuditEvent.objects.filter(action="person.reveal").latest("id")
        assert reveals() == before + 1
        assert (row.actor_id, row.actor_role, row.ip) == (user.pk, user.role, "10.1.2.3")
        assert (row.object_type, row.object_id) == ("workshops.application", str(app.pk))
        assert row.data == {"person": person.pk, "role": "leader" if person.pk == app.leader_id else "member"}


def assert_refused(user: User, app: Application, status: int) -> None:
    before = reveals()
    for person in people(app):
        assert reveal(user, app, person).status_code == status, user.role
    assert reveals() == before


# --- the unit -----------------------------------------------------------------------------------------

def test_it_masks_every_step_and_the_detail_for_the_unit_which_may_reveal(wz) -> None:  # noqa: ANN001
    app = with_people(wz)
    c = client_for(wz.unit)
    assert_masked(c.get(reverse("workshops:detail", args=[app.pk])).content.decode(), app, can_reveal=True)
    steps = [s.slug for s in wforms.steps_for(app.policy)]
    assert {"leader", "members"} <= set(steps)
    for step in wforms.steps_for(app.policy):
        html = c.get(reverse("workshops:edit", args=[app.pk, step.slug])).content.decode()
        assert_masked(html, app, can_reveal=True, only=[])
        if step.slug == "leader":
            assert_masked(html, app, can_reveal=True, only=people(app)[:1])
        elif step.slug == "members":
            assert_masked(html, app, can_reveal=True, only=people(app)[1:])
    assert_revealed_and_audited(wz.unit, app)


def test_it_answers_htmx_with_the_revealed_fragment_only(wz) -> None:  # noqa: ANN001
    app = with_people(wz)
    response = reveal(wz.unit, app, app.leader, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="pii-' in html
    assert LEADER_MOBILE in html and "审计日志" in html


def test_it_reveals_only_by_post_and_only_to_signed_in_users_in_scope(wz) -> None:  # noqa: ANN001
    app = with_people(wz)
    url = reveal_url(app, app.leader)
    assert client_for(wz.unit).get(url).status_code == 405
    assert Client().post(url).status_code == 302  # to the login page
    assert_refused(wz.other_unit, app, 404)
    stranger = make_person(organization=wz.org, mobile="13600000000")
    assert client_for(wz.unit).post(reveal_url(app, stranger)).status_code == 404  # not in this application
    assert reveals() == 0


# --- the formal reviewer, other bureau roles, experts ----------------------------------------------------

@pytest.fixture
def in_formal_review(wz: Cast) -> Application:
    app = with_people(wz)
    return actions.do_submit_application(app, actor=wz.unit)


def test_it_lets_the_formal_reviewer_reveal_while_checking(wz, in_formal_review) -> None:  # noqa: ANN001
    app = in_formal_review
    assert app.state == AppState.FORMAL_REVIEW
    html = client_for(wz.district).get(reverse("reviews:application", args=[app.pk])).content.decode()
    assert_masked(html, app, can_reveal=True)
    assert mask_phone(ORG_PHONE) in html
    assert_revealed_and_audited(wz.district, app)
    assert_revealed_and_audited(wz.unit, app)  # the unit itself, at any stage


@pytest.mark.parametrize("role", ["city_staff", "agency", "decision", "observer"])
def test_it_shows_other_bureau_roles_masked_values_only(wz, in_formal_review, role) -> None:  # noqa: ANN001
    user = getattr(wz, role)
    html = client_for(user).get(reverse("reviews:application", args=[in_formal_review.pk])).content.decode()
    assert_masked(html, in_formal_review, can_reveal=False)
    assert_refused(user, in_formal_review, 403)


def test_it_keeps_the_other_district_and_unassigned_experts_out(wz, in_formal_review) -> None:  # noqa: ANN001
    assert client_for(wz.other_district).get(reverse("reviews:application", args=[in_formal_review.pk])
                                             ).status_code == 404
    assert_refused(wz.other_district, in_formal_review, 404)
    assert_refused(wz.expert, in_formal_review, 404)


@pytest.fixture
def in_expert_review(wz: Cast) -> tuple[Application, Any]:
    (app,) = walk(wz, [with_people(wz)], until=AppState.EXPERT_REVIEW)
    panel = review_actions.do_create_panel(app.round, actor=wz.city_staff, name="第一组")
    return app, review_actions.do_assign_expert(panel, app, wz.expert, actor=wz.city_staff)


def test_it_masks_the_experts_page_and_refuses_experts_a_reveal(wz, in_expert_review) -> None:  # noqa: ANN001
    app, assignment = in_expert_review
    c = client_for(wz.expert)
    assert_masked(c.get(reverse("reviews:assignment", args=[assignment.pk])).content.decode(), app, can_reveal=False)
    assert_masked(c.get(reverse("workshops:detail", args=[app.pk])).content.decode(), app, can_reveal=False)
    assert_refused(wz.expert, app, 403)


def test_it_ends_the_formal_reviewers_reveal_with_the_formal_check(wz, in_expert_review) -> None:  # noqa: ANN001
    app, assignment = in_expert_review
    for user in (wz.district, wz.city_staff):
        html = client_for(user).get(reverse("reviews:application", args=[app.pk])).content.decode()
        assert_masked(html, app, can_reveal=False)
        assert_refused(user, app, 403)
    city_view = client_for(wz.city_staff).get(reverse("reviews:assignment", args=[assignment.pk])).content.decode()
    assert_masked(city_view, app, can_reveal=False)
    assert_revealed_and_audited(wz.unit, app)


def test_it_lets_zhengzhous_agency_reveal_during_its_aggregation_check(zz) -> None:  # noqa: ANN001
    # 郑州 第七条: no 形式审查 stage; the agency's 汇总 is where the submission is checked.
    app = actions.do_submit_application(with_people(zz), actor=zz.unit)
    assert app.state == AppState.AGGREGATION
    assert_masked(client_for(zz.agency).get(reverse("reviews:application", args=[app.pk])).content.decode(), app,
                  can_reveal=True)
    assert_revealed_and_audited(zz.agency, app)
    assert_refused(zz.city_staff, app, 403)


def test_it_masks_the_studio_page_for_everyone(wz) -> None:  # noqa: ANN001
    (app,) = walk(wz, [with_people(wz)], until=AppState.APPROVED)
    (studio,) = actions.do_establish_studios(app.round, actor=wz.city_staff, doc_number="温人社发〔2026〕7号",
                                             established_on=app.submitted_at.date())
    try:
        url = reverse("workshops:studio", args=[studio.pk])
    except NoReverseMatch:
        pytest.skip("the studio pages are not built yet")
    leader = people(app)[0]
    for user in (wz.unit, wz.district, wz.city_staff, wz.observer):
        response = client_for(user).get(url)
        assert response.status_code == 200, user.role
        html = response.content.decode()
        assert leader.id_number not in html and LEADER_MOBILE not in html and ORG_PHONE not in html
        assert mask_id_number(leader.id_number) in html and reveal_url(app, leader) not in html


# --- downloads and the audit administrator's view ----------------------------------------------------------

def test_it_audits_every_download_with_who_and_where(wz, in_formal_review) -> None:  # noqa: ANN001
    app = in_formal_review
    attachment = app.attachments.order_by("pk").first()
    url = reverse("workshops:attachment", args=[app.pk, attachment.pk])
    for user in (wz.unit, wz.district, wz.city_staff):
        response = client_for(user).get(url, REMOTE_ADDR="10.9.8.7")
        assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
        row = AuditEvent.objects.filter(action="attachment.download").latest("id")
        assert (row.actor_id, row.ip, row.object_id) == (user.pk, "10.9.8.7", str(app.pk))
        assert row.data == {"attachment": attachment.pk, "kind": attachment.kind, "sha256": attachment.sha256}
    assert client_for(wz.other_district).get(url).status_code == 404
    assert AuditEvent.objects.filter(action="attachment.download").count() == 3


def test_it_shows_reveals_and_downloads_to_the_audit_administrator(wz, in_formal_review) -> None:  # noqa: ANN001
    app = in_formal_review
    reveal(wz.district, app, app.leader)
    attachment = app.attachments.first()
    client_for(wz.district).get(reverse("workshops:attachment", args=[app.pk, attachment.pk]), REMOTE_ADDR="10.1.2.3")
    auditor = client_for(make_user(Role.AUDITADMIN))
    for action in ("person.reveal", "attachment.download"):
        html = auditor.get(reverse("portal:audit_log"), {"action": action}).content.decode()
        assert action in html and wz.district.username in html and "10.1.2.3" in html
    exported = auditor.get(reverse("portal:audit_export"), {"action": "person."})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert [r[4] for r in rows[1:]] == ["person.reveal"] and rows[1][12] == "10.1.2.3"
    # The trail records who looked, never the value itself.
    for row in AuditEvent.objects.all():
        text = f"{row.object_repr} {row.reason} {row.data}"
        assert app.leader.id_number not in text and LEADER_MOBILE not in text


# --- the application PDF (documents), once it exists -----------------------------------------------------

def pdf_text(client: Client, url: str) -> str:
    from pypdf import PdfReader

    for _attempt in range(3):  # the first request may only queue the render and show its progress
        response = client.get(url)
        assert response.status_code == 200
        if response["Content-Type"].startswith("application/pdf"):
            body = b"".join(response.streaming_content) if response.streaming else response.content
            return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    raise AssertionError(f"{url} never answered with a PDF")


def test_it_masks_the_application_pdf(wz, in_formal_review) -> None:  # noqa: ANN001
    app = in_formal_review
    try:
        url = reverse("workshops:application_pdf", args=[app.pk])
    except NoReverseMatch:
        pytest.skip("workshops:application_pdf is not built yet")
    for user in (wz.city_staff, wz.observer, wz.unit, wz.district):
        before = AuditEvent.objects.filter(actor_id=user.pk, object_id=str(app.pk)).count()
        text = pdf_text(client_for(user), url).replace(" ", "")
        full = [p for p in people(app) if p.id_number in text or p.mobile in text]
        if "身份证" in text and not full:
            assert mask_id_number(app.leader.id_number) in text
        if full:  # only a role that may reveal, and then the download is on the record
            assert user in (wz.unit, wz.district), user.role
            assert AuditEvent.objects.filter(actor_id=user.pk, object_id=str(app.pk)).count() > before


def test_it_masks_short_phone_numbers_too() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("63581234") == "****1234"
    assert mask_phone("0577-88881234") == "057******1234"
    assert mask_phone("1234567") == "*******"
