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
    """Full ID numbers and phones: the unit itself, and the formal reviewer checking originals.

    The formal check is the first stage the city's policy lists: 形式审查 in most cities, and in 郑州
    the agency's 汇总 (第七条: 汇总并进行指导, which is where its formal check happens). Later stages
    (experts, opinions, decisions) judge merit and need no one's full ID number."""
    if _own_unit(user, app):
        return True
    return app is not None and app.state == app.stage_state_after(None) and _review(user, app)


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


def _studio_city(user: Any, studio: Any) -> bool:
    return studio is not None and studio.city_id == user.city_id


@access.rule("studio.records")
def _studio_records(user: Any, studio: Any) -> bool:
    """The unit keeps its studio's plan and ledger while the studio stands."""
    return (user.role == Role.UNIT and studio is not None and studio.organization_id == user.organization_id
            and not studio.state_info.terminal)


@access.rule("studio.manage")
def _studio_manage(user: Any, studio: Any) -> bool:
    """City staff: acceptance, assessments, plaque, money, upgrades, leader changes."""
    return user.role == Role.CITY and _studio_city(user, studio)


@access.rule("studio.revoke")
def _studio_revoke(user: Any, studio: Any) -> bool:
    """Recorded by city staff or the decision body (局长办公会) of the studio's city."""
    return user.role in (Role.CITY, Role.DECISION) and _studio_city(user, studio)


@access.rule("plan.forward")
def _plan_forward(user: Any, city: Any) -> bool:
    """郑州 第十一条(五): the training agency forwards the year's plans to the city."""
    return user.role == Role.AGENCY and city is not None and city.pk == user.city_id
