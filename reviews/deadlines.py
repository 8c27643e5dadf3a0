"""Judging deadlines, registered with the reminder sweep (portal/reminders.py), and the notice closer.

- review stages: ``Application.stage_due_on`` (set on entering a stage from the policy's working
  days) → whoever decides the stage by the city's policy (workshops.rules.acting_role); overdue →
  their supervisor (a district reviewer's, the agency's and the decision makers' → city staff);
- expert scoring: the panel's ``due_on`` → each expert who has not scored nor recused; overdue →
  the city staff who manage the panel;
- opinion solicitation (东莞 第九条(四)): ``OpinionRequest.due_on`` without a response → city staff;
- the notice period's end (东莞 第九条(五), 呼和浩特 第九条(四)) → city staff; a notice past its end
  that cannot close because an objection is still open → city staff again.  Ending the notices that
  can end is the sweep's first job each day (``close_due_notices``).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from types import SimpleNamespace

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _

from portal import reminders
from portal.reminders import Batch, Item, PolicyGroup, To
from portal.roles import Role
from reviews.models import Assignment, Notice, Objection, ObjectionState, OpinionRequest
from reviews.notices import close_due_notices
from workshops.models import Application
from workshops.rules import acting_role
from workshops.states import STATE_INFO, AppState

STAGE_STATES = tuple(s for s, i in STATE_INFO.items() if i.stage)
CITY_STAFF = To("city__users", Role.CITY)
# Whom an actor's overdue stage escalates to. City staff have no supervisor inside the portal.
SUPERVISOR: dict[str, To] = {Role.DISTRICT: CITY_STAFF, Role.AGENCY: CITY_STAFF, Role.DECISION: CITY_STAFF}


def _since(on: date) -> date:
    return on - timedelta(days=reminders.OVERDUE_WINDOW_DAYS)


@reminders.source("stage")
def stage(on: date) -> Iterator[Item]:
    apps = Application.objects.filter(state__in=STAGE_STATES, stage_due_on__gte=_since(on))

    def build(g: PolicyGroup) -> Iterator[Batch]:
        state = g.extra["state"]
        role = acting_role(SimpleNamespace(state=state, policy=g.policy))
        if role is None:
            return
        to = To("district__users", role) if role == Role.DISTRICT else To("city__users", role)
        label = str(AppState(state).label)
        yield Batch(kind="stage", key_kind=f"stage.{state}", title=_("%(state)s办理") % {"state": label},
                    scope=g.city_name, scope_key=f"{g.key}{state}", objects=apps.filter(
                        city_id=g.city_id, round__policy_version=g.version, state=state),
                    to=(to,), due="stage_due_on", offsets=g.policy.reminders.offsets_days,
                    escalate_to=SUPERVISOR.get(role), name="studio_name",
                    url=reverse("reviews:application", args=[reminders.REF]), escalation_url=reverse("reviews:queue"),
                    context={"state_label": label, "working_days": g.policy.working_days(STATE_INFO[state].stage)})

    return reminders.per_group(reminders.by_policy(apps, version="round__policy_version", extra=("state",)), build)


@reminders.source("scoring")
def scoring(on: date) -> Iterator[Item]:
    assignments = Assignment.objects.filter(submitted_at__isnull=True, conflict_declared=False,
                                            panel__closed_at__isnull=True, panel__due_on__gte=_since(on))

    def build(g: PolicyGroup) -> Iterator[Batch]:
        yield Batch(kind="scoring", title=_("专家评分"), scope=g.city_name, scope_key=g.key,
                    objects=assignments.filter(panel__round__city=g.city_id, panel__round__policy_version=g.version),
                    to=(To("expert"),), due="panel__due_on", offsets=g.policy.reminders.offsets_days,
                    escalate_to=To("panel__round__city__users", Role.CITY), name="application__studio_name",
                    url=reverse("reviews:assignment", args=[reminders.REF]))

    return reminders.per_group(reminders.by_policy(assignments, city="panel__round__city",
                                                   version="panel__round__policy_version"), build)


@reminders.source("opinion")
def opinion(on: date) -> Iterator[Item]:
    requests = OpinionRequest.objects.filter(responded_at__isnull=True, due_on__gte=_since(on))

    def build(g: PolicyGroup) -> Iterator[Batch]:
        yield Batch(kind="opinion", title=_("征求意见反馈"), scope=g.city_name, scope_key=g.key,
                    objects=requests.filter(round__city=g.city_id, round__policy_version=g.version),
                    to=(To("round__city__users", Role.CITY),), due="due_on", offsets=g.policy.reminders.offsets_days,
                    name="department", ref="round_id", url=reverse("reviews:opinions", args=[reminders.REF]))

    return reminders.per_group(reminders.by_policy(requests, city="round__city", version="round__policy_version"),
                               build)


@reminders.source("notice")
def notice(on: date) -> Iterator[Item]:
    notices = Notice.objects.published().filter(closed_at__isnull=True, ends_on__gte=_since(on))
    objection_open = Exists(Objection.objects.filter(notice=OuterRef("pk"), state__in=[ObjectionState.RECEIVED,
                                                                                       ObjectionState.INVESTIGATING]))

    def build(g: PolicyGroup) -> Iterator[Batch]:
        mine = notices.filter(city_id=g.city_id, round__policy_version=g.version)
        url = reverse("reviews:notice_manage", args=[reminders.REF])
        for objects, offsets, overdue in (
            (mine, g.policy.reminders.offsets_days, False),
            # Past its end a notice stays open only while an objection is unresolved (the closer ends the rest).
            (mine.filter(objection_open), (), True),
        ):
            yield Batch(kind="notice", title=_("公示期满"), scope=g.city_name, scope_key=g.key, objects=objects,
                        to=(CITY_STAFF,), due="ends_on", offsets=offsets, overdue=overdue, name="title", url=url)

    return reminders.per_group(reminders.by_policy(notices, version="round__policy_version"), build)


@reminders.closer("notices")
def close_notices(on: date, dry_run: bool) -> list[str]:
    """End the notices whose period is over (idempotent: a conditional update closes each once)."""
    report = close_due_notices(on, dry_run=dry_run)
    lines = [_("公示 #%(pk)d 期满结束") % {"pk": pk} for pk in report.closed]
    lines += [_("公示 #%(pk)d 期满，但仍有未办结的异议，暂不结束") % {"pk": pk} for pk in report.waiting]
    return lines
