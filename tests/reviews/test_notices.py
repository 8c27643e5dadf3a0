"""Public notice: its end date in working days, objections, backup promotion, closing, establishment."""
from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from portal.models import AuditEvent
from reviews import notices
from reviews.models import NoticeEntry, ObjectionState
from tests.factories import make_application, make_org, make_round, walk
from workshops import actions
from workshops.models import Plaque, Studio
from workshops.states import AppState, StudioState

pytestmark = pytest.mark.django_db


@pytest.fixture
def hohhot(cast_for):  # noqa: ANN001, ANN201
    return cast_for("hohhot")


def ready_apps(cast, n: int = 2, quota: int | None = None):  # noqa: ANN001, ANN201
    rnd = make_round(cast.city, quota=quota)
    orgs = [cast.org] + [make_org(cast.city, cast.org.district) for _ in range(n - 1)]
    return rnd, [make_application(cast, rnd, org=o) for o in orgs]


def test_the_notice_ends_after_n_working_days_across_national_day_2026(hohhot) -> None:  # noqa: ANN001
    policy = make_round(hohhot.city).policy
    # 5 working days from Mon 28 Sep 2026: 28, 29, 30 Sep, (1–7 Oct off, 中秋 25–27 Sep before), 9, 10(调休 Sat) Oct.
    assert notices.notice_end(policy, date(2026, 9, 28)) == date(2026, 10, 9)
    # Posted on the holiday itself: day 1 is the first working day after it (Thu 8 Oct).
    assert notices.notice_end(policy, date(2026, 10, 1)) == date(2026, 10, 13)
    # 呼和浩特 allows a longer notice ("不少于5个工作日") but never a shorter one.
    assert notices.notice_end(policy, date(2026, 9, 28), 7) == date(2026, 10, 12)
    with pytest.raises(ValidationError, match="不少于5个工作日"):
        notices.notice_end(policy, date(2026, 9, 28), 4)


