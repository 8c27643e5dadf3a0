"""Every URL × every role: the status each must get. A new URL without a row here fails the suite.

Outcomes: "ok" (200, 400 for an empty form, or a redirect that is not to the login page),
"deny" (403 visible-but-not-allowed, or 404 outside scope), "login" (anonymous sent to sign in),
"405" (wrong method). Views that only take POST are probed with an empty POST; the rest with GET.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from portal.roles import Role
from reviews import actions as review_actions
from reviews import notices
from tests.factories import PDF_BYTES, make_application, make_org, make_person, make_round, make_user, walk
from workshops.models import ApplicationMember, ApplicationProject, Attachment, LeaderChange, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "unit", "other_unit", "district", "other_district", "agency", "city", "other_city",
         "decision", "expert", "other_expert", "observer", "sysadmin", "secadmin", "auditadmin"]
POST_ONLY = {"portal:logout", "portal:totp_disable", "portal:inbox_read", "workshops:create", "workshops:member_delete",
             "workshops:project_delete", "workshops:attachment_upload", "workshops:attachment_delete",
             "workshops:reveal", "workshops:withdraw", "reviews:decide", "reviews:assign", "reviews:panel_close",
             "reviews:recuse", "workshops:studio_plan", "workshops:studio_record", "workshops:studio_plaque",
             "workshops:studio_disbursement", "workshops:studio_leader_change", "workshops:studio_leader_decide",
             "workshops:studio_upgrade", "workshops:studio_state", "workshops:import_run", "reviews:export"}
PUBLIC = {"public:home", "public:notices", "public:notice", "public:objection", "public:objection_done",
          "public:notices_json", "public:notices_csv", "public:notices_feed", "public:studios", "public:studio",
          "public:studios_json", "public:studios_csv", "portal:healthz", "portal:login",
          "public:notice_pdf", "public:revocation_pdf"}
EVERY_USER = set(ROLES) - {"anonymous"}
# The second-factor steps and the admin's login bounce everybody to the password step unless a
# half-finished login is in the session.
BOUNCE = {"portal:login_totp", "portal:login_totp_setup", "portal:admin_login"}
BUREAU_READERS = {"city", "decision", "observer"}
DASHBOARD_ROLES = {"district", "other_district", "agency", "city", "other_city", "decision", "observer"}


def allow(*roles: str) -> set[str]:
    return set(roles)


# Who gets "ok"; every other signed-in role must be denied and anonymous sent to log in.
EXPECTED: dict[str, set[str]] = {
    # Signed-in pages every account has.
    "portal:dashboard": EVERY_USER,
    "portal:logout": set(ROLES),  # signing out when not signed in just goes home
    "portal:password_change": EVERY_USER,
    "portal:account_security": EVERY_USER,
    "portal:totp_setup": EVERY_USER,
    "portal:totp_disable": EVERY_USER,
    "portal:inbox": EVERY_USER,  # one's own messages only
    "portal:inbox_read": EVERY_USER,  # the empty probe is refused with 400 (no message named)
    # 三权分立.
    "portal:role_list": allow("secadmin"),
    "portal:role_assign": allow("secadmin"),
    "portal:audit_log": allow("auditadmin"),
    "portal:audit_export": allow("auditadmin"),
    # The unit's side (the probe application is the unit's draft).
    "workshops:list": allow("unit", "other_unit"),
    "workshops:rounds": EVERY_USER,  # each account sees its own city's rounds (public facts)
    "workshops:round_create": allow("city", "other_city"),  # the form opens a round in one's own city
    "workshops:create": allow("unit", "other_unit"),
    "workshops:detail": allow("unit"),
    "workshops:edit": allow("unit"),
    "workshops:member_delete": allow("unit"),
    "workshops:project_delete": set(),  # 呼和浩特's policy asks for no projects: 404 for everyone
    "workshops:attachment_upload": allow("unit"),
    "workshops:attachment": allow("unit"),
    "workshops:attachment_delete": allow("unit"),
    "workshops:reveal": allow("unit"),
    "workshops:submit": allow("unit"),
    "workshops:withdraw": set(),  # a draft cannot be withdrawn (only deleted by never submitting)
    # The bureaus' side (the probe application is in expert review, assigned to `expert`).
    "reviews:queue": allow("district", "other_district", "agency", "city", "other_city", "decision"),
    "reviews:application": allow("district", "agency", "city", "decision", "observer"),
    "reviews:decide": set(),  # expert review is decided by closing the panel, never by this form
    "reviews:panels": allow("city"),  # the panel list is where city staff set panels up
    "reviews:panel": allow("city", "decision", "observer"),
    "reviews:assign": allow("city"),
    "reviews:panel_close": allow("city"),
    "reviews:assignments": allow("expert", "other_expert"),
    "reviews:assignment": allow("expert", "city", "decision", "observer"),
    "reviews:recuse": allow("expert"),
    "reviews:opinions": set(),  # 呼和浩特 has no opinion stage: 404 for everyone
    "reviews:round_decision": allow("decision"),
    "reviews:notices": allow("city"),
    "reviews:notice_manage": allow("city"),
    "reviews:objection": allow("city", "decision", "observer"),
    "reviews:establish": allow("city"),
    # Documents as PDFs (the probe application is in expert review; the probe studio is the unit's).
    "workshops:application_pdf": allow("district", "agency", "city", "decision", "expert", "observer"),
    "workshops:application_document": allow("district", "agency", "city", "decision", "expert", "observer"),
    "workshops:plaque_pdf": allow("unit", "city"),  # the studio's unit and the city staff who issue plaques
    "reviews:establishment_pdf": allow("unit", "district", "agency", "city", "decision", "observer"),
    "workshops:assessment_pdf": set(),  # 呼和浩特 scores no items, so no 绩效评估表 (温州's: tests/documents)
    # The studios after establishment (the probe studio is the unit's, in the district reviewer's district).
    "workshops:studios": allow("unit", "other_unit", "district", "other_district", "agency", "city", "other_city",
                               "decision", "observer"),  # each sees its own scope; experts and admins have none
    "workshops:studio": allow("unit", "district", "agency", "city", "decision", "observer"),
    "workshops:studio_plan": allow("unit"),
    "workshops:studio_record": allow("unit"),
    "workshops:studio_leader_change": allow("unit"),
    "workshops:studio_assessment": allow("city"),
    "workshops:studio_plaque": allow("city"),
    "workshops:studio_disbursement": allow("city"),
    "workshops:studio_leader_decide": allow("city"),
    "workshops:studio_upgrade": allow("city"),
    "workshops:studio_state": allow("city"),
    "workshops:studio_revoke": allow("city", "decision"),  # 呼和浩特 第十二条: 局长办公会
    "workshops:plan_forward": allow("agency"),  # 郑州 第十一条(五); elsewhere the page says there is no such step
    # Onboarding a city from spreadsheets: city staff, their own city (the probe job is 呼和浩特's).
    "workshops:imports": allow("city", "other_city"),
    "workshops:import_template": allow("city", "other_city"),
    "workshops:import_export": allow("city", "other_city"),
    "workshops:import_job": allow("city"),
    "workshops:import_progress": allow("city"),
    "workshops:import_run": allow("city"),  # the empty probe is sent back to the job page with a message
    "workshops:import_report": allow("city"),
    # Dashboards, lists and exports: district reviewers (their district) and the city's bureau roles (their
    # city); units, experts and the administrators have none. The probe export job is the city staff's.
    **{name: DASHBOARD_ROLES for name in ("reviews:dashboard", "reviews:dashboard_review", "reviews:dashboard_money",
                                          "reviews:dashboard_assessment", "reviews:data", "reviews:exports")},
    "reviews:export": DASHBOARD_ROLES,  # the empty probe (no format) is sent back to the list with a message
    "reviews:yearly_report": allow("agency", "city", "other_city", "decision", "observer"),  # the city's own
    "reviews:export_job": allow("city"),
    "reviews:export_download": allow("city"),
}


def url_names() -> list[str]:
    def walk_patterns(patterns: list[Any], namespace: str | None) -> list[str]:
        names = []
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                names += walk_patterns(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.append(f"{namespace}:{p.name}" if namespace else p.name)
        return names

    return walk_patterns(get_resolver().url_patterns, None)


@dataclass
class World:
    users: dict[str, Any]
    kwargs: dict[str, dict[str, Any]]


@pytest.fixture
def world(cast_for) -> World:  # noqa: ANN001
    hh, zz = cast_for("hohhot"), cast_for("zhengzhou")
    rnd = make_round(hh.city, quota=5)
    draft = make_application(hh, rnd)
    member = ApplicationMember.objects.create(application=draft, person=make_person(organization=hh.org))
    project = ApplicationProject.objects.create(application=draft, name="项目", objective="目标")
    attachment = Attachment.objects.filter(application=draft).first()
    in_review = make_application(hh, rnd, org=make_org(hh.city, hh.org.district))
    (in_review,) = walk(hh, [in_review], until=AppState.EXPERT_REVIEW)
    panel = review_actions.do_create_panel(rnd, actor=hh.city_staff, name="专家组")
    assignment = review_actions.do_assign_expert(panel, in_review, hh.expert, actor=hh.city_staff)
    noticed = make_application(hh, rnd, org=make_org(hh.city, hh.org.district))
    walk(hh, [noticed], until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=timezone.localdate() - timedelta(days=1))
    objection = notices.do_submit_objection(notice, entry=notice.entries.get(), name="某", phone="13800001111",
                                            email="", reason="异议事由详细说明", evidence=None, source_ip="10.9.9.9")
    studio = Studio.objects.create(city=hh.city, district=hh.org.district, organization=hh.org, leader=draft.leader,
                                   name="名录中的工作室", occupation="焊工", policy_version=rnd.policy_version,
                                   established_on=timezone.localdate())
    change = LeaderChange.objects.create(studio=studio, old_leader=draft.leader, reason="退休", requested_by=hh.unit,
                                         new_leader=make_person(organization=hh.org))
    attachment.file.save("probe.pdf", ContentFile(PDF_BYTES))
    from workshops.models import Assessment, Plaque, Revocation
    from workshops.states import StudioState

    Studio.objects.filter(pk=studio.pk).update(establishment_doc="呼人社发〔2026〕1号")
    plaque = Plaque.objects.create(studio=studio, number="MATRIX-0001", issuing_body="呼和浩特市人力资源和社会保障局")
    assessment = Assessment.objects.create(studio=studio, kind="biennial", period=2025, conducted_on=rnd.opens_on,
                                           grade="pass", passed=True, recorded_by=hh.city_staff)
    revoked = Studio.objects.create(city=hh.city, district=hh.org.district, organization=hh.org, leader=draft.leader,
                                    name="已撤销的工作室", occupation="焊工", policy_version=rnd.policy_version,
                                    established_on=rnd.opens_on, state=StudioState.REVOKED)
    Revocation.objects.create(studio=revoked, ground="org_dissolved", decided_on=rnd.opens_on, notice_text="单位注销",
                              decision_body="局长办公会", decided_by=hh.city_staff)
    users = {"anonymous": None, "unit": hh.unit, "other_unit": hh.other_unit, "district": hh.district,
             "other_district": hh.other_district, "agency": hh.agency, "city": hh.city_staff,
             "other_city": zz.city_staff, "decision": hh.decision, "expert": hh.expert,
             "other_expert": make_user(Role.EXPERT, hh.city), "observer": hh.observer,
             "sysadmin": make_user(Role.SYSADMIN), "secadmin": make_user(Role.SECADMIN),
             "auditadmin": make_user(Role.AUDITADMIN)}
    app_kw = {"pk": draft.pk}
    kwargs = {
        "portal:role_assign": {"pk": hh.unit.pk},
        "workshops:create": {"round_id": rnd.pk},
        "workshops:detail": app_kw, "workshops:submit": app_kw, "workshops:withdraw": app_kw,
        "workshops:edit": {"pk": draft.pk, "step": "basic"},
        "workshops:member_delete": {"pk": draft.pk, "member_id": member.pk},
        "workshops:project_delete": {"pk": draft.pk, "project_id": project.pk},
        "workshops:attachment_upload": app_kw,
        "workshops:attachment": {"pk": draft.pk, "attachment_id": attachment.pk},
        "workshops:attachment_delete": {"pk": draft.pk, "attachment_id": attachment.pk},
        "workshops:reveal": {"pk": draft.pk, "person_id": draft.leader_id},
        "reviews:application": {"pk": in_review.pk}, "reviews:decide": {"pk": in_review.pk},
        "reviews:panels": {"round_id": rnd.pk}, "reviews:panel": {"pk": panel.pk},
        "reviews:assign": {"pk": panel.pk}, "reviews:panel_close": {"pk": panel.pk},
        "reviews:assignment": {"pk": assignment.pk}, "reviews:recuse": {"pk": assignment.pk},
        "reviews:opinions": {"round_id": rnd.pk}, "reviews:round_decision": {"round_id": rnd.pk},
        "reviews:notices": {"round_id": rnd.pk}, "reviews:notice_manage": {"pk": notice.pk},
        "reviews:objection": {"pk": objection.pk}, "reviews:establish": {"round_id": rnd.pk},
        "public:notice": {"pk": notice.pk}, "public:objection": {"pk": notice.pk},
        "public:objection_done": {"pk": notice.pk}, "public:studio": {"pk": studio.pk},
        "workshops:application_pdf": {"pk": in_review.pk},
        "workshops:application_document": {"pk": in_review.pk, "doc": "pledge"},
        "workshops:plaque_pdf": {"pk": plaque.pk}, "reviews:establishment_pdf": {"pk": studio.pk},
        "public:notice_pdf": {"pk": notice.pk}, "public:revocation_pdf": {"pk": revoked.pk},
        "workshops:assessment_pdf": {"pk": assessment.pk},
        **{name: {"pk": studio.pk} for name in (
            "workshops:studio", "workshops:studio_plan", "workshops:studio_record", "workshops:studio_assessment",
            "workshops:studio_plaque", "workshops:studio_disbursement", "workshops:studio_revoke",
            "workshops:studio_leader_change", "workshops:studio_upgrade", "workshops:studio_state")},
        "workshops:studio_leader_decide": {"pk": studio.pk, "change_id": change.pk},
    }
    from workshops.models import ImportJob

    import_job = ImportJob.objects.create(city=hh.city, kind="units", file_name="probe.xlsx", file_size=1,
                                          sha256="0" * 64, content=b"", created_by=hh.city_staff, state="checked")
    kwargs.update({"workshops:import_template": {"kind": "units"}, "workshops:import_export": {"kind": "units"},
                   **{name: {"pk": import_job.pk} for name in (
                       "workshops:import_job", "workshops:import_progress", "workshops:import_run",
                       "workshops:import_report")}})
    from reviews.models import ExportJob

    export_job = ExportJob.objects.create(dataset="studios", title="工作室", format="csv", state="done",
                                          content=b"\xef\xbb\xbf", created_by=hh.city_staff, file_name="probe.csv")
    kwargs.update({"reviews:yearly_report": {"year": 2025}, "reviews:data": {"dataset": "studios"},
                   "reviews:export": {"dataset": "studios"},
                   **{name: {"pk": export_job.pk} for name in ("reviews:export_job", "reviews:export_download")}})
    return World(users, kwargs)


def outcome(response: Any) -> str:
    code = response.status_code
    if code in (200, 400):
        return "ok"
    if code in (301, 302):
        return "login" if "/accounts/login/" in response["Location"] else "ok"
    if code in (403, 404):
        return "deny"
    return str(code)


def probe(world: World, name: str, role: str, clients: dict[str, Client]) -> str:
    if role not in clients:
        clients[role] = Client()
        if world.users[role] is not None:
            clients[role].force_login(world.users[role])
    client = clients[role]
    url = reverse(name, kwargs=world.kwargs.get(name, {}))
    response = client.post(url, {}) if name in POST_ONLY else client.get(url)
    return outcome(response)


def test_every_url_has_a_row() -> None:
    missing = sorted(set(url_names()) - set(EXPECTED) - PUBLIC - BOUNCE)
    assert not missing, f"URLs with no row in the permission matrix: {missing}"


def test_the_permission_matrix(world: World) -> None:
    failures = []
    clients: dict[str, Client] = {}
    # POST probes last: a withdraw, a logout or a delete must not change what later probes see.
    for name in sorted(url_names(), key=lambda n: (n in POST_ONLY, n == "portal:logout")):
        for role in ROLES:
            got = probe(world, name, role, clients)
            if name in PUBLIC:
                want = "ok"
            elif name in BOUNCE:
                want = "login"
            elif role == "anonymous":
                want = "ok" if "anonymous" in EXPECTED[name] else "login"
            else:
                want = "ok" if role in EXPECTED[name] else "deny"
            if got != want:
                failures.append(f"{name:<28} {role:<14} got {got:<6} want {want}")
            if os.environ.get("MATRIX_DUMP"):
                print(f"{name:<28} {role:<14} {got}")
    assert not failures, "\n" + "\n".join(failures)
