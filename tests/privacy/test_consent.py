"""Consent and notice (个人信息保护法 第十四条、第十七条、第二十九条): the form shows the notice with its version,
the unit's consent is recorded with that version, and only consent to the current text lets it submit."""
from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from tests.factories import make_application
from workshops import actions
from workshops.actions import CONSENT_VERSION
from workshops.states import AppState

pytestmark = pytest.mark.django_db


def test_it_asks_again_when_the_notice_has_changed_since_consent(client, cast_for) -> None:  # noqa: ANN001
    wz = cast_for("wenzhou")
    app = make_application(wz, consent_version="2025-0")  # consented to an older text
    with pytest.raises(actions.NotEligible) as refused:
        actions.do_submit_application(app, actor=wz.unit)
    assert [p.field for p in refused.value.problems] == ["consent"]
    client.force_login(wz.unit)
    url = reverse("workshops:edit", args=[app.pk, "declarations"])
    html = client.get(url).content.decode()
    assert f"版本 {CONSENT_VERSION}" in html and 'name="consent"' in html
    client.post(url, {"declarations": app.declarations, "consent": "on"})
    app.refresh_from_db()
    assert app.consent_version == CONSENT_VERSION
    row = AuditEvent.objects.for_object(app).get(action="application.consent")
    assert row.data == {"version": CONSENT_VERSION} and row.actor_id == wz.unit.pk
    assert actions.do_submit_application(app, actor=wz.unit).state == AppState.FORMAL_REVIEW
