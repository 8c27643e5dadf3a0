"""The daily sweep: who is reminded of what, when, and only once."""
from __future__ import annotations

import smtplib
from datetime import date, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import reminders
from portal.calendar import due_date_for_fixed_day
from portal.models import Notification
from portal.policies import get_policy_version
from portal.reminders import sweep
from portal.roles import Role
from reviews import actions as review_actions
from reviews import notices
from tests.factories import make_application, make_org, make_round, make_user, unit_user_of, walk
from tests.reminders.conftest import inbox, keys
from workshops import actions
from workshops.models import Application
from workshops.states import AppState, StudioState

pytestmark = pytest.mark.django_db


def with_email(*users: Any) -> None:
    for user in users:
        user.email = f"{user.username}@example.gov.cn"
        user.save(update_fields=["email"])


# --- annual plan: offsets, catch-up, overdue, escalation ---------------------------------------------

def test_it_reminds_the_unit_30_7_and_1_days_before_and_once_overdue(zz, make_studio) -> None:  # noqa: ANN001
    studio = make_studio(zz, date(2024, 3, 1))
    for on in (date(2025, 12, 21), date(2026, 1, 13), date(2026, 1, 19), date(2026, 1, 21)):
        sweep(on)
    assert keys(zz.unit) == [f"reminder.plan_filing:{studio.pk}:2026-01-20:{o}" for o in ("30", "7", "1", "overdue")]
    first, *_rest, overdue = inbox(zz.unit)
    assert first.kind == "reminder.plan_filing"
    assert first.subject == f"提醒：{studio.name} 2026年度工作计划应于 2026-01-20 前报送"
    assert "第九条(六)" in first.body and "郑州市高技能人才公共实训管理服务机构" in first.body
    assert first.url == f"/studios/{studio.pk}/"
    assert overdue.subject == f"逾期：{studio.name} 2026年度工作计划未在 2026-01-20 前报送"


