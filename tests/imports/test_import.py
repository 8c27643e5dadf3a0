"""Importing: a good file lands (states, policy versions, people, plaques, revocations, audit rows) and shows
in the directory and the dashboards; a second import of the same file changes nothing; a file with errors
imports nothing unless the clerk picks the good rows; the templates round-trip through an export."""
from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from portal.models import AuditEvent, Organization, Person
from portal.policies import vocab
from reviews import dashboards
from tests.factories import make_org, make_person
from tests.imports.builders import member_row, problems, studio_row, unit_row, workbook
from workshops import imports
from workshops.models import (
    Assessment,
    Disbursement,
    ImportJob,
    Plaque,
    Revocation,
    Sanction,
    Studio,
    StudioMember,
)
from workshops.states import StudioState

pytestmark = pytest.mark.django_db
UNITS, STUDIOS, ASSESSMENTS, PAYMENTS = (ImportJob.Kind.UNITS, ImportJob.Kind.STUDIOS, ImportJob.Kind.ASSESSMENTS,
                                         ImportJob.Kind.PAYMENTS)


@pytest.fixture
def wz(cast_for: Any) -> Any:
    return cast_for("wenzhou")


def wenzhou_files(wz: Any) -> dict[str, bytes]:
    """温州: three units, four studios (one from 2012, one revoked for fraud, one with a plaque), members."""
    units = [unit_row(wz.city) for _ in range(3)]
    studios = [
        studio_row(wz.city, units[0]["uscc"], established_on=date(2012, 11, 20), state="运行中",
                   plaque_number="WZ-2013-0001", plaque_issued_on=date(2013, 6, 1)),
        studio_row(wz.city, units[1]["uscc"], state="已设立（建设中）"),
        studio_row(wz.city, units[2]["uscc"], established_on=date(2014, 5, 1), state="已撤销",
                   plaque_number="WZ-2014-0002", revoked_on=date(2019, 3, 1),
                   revocation_ground="在工作中弄虚作假，经限期整改后仍达不到合格标准的", revocation_notice="通报全市"),
        studio_row(wz.city, units[0]["uscc"], name="第二个工作室", state="运行中"),
    ]
    members = [member_row(wz.city, studios[0]), member_row(wz.city, studios[0], role="助手"),
               member_row(wz.city, studios[1])]
    # The first studio's member also works in the second studio of the same unit.
    members.append(member_row(wz.city, studios[3], id_number=members[0]["id_number"], name=members[0]["name"]))
    return {"units": workbook(wz.city, UNITS, units),
            "studios": workbook(wz.city, STUDIOS, {"工作室": studios, "成员": members}),
            "studio_rows": studios, "members": members}  # type: ignore[dict-item]


