"""Access rules and scopes for applications (registered with portal.access at start-up)."""
from __future__ import annotations

from typing import Any

from django.db import models

from portal import access
from portal.roles import Role
from workshops.states import STATE_INFO, AppState

CITY_ROLES = {Role.CITY, Role.AGENCY, Role.DECISION, Role.OBSERVER}


@access.scope("workshops.application")
def _applications(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role == Role.UNIT:
        return qs.filter(organization_id=user.organization_id)
    # Drafts are the unit's own business until submitted.
    submitted = qs.exclude(state=AppState.DRAFT)
    if user.role == Role.DISTRICT:
        return submitted.filter(district_id=user.district_id)
    if user.role in CITY_ROLES:
        return submitted.filter(city_id=user.city_id)
    if user.role == Role.EXPERT:
        return submitted.filter(assignments__expert=user).distinct()
    return qs.none()


@access.scope("workshops.round")
def _rounds(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role in CITY_ROLES | {Role.UNIT, Role.DISTRICT, Role.EXPERT}:
        return qs.filter(city_id=user.city_id)
    return qs.none()


@access.scope("workshops.attachment")
def _attachments(user: Any, qs: models.QuerySet) -> models.QuerySet:
    from workshops.models import Application

    visible = access.visible(user, Application.objects.all()).values("pk")
    return qs.filter(application_id__in=visible)


@access.rule("round.open")
def _round_open(user: Any, city: Any) -> bool:
    return user.role == Role.CITY and city is not None and city.pk == user.city_id


@access.rule("application.create")
def _create(user: Any, rnd: Any) -> bool:
    return user.role == Role.UNIT and rnd is not None and rnd.city_id == user.city_id and rnd.is_open()


def _own_unit(user: Any, app: Any) -> bool:
    return user.role == Role.UNIT and app is not None and app.organization_id == user.organization_id


@access.rule("application.edit")
def _edit(user: Any, app: Any) -> bool:
    return _own_unit(user, app) and app.state in (AppState.DRAFT, AppState.RETURNED)


@access.rule("application.submit")
def _submit(user: Any, app: Any) -> bool:
    return _edit(user, app)


@access.rule("application.withdraw")
def _withdraw(user: Any, app: Any) -> bool:
    return _own_unit(user, app) and STATE_INFO[app.state].withdrawable


@access.rule("application.view")
def _view(user: Any, app: Any) -> bool:
    return True  # seeing is the scope; any visible application may be read


def acting_role(app: Any) -> str | None:
    """Which role decides the application's current stage, by the city's policy."""
    state = app.state
    if state == AppState.FORMAL_REVIEW:
        return {"district": Role.DISTRICT, "agency": Role.AGENCY, "city": Role.CITY}[app.policy.formal_review_level]
    return {AppState.AGGREGATION: Role.AGENCY, AppState.EXPERT_REVIEW: Role.CITY, AppState.OPINION: Role.CITY,
            AppState.DECISION: Role.DECISION, AppState.READY_FOR_NOTICE: Role.CITY}.get(state)


@access.rule("application.review")
def _review(user: Any, app: Any) -> bool:
    if app is None or user.role != acting_role(app) or app.city_id != user.city_id:
        return False
    return user.role != Role.DISTRICT or app.district_id == user.district_id


@access.rule("person.reveal")
def _reveal(user: Any, app: Any) -> bool:
    """Full ID numbers and phones: the unit itself, and the formal reviewer checking originals."""
    if _own_unit(user, app):
        return True
    return app is not None and app.state == AppState.FORMAL_REVIEW and _review(user, app)


def queue_states(user: Any, policy: Any) -> list[str]:
    """The states in which this user's role decides, under the city's policy (their work queue)."""
    formal = {"district": Role.DISTRICT, "agency": Role.AGENCY, "city": Role.CITY}[policy.formal_review_level]
    states = [AppState.FORMAL_REVIEW] if user.role == formal else []
    states += [s for s, r in ((AppState.AGGREGATION, Role.AGENCY), (AppState.EXPERT_REVIEW, Role.CITY),
                              (AppState.OPINION, Role.CITY), (AppState.DECISION, Role.DECISION)) if r == user.role]
    return states


@access.rule("studio.establish")
def _studio_establish(user: Any, rnd: Any) -> bool:
    return user.role == Role.CITY and rnd is not None and rnd.city_id == user.city_id


@access.scope("workshops.studio")
def _studios(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role == Role.UNIT:
        return qs.filter(organization_id=user.organization_id)
    if user.role == Role.DISTRICT:
        return qs.filter(district_id=user.district_id)
    if user.role in CITY_ROLES:
        return qs.filter(city_id=user.city_id)
    return qs.none()
