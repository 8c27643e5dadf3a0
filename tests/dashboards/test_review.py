"""This round's funnel and the overdue work, driven through the real actions."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from portal.models import Organization
from reviews import actions as review_actions
from reviews import dashboards, notices
from reviews.models import OpinionRequest
from tests.factories import Cast, make_application, make_org, make_round, unit_user_of, walk
from workshops import actions
from workshops.states import AppState

pytestmark = pytest.mark.django_db
SEPT = date(2026, 9, 1)


def _orgs(cast: Cast) -> tuple[Organization, Organization]:
    return cast.org.district, cast.other_org.district


def _submit(cast: Cast, rnd, district, on: date = SEPT):  # noqa: ANN001, ANN202
    app = make_application(cast, rnd, org=make_org(cast.city, district))
    return actions.do_submit_application(app, actor=unit_user_of(app.organization), on=on)


def _decide(app, actor, outcome: str):  # noqa: ANN001, ANN202
    return review_actions.do_review_stage(app, actor=actor, outcome=outcome, opinion="意见", originals_checked=True,
                                          on=SEPT)


def test_it_follows_the_round_through_its_stages_with_who_fell_out_and_why(zz: Cast) -> None:
    """郑州 第七条: the agency's 汇总, experts, the decision; quota 2 puts the third on the backup list."""
    rnd = make_round(zz.city, quota=2)
    a, b = _orgs(zz)
    r1, e1, e3 = (_submit(zz, rnd, a) for _ in range(3))
    r2, w1, e2, e4 = (_submit(zz, rnd, b) for _ in range(4))
    _decide(r1, zz.agency, "returned")
    _decide(r2, zz.agency, "rejected")
    actions.do_withdraw_application(w1, actor=unit_user_of(w1.organization), reason="不再申报")
    e1, e2, e3, e4 = (_decide(x, zz.agency, "passed") for x in (e1, e2, e3, e4))
    actions.do_withdraw_application(e4, actor=unit_user_of(e4.organization), reason="单位改制")
    panel = review_actions.do_create_panel(rnd, actor=zz.city_staff, name="专家组")
    for app, pct in ((e1, 90), (e2, 80), (e3, 70)):
        assignment = review_actions.do_assign_expert(panel, app, zz.expert, actor=zz.city_staff)
        review_actions.do_submit_scores(assignment, actor=zz.expert, scores={
            c.code: c.weight * pct / 100 for c in app.policy.expert_rubric.criteria})
    review_actions.do_close_panel(panel, actor=zz.city_staff, on=SEPT)
    e1.refresh_from_db()
    e2.refresh_from_db()
    _decide(e1, zz.decision, "passed")
    _decide(e2, zz.decision, "rejected")

    flow = dashboards.funnel(dashboards.scope_for(zz.city_staff), rnd)
    assert (flow.submitted, flow.awaiting_revision, flow.approved, flow.established) == (7, 1, 1, 0)
    steps = {s.code: (s.entered, s.passed, s.in_progress, {d.code: d.n for d in s.dropouts}) for s in flow.steps}
    assert steps == {
        "aggregation": (7, 4, 0, {"returned": 1, "rejected": 1, "withdrawn": 1}),
        "expert_review": (4, 2, 0, {"backup": 1, "withdrawn": 1}),
        "decision": (2, 1, 0, {"rejected": 1}),
    }
    assert [s.code for s in flow.steps] == ["aggregation", "expert_review", "decision"]

    mine = dashboards.funnel(dashboards.scope_for(zz.district), rnd)
    assert (mine.submitted, mine.approved) == (3, 1)
    assert {s.code: (s.entered, s.passed, {d.code: d.n for d in s.dropouts}) for s in mine.steps} == {
        "aggregation": (3, 2, {"returned": 1}), "expert_review": (2, 1, {"backup": 1}), "decision": (1, 1, {})}


def test_it_counts_the_notice_and_a_disqualification_after_an_upheld_objection(cast_for) -> None:  # noqa: ANN001
    """呼和浩特 第九条(四): the list is published; an objection upheld disqualifies (no backup to promote)."""
    hh = cast_for("hohhot")
    rnd = make_round(hh.city, quota=5)
    apps = [make_application(hh, rnd, org=make_org(hh.city, hh.org.district)) for _ in range(2)]
    walk(hh, apps, until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=timezone.localdate() - timedelta(days=1))
    entry = notice.entries.order_by("position").first()
    objection = notices.do_submit_objection(notice, entry=entry, name="某", phone="13800001111", email="",
                                            reason="业绩材料不实，经查证属实", evidence=None, source_ip="10.0.0.1")
    notices.do_uphold_objection(objection, actor=hh.city_staff, findings="经核实，材料不实")
    flow = dashboards.funnel(dashboards.scope_for(hh.city_staff), rnd)
    notice_step = flow.steps[-1]
    assert notice_step.code == "notice"
    assert (notice_step.entered, notice_step.in_progress, notice_step.passed) == (2, 1, 0)
    assert {d.code: d.n for d in notice_step.dropouts} == {"disqualified": 1}
    assert [s.entered for s in flow.steps] == [2, 2, 2, 2]


def test_it_groups_overdue_work_by_stage_and_who_holds_it(cast_for) -> None:  # noqa: ANN001
    """温州 第五条(一): the district bureaus check the paperwork, so each district holds its own."""
    wz = cast_for("wenzhou")
    rnd = make_round(wz.city)
    a, b = _orgs(wz)
    late_a, late_b = _submit(wz, rnd, a), _submit(wz, rnd, b)
    _submit(wz, rnd, a, on=timezone.localdate())  # due in ten working days: not late
    in_experts = make_application(wz, rnd, org=make_org(wz.city, a))
    (in_experts,) = walk(wz, [in_experts], until=AppState.EXPERT_REVIEW)
    panel = review_actions.do_create_panel(rnd, actor=wz.city_staff, name="专家组",
                                           due_on=timezone.localdate() - timedelta(days=3))
    review_actions.do_assign_expert(panel, in_experts, wz.expert, actor=wz.city_staff)
    OpinionRequest.objects.create(round=rnd, department="市财政局", due_on=timezone.localdate() - timedelta(days=2),
                                  recorded_by=wz.city_staff)
    today = timezone.localdate()
    late = dashboards.overdue(dashboards.scope_for(wz.city_staff), today)
    groups = {(g.what, g.holder): g.n for g in late.groups if "工作计划" not in g.what}
    assert groups == {
        ("形式审查中", f"县区/镇街人社部门审核员（{a.name}）"): 1,
        ("形式审查中", f"县区/镇街人社部门审核员（{b.name}）"): 1,
        ("专家评分", f"评审专家 {wz.expert.full_name}"): 1,
        ("征求意见反馈", "市财政局"): 1,
    }
    assert {i.application_id for i in late.items} == {late_a.pk, late_b.pk}
    assert all(i.days == (today - i.due).days > 0 for i in late.items)

    mine = dashboards.overdue(dashboards.scope_for(wz.district), today)
    assert {(g.what, g.holder) for g in mine.groups if "工作计划" not in g.what} == {
        ("形式审查中", f"县区/镇街人社部门审核员（{a.name}）"), ("专家评分", f"评审专家 {wz.expert.full_name}")}
    assert [i.application_id for i in mine.items] == [late_a.pk]