def test_it_imports_a_good_file_with_states_people_plaques_and_revocations(wz: Any, run_file: Any) -> None:
    files = wenzhou_files(wz)
    units = run_file(wz.city_staff, UNITS, files["units"], name="温州单位.xlsx")
    assert units.state == ImportJob.State.DONE and units.result["units_created"] == 3
    job = run_file(wz.city_staff, STUDIOS, files["studios"], name="温州工作室.xlsx")
    assert job.state == ImportJob.State.DONE, job.message
    assert job.result == {"studios_created": 4, "members_created": 4, "people_created": 7, "people_updated": 0,
                          "plaques_created": 2, "revocations_created": 1, "sanctions_created": 0,
                          "skipped_existing": 0, "skipped_errors": 0}
    rows = files["studio_rows"]
    first = Studio.objects.get(name=rows[0]["name"])
    assert first.state == StudioState.OPERATING and first.policy_version == "1"
    assert first.established_on == date(2012, 11, 20) and first.district_id == first.organization.district_id
    assert first.leader.organization_id == first.organization_id and first.leader.skill_level == 5
    assert first.leader.masked_id_number != rows[0]["leader_id"]  # stored encrypted, found by its blind index
    assert Person.objects.by_id_number(rows[0]["leader_id"]).get() == first.leader
    plaque = first.plaques.get()
    assert (plaque.number, plaque.issued_on, plaque.issuing_body) == ("WZ-2013-0001", date(2013, 6, 1),
                                                                      first.policy.plaque.issued_by)
    assert Studio.objects.get(name=rows[1]["name"]).state == StudioState.ESTABLISHED
    revoked = Studio.objects.get(name=rows[2]["name"])
    assert revoked.state == StudioState.REVOKED
    revocation = Revocation.objects.get(studio=revoked)
    assert (revocation.ground, revocation.decided_on, revocation.notice_text) == (
        "fraud_after_rectification", date(2019, 3, 1), "通报全市")
    assert revoked.plaques.get().withdrawn_on == date(2019, 3, 1)
    shared = Person.objects.by_id_number(files["members"][0]["id_number"]).get()
    assert StudioMember.objects.filter(person=shared).count() == 2
    assert StudioMember.objects.get(person=Person.objects.by_id_number(files["members"][1]["id_number"]).get()
                                    ).role == "assistant"
    # The audit row: imported, by whom, from which file, in the state the data gave.
    event = AuditEvent.objects.for_object(revoked).get()
    assert (event.action, event.actor_username, event.to_state) == ("studio.import", wz.city_staff.username,
                                                                   "revoked")
    assert event.reason == "从文件“温州工作室.xlsx”导入" and event.data["file"] == "温州工作室.xlsx"
    assert event.data["job"] == job.pk and event.data["row"] == 4 and event.data["sha256"] == job.sha256
    assert AuditEvent.objects.filter(action="import.done", object_id=str(job.pk)).exists()


def test_imported_studios_appear_in_the_directory_the_studio_list_and_the_dashboard(wz: Any, run_file: Any,
                                                                                     client: Any) -> None:
    scope = dashboards.city_scope(wz.city)
    assert dashboards.studio_counts(scope).total == 0  # cached now: the import must move it on
    client.get("/studios/")  # an anonymous visitor caches the public page
    files = wenzhou_files(wz)
    run_file(wz.city_staff, UNITS, files["units"])
    run_file(wz.city_staff, STUDIOS, files["studios"])
    counts = dashboards.studio_counts(scope)
    assert counts.total == 4 and {t.key: t.n for t in counts.by_state} == {"operating": 2, "established": 1,
                                                                           "revoked": 1}
    page = client.get("/studios/", {"city": "wenzhou"}).content.decode()
    for row in files["studio_rows"]:
        assert row["name"] in page
    data = client.get("/studios.json", {"city": "wenzhou"}).json()
    assert {r["name"] for r in data["results"]} >= {r["name"] for r in files["studio_rows"]}
    client.force_login(wz.city_staff)
    staff_page = client.get("/applications/studios/").content.decode()
    assert files["studio_rows"][0]["name"] in staff_page
    assert client.get("/reviews/dashboard/").status_code == 200


