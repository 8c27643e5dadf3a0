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
from workshops.models import ApplicationMember, ApplicationProject, Attachment, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "unit", "other_unit", "district", "other_district", "agency", "city", "other_city",
         "decision", "expert", "other_expert", "observer", "sysadmin", "secadmin", "auditadmin"]
POST_ONLY = {"portal:logout", "portal:totp_disable", "workshops:create", "workshops:member_delete",
             "workshops:project_delete", "workshops:attachment_upload", "workshops:attachment_delete",
             "workshops:reveal", "workshops:withdraw", "reviews:decide", "reviews:assign", "reviews:panel_close",
             "reviews:recuse"}
PUBLIC = {"public:home", "public:notices", "public:notice", "public:objection", "public:objection_done",
          "public:notices_json", "public:notices_csv", "public:notices_feed", "public:studios", "public:studio",
          "public:studios_json", "public:studios_csv", "portal:healthz", "portal:login"}
EVERY_USER = set(ROLES) - {"anonymous"}
# The second-factor steps and the admin's login bounce everybody to the password step unless a
# half-finished login is in the session.
BOUNCE = {"portal:login_totp", "portal:login_totp_setup", "portal:admin_login"}
BUREAU_READERS = {"city", "decision", "observer"}


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
    attachment.file.save("probe.pdf", ContentFile(PDF_BYTES))
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
    }
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
