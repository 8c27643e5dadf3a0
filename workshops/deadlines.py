"""A studio's deadlines, registered with the reminder sweep (portal/reminders.py).

Every date comes from the studio's policy version and the working-day calendar: the annual plan
(郑州 第九条(六) 1月20日 to the agency, 平顶山 第八条(五) 4月30日 to the city bureau), the agency's
aggregation (郑州 第十一条(五) 2月10日), the periodic assessment (平顶山 第十三条 / 郑州 第十六条
12月中旬 yearly; 温州 第七条(二), 呼和浩特 第十二条 every two years) and the acceptance milestones
counted from establishment (东莞 第十四条 setup within 6 months, 第十六条 progress report,
第十七条 third-party evaluation and the end of the 3-year cycle).  A date that falls on a rest
day moves to the next working day (portal.calendar.due_date_for_fixed_day).

Each source is set-based: the due date is computed once per (city, policy version) in Python and
the recipients are joined in SQL, so 100,000 studios cost the same number of queries as ten.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import ExtractYear, Mod
from django.urls import reverse
from django.utils.translation import gettext as _

from portal import reminders
from portal.models import City
from portal.policies.schema import Policy
from portal.reminders import Batch, Item, PolicyGroup, To
from portal.roles import Role
from workshops.models import Studio
from workshops.states import STUDIO_STATE_INFO, StudioState

ACTIVE_STUDIO_STATES = tuple(s for s, i in STUDIO_STATE_INFO.items() if not i.terminal)
# Acceptance milestones fall in the construction period (建设期): an accepted studio has passed them.
BUILDING_STATES = (StudioState.ESTABLISHED, StudioState.MIDTERM_ACCEPTED)

UNIT = To("organization__users", Role.UNIT)
CITY_STAFF = To("city__users", Role.CITY)
AGENCY = To("city__users", Role.AGENCY)
# Who supervises a unit's filings: the body that checks its paperwork (policy review.formal_review_level):
# 东莞/温州 the district's reviewers, 郑州 the training agency, 平顶山/呼和浩特 the city bureau.
FORMAL_REVIEWER = {"district": To("district__users", Role.DISTRICT), "agency": AGENCY, "city": CITY_STAFF}
# Who acts on an acceptance milestone: the studio files its setup and progress reports; the bureau
# organises acceptances (with the studio preparing), and commissions third-party evaluations itself.
MILESTONE_ACTORS: dict[str, tuple[To, ...]] = {
    "setup": (UNIT,), "progress_report": (UNIT,), "evaluation": (UNIT,),
    "midterm": (UNIT, CITY_STAFF), "final": (UNIT, CITY_STAFF),
}


def unfulfilled(qs: QuerySet, obligation: str, period: int) -> QuerySet:
    """Narrow ``qs`` to what still owes ``obligation`` for ``period`` (one NOT EXISTS each, so the
    sources stay set-based). Obligations: ``plan_filing`` (studios, year), ``plan_aggregation``
    (cities, year), ``assessment`` (studios, year), ``milestone.<kind>`` (studios), and
    ``assessment_staff`` (cities, year: the assessors are reminded while any studio is still due).
    """
    from workshops.models import AnnualPlan, Assessment, PlanAggregation

    if obligation == "plan_filing":
        return qs.exclude(Exists(AnnualPlan.objects.filter(studio=OuterRef("pk"), year=period)))
    if obligation == "plan_aggregation":
        return qs.exclude(Exists(PlanAggregation.objects.filter(city=OuterRef("pk"), year=period)))
    if obligation == "assessment":
        return qs.exclude(Exists(Assessment.objects.filter(
            studio=OuterRef("pk"), period=period, kind__in=[Assessment.Kind.ANNUAL, Assessment.Kind.BIENNIAL])))
    if obligation.startswith("milestone."):
        kind = obligation.split(".", 1)[1]
        return qs.exclude(Exists(Assessment.objects.filter(studio=OuterRef("pk"), kind=kind)))
    return qs


def _studios(*states: str) -> QuerySet[Studio]:
    return Studio.objects.filter(state__in=states or ACTIVE_STUDIO_STATES)


def _years(on: date) -> tuple[int, ...]:
    return (on.year - 1, on.year, on.year + 1)


def _document(policy: Policy, article: str) -> dict[str, Any]:
    return {"document": policy.title, "article": article}


def _shifted(raw: date | None, due: date) -> str:
    return raw.isoformat() if raw and raw != due else ""


@reminders.source("plan_filing")
def plan_filing(on: date) -> Iterator[Item]:
    """Every studio files its year's work plan by the policy's date; overdue → its formal reviewer."""
    studios = _studios()

    def build(g: PolicyGroup) -> Iterator[Batch]:
        policy, plan = g.policy, g.policy.annual_plan
        offsets = policy.reminders.offsets_days
        for year in _years(on):
            raw = policy.plan_deadline(year)
            due = reminders.fixed_due(raw, on, offsets)
            if due is None:
                continue
            mine = studios.filter(city_id=g.city_id, policy_version=g.version, established_on__lt=due)
            yield Batch(kind="plan_filing", title=_("%(year)d年度工作计划报送") % {"year": year}, scope=g.city_name,
                        scope_key=g.key, objects=unfulfilled(mine, "plan_filing", year), to=(UNIT,), due=due,
                        offsets=offsets, escalate_to=FORMAL_REVIEWER[policy.formal_review_level],
                        url=reverse("public:studio", args=[reminders.REF]),
                        context={**_document(policy, plan.article), "year": year, "filed_with": plan.filed_with,
                                 "shifted_from": _shifted(raw, due)})

    return reminders.per_group(reminders.by_policy(studios), build)


@reminders.source("plan_aggregation")
def plan_aggregation(on: date) -> Iterator[Item]:
    """郑州 第十一条(五): the agency forwards the city's plans; overdue → city staff."""
    studios = _studios()

    def build(g: PolicyGroup) -> Iterator[Batch]:
        policy, agg = g.policy, g.policy.annual_plan.aggregation
        if agg is None:
            return
        offsets = policy.reminders.offsets_days
        for year in _years(on):
            raw = policy.plan_aggregation_deadline(year)
            due = reminders.fixed_due(raw, on, offsets)
            if due is None:
                continue
            with_studios = Exists(studios.filter(city_id=OuterRef("pk"), policy_version=g.version,
                                                 established_on__lt=due))
            cities = City.objects.filter(pk=g.city_id).filter(with_studios)
            yield Batch(kind="plan_aggregation", title=_("%(year)d年度工作计划汇总上报") % {"year": year},
                        scope=g.city_name, scope_key=f"c{g.city_id}",
                        objects=unfulfilled(cities, "plan_aggregation", year),
                        to=(To("users", Role.AGENCY),), due=due, offsets=offsets, escalate_to=To("users", Role.CITY),
                        context={**_document(policy, agg.article), "year": year, "body": agg.body,
                                 "submitted_to": agg.submitted_to, "shifted_from": _shifted(raw, due)})

    return reminders.per_group(reminders.by_policy(studios), build)