def test_it_imports_the_same_file_twice_without_duplicates(wz: Any, run_file: Any) -> None:
    files = wenzhou_files(wz)
    run_file(wz.city_staff, UNITS, files["units"])
    run_file(wz.city_staff, STUDIOS, files["studios"])
    counts = (Organization.objects.count(), Person.objects.count(), Studio.objects.count(),
              StudioMember.objects.count(), Plaque.objects.count(), Revocation.objects.count(),
              AuditEvent.objects.filter(action__endswith=".import").count())
    for kind in (UNITS, STUDIOS):
        again = run_file(wz.city_staff, kind, files[kind], mode=None)
        assert again.state == ImportJob.State.CHECKED and again.error_rows == 0
        assert again.report["ready"] == 0 and all(s["same"] == s["total"] for s in again.report["sheets"])
        with pytest.raises(imports.ValidationError, match="没有可导入的行"):
            imports.do_start_import(again, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    assert counts == (Organization.objects.count(), Person.objects.count(), Studio.objects.count(),
                      StudioMember.objects.count(), Plaque.objects.count(), Revocation.objects.count(),
                      AuditEvent.objects.filter(action__endswith=".import").count())


def test_it_imports_nothing_from_a_file_with_errors_unless_told_to_take_the_good_rows(wz: Any, run_file: Any
                                                                                      ) -> None:
    good, bad = unit_row(wz.city), unit_row(wz.city, district="朝阳区")
    job = run_file(wz.city_staff, UNITS, workbook(wz.city, UNITS, [good, bad]), mode=None)
    assert (job.total_rows, job.error_rows, job.report["ready"]) == (2, 1, 1)
    names = "、".join(d.name for d in wz.city.districts.order_by("code"))
    assert job.report["problems"] == [{"sheet": "依托单位", "row": 3, "column": "所在县区/镇街",
                                       "message": f"“朝阳区”不是可选值，应为：{names}。"}]
    with pytest.raises(imports.ValidationError, match="仅导入无误的行"):
        imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    assert not Organization.objects.filter(uscc__in=[good["uscc"], bad["uscc"]]).exists()
    imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.GOOD)
    imports.run_job(job.pk)  # the task (on_commit is not run outside the capture)
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.result["units_created"] == 1 and job.result["skipped_errors"] == 1
    assert Organization.objects.filter(uscc=good["uscc"]).exists()
    # The corrected file: the good row is already there, the fixed one is added.
    fixed = run_file(wz.city_staff, UNITS, workbook(wz.city, UNITS, [good, dict(bad, district="龙湾区")]))
    assert fixed.result == {"units_created": 1, "units_updated": 0, "skipped_existing": 1, "skipped_errors": 0}


def test_it_checks_again_before_writing_and_writes_nothing_if_the_data_changed(wz: Any, run_file: Any,
                                                                                 cast_for: Any) -> None:
    row = unit_row(wz.city)
    job = run_file(wz.city_staff, UNITS, workbook(wz.city, UNITS, [row, unit_row(wz.city)]), mode=None)
    assert job.report["ready"] == 2
    zz = cast_for("zhengzhou")
    Organization.objects.create(  # registered meanwhile, in another city
        name="郑州抢先登记", uscc=row["uscc"], kind="enterprise", city=zz.city, district=zz.city.districts.first())
    imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    assert imports.run_job(job.pk) == "rechecked"
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKED and job.error_rows == 1 and "未写入任何数据" in job.message
    assert Organization.objects.filter(city=wz.city, name__startswith=wz.city.name + "导入单位").count() == 0


def test_a_failed_import_writes_nothing_and_says_so(wz: Any, run_file: Any, monkeypatch: Any) -> None:
    files = wenzhou_files(wz)
    run_file(wz.city_staff, UNITS, files["units"])
    job = run_file(wz.city_staff, STUDIOS, files["studios"], mode=None)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(StudioMember.objects, "bulk_create", boom)
    imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    assert imports.run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and "已全部撤销" in job.message
    assert not Studio.objects.filter(city=wz.city).exists()
    assert not AuditEvent.objects.filter(action="studio.import").exists()
    assert imports.run_job(job.pk) == "skipped"  # a second delivery of the task does nothing


def test_running_the_task_twice_imports_once(wz: Any, run_file: Any) -> None:
    job = run_file(wz.city_staff, UNITS, workbook(wz.city, UNITS, [unit_row(wz.city)]), mode=None)
    imports.do_start_import(job, actor=wz.city_staff, mode=ImportJob.Mode.ALL)
    assert imports.run_job(job.pk) == "done"
    assert imports.run_job(job.pk) == "skipped"
    assert imports.check_job(job.pk) == "skipped"
    assert Organization.objects.filter(city=wz.city).count() == 4  # the cast's three, and the one imported


