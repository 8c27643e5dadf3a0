"""The application's path through each city's stages, driven by actions (views have their own tests)."""
from __future__ import annotations

from datetime import date

import pytest

from reviews import actions as review_actions
from reviews.models import ReviewStep
from tests.factories import make_application, make_round
from workshops import actions
from workshops.models import Application
from workshops.states import STAGE_STATES, AppState

pytestmark = pytest.mark.django_db


def test_it_enters_exactly_the_stages_each_policy_lists(cast_for) -> None:  # noqa: ANN001
    for code in ("pingdingshan", "zhengzhou", "wenzhou", "hohhot"):
        cast = cast_for(code)
        app = make_application(cast)
        policy = app.policy
        app = actions.do_submit_application(app, actor=cast.unit)
        seen = []
        while app.state not in (AppState.READY_FOR_NOTICE, AppState.APPROVED):
            seen.append(app.state)
            if app.state == AppState.EXPERT_REVIEW:
                app = Application.objects.get(pk=app.pk)
                panel = review_actions.do_create_panel(app.round, actor=cast.city_staff, name="第一组")
                assignment = review_actions.do_assign_expert(panel, app, cast.expert, actor=cast.city_staff)
                review_actions.do_submit_scores(
                    assignment, actor=cast.expert, scores={c.code: c.weight for c in policy.expert_rubric.criteria})
                review_actions.do_close_panel(panel, actor=cast.city_staff)
                app.refresh_from_db()
                continue
            actor = {AppState.FORMAL_REVIEW: {"district": cast.district, "city": cast.city_staff,
                                              "agency": cast.agency}[policy.formal_review_level],
                     AppState.AGGREGATION: cast.agency, AppState.OPINION: cast.city_staff,
                     AppState.DECISION: cast.decision}[app.state]
            app = review_actions.do_review_stage(app, actor=actor, outcome="passed", opinion="同意",
                                                 originals_checked=True)
        expected = [STAGE_STATES[s] for s in policy.stages if s != "notice"]
        if "notice" in policy.stages:
            expected = [STAGE_STATES[s] for s in policy.stages[:policy.stages.index("notice")]]
            assert app.state == AppState.READY_FOR_NOTICE
        else:
            assert app.state == AppState.APPROVED
        assert seen == expected, code
        assert ReviewStep.objects.filter(application=app).count() == len(expected)


def test_it_refuses_a_new_round_under_an_expired_policy(cast_for) -> None:  # noqa: ANN001
    from django.core.exceptions import ValidationError

    dg = cast_for("dongguan")
    with pytest.raises(ValidationError, match="到期"):
        actions.do_open_round(dg.city, actor=dg.city_staff, year=2026, title="2026年度",
                              opens_on=date(2026, 3, 1), closes_on=date(2026, 4, 30))
    rnd = actions.do_open_round(dg.city, actor=dg.city_staff, year=2025, title="2025年度",
                                opens_on=date(2025, 3, 1), closes_on=date(2025, 4, 30))
    assert rnd.policy_version and rnd.quota is None


def test_it_allows_one_round_a_year_where_the_policy_says_so(zz) -> None:  # noqa: ANN001
    from django.core.exceptions import ValidationError

    actions.do_open_round(zz.city, actor=zz.city_staff, year=2026, title="第一批",
                          opens_on=date(2026, 3, 1), closes_on=date(2026, 4, 30))
    with pytest.raises(ValidationError, match="每年申报评定1次"):
        actions.do_open_round(zz.city, actor=zz.city_staff, year=2026, title="第二批",
                              opens_on=date(2026, 6, 1), closes_on=date(2026, 6, 30))


def test_dongguan_walks_formal_expert_opinion_then_notice(cast_for) -> None:  # noqa: ANN001
    dg = cast_for("dongguan")
    rnd = make_round(dg.city, on=date(2025, 6, 1))
    app = make_application(dg, rnd)
    app = actions.do_submit_application(app, actor=dg.unit, on=date(2025, 6, 2))
    assert app.state == AppState.FORMAL_REVIEW
    assert app.stage_due_on == date(2025, 6, 16)  # 10 working days from Mon 2 June (端午 is 31 May–2 Jun)
    app = review_actions.do_review_stage(app, actor=dg.district, outcome="passed", opinion="同意推荐")
    assert app.state == AppState.EXPERT_REVIEW


def test_a_unit_cannot_take_over_another_units_person(cast_for) -> None:  # noqa: ANN001
    from django.core.exceptions import ValidationError

    from tests.factories import make_person

    zz = cast_for("zhengzhou")
    theirs = make_person(organization=zz.other_org, name="李工", mobile="13900009999")
    app = make_application(zz)
    with pytest.raises(ValidationError, match="其他单位"):
        actions.do_set_leader(app, actor=zz.unit, id_number=theirs.id_number, name="冒名")
    theirs.refresh_from_db()
    assert theirs.name == "李工" and theirs.mobile == "13900009999"


def test_a_first_submission_after_the_round_closes_is_refused(cast_for) -> None:  # noqa: ANN001
    zz = cast_for("zhengzhou")
    app = make_application(zz)
    late = app.round.closes_on.replace(year=app.round.closes_on.year + 1)
    with pytest.raises(actions.NotEligible) as info:
        actions.do_submit_application(app, actor=zz.unit, on=late)
    assert any("不在申报期内" in p.message for p in info.value.problems)


def test_a_stage_without_calendar_data_gets_no_due_date_instead_of_failing(cast_for) -> None:  # noqa: ANN001
    hh = cast_for("hohhot")
    app = make_application(hh)
    # 20 December 2026 + 10 working days runs into 2027, for which there is no holiday data yet.
    app = actions.do_submit_application(app, actor=hh.unit, on=date(2026, 12, 20))
    assert app.state == AppState.FORMAL_REVIEW and app.stage_due_on is None