@reminders.source("assessment")
def assessment(on: date) -> Iterator[Item]:
    """The periodic assessment: the studios prepare, the assessors organise it (and record results)."""
    studios = _studios()

    def build(g: PolicyGroup) -> Iterator[Batch]:
        policy, rule = g.policy, g.policy.assessment
        cycle = policy.assessment_cycle_years
        if not cycle:  # 东莞: evaluation and acceptance are milestones instead (第十七条)
            return
        offsets = policy.reminders.offsets_days
        label = _("年度考核") if cycle == 1 else _("绩效评估（每%(n)d年一次）") % {"n": cycle}
        # 郑州 第十一条(四): the agency evaluates target completion alongside the bureau.
        assessors = ((To("users", Role.CITY), To("users", Role.AGENCY)) if rule.evaluated_by
                     else (To("users", Role.CITY),))
        for year in _years(on):
            raw = policy.assessment_date(year)
            due = reminders.fixed_due(raw, on, offsets)
            if due is None:
                continue
            # First assessed in the `cycle`-th year after the year it was set up, then every `cycle` years
            # (a studio set up in 2024 under a two-year cycle: 2026, 2028 …).
            due_studios = (studios.filter(city_id=g.city_id, policy_version=g.version)
                           .annotate(r_year=ExtractYear("established_on")).filter(r_year__lte=year - cycle))
            if cycle > 1:
                due_studios = due_studios.annotate(r_phase=Mod(F("r_year"), cycle)).filter(r_phase=year % cycle)
            context = {**_document(policy, rule.article), "year": year, "assessment_label": label,
                       "conducted_by": rule.conducted_by.body}
            common: dict[str, Any] = {"title": _("%(year)d年%(label)s") % {"year": year, "label": label},
                                      "scope": g.city_name, "scope_key": g.key, "due": due, "offsets": offsets,
                                      "context": context}
            yield Batch(kind="assessment", objects=unfulfilled(due_studios, "assessment", year), to=(UNIT,),
                        overdue=False, url=reverse("public:studio", args=[reminders.REF]), **common)
            cities = City.objects.filter(pk=g.city_id).filter(Exists(due_studios.filter(city_id=OuterRef("pk"))))
            yield Batch(kind="assessment_staff", objects=unfulfilled(cities, "assessment_staff", year), to=assessors,
                        **common)

    return reminders.per_group(reminders.by_policy(studios), build)


@reminders.source("milestones")
def milestones(on: date) -> Iterator[Item]:
    """Milestones counted in months from establishment (东莞 第十四条、第十六条、第十七条; 平顶山 第十条 …)."""
    studios = _studios(*BUILDING_STATES)

    def build(g: PolicyGroup) -> Iterator[Batch]:
        policy = g.policy
        offsets = policy.reminders.offsets_days
        window = reminders.reach(offsets, on)
        assert window is not None
        for m in policy.acceptance.milestones:
            if m.due_months is None:
                continue
            spans = reminders.months_after_ranges(m.due_months, *window)
            if not spans:
                continue
            # Establishment-date ranges map to due dates: no per-studio query, no per-day query.
            due = reminders.DueByRange(Studio, "established_on", tuple(spans))
            mine = studios.filter(city_id=g.city_id, policy_version=g.version,
                                  established_on__range=(spans[0][0], spans[-1][1]))
            if m.kind == "midterm":
                mine = mine.filter(state=StudioState.ESTABLISHED)
            actors = (CITY_STAFF,) if m.third_party else MILESTONE_ACTORS[m.kind]
            yield Batch(kind="milestone", key_kind=f"milestone.{m.code}", title=m.label, scope=g.city_name,
                        scope_key=g.key, objects=unfulfilled(mine, f"milestone.{m.kind}", 0), to=actors, due=due,
                        offsets=offsets, escalate_to=FORMAL_REVIEWER[policy.formal_review_level] if UNIT in actors
                        else None, url=reverse("public:studio", args=[reminders.REF]),
                        context={**_document(policy, m.article), "label": m.label, "months": m.due_months})

    return reminders.per_group(reminders.by_policy(studios), build)