def test_it_updates_a_known_unit_and_person_but_never_erases(wz: Any, run_file: Any) -> None:
    org = make_org(wz.city, address="旧地址", contact_name="老联系人")
    row = unit_row(wz.city, uscc=org.uscc, name=org.name, district=org.district.name, address="新地址",
                   contact_name="", legal_representative="", contact_phone="", training_site_area=None)
    job = run_file(wz.city_staff, UNITS, workbook(wz.city, UNITS, [row]))
    assert job.result["units_updated"] == 1
    org.refresh_from_db()
    assert (org.address, org.contact_name) == ("新地址", "老联系人")
    event = AuditEvent.objects.for_object(org).get(action="organization.import_update")
    assert event.data["fields"] == ["address"]
    # A person known without a unit is attached to the studio's unit; their new mobile number is kept.
    loose = make_person(name="孙师傅", mobile="13900000000", skill_level=5)
    studio = studio_row(wz.city, org.uscc, leader_id=loose.id_number, leader_name="孙师傅",
                        leader_mobile="13911112222")
    job = run_file(wz.city_staff, STUDIOS, workbook(wz.city, STUDIOS, {"工作室": [studio]}))
    assert job.result["people_updated"] == 1 and job.result["people_created"] == 0
    loose.refresh_from_db()
    assert (loose.organization_id, loose.mobile, loose.skill_level) == (org.pk, "13911112222", 5)


def test_a_fraud_revocation_brings_its_ban(cast_for: Any, run_file: Any) -> None:
    """郑州 第十七条: 弄虚作假 → 所在单位和负责人三年内不得参与申报 (actions.revocation_sanctions)."""
    zz = cast_for("zhengzhou")
    unit = unit_row(zz.city)
    run_file(zz.city_staff, UNITS, workbook(zz.city, UNITS, [unit]))
    row = studio_row(zz.city, unit["uscc"], category="传统工艺类", established_on=date(2020, 3, 1), state="已撤销",
                     revoked_on=date(2024, 6, 1), revocation_ground="false_materials")
    job = run_file(zz.city_staff, STUDIOS, workbook(zz.city, STUDIOS, {"工作室": [row]}))
    assert job.result["sanctions_created"] == 2
    org = Organization.objects.get(uscc=unit["uscc"])
    assert Sanction.objects.get(organization=org).ends_on == date(2027, 6, 1)
    assert Sanction.objects.filter(person=Person.objects.by_id_number(row["leader_id"]).get()).exists()


def test_it_imports_assessments_and_payments_in_order(cast_for: Any, run_file: Any) -> None:
    """郑州: annual assessments (joint with finance and education), then the yearly fund they earn."""
    zz = cast_for("zhengzhou")
    unit = unit_row(zz.city)
    run_file(zz.city_staff, UNITS, workbook(zz.city, UNITS, [unit]))
    studio = studio_row(zz.city, unit["uscc"], category="现代技术类", established_on=date(2019, 3, 1), state="验收合格")
    run_file(zz.city_staff, STUDIOS, workbook(zz.city, STUDIOS, {"工作室": [studio]}))
    key = {"org_uscc": unit["uscc"], "leader_id": studio["leader_id"]}
    assessments = [{**key, "kind": "年度考核", "period": y, "conducted_on": date(y, 12, 10), "passed": "合格",
                    "joint_with": "财政部门、教育部门"} for y in (2019, 2020)]
    assessments.append({**key, "kind": "终期（期满）验收", "period": 2021, "conducted_on": date(2021, 12, 1),
                        "passed": "合格"})
    job = run_file(zz.city_staff, ASSESSMENTS, workbook(zz.city, ASSESSMENTS, assessments))
    assert job.result["assessments_created"] == 3
    saved = Studio.objects.get(name=studio["name"])
    assert saved.state == StudioState.ACCEPTED  # the state is the studio file's; assessments change no state
    assert list(Assessment.objects.filter(studio=saved, kind="annual").values_list("joint_with", flat=True)) == [
        ["education", "finance"]] * 2
    payments = [{**key, "subsidy": "一次性建设奖补资金", "amount": 150000, "paid_on": date(2019, 6, 1)},
                {**key, "subsidy": "work_fund", "amount": "20,000", "paid_on": date(2020, 1, 10)},
                {**key, "subsidy": "工作经费补贴", "amount": 20000, "paid_on": date(2021, 1, 10)}]
    payments = [dict(p, basis="郑人社〔2019〕1号", approver="李处长") for p in payments]
    job = run_file(zz.city_staff, PAYMENTS, workbook(zz.city, PAYMENTS, payments))
    assert job.state == ImportJob.State.DONE and job.result["payments_created"] == 3
    assert sum(d.amount for d in Disbursement.objects.filter(studio=saved)) == 190000
    assert AuditEvent.objects.filter(action="money.import").count() == 3
    again = run_file(zz.city_staff, PAYMENTS, workbook(zz.city, PAYMENTS, payments), mode=None)
    assert again.report["ready"] == 0 and again.error_rows == 0  # the same payments, not a second round of them


