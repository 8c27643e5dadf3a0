"""A copy of the database alone reveals no 身份证号, mobile or home address (等保2.0 三级 数据保密性;
个人信息保护法 第五十一条), yet people are still found by their ID number through the keyed hash."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import crypto
from portal.demo import fake_id_number
from portal.management.commands.rotate_pii_keys import encrypted_columns
from portal.models import Person
from reviews import notices
from tests.factories import Cast, make_application, make_round, walk
from workshops import actions, eligibility
from workshops.models import Application, Sanction, Studio
from workshops.states import AppState

pytestmark = pytest.mark.django_db

LEADER_ID = fake_id_number(date(1976, 4, 9), "F", 41, region="330302")
MEMBER_ID = fake_id_number(date(1985, 11, 30), "M", 42, region="330302")
PLAIN = {
    "leader id": LEADER_ID, "member id": MEMBER_ID, "leader mobile": "13812340001", "member mobile": "13812340002",
    "leader address": "浙江省温州市鹿城区蝉街七号", "unit phone": "13812340003", "user mobile": "13812340004",
    "objector phone": "13812340005",
}


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.REQUIRE_STAFF_TOTP = False


def fill(cast: Cast, app: Application, *, leader_id: str = LEADER_ID) -> Application:
    """Enter the leader and a member the way the unit does, by ID number."""
    actions.do_set_leader(app, actor=cast.unit, id_number=leader_id.lower(), name="林师傅",
                          mobile=PLAIN["leader mobile"], home_address=PLAIN["leader address"], skill_level=5)
    actions.do_add_member(app, actor=cast.unit, role="member", id_number=MEMBER_ID, name="周成员",
                          mobile=PLAIN["member mobile"])
    return Application.objects.get(pk=app.pk)


@pytest.fixture
def everything(cast_for: Any) -> Application:
    """The personal data goes everywhere it can: forms, revisions, reviews, reveals, downloads,
    notifications, a studio, a public notice and an objection."""
    wz = cast_for("wenzhou")
    wz.org.contact_phone = PLAIN["unit phone"]
    wz.org.save()
    wz.unit.mobile = PLAIN["user mobile"]
    wz.unit.save()
    app = fill(wz, make_application(wz))
    client = Client()
    client.force_login(wz.unit)
    client.post(reverse("workshops:reveal", args=[app.pk, app.leader_id]))
    (app,) = walk(wz, [app], until=AppState.APPROVED)
    actions.do_establish_studios(app.round, actor=wz.city_staff, doc_number="温人社发〔2026〕9号",
                                 established_on=timezone.localdate())
    hh = cast_for("hohhot")
    rnd = make_round(hh.city, quota=1)
    walk(hh, [make_application(hh, rnd)], until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=timezone.localdate() - timedelta(days=1))
    notices.do_submit_objection(notice, entry=notice.entries.first(), name="赵六", phone=PLAIN["objector phone"],
                                email="", reason="领办人不在本单位工作。", evidence=None, source_ip="10.0.0.1")
    return app


def dump() -> str:
    """Every row of every table as text: what a stolen backup would show."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            out += [" ".join(str(v) for v in row) for row in cursor.fetchall()]
    return "\n".join(out)


def test_it_leaves_no_personal_value_readable_in_a_database_dump(everything) -> None:  # noqa: ANN001
    text = dump()
    assert "林师傅" in text and "温人社发〔2026〕9号" in text  # the dump is real: plain fields are there
    leaks = {name: value for name, value in PLAIN.items() if value in text or value.lower() in text}
    assert not leaks, leaks
    assert LEADER_ID[6:14] not in text  # not even the ID's birth-date digits (birth_date is a date column)


def test_it_stores_every_encrypted_column_as_ciphertext(everything) -> None:  # noqa: ANN001
    columns = encrypted_columns()
    assert {("portal_person", "id_number"), ("portal_person", "mobile"), ("portal_person", "home_address"),
            ("portal_organization", "contact_phone"), ("portal_user", "mobile"),
            ("reviews_objection", "phone")} <= {(t, c) for t, _pk, c in columns}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, _pk, column in columns:
            cursor.execute(f"SELECT {qn(column)} FROM {qn(table)} WHERE {qn(column)} <> ''")
            for (raw,) in cursor.fetchall():
                assert raw.startswith(crypto.PREFIX), (table, column)


def test_it_still_finds_people_by_id_number(cast_for, everything) -> None:  # noqa: ANN001
    leader = Person.objects.by_id_number(LEADER_ID)
    assert list(leader) == [everything.leader] and leader.get().mobile == PLAIN["leader mobile"]
    # One person, one row: entering the same ID on a second application finds the same person.
    wz = cast_for("wenzhou")
    second = fill(wz, make_application(wz, everything.round, complete=False))
    assert second.leader_id == everything.leader_id and Person.objects.count() == len(set(
        Person.objects.values_list("id_hash", flat=True)))
    # "One studio per leader": the studios a person leads, found from an ID number alone.
    assert Studio.objects.filter(leader__id_hash=crypto.blind_index(LEADER_ID)).count() == 1
    # Sanction bans by person follow the person whichever unit enters the ID.
    today = timezone.localdate()
    Sanction.objects.create(person=everything.leader, reason="弄虚作假", article="第十七条", starts_on=today,
                            ends_on=today + timedelta(days=3 * 365))
    problems = eligibility.eligibility(second, today)
    assert any("弄虚作假" in str(p) for p in problems)