def test_it_sends_each_reminder_once_however_often_it_runs(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    with_email(zz.unit)
    for _ in range(3):
        sweep(date(2025, 12, 21))
    assert len(inbox(zz.unit)) == 1
    assert len([m for m in mail.outbox if m.to == [zz.unit.email]]) == 1
    assert inbox(zz.unit)[0].emailed_at is not None


def test_a_day_the_sweep_missed_is_caught_up_once(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    sweep(date(2026, 1, 15))  # the 7-day reminder was due on the 13th
    sweep(date(2026, 1, 16))
    assert [k.rsplit(":", 1)[1] for k in keys(zz.unit)] == ["7"]


def test_overdue_plans_escalate_to_the_formal_reviewer_once_per_supervisor(cast_for, make_studio) -> None:  # noqa: ANN001
    # 温州 formal review is at district level: the district's reviewers are told, in one summary.
    wz = cast_for("wenzhou")
    make_studio(wz, date(2023, 5, 1))
    make_studio(wz, date(2023, 6, 1), org=make_org(wz.city, wz.org.district))
    sweep(date(2026, 2, 3))  # due 2026-01-31 (Sat) → Mon 02-02
    sweep(date(2026, 2, 4))
    (summary,) = inbox(wz.district)
    assert summary.kind == "reminder.plan_filing.escalated"
    assert summary.subject == "督办：温州市有 2 项“2026年度工作计划报送”已逾期（期限 2026-02-02）"
    assert inbox(wz.other_district) == []  # the studios are not in their district
    assert inbox(wz.city_staff) == []


@pytest.mark.parametrize(("code", "supervisor"), [("zhengzhou", "agency"), ("pingdingshan", "city_staff"),
                                                  ("hohhot", "city_staff")])
def test_the_supervisor_follows_the_policys_formal_review_level(cast_for, make_studio, code: str,  # noqa: ANN001
                                                                supervisor: str) -> None:
    cast = cast_for(code)
    make_studio(cast, date(2023, 5, 1))
    raw = get_policy_version(code, "1").plan_deadline(2026)
    sweep(due_date_for_fixed_day(raw.year, raw.month, raw.day) + timedelta(days=1))
    assert [n.kind for n in inbox(getattr(cast, supervisor))
            if n.kind.startswith("reminder.plan_filing")] == ["reminder.plan_filing.escalated"]
    assert not [n for n in inbox(cast.district) if n.kind.startswith("reminder.plan_filing")]


def test_it_tells_the_unit_when_a_holiday_moved_the_date(cast_for, make_studio) -> None:  # noqa: ANN001
    # 平顶山 4-30 fell on 劳动节 in 2022: due 2022-05-05, reminded the day before (itself a holiday).
    pds = cast_for("pingdingshan")
    make_studio(pds, date(2020, 3, 1))
    sweep(date(2022, 5, 4))
    (message,) = [n for n in inbox(pds.unit) if n.kind == "reminder.plan_filing"]
    assert message.dedupe_key.endswith(":2022-05-05:1")
    assert "原定 2022-04-30 为休息日" in message.body


def test_only_studios_that_owe_a_plan_are_reminded(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1), state=StudioState.REVOKED)  # terminal
    make_studio(zz, date(2026, 2, 1))  # set up after the due date
    make_studio(zz, date(2024, 3, 1), org=zz.other_org)  # another unit's studio
    sweep(date(2025, 12, 21))
    assert [n for n in inbox(zz.unit) if n.kind == "reminder.plan_filing"] == []
    assert len([n for n in inbox(zz.other_unit) if n.kind == "reminder.plan_filing"]) == 1


def test_the_agency_is_reminded_to_aggregate_and_city_staff_when_it_is_late(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    sweep(date(2026, 2, 3))  # 郑州 第十一条(五): 2-10 → the 7-day reminder
    sweep(date(2026, 2, 11))
    agency = [n for n in inbox(zz.agency) if n.kind == "reminder.plan_aggregation"]
    assert [n.dedupe_key for n in agency] == [f"reminder.plan_aggregation:{zz.city.pk}:2026-02-10:{o}"
                                              for o in ("7", "overdue")]
    assert [n.kind for n in inbox(zz.city_staff)].count("reminder.plan_aggregation.escalated") == 1


# --- assessments ------------------------------------------------------------------------------------

def test_the_biennial_evaluation_reminds_only_studios_in_their_evaluation_year(cast_for, make_studio) -> None:  # noqa: ANN001
    # 温州 第七条(二) 每两年: a studio set up in 2023 is evaluated in 2025, one set up in 2024 in 2026.
    wz = cast_for("wenzhou")
    due_2025 = make_studio(wz, date(2023, 4, 1))
    make_studio(wz, date(2024, 4, 1), org=wz.other_org)
    sweep(date(2025, 12, 8))
    assert [n.dedupe_key for n in inbox(wz.unit) if n.kind == "reminder.assessment"] == [
        f"reminder.assessment:{due_2025.pk}:2025-12-15:7"]
    assert [n for n in inbox(wz.other_unit) if n.kind == "reminder.assessment"] == []
    (staff,) = [n for n in inbox(wz.city_staff) if n.kind == "reminder.assessment_staff"]
    assert "绩效评估（每2年一次）" in staff.subject


def test_zhengzhous_yearly_assessment_also_reminds_the_agency_that_evaluates(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    sweep(date(2026, 12, 14))  # 2026-12-15 is a Tuesday
    assert [n.kind for n in inbox(zz.unit)].count("reminder.assessment") == 1
    for user in (zz.city_staff, zz.agency):
        assert [n.kind for n in inbox(user)].count("reminder.assessment_staff") == 1


# --- 东莞's milestones -------------------------------------------------------------------------------

def test_dongguans_milestones_are_counted_from_establishment(cast_for, make_studio) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    setup = make_studio(dg, date(2025, 6, 15))  # setup due 2025-12-15 (第十四条)
    evaluated = make_studio(dg, date(2023, 12, 15), org=dg.other_org)  # evaluation due 2025-12-15 (24 months)
    sweep(date(2025, 12, 14))
    assert [n.dedupe_key for n in inbox(dg.unit)] == [f"reminder.milestone.setup:{setup.pk}:2025-12-15:1"]
    # The third-party evaluation is commissioned by the bureau (第十七条): city staff act, not the unit.
    assert [n.dedupe_key for n in inbox(dg.city_staff)] == [
        f"reminder.milestone.third_party_evaluation:{evaluated.pk}:2025-12-15:1"]
    assert inbox(dg.other_unit) == []


def test_the_end_of_dongguans_cycle_reminds_the_studio_and_the_bureau(cast_for, make_studio) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    studio = make_studio(dg, date(2022, 8, 31))  # 36 months → 2025-08-31 (Sun) → Mon 2025-09-01
    sweep(date(2025, 8, 2))
    key = f"reminder.milestone.final:{studio.pk}:2025-09-01:30"
    assert keys(dg.unit) == [key] and keys(dg.city_staff) == [key]
    sweep(date(2025, 9, 2))  # overdue: the unit's district reviewer (东莞 镇街 formal review) is told
    assert [n.kind for n in inbox(dg.district)] == ["reminder.milestone.escalated"]


def test_an_accepted_studio_gets_no_milestone_reminders(cast_for, make_studio) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    make_studio(dg, date(2025, 6, 15), state=StudioState.ACCEPTED)
    sweep(date(2025, 12, 14))
    assert inbox(dg.unit) == []


# --- review stages, expert scoring, opinions, notices -----------------------------------------------

def submitted(cast: Any, on: date) -> Application:
    app = make_application(cast, make_round(cast.city, on=on))
    return actions.do_submit_application(app, actor=unit_user_of(app.organization), on=on)


def test_a_formal_review_due_date_reminds_the_district_reviewer_and_escalates_to_the_city(cast_for) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    app = submitted(wz, date(2026, 3, 2))
    assert app.state == AppState.FORMAL_REVIEW
    Application.objects.filter(pk=app.pk).update(stage_due_on=date(2026, 3, 16))
    sweep(date(2026, 3, 9))
    sweep(date(2026, 3, 17))
    assert [k.rsplit(":", 1)[1] for k in keys(wz.district) if k.startswith("reminder.stage.")] == ["7", "overdue"]
    (message,) = [n for n in inbox(wz.district) if n.dedupe_key.endswith(":7")]
    assert message.subject == f"待办提醒：{app.studio_name}（形式审查中）应于 2026-03-16 前办理"
    assert message.url == f"/reviews/applications/{app.pk}/" or message.url.endswith(f"/{app.pk}/")
    assert [n.kind for n in inbox(wz.city_staff)].count("reminder.stage.escalated") == 1
    assert not [n for n in inbox(wz.other_district) if n.kind.startswith("reminder.")]


def test_an_expert_who_has_not_scored_is_reminded_and_city_staff_told_when_late(cast_for) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    rnd = make_round(hh.city, on=date(2026, 3, 2))
    (app,) = walk(hh, [make_application(hh, rnd)], until=AppState.EXPERT_REVIEW, on=date(2026, 3, 2))
    panel = review_actions.do_create_panel(rnd, actor=hh.city_staff, name="专家组", due_on=date(2026, 4, 1))
    assignment = review_actions.do_assign_expert(panel, app, hh.expert, actor=hh.city_staff)
    other = make_user(Role.EXPERT, hh.city)
    done = review_actions.do_assign_expert(panel, app, other, actor=hh.city_staff)
    full_marks = {c.code: c.weight for c in app.policy.expert_rubric.criteria}
    review_actions.do_submit_scores(done, actor=other, scores=full_marks)
    sweep(date(2026, 3, 31))
    sweep(date(2026, 4, 2))
    assert [k for k in keys(hh.expert) if k.startswith("reminder.")] == [
        f"reminder.scoring:{assignment.pk}:2026-04-01:1", f"reminder.scoring:{assignment.pk}:2026-04-01:overdue"]
    assert not [n for n in inbox(other) if n.kind.startswith("reminder.")]
    assert [n.kind for n in inbox(hh.city_staff)].count("reminder.scoring.escalated") == 1


def test_an_unanswered_opinion_request_reminds_city_staff(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    rnd = make_round(dg.city, on=date(2025, 6, 1))
    req = review_actions.do_record_opinion(rnd, actor=dg.city_staff, department="东莞市财政局", response="",
                                           due_on=date(2025, 6, 20))
    review_actions.do_record_opinion(rnd, actor=dg.city_staff, department="东莞市教育局", response="无意见",
                                     due_on=date(2025, 6, 20))
    sweep(date(2025, 6, 19))
    (message,) = [n for n in inbox(dg.city_staff) if n.kind == "reminder.opinion"]
    assert message.dedupe_key == f"reminder.opinion:{req.pk}:2025-06-20:1"
    assert message.subject == "征求意见提醒：东莞市财政局的反馈期限为 2025-06-20"
    assert message.url.endswith(f"/{rnd.pk}/opinions/") or str(rnd.pk) in message.url


def test_the_sweep_closes_ended_notices_and_chases_ones_held_open_by_an_objection(cast_for) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    rnd = make_round(hh.city, on=date(2026, 3, 2))
    apps = [make_application(hh, rnd, org=make_org(hh.city, hh.org.district)) for _ in range(2)]
    walk(hh, apps, until=AppState.READY_FOR_NOTICE, on=date(2026, 3, 2))
    first = notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=date(2026, 3, 9), applications=apps[:1])
    second = notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=date(2026, 3, 9), applications=apps[1:])
    assert first.ends_on == date(2026, 3, 13)
    notices.do_submit_objection(second, entry=second.entries.get(), name="某", phone="13800001111", email="",
                                reason="异议事由详细说明", evidence=None, source_ip="10.1.1.1", on=date(2026, 3, 10))
    sweep(date(2026, 3, 12))  # the day before the end: both announced
    report = sweep(date(2026, 3, 16))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.closed_at is not None and second.closed_at is None
    assert any(f"#{first.pk}" in line for line in report.closed)
    staff = [n.dedupe_key for n in inbox(hh.city_staff) if n.kind == "reminder.notice"]
    assert staff == [f"reminder.notice:{first.pk}:2026-03-13:1", f"reminder.notice:{second.pk}:2026-03-13:1",
                     f"reminder.notice:{second.pk}:2026-03-13:overdue"]


# --- robustness -------------------------------------------------------------------------------------

def test_a_year_without_holiday_data_is_reported_and_the_rest_still_sent(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    report = sweep(date(2026, 12, 21))  # the 2027 plan (01-20) needs 2027's calendar, which is missing
    assert any("2027" in p.message for p in report.problems)
    assert [n.kind for n in inbox(zz.city_staff)] == ["reminder.assessment_staff"]  # 2026-12-15 overdue


def test_a_sweep_that_died_halfway_is_completed_by_the_next_without_duplicates(zz, make_studio,  # noqa: ANN001
                                                                              monkeypatch) -> None:
    make_studio(zz, date(2024, 3, 1))
    with_email(zz.unit, zz.agency, zz.city_staff)
    real_insert, calls = reminders._insert, []

    def dies_on_the_second_insert(rows: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("worker lost")
        return real_insert(rows)

    monkeypatch.setattr(reminders, "_insert", dies_on_the_second_insert)
    with pytest.raises(ConnectionError):
        sweep(date(2026, 1, 21))
    assert len(inbox(zz.unit)) == 1 and mail.outbox == []  # inserted, but died before e-mailing
    monkeypatch.setattr(reminders, "_insert", real_insert)
    sweep(date(2026, 1, 21))
    sweep(date(2026, 1, 21))
    everything = Notification.objects.filter(kind__startswith="reminder.")
    assert everything.count() == len({(n.recipient_id, n.dedupe_key) for n in everything})
    assert len(mail.outbox) == everything.count()  # each e-mailed once, the early row included
    assert not everything.filter(emailed_at__isnull=True).exists()


def test_a_transient_mail_error_is_retried_without_a_second_inbox_message(zz, make_studio,  # noqa: ANN001
                                                                         monkeypatch) -> None:
    from portal import tasks
    from portal.celery import app as celery_app

    make_studio(zz, date(2024, 3, 1))
    with_email(zz.unit)
    real_send, attempts = tasks.send_mail, []

    def flaky(*args: Any, **kwargs: Any) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(tasks, "send_mail", flaky)
    # In-process, a retry re-runs at once (a worker waits retry_backoff first) unless errors propagate.
    propagates, celery_app.conf.task_eager_propagates = celery_app.conf.task_eager_propagates, False
    try:
        sweep(date(2025, 12, 21))
    finally:
        celery_app.conf.task_eager_propagates = propagates
    assert len(attempts) == 2  # failed once, retried
    assert len(inbox(zz.unit)) == 1 and len(mail.outbox) == 1


def test_the_query_count_does_not_grow_with_the_number_of_studios(cast_for, make_studio) -> None:  # noqa: ANN001
    casts = [cast_for(code) for code in ("zhengzhou", "wenzhou", "dongguan")]
    for cast in casts:
        make_studio(cast, date(2023, 7, 31))
    on = date(2026, 1, 21)

    def count() -> int:
        sweep(on - timedelta(days=1))  # warm the calendar and policy caches
        with CaptureQueriesContext(connection) as queries:
            sweep(on)
        return len(queries)

    few = count()
    for cast in casts:
        for i in range(10):
            make_studio(cast, date(2023, 7, 31) + timedelta(days=i), org=make_org(cast.city))
    assert count() == few


def test_a_dry_run_writes_nothing_and_counts_only_what_is_new(zz, make_studio) -> None:  # noqa: ANN001
    make_studio(zz, date(2024, 3, 1))
    preview = sweep(date(2026, 1, 21), dry_run=True, samples=5)
    assert not Notification.objects.exists()
    assert preview.sent > 0
    line = next(line for line in preview.lines if line.title == "2026年度工作计划报送" and not line.escalation)
    assert line.count == 1 and line.samples == [(zz.unit.username, line.samples[0][1])]
    real = sweep(date(2026, 1, 21))
    assert real.sent == preview.sent
    assert sweep(date(2026, 1, 21), dry_run=True).sent == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(policies, cast_for, make_studio, is_postgres) -> None:  # noqa: ANN001
    if not is_postgres:
        pytest.skip("concurrent writers need PostgreSQL")
    import threading

    zz = cast_for("zhengzhou")
    for _ in range(40):
        org = make_org(zz.city)
        unit_user_of(org)  # each studio's unit has its own account
        make_studio(zz, date(2024, 3, 1), org=org)
    barrier, errors = threading.Barrier(3), []

    def run() -> None:
        try:
            barrier.wait()
            sweep(date(2026, 1, 21))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = Notification.objects.filter(kind__startswith="reminder.")
    assert rows.filter(kind="reminder.plan_filing").count() == 40
    assert rows.count() == len({(n.recipient_id, n.dedupe_key) for n in rows})


def test_a_filed_plan_is_not_reminded_again(cast_for) -> None:  # noqa: ANN001
    from datetime import date

    from portal import reminders
    from portal.models import Notification
    from tests.factories import make_studio
    from workshops import actions

    zz = cast_for("zhengzhou")
    filed = make_studio(zz, established_on=date(2024, 3, 1))
    make_studio(zz, established_on=date(2024, 3, 1), name="另一个工作室")
    actions.do_file_plan(filed, actor=zz.unit, year=2026, content="计划", on=date(2026, 1, 5))
    reminders.sweep(date(2026, 1, 13))  # 7 days before 郑州's 20 January (第九条(六))
    subjects = list(Notification.objects.filter(kind__startswith="reminder").values_list("body", flat=True))
    assert any("另一个工作室" in s for s in subjects)
    assert not any(filed.name in s and "另一个工作室" not in s for s in subjects)