def cells(content: bytes, sheet: str) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(content), read_only=True)[sheet]
    return [tuple(r) for r in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in r)]


def test_the_templates_round_trip_through_an_export(wz: Any, run_file: Any) -> None:
    files = wenzhou_files(wz)
    run_file(wz.city_staff, UNITS, files["units"])
    run_file(wz.city_staff, STUDIOS, files["studios"])
    studio = Studio.objects.get(name=files["studio_rows"][0]["name"])
    table = studio.policy.assessment.scoring
    scores = {f"score:{i.code}": i.points - 1 for s in table.sections for i in s.items}
    assessment = {"org_uscc": studio.organization.uscc, "leader_id": studio.leader.id_number,
                  "kind": "两年一次绩效评估", "period": 2016, "conducted_on": date(2016, 12, 20), **scores,
                  "bonus": 4, "opinion": "良好"}
    run_file(wz.city_staff, ASSESSMENTS, workbook(wz.city, ASSESSMENTS, [assessment]))
    payment = {"org_uscc": studio.organization.uscc, "leader_id": studio.leader.id_number,
               "subsidy": "一次性建设补助经费", "amount": 30000, "paid_on": date(2013, 7, 1),
               "basis": "温人社发〔2013〕9号", "approver": "王局长", "recipient_id": studio.leader.id_number}
    run_file(wz.city_staff, PAYMENTS, workbook(wz.city, PAYMENTS, [payment]))
    before = AuditEvent.objects.count()
    for kind in (UNITS, STUDIOS, ASSESSMENTS, PAYMENTS):
        exported = imports.do_export(wz.city, actor=wz.city_staff, kind=kind)
        event = AuditEvent.objects.filter(action="import.export").latest("id")
        assert event.data["kind"] == kind and event.actor_username == wz.city_staff.username
        again = run_file(wz.city_staff, kind, exported, mode=None)
        assert again.error_rows == 0 and again.report["ready"] == 0, problems(
            imports.check_content(imports.Context(wz.city), kind, exported))
        assert all(s["same"] == s["total"] for s in again.report["sheets"]), again.report
    assert AuditEvent.objects.count() == before + 8  # an export and an upload each; nothing imported
    # What was imported comes back as it was written.
    exported = imports.do_export(wz.city, actor=wz.city_staff, kind=STUDIOS)
    back = {r[0]: r for r in cells(exported, "工作室")}
    original = files["studio_rows"][2]
    row = back[original["name"]]
    spec = imports.sheets_for(STUDIOS, imports.Context(wz.city))[0]
    got = {c.key: v for c, v in zip(spec.cols, row, strict=False)}
    assert got["leader_id"] == original["leader_id"] and got["state"] == "已撤销"
    assert got["revocation_ground"] == original["revocation_ground"] and got["plaque_number"] == "WZ-2014-0002"
    assert got["established_on"].date() == date(2014, 5, 1) and got["leader_level"] == "高级技师（一级）"
    assert len(cells(exported, "成员")) == 4
    units = {r[1]: r for r in cells(imports.do_export(wz.city, actor=wz.city_staff, kind=UNITS), "依托单位")}
    assert len(units) == 6  # the cast's three units and the three imported
    assessment_rows = cells(imports.do_export(wz.city, actor=wz.city_staff, kind=ASSESSMENTS), "考核")
    assert assessment_rows[0][3:7] == ("两年一次绩效评估", 2016, assessment_rows[0][5], "合格")