def test_dongguan_notice_is_exactly_five_working_days(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    policy = make_round(dg.city, on=date(2025, 6, 1)).policy
    # 2025 国庆+中秋: 1–8 Oct off, Sat 11 Oct worked: 29, 30 Sep, 9, 10, 11 Oct.
    assert notices.notice_end(policy, date(2025, 9, 29)) == date(2025, 10, 11)
    with pytest.raises(ValidationError, match="公示5个工作日"):
        notices.notice_end(policy, date(2025, 9, 29), 7)


def publish(cast, apps, starts_on=date(2026, 11, 23)):  # noqa: ANN001, ANN201
    apps = walk(cast, apps, until=AppState.READY_FOR_NOTICE)
    ready = [a for a in apps if a.state == AppState.READY_FOR_NOTICE]
    return notices.do_publish_notice(ready[0].round, actor=cast.city_staff, starts_on=starts_on), apps


def test_an_objection_on_the_last_day_is_accepted_and_one_after_it_refused(hohhot) -> None:  # noqa: ANN001
    _, apps = ready_apps(hohhot, 1)
    notice, _ = publish(hohhot, apps)
    entry = notice.entries.get()
    assert notice.ends_on == date(2026, 11, 27)
    objection = notices.do_submit_objection(notice, entry=entry, name="李某", phone="13800001111", email="",
                                            reason="领办人不在本单位工作", evidence=None, source_ip="10.0.0.1",
                                            on=notice.ends_on)
    assert objection.state == ObjectionState.RECEIVED
    with pytest.raises(ValidationError, match="不在受理期内"):
        notices.do_submit_objection(notice, entry=entry, name="李某", phone="13800001111", email="",
                                    reason="补充", evidence=None, source_ip="10.0.0.1", on=date(2026, 11, 28))


def test_objections_are_rate_limited_per_sender(hohhot) -> None:  # noqa: ANN001
    _, apps = ready_apps(hohhot, 1)
    notice, _ = publish(hohhot, apps)
    entry = notice.entries.get()
    for i in range(notices.OBJECTIONS_PER_HOUR):
        notices.do_submit_objection(notice, entry=entry, name="甲", phone="13800001111", email="", reason=f"理由{i}",
                                    evidence=None, source_ip="10.0.0.9", on=notice.starts_on)
    with pytest.raises(ValidationError, match="过于频繁"):
        notices.do_submit_objection(notice, entry=entry, name="甲", phone="13800001111", email="", reason="再来",
                                    evidence=None, source_ip="10.0.0.9", on=notice.starts_on)
    notices.do_submit_objection(notice, entry=entry, name="乙", phone="13900001111", email="", reason="另一人",
                                evidence=None, source_ip="10.0.0.10", on=notice.starts_on)


def test_an_upheld_objection_disqualifies_and_renotices_the_best_backup(cast_for) -> None:  # noqa: ANN001
    # 东莞 第九条(五): 异议成立 → 撤消其资格，从备选名单中择优替补，重新公示.
    dg = cast_for("dongguan")
    day = date(2025, 6, 2)
    rnd = make_round(dg.city, on=date(2025, 6, 1), quota=1)
    apps = [make_application(dg, rnd, org=o) for o in (dg.org, make_org(dg.city, dg.org.district),
                                                       make_org(dg.city, dg.org.district))]
    scores = {apps[0].pk: 95, apps[1].pk: 80, apps[2].pk: 70}
    apps = walk(dg, apps, until=AppState.READY_FOR_NOTICE, scores=scores, on=day)
    assert [a.state for a in apps] == [AppState.READY_FOR_NOTICE, AppState.BACKUP, AppState.BACKUP]
    notice = notices.do_publish_notice(rnd, actor=dg.city_staff, starts_on=date(2025, 6, 9))
    objection = notices.do_submit_objection(notice, entry=notice.entries.get(), name="王某", phone="13800001111",
                                            email="", reason="材料造假", evidence=None, source_ip="10.1.1.1",
                                            on=date(2025, 6, 10))
    notices.do_investigate_objection(objection, actor=dg.city_staff)
    objection.refresh_from_db()
    objection, followup = notices.do_uphold_objection(objection, actor=dg.city_staff, findings="核实材料不实",
                                                      on=date(2025, 6, 11))
    assert objection.state == ObjectionState.UPHELD and objection.findings == "核实材料不实"
    for a in apps:
        a.refresh_from_db()
    assert apps[0].state == AppState.DISQUALIFIED
    assert apps[1].state == AppState.ON_NOTICE and apps[2].state == AppState.BACKUP  # the higher-ranked backup
    assert followup.replaces == notice and followup.starts_on == date(2025, 6, 12)
    assert list(NoticeEntry.objects.filter(notice=followup).values_list("application", flat=True)) == [apps[1].pk]
    history = list(AuditEvent.objects.for_object(apps[0]).values_list("action", flat=True))
    assert "application.disqualify" in history and "notice.start" in history


def test_hohhot_disqualifies_without_substitution(hohhot) -> None:  # noqa: ANN001
    # 呼和浩特 第九条(四) names no backup list: an upheld objection only removes the application.
    rnd, apps = ready_apps(hohhot, 2, quota=1)
    apps = walk(hohhot, apps, until=AppState.READY_FOR_NOTICE, scores={apps[0].pk: 95, apps[1].pk: 60})
    notice = notices.do_publish_notice(rnd, actor=hohhot.city_staff, starts_on=date(2026, 11, 23))
    objection = notices.do_submit_objection(notice, entry=notice.entries.get(), name="王某", phone="13800001111",
                                            email="", reason="材料造假", evidence=None, source_ip="10.1.1.1",
                                            on=date(2026, 11, 24))
    _, followup = notices.do_uphold_objection(objection, actor=hohhot.city_staff, findings="属实")
    for a in apps:
        a.refresh_from_db()
    assert followup is None
    assert [a.state for a in apps] == [AppState.DISQUALIFIED, AppState.BACKUP]


def test_the_notice_closes_only_without_open_objections_then_studios_are_established(hohhot) -> None:  # noqa: ANN001
    _, apps = ready_apps(hohhot, 2, quota=2)
    notice, apps = publish(hohhot, apps)
    objection = notices.do_submit_objection(notice, entry=notice.entries.first(), name="赵某", phone="13800001111",
                                            email="", reason="疑问", evidence=None, source_ip="10.2.2.2",
                                            on=notice.starts_on)
    report = notices.close_due_notices(on=date(2026, 11, 30))
    assert report.waiting == [notice.pk] and not report.moved
    notices.do_dismiss_objection(objection, actor=hohhot.city_staff, findings="经核查，材料属实")
    assert notices.close_due_notices(on=date(2026, 11, 30), dry_run=True).closed == [notice.pk]
    report = notices.close_due_notices(on=date(2026, 11, 30))
    assert sorted(report.moved) == sorted(a.pk for a in apps)
    assert notices.close_due_notices(on=date(2026, 11, 30)).closed == []  # a second sweep does nothing
    for a in apps:
        a.refresh_from_db()
        assert a.state == AppState.APPROVED  # 呼和浩特: the decision came before the notice
    studios = actions.do_establish_studios(apps[0].round, actor=hohhot.city_staff, doc_number="呼人社发〔2026〕8号",
                                           established_on=date(2026, 12, 1))
    assert len(studios) == 2 and all(s.state == StudioState.ESTABLISHED for s in studios)
    assert Plaque.objects.filter(studio__in=studios, issued_on__isnull=True).count() == 2
    assert actions.do_establish_studios(apps[0].round, actor=hohhot.city_staff, doc_number="重复",
                                        established_on=date(2026, 12, 1)) == []
    assert Studio.objects.count() == 2


def test_dongguan_decides_after_the_notice(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    rnd = make_round(dg.city, on=date(2025, 6, 1))
    app = make_application(dg, rnd)
    (app,) = walk(dg, [app], until=AppState.READY_FOR_NOTICE, on=date(2025, 6, 2))
    notice = notices.do_publish_notice(rnd, actor=dg.city_staff, starts_on=date(2025, 9, 29))
    notices.close_due_notices(on=date(2025, 10, 12))
    app.refresh_from_db()
    assert notice.ends_on == date(2025, 10, 11) and app.state == AppState.DECISION  # 第九条(六) 审定授牌


def test_publishing_refuses_an_empty_list(hohhot) -> None:  # noqa: ANN001
    rnd = make_round(hohhot.city)
    with pytest.raises(ValidationError, match="没有拟公示"):
        notices.do_publish_notice(rnd, actor=hohhot.city_staff, starts_on=date(2026, 11, 23))


def test_the_quota_is_shared_by_every_panel_of_a_round(hohhot) -> None:  # noqa: ANN001
    from reviews import actions as review_actions

    rnd, apps = ready_apps(hohhot, 3, quota=2)
    apps = walk(hohhot, apps[:2], until=AppState.EXPERT_REVIEW) + walk(hohhot, apps[2:], until=AppState.EXPERT_REVIEW)
    first = review_actions.do_create_panel(rnd, actor=hohhot.city_staff, name="第一组")
    second = review_actions.do_create_panel(rnd, actor=hohhot.city_staff, name="第二组")
    for panel, group in ((first, apps[:2]), (second, apps[2:])):
        for a in group:
            assignment = review_actions.do_assign_expert(panel, a, hohhot.expert, actor=hohhot.city_staff)
            review_actions.do_submit_scores(assignment, actor=hohhot.expert, scores={
                c.code: c.weight for c in a.policy.expert_rubric.criteria})
        review_actions.do_close_panel(panel, actor=hohhot.city_staff)
    for a in apps:
        a.refresh_from_db()
    assert [a.state for a in apps].count(AppState.BACKUP) == 1  # two places in all, not two per panel
