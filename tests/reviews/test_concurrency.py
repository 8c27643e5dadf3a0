"""Two reviewers deciding the same application at the same moment (PostgreSQL row locks).

SQLite serialises whole-database writes and cannot show the race; these tests run on PostgreSQL
only: `DATABASE_URL=postgres://… pytest tests/reviews`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from portal import fsm
from portal.models import AuditEvent, User
from portal.roles import Role
from reviews import actions as review_actions
from reviews.models import ReviewStep
from tests.factories import make_application, make_user
from workshops import actions
from workshops.models import Application
from workshops.states import AppState

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each thread has (and closes) its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the result under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting (deadlock?)"
    return results


def decide(app: Application, actor: User, outcome: str, expected_version: int | None) -> Callable[[], Any]:
    def call() -> Application:
        return review_actions.do_review_stage(app, actor=actor, outcome=outcome, opinion=f"{actor}：{outcome}",
                                              expected_version=expected_version)
    return call


@pytest.mark.parametrize("with_version", [True, False], ids=["form-version", "no-version"])
def test_it_lets_exactly_one_of_two_simultaneous_decisions_through(policies: None, cast_for: Any, monkeypatch: Any,
                                                                   with_version: bool) -> None:
    zz = cast_for("zhengzhou")  # 郑州: the agency decides aggregation; two agency accounts race
    colleague = make_user(Role.AGENCY, zz.city)
    app = actions.do_submit_application(make_application(zz), actor=zz.unit)
    assert app.state == AppState.AGGREGATION
    seen = app.version if with_version else None
    # Each reviewer's page was read before either decided: both hold the application in aggregation.
    mine, theirs = Application.objects.get(pk=app.pk), Application.objects.get(pk=app.pk)
    # Hold the winner inside its transaction a moment, so the other is certainly waiting on the row
    # lock rather than simply running after it.
    after_move = review_actions._after_move

    def slow_after_move(*args: Any, **kwargs: Any) -> None:
        after_move(*args, **kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(review_actions, "_after_move", slow_after_move)

    results = race(decide(mine, zz.agency, "passed", seen), decide(theirs, colleague, "returned", seen))

    winners = [r for r in results if isinstance(r, Application)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], fsm.Conflict), repr(losers[0])
    assert "该事项已被他人处理" in str(losers[0])
    app.refresh_from_db()
    assert (app.state, app.version) == (winners[0].state, winners[0].version)
    assert ReviewStep.objects.filter(application=app).count() == 1
    assert AuditEvent.objects.filter(action__startswith="review.aggregation.", object_id=str(app.pk)).count() == 1