def test_members_and_joint_departments_are_labelled_in_chinese(wz: Any) -> None:
    assert imports.DEPARTMENTS.get("财政部门") == "finance" and imports.DEPARTMENTS.get("教育") == "education"
    assert imports.SKILL_LEVELS.get("二级") == 4 and imports.SKILL_LEVELS.get("technician") == 4
    assert imports.SKILL_LEVELS.get("4") == 4 and imports.STUDIO_STATES.get("建设中") == "established"
    assert imports.MEMBER_ROLES.get("助手") == "assistant"
    assert str(vocab.DEPARTMENTS["finance"]) == "财政部门"


def test_a_person_registered_with_another_unit_is_refused_at_import_time_too(wz: Any, run_file: Any) -> None:
    theirs = make_person(organization=wz.other_org, name="周师傅", mobile="13700000000")
    member = {"org_uscc": wz.org.uscc, "name": "周师傅", "id_number": theirs.id_number}
    studio = studio_row(wz.city, wz.org.uscc)
    member.update({"leader_id": studio["leader_id"]})
    job = run_file(wz.city_staff, STUDIOS, workbook(wz.city, STUDIOS, {"工作室": [studio], "成员": [member]}),
                   mode=ImportJob.Mode.GOOD)
    assert job.result["studios_created"] == 1 and job.result["members_created"] == 0
    theirs.refresh_from_db()
    assert (theirs.organization_id, theirs.mobile) == (wz.other_org.pk, "13700000000")


def test_the_audit_chain_holds_across_batched_import_rows(wz: Any, run_file: Any) -> None:
    """Import rows are appended in batches (audit.record_many) but chained exactly like single rows."""
    from portal import audit

    files = wenzhou_files(wz)
    audit.record(wz.city_staff, "test.before", wz.org)
    run_file(wz.city_staff, UNITS, files["units"])
    run_file(wz.city_staff, STUDIOS, files["studios"])
    audit.record(wz.city_staff, "test.after", wz.org)
    report = audit.verify_chain()
    assert report.ok, report.problem
    imported = list(AuditEvent.objects.filter(action="studio.import").order_by("id"))
    assert [e.data["row"] for e in imported] == [2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(imported, imported[1:], strict=False))


def test_a_studio_already_in_the_portal_is_left_as_it_is_and_the_report_says_so(wz: Any, run_file: Any) -> None:
    files = wenzhou_files(wz)
    run_file(wz.city_staff, UNITS, files["units"])
    run_file(wz.city_staff, STUDIOS, files["studios"])
    changed = [dict(files["studio_rows"][1], state="运行中")]
    job = run_file(wz.city_staff, STUDIOS, workbook(wz.city, STUDIOS, {"工作室": changed}), mode=None)
    assert job.report["sheets"][0]["same"] == 1
    assert job.report["notes"] == ["已在平台中的工作室不因导入而改变；状态等变化请在工作室页面办理（1 行）"]
    assert Studio.objects.get(name=changed[0]["name"]).state == StudioState.ESTABLISHED


def test_the_protected_state_can_be_given_only_when_the_studio_is_made(wz: Any) -> None:
    """django_fsm's FSMFieldDescriptor refuses a second __set__ of a protected field: Model.__init__ sets it
    once (the import's way in), any later assignment (and so full_clean's re-assignment) raises."""
    studio = Studio(city=wz.city, state=StudioState.REVOKED)
    assert studio.state == StudioState.REVOKED
    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        studio.state = StudioState.OPERATING
    with pytest.raises(AttributeError):
        Studio(city=wz.city, state=StudioState.ACCEPTED).clean_fields(exclude=["city", "district", "organization",
                                                                                "leader", "application"])
