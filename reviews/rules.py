"""Access rules and scopes for judging (registered with portal.access at start-up)."""
from __future__ import annotations

from typing import Any

from django.db import models

from portal import access
from portal.roles import Role


@access.scope("reviews.panel")
def _panels(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role in {Role.CITY, Role.DECISION, Role.OBSERVER, Role.AGENCY}:
        return qs.filter(round__city_id=user.city_id)
    if user.role == Role.EXPERT:
        return qs.filter(assignments__expert=user).distinct()
    return qs.none()


@access.scope("reviews.assignment")
def _assignments(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role == Role.EXPERT:
        return qs.filter(expert=user)
    if user.role in {Role.CITY, Role.DECISION, Role.OBSERVER}:
        return qs.filter(panel__round__city_id=user.city_id)
    return qs.none()


@access.scope("reviews.reviewstep")
def _steps(user: Any, qs: models.QuerySet) -> models.QuerySet:
    from workshops.models import Application

    return qs.filter(application_id__in=access.visible(user, Application.objects.all()).values("pk"))


@access.rule("panel.manage")
def _panel_manage(user: Any, panel_or_round: Any) -> bool:
    city_id = getattr(panel_or_round, "city_id", None)
    if city_id is None and panel_or_round is not None:
        city_id = panel_or_round.round.city_id
    return user.role == Role.CITY and city_id == user.city_id


@access.rule("assignment.score")
def _score(user: Any, assignment: Any) -> bool:
    return (user.role == Role.EXPERT and assignment is not None and assignment.expert_id == user.pk
            and not assignment.panel.is_closed and not assignment.conflict_declared)


@access.rule("panel.results")
def _results(user: Any, panel: Any) -> bool:
    """Scores stay hidden from experts until the panel closes; bureau roles see them as they come."""
    if user.role in {Role.CITY, Role.DECISION, Role.OBSERVER}:
        return panel.round.city_id == user.city_id
    return user.role == Role.EXPERT and panel.is_closed


@access.rule("round.decide")
def _round_decide(user: Any, rnd: Any) -> bool:
    return user.role == Role.DECISION and rnd is not None and rnd.city_id == user.city_id


# --- the bureaus' pages (reviews/views.py) -----------------------------------------------------------

REVIEWER_ROLES = {Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION}
PANEL_VIEWER_ROLES = {Role.CITY, Role.DECISION, Role.OBSERVER}


@access.rule("review.queue")
def _review_queue(user: Any, obj: Any) -> bool:
    """The roles that decide a stage have a work queue; units, experts and observers do not."""
    return user.role in REVIEWER_ROLES


@access.rule("review.read")
def _review_read(user: Any, app: Any) -> bool:
    """The reviewer's page of an application (history, diff, decision form): bureau roles only.

    Units read their own application on the unit's side; experts through their assignment."""
    return user.role in REVIEWER_ROLES | {Role.OBSERVER}


@access.rule("panel.view")
def _panel_view(user: Any, panel_or_round: Any) -> bool:
    """The whole panel (every expert's name and total): the city's bureau roles, never an expert."""
    city_id = getattr(panel_or_round, "city_id", None)
    if city_id is None and panel_or_round is not None:
        city_id = panel_or_round.round.city_id
    return user.role in PANEL_VIEWER_ROLES and city_id == user.city_id


@access.rule("assignment.list")
def _assignment_list(user: Any, obj: Any) -> bool:
    return user.role == Role.EXPERT


@access.rule("assignment.view")
def _assignment_view(user: Any, assignment: Any) -> bool:
    """The expert's own assignment; bureau roles of the city read it (scores included) too."""
    if assignment is None:
        return False
    if user.role == Role.EXPERT:
        return assignment.expert_id == user.pk
    return _panel_view(user, assignment.panel)


def city_policies(city_id: int | None) -> dict[str, Any]:
    """Every policy version the city's rounds were opened under, by version (one query).

    A round keeps the version it opened under (docs/architecture.md), so a queue must ask each
    round's own version: 东莞's 2025 rounds are still reviewed after that 办法 lapsed.
    """
    from portal.models import PolicyVersion
    from portal.policies import policy_for_version
    from workshops.models import Round

    rows = PolicyVersion.objects.filter(
        city_id=city_id, version__in=Round.objects.filter(city_id=city_id).values("policy_version"))
    return {row.version: policy_for_version(row) for row in rows}


def awaiting_decision(user: Any, queryset: models.QuerySet, policies: dict[str, Any]) -> models.QuerySet:
    """Applications in the states this user's role decides (workshops.rules.queue_states under each
    round's policy version), within the user's scope."""
    from workshops.rules import queue_states

    condition = models.Q(pk__in=[])
    for version, policy in policies.items():
        states = queue_states(user, policy)
        if states:
            condition |= models.Q(round__policy_version=version, state__in=states)
    return access.visible(user, queryset).filter(condition)


def decides_before_notice(policy: Any) -> bool:
    """Whether the decision makers confirm the list before any notice (呼和浩特 第九条(三)) or as the
    last stage (郑州 第七条); 东莞 第九条(六) decides after its notice, which is not a list to confirm."""
    stages = list(policy.stages)
    if "decision" not in stages:
        return False
    return "notice" not in stages or stages.index("decision") < stages.index("notice")


@access.rule("notice.publish")
def _notice_publish(user: Any, rnd: Any) -> bool:
    return user.role == Role.CITY and rnd is not None and rnd.city_id == user.city_id


@access.scope("reviews.objection")
def _objections(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role in {Role.CITY, Role.DECISION, Role.OBSERVER}:
        return qs.filter(notice__city_id=user.city_id)
    return qs.none()


@access.rule("objection.handle")
def _objection_handle(user: Any, objection: Any) -> bool:
    return user.role == Role.CITY and objection is not None and objection.notice.city_id == user.city_id


@access.scope("reviews.notice")
def _notices(user: Any, qs: models.QuerySet) -> models.QuerySet:
    """Published notices are public (see reviews/public.py); signed-in staff also see their city's drafts."""
    if user.role in {Role.CITY, Role.DECISION, Role.OBSERVER, Role.AGENCY, Role.DISTRICT}:
        return qs.filter(city_id=user.city_id)
    return qs.filter(published_at__isnull=False)
