"""Bureau dashboards: what a city's or a district's staff see of their work and their money.

Every figure is an aggregate computed in the database (GROUP BY, conditional COUNT and SUM, EXISTS),
so a page costs the same number of queries for ten studios as for ten thousand. The city's rules
(stage order, subsidy amounts and caps, assessment cycles, milestones) are applied in Python to the
grouped rows, never per studio: a rule is looked up once per (policy version, group), which is
bounded by the policy files, not by the data.

Scope: a district reviewer sees the district's figures, the city's bureau roles (city staff, the
training agency, the decision makers, the finance/education observers) the city's. Every query
goes through `Scope.narrow`, the one place the jurisdiction filter is written; units, experts and
the administrators have no dashboard (403).

Results are cached per jurisdiction (`cached`): the key carries a data version that any save or
delete of a counted record moves on (signals at the bottom), and CACHE_SECONDS bounds what bulk
updates, which send no signal, can leave stale.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractYear, Mod
from django.db.models.signals import post_delete, post_save
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal import access, calendar, pdf
from portal.models import City, District, PolicyVersion, SkillLevel
from portal.policies import Policy, PolicyNotFound, get_policy_version, vocab
from portal.reminders import add_months
from portal.roles import Role
from reviews.models import Assignment, NoticeEntry, OpinionRequest, ReviewStep
from workshops.models import (
    AnnualPlan,
    Application,
    Assessment,
    Disbursement,
    Revocation,
    Round,
    Studio,
    StudioRecord,
    Upgrade,
)
from workshops.rules import acting_role
from workshops.states import STAGE_STATES, STUDIO_STATE_INFO, AppState, StudioState

T = TypeVar("T")

DASHBOARD_ROLES = frozenset({Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION, Role.OBSERVER})
CITY_WIDE_ROLES = frozenset({Role.AGENCY, Role.CITY, Role.DECISION, Role.OBSERVER})
STANDING_STATES = tuple(s for s, i in STUDIO_STATE_INFO.items() if not i.terminal)
BUILDING_STATES = (StudioState.ESTABLISHED, StudioState.MIDTERM_ACCEPTED)
PERIODIC_KINDS = (Assessment.Kind.ANNUAL, Assessment.Kind.BIENNIAL)
ACCEPTANCE_TRIGGERS = {"midterm_acceptance": Assessment.Kind.MIDTERM, "final_acceptance": Assessment.Kind.FINAL}
ASSESSMENT_TRIGGERS = {**ACCEPTANCE_TRIGGERS, "annual_assessment_pass": Assessment.Kind.ANNUAL}
RECORD_TRIGGERS = ("textbook_published", "certification")
TRAINING_KINDS = ("apprentice", "trainee")
ACTIVITY_KINDS = ("activity", "competition", "achievement", "textbook")
OCCUPATION_TOP = 12
OVERDUE_ITEMS = 20
MILESTONE_HORIZON_DAYS = 90  # a milestone due within this many days is listed as coming up
CACHE_SECONDS = 300
VERSION_KEY = "dashboards:version"


# --- who sees what ---------------------------------------------------------------------------------

@access.rule("dashboard.view")
def _dashboard_view(user: Any, obj: Any) -> bool:
    """District reviewers (their district) and the city's bureau roles (their city); units, experts and
    the three administrators have no dashboard."""
    if user.role == Role.DISTRICT:
        return bool(user.city_id and user.district_id)
    return user.role in CITY_WIDE_ROLES and bool(user.city_id)


@access.rule("dashboard.city_report")
def _city_report(user: Any, city: Any) -> bool:
    """The yearly summary is the city's: its bureau roles, for their own city."""
    return user.role in CITY_WIDE_ROLES and city is not None and city.pk == user.city_id


@dataclass(frozen=True)
class Scope:
    """A jurisdiction: a city, or one district of it."""

    city_id: int
    city_code: str
    city_name: str
    district_id: int | None = None
    district_name: str = ""

    @property
    def key(self) -> str:
        return f"c{self.city_id}" + (f"d{self.district_id}" if self.district_id else "")

    @property
    def label(self) -> str:
        return f"{self.city_name}{self.district_name}"

    @property
    def is_district(self) -> bool:
        return self.district_id is not None

    def narrow(self, qs: QuerySet[Any], path: str = "") -> QuerySet[Any]:
        """`qs` within this jurisdiction; `path` leads from the model to the object that carries
        city and district ("studio__", "application__")."""
        qs = qs.filter(**{f"{path}city_id": self.city_id})
        if self.district_id is not None:
            qs = qs.filter(**{f"{path}district_id": self.district_id})
        return qs


def scope_for(user: Any) -> Scope:
    """The user's jurisdiction; PermissionDenied for a role without a dashboard."""
    access.require(user, "dashboard.view")
    district_id = user.district_id if user.role == Role.DISTRICT else None
    return _scope(user.city_id, district_id)


def city_scope(city: City) -> Scope:
    return Scope(city.pk, city.code, city.name)


def _scope(city_id: int, district_id: int | None) -> Scope:
    key = f"dashboards:scope:{city_id}:{district_id}"
    found = cache.get(key)
    if found is None:
        city = City.objects.only("code", "name").get(pk=city_id)
        district = District.objects.only("name").get(pk=district_id, city_id=city_id) if district_id else None
        found = Scope(city.pk, city.code, city.name, district_id, district.name if district else "")
        cache.set(key, found, CACHE_SECONDS)
    return found


# --- caching -----------------------------------------------------------------------------------------

def _cache_seconds() -> int:
    return int(getattr(settings, "DASHBOARD_CACHE_SECONDS", CACHE_SECONDS))


def data_version() -> int:
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, 1, None)
        current = cache.get(VERSION_KEY, 1)
    return int(current)


def bump(*args: Any, **kwargs: Any) -> None:
    """Drop every cached dashboard figure (a signal receiver)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


def cached(scope: Scope, name: str, params: Iterable[Any], compute: Callable[[], T]) -> T:
    seconds = _cache_seconds()
    if seconds <= 0:
        return compute()
    key = ":".join(["dashboards", str(data_version()), translation.get_language() or "", scope.key, name,
                    *(str(p) for p in params)])
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


# --- shared pieces -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    n: int


def policies_of(scope: Scope) -> dict[str, Policy]:
    """Every stored policy version of the city, by version. The list of versions is cached briefly (a
    newly loaded version shows within CACHE_SECONDS); parsed policies are cached by the registry."""
    key = f"dashboards:versions:{scope.city_id}"
    versions = cache.get(key)
    if versions is None:
        versions = list(PolicyVersion.objects.filter(city_id=scope.city_id).values_list("version", flat=True))
        cache.set(key, versions, CACHE_SECONDS)
    found: dict[str, Policy] = {}
    for version in versions:
        try:
            found[version] = get_policy_version(scope.city_code, version)
        except PolicyNotFound:  # pragma: no cover - the row was just read
            continue
    return found


def category_label(policies: dict[str, Policy], version: str, code: str) -> str:
    if not code:
        return _("未分类")
    policy = policies.get(version)
    category = policy.category(code) if policy else None
    return category.label if category else code


def studios_in(scope: Scope) -> QuerySet[Studio]:
    return scope.narrow(Studio.objects.order_by())


def _standing(scope: Scope) -> QuerySet[Studio]:
    return studios_in(scope).filter(state__in=STANDING_STATES)


def applications_in(scope: Scope) -> QuerySet[Application]:
    # Drafts are the unit's own business until submitted (workshops.rules: the same for every bureau role).
    return scope.narrow(Application.objects.order_by()).exclude(state=AppState.DRAFT)


def _level_label(level: int | None) -> str:
    return str(SkillLevel(level).label) if level in SkillLevel.values else _("未填等级")


def _every_year(counts: dict[tuple[str, str], int]) -> list[Tally]:
    """By year, the years without any included (a gap in a chart's axis would hide a year of nothing)."""
    found = {int(k): n for (k, _label), n in counts.items()}
    if not found:
        return []
    return [Tally(str(y), _("%(y)d年") % {"y": y}, found.get(y, 0)) for y in range(min(found), max(found) + 1)]


def _sorted_tallies(counts: dict[tuple[str, str], int], *, by_count: bool = True) -> list[Tally]:
    items = [Tally(k, label, n) for (k, label), n in counts.items()]
    if by_count:
        return sorted(items, key=lambda t: (-t.n, t.label))
    return sorted(items, key=lambda t: t.key)


# --- 1. counts: studios and applications ----------------------------------------------------------------

@dataclass(frozen=True)
class DistrictRow:
    district_id: int
    name: str
    total: int
    by_state: dict[str, int]

    @property
    def standing(self) -> int:
        return sum(n for s, n in self.by_state.items() if s in STANDING_STATES)


@dataclass(frozen=True)
class StudioCounts:
    total: int
    standing: int
    by_state: list[Tally]
    by_district: list[DistrictRow]
    by_category: list[Tally]
    by_year: list[Tally]
    by_occupation: list[Tally]
    states: list[Tally]  # every studio state in order, for table columns


def studio_counts(scope: Scope) -> StudioCounts:
    return cached(scope, "studios", (), lambda: _studio_counts(scope))


def _studio_counts(scope: Scope) -> StudioCounts:
    studios = studios_in(scope)
    by_state: dict[str, int] = defaultdict(int)
    districts: dict[int, tuple[str, dict[str, int]]] = {}
    for row in studios.values("state", "district_id", "district__name").annotate(n=Count("pk")):
        by_state[row["state"]] += row["n"]
        districts.setdefault(row["district_id"], (row["district__name"], defaultdict(int)))[1][row["state"]] += row["n"]
    policies = policies_of(scope)
    categories: dict[tuple[str, str], int] = defaultdict(int)
    years: dict[tuple[str, str], int] = defaultdict(int)
    for row in studios.values("policy_version", "category", y=ExtractYear("established_on")).annotate(n=Count("pk")):
        label = category_label(policies, row["policy_version"], row["category"])
        categories[(row["category"] or "-", label)] += row["n"]
        years[(str(row["y"]), _("%(y)d年") % {"y": row["y"]})] += row["n"]
    total = sum(by_state.values())
    top = list(studios.values("occupation").annotate(n=Count("pk")).order_by("-n", "occupation")[:OCCUPATION_TOP])
    occupations = [Tally(r["occupation"], r["occupation"] or _("未填写"), r["n"]) for r in top]
    rest = total - sum(t.n for t in occupations)
    if rest > 0:
        occupations.append(Tally("", _("其他职业（工种）"), rest))
    states = [Tally(s, str(label), by_state.get(s, 0)) for s, label in StudioState.choices]
    return StudioCounts(
        total=total, standing=sum(n for s, n in by_state.items() if s in STANDING_STATES),
        by_state=[t for t in states if t.n], states=states,
        by_district=sorted((DistrictRow(pk, name, sum(counts.values()), dict(counts))
                            for pk, (name, counts) in districts.items()), key=lambda r: (-r.total, r.name)),
        by_category=_sorted_tallies(categories), by_year=_every_year(years),
        by_occupation=occupations)


@dataclass(frozen=True)
class ApplicationYear:
    year: int
    by_state: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    def count(self, *states: str) -> int:
        return sum(self.by_state.get(s, 0) for s in states)


@dataclass(frozen=True)
class ApplicationCounts:
    total: int
    by_state: list[Tally]
    by_year: list[ApplicationYear]
    by_district: list[Tally]
    in_review: int


def application_counts(scope: Scope) -> ApplicationCounts:
    return cached(scope, "applications", (), lambda: _application_counts(scope))


def _application_counts(scope: Scope) -> ApplicationCounts:
    by_state: dict[str, int] = defaultdict(int)
    years: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    districts: dict[tuple[str, str], int] = defaultdict(int)
    for row in applications_in(scope).values("round__year", "state", "district_id", "district__name").annotate(
            n=Count("pk")):
        by_state[row["state"]] += row["n"]
        years[row["round__year"]][row["state"]] += row["n"]
        districts[(str(row["district_id"]), row["district__name"])] += row["n"]
    in_review = sum(n for s, n in by_state.items() if s in STAGE_STATES.values() or s == AppState.ON_NOTICE)
    return ApplicationCounts(
        total=sum(by_state.values()),
        by_state=[Tally(s, str(label), by_state[s]) for s, label in AppState.choices if by_state.get(s)],
        by_year=[ApplicationYear(y, dict(c)) for y, c in sorted(years.items(), reverse=True)],
        by_district=_sorted_tallies(districts), in_review=in_review)


# --- 2. this round's funnel ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dropout:
    code: str  # returned | rejected | backup | withdrawn | disqualified
    label: str
    n: int

    @property
    def final(self) -> bool:
        """Returned applications may come back; the others have left the round (backup may be promoted)."""
        return self.code != "returned"


@dataclass(frozen=True)
class FunnelStep:
    code: str
    label: str
    entered: int
    passed: int
    in_progress: int
    dropouts: list[Dropout] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(d.n for d in self.dropouts if d.final)


@dataclass(frozen=True)
class Funnel:
    round_id: int
    round_title: str
    submitted: int
    awaiting_revision: int  # returned to the unit and not yet resubmitted
    steps: list[FunnelStep]
    approved: int
    established: int


def rounds(scope: Scope) -> list[Round]:
    return list(Round.objects.filter(city_id=scope.city_id).order_by("-year", "-opens_on", "-pk")[:30])


def funnel(scope: Scope, rnd: Round) -> Funnel:
    return cached(scope, "funnel", (rnd.pk,), lambda: _funnel(scope, rnd))


def _funnel(scope: Scope, rnd: Round) -> Funnel:
    """Submitted → each stage of the round's policy → approved, with who fell out where and why.

    "Why" is the stage's recorded outcome (ReviewStep: returned, rejected, backup), the unit's
    withdrawal (counted at the stage after the last one it passed) and, at the notice, a
    disqualification after an upheld objection (东莞 第九条(五))."""
    policy = get_policy_version(scope.city_code, rnd.policy_version)
    apps = applications_in(scope).filter(round_id=rnd.pk)
    on_notice = Exists(NoticeEntry.objects.filter(application=OuterRef("pk")))
    by_state: dict[str, int] = defaultdict(int)
    noticed = 0
    for row in apps.annotate(noticed=on_notice).values("state").annotate(
            n=Count("pk"), m=Count("pk", filter=Q(noticed=True) | Q(state=AppState.READY_FOR_NOTICE))):
        by_state[row["state"]] += row["n"]
        noticed += row["m"]
    outcomes: dict[tuple[str, str], int] = {
        (r["stage"], r["outcome"]): r["n"]
        for r in ReviewStep.objects.filter(application__in=apps.values("pk")).order_by()
        .values("stage", "outcome").annotate(n=Count("application_id", distinct=True))}
    last_passed = (ReviewStep.objects.filter(application=OuterRef("pk"), outcome=ReviewStep.Outcome.PASSED)
                   .order_by("-at", "-pk").values("stage")[:1])
    withdrawn_after = dict(apps.filter(state=AppState.WITHDRAWN).annotate(after=Subquery(last_passed))
                           .values_list("after").annotate(n=Count("pk")))
    stages = list(policy.stages)
    withdrawn_at: dict[str, int] = defaultdict(int)
    for after, n in withdrawn_after.items():
        index = stages.index(after) + 1 if after in stages else 0
        withdrawn_at[stages[min(index, len(stages) - 1)]] += n
    labels = {code: str(label) for code, label in ReviewStep.Outcome.choices}
    submitted = sum(by_state.values())
    steps: list[FunnelStep] = []
    entered = submitted
    for stage in stages:
        label = str(vocab.STAGES.get(stage, stage))
        if stage == "notice":
            in_progress = by_state[AppState.READY_FOR_NOTICE] + by_state[AppState.ON_NOTICE]
            disqualified = by_state[AppState.DISQUALIFIED]
            entered = noticed
            passed = max(0, noticed - in_progress - disqualified)
            dropouts = [Dropout("disqualified", _("异议成立，撤销资格"), disqualified)]
        else:
            in_progress = by_state[STAGE_STATES[stage]]
            passed = outcomes.get((stage, ReviewStep.Outcome.PASSED), 0)
            dropouts = [Dropout(code, labels[code], outcomes.get((stage, code), 0))
                        for code in (ReviewStep.Outcome.RETURNED, ReviewStep.Outcome.REJECTED,
                                     ReviewStep.Outcome.BACKUP)]
            dropouts.append(Dropout("withdrawn", _("单位撤回"), withdrawn_at[stage]))
        steps.append(FunnelStep(stage, label, entered, passed, in_progress, [d for d in dropouts if d.n]))
        entered = passed
    established = Studio.objects.filter(application__in=apps.values("pk")).count()
    return Funnel(rnd.pk, rnd.title, submitted, by_state[AppState.RETURNED], steps, by_state[AppState.APPROVED],
                  established)


# --- 3. overdue work, by stage and by who holds it -----------------------------------------------------

@dataclass(frozen=True)
class OverdueGroup:
    what: str
    holder: str
    n: int
    oldest: date | None
    today: date

    @property
    def days(self) -> int:
        return (self.today - self.oldest).days if self.oldest else 0


@dataclass(frozen=True)
class OverdueItem:
    application_id: int
    name: str
    organization: str
    district: str
    what: str
    holder: str
    due: date
    days: int


@dataclass(frozen=True)
class Overdue:
    today: date
    groups: list[OverdueGroup]
    items: list[OverdueItem]
    problems: list[str]

    @property
    def total(self) -> int:
        return sum(g.n for g in self.groups)


def overdue(scope: Scope, today: date | None = None) -> Overdue:
    today = today or timezone.localdate()
    return cached(scope, "overdue", (today,), lambda: _overdue(scope, today))


def _holder(policy: Policy | None, state: str, district_name: str) -> str:
    # acting_role reads only .state and .policy: the grouped row stands in for an application.
    role = acting_role(SimpleNamespace(state=state, policy=policy)) if policy else None
    if role is None:
        return _("—")
    label = str(Role(role).label)
    return f"{label}（{district_name}）" if role == Role.DISTRICT else label


def _overdue(scope: Scope, today: date) -> Overdue:
    policies = policies_of(scope)
    late = applications_in(scope).filter(state__in=list(STAGE_STATES.values()), stage_due_on__lt=today)
    groups: list[OverdueGroup] = []
    state_labels = dict(AppState.choices)
    for row in late.values("round__policy_version", "state", "district__name").annotate(
            n=Count("pk"), oldest=Min("stage_due_on")):
        holder = _holder(policies.get(row["round__policy_version"]), row["state"], row["district__name"])
        groups.append(OverdueGroup(str(state_labels[row["state"]]), holder, row["n"], row["oldest"], today))
    items = []
    for app in late.select_related("organization", "district", "round").order_by("stage_due_on", "pk")[
            :OVERDUE_ITEMS]:
        items.append(OverdueItem(app.pk, str(app), app.organization.name, app.district.name,
                                 str(state_labels[app.state]), _holder(policies.get(app.round.policy_version),
                                                                       app.state, app.district.name),
                                 app.stage_due_on, (today - app.stage_due_on).days))
    # Experts who have not scored in a panel past its due date (the panel is the city's; the expert holds it).
    scoring = Assignment.objects.filter(
        application__in=applications_in(scope).filter(state=AppState.EXPERT_REVIEW).values("pk"),
        submitted_at__isnull=True, conflict_declared=False, panel__closed_at__isnull=True, panel__due_on__lt=today)
    for row in scoring.order_by().values("expert__full_name", "expert__username").annotate(
            n=Count("pk"), oldest=Min("panel__due_on")):
        expert = row["expert__full_name"] or row["expert__username"]
        groups.append(OverdueGroup(_("专家评分"), _("评审专家 %(name)s") % {"name": expert}, row["n"], row["oldest"],
                                   today))
    if not scope.is_district:  # opinions are asked of the city's departments, not of a district
        for row in (OpinionRequest.objects.filter(round__city_id=scope.city_id, responded_at__isnull=True,
                                                  due_on__lt=today).order_by()
                    .values("department").annotate(n=Count("pk"), oldest=Min("due_on"))):
            groups.append(OverdueGroup(_("征求意见反馈"), row["department"], row["n"], row["oldest"], today))
    plan_groups, problems = _overdue_plans(scope, policies, today)
    groups += plan_groups
    groups.sort(key=lambda g: (g.oldest or today, g.what, g.holder))
    return Overdue(today, groups, items, problems)


def plan_overdue_condition(policies: dict[str, Policy], year: int, today: date) -> tuple[Q, list[str], date | None]:
    """Studios (by policy version) whose `year` plan was due before `today`: the policy's date moved to
    the next working day (portal.calendar). Returns the condition, problems, and the earliest due date."""
    condition = Q(pk__in=[])
    problems: list[str] = []
    earliest: date | None = None
    for version, policy in policies.items():
        raw = policy.plan_deadline(year)
        if raw is None:
            continue
        try:
            due = calendar.due_date_for_fixed_day(year, raw.month, raw.day)
        except calendar.CalendarDataMissing as exc:
            problems.append(str(exc))
            continue
        if today > due:
            condition |= Q(policy_version=version, established_on__lt=due)
            earliest = min(earliest or due, due)
    return condition, problems, earliest


def _overdue_plans(scope: Scope, policies: dict[str, Policy], today: date) -> tuple[list[OverdueGroup], list[str]]:
    condition, problems, earliest = plan_overdue_condition(policies, today.year, today)
    if earliest is None:
        return [], problems
    rows = (_standing(scope).filter(condition).exclude(Exists(AnnualPlan.objects.filter(studio=OuterRef("pk"),
                                                                                         year=today.year)))
            .values("district__name").annotate(n=Count("pk")))
    what = _("%(year)d年度工作计划报送") % {"year": today.year}
    return [OverdueGroup(what, _("依托单位（%(district)s）") % {"district": r["district__name"]}, r["n"], earliest,
                         today) for r in rows], problems


# --- 4. money: committed, due and paid by year, against the city's rules ----------------------------------

@dataclass(frozen=True)
class SubsidyLine:
    version: str
    code: str
    label: str
    article: str
    rule: str
    is_cap: bool
    committed: Decimal
    due: Decimal
    paid: Decimal
    paid_revoked: Decimal

    @property
    def outstanding(self) -> Decimal:
        """Due to standing studios and not yet paid (a revoked studio's money stops)."""
        return max(Decimal(0), self.due - (self.paid - self.paid_revoked))


@dataclass(frozen=True)
class MoneyYear:
    year: int
    committed: Decimal
    due: Decimal
    paid: Decimal


@dataclass(frozen=True)
class Money:
    lines: list[SubsidyLine]
    years: list[MoneyYear]
    problems: list[str]
    by_line_year: dict[tuple[str, str, int], tuple[Decimal, Decimal, Decimal]]

    @property
    def committed(self) -> Decimal:
        return sum((line.committed for line in self.lines), Decimal(0))

    @property
    def due(self) -> Decimal:
        return sum((line.due for line in self.lines), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal(0))

    @property
    def paid_revoked(self) -> Decimal:
        return sum((line.paid_revoked for line in self.lines), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        return sum((line.outstanding for line in self.lines), Decimal(0))

    def year(self, year: int) -> MoneyYear:
        return next((y for y in self.years if y.year == year), MoneyYear(year, Decimal(0), Decimal(0), Decimal(0)))

    def lines_in(self, year: int) -> list[tuple[SubsidyLine, Decimal, Decimal, Decimal]]:
        rows = []
        for line in self.lines:
            committed, due, paid = self.by_line_year.get((line.version, line.code, year), (0, 0, 0))
            if committed or due or paid:
                rows.append((line, Decimal(committed), Decimal(due), Decimal(paid)))
        return rows


@dataclass(frozen=True)
class Event:
    """A trigger that happened `n` times to studios of one policy version and category in one year;
    `nth` = how many times it had happened to each of them before (for once-only and yearly caps)."""

    version: str
    category: str
    trigger: str
    level: int | None
    year: int
    nth: int
    over: bool  # the studios' support period is over (rewards granted only after it, 东莞 第十二条)
    n: int


def money(scope: Scope, today: date | None = None) -> Money:
    today = today or timezone.localdate()
    return cached(scope, "money", (today,), lambda: _money(scope, today))


def _period_over(today: date, path: str = "") -> Case:
    # As workshops.money._support_period_over: the state says so, or the end date has passed.
    return Case(When(Q(**{f"{path}state": StudioState.PERIOD_ENDED}) | Q(**{f"{path}support_ends_on__lte": today}),
                     then=Value(True)), default=Value(False), output_field=BooleanField())


def _events(scope: Scope, policies: dict[str, Policy], today: date) -> list[Event]:
    """Every subsidy trigger of the standing studios in scope, grouped: four queries at most."""
    events: list[Event] = []
    for r in (_standing(scope).annotate(y=ExtractYear("established_on"), over=_period_over(today))
              .values("policy_version", "category", "y", "over").annotate(n=Count("pk"))):
        events.append(Event(r["policy_version"], r["category"], "establishment", None, r["y"], 0, r["over"], r["n"]))
    triggers = {t for p in policies.values() for s in p.subsidies
                for t in (s.trigger, *(x.trigger for x in s.tranches))}
    kinds = {kind: trigger for trigger, kind in ASSESSMENT_TRIGGERS.items() if trigger in triggers}
    if kinds:
        earlier = (Assessment.objects.filter(studio=OuterRef("studio"), kind=OuterRef("kind"), passed=True,
                                             period__lt=OuterRef("period"))
                   .order_by().values("studio").annotate(c=Count("pk")).values("c"))
        rows = (scope.narrow(Assessment.objects.order_by(), "studio__").filter(studio__state__in=STANDING_STATES,
                                                                             passed=True, kind__in=list(kinds))
                .annotate(nth=Coalesce(Subquery(earlier), 0), y=ExtractYear("conducted_on"),
                          over=_period_over(today, "studio__"))
                .values("studio__policy_version", "studio__category", "kind", "y", "nth", "over")
                .annotate(n=Count("pk")))
        events += [Event(r["studio__policy_version"], r["studio__category"], kinds[r["kind"]], None, r["y"], r["nth"],
                         r["over"], r["n"]) for r in rows]
    if triggers & {"provincial_upgrade", "national_upgrade"}:
        rows = (scope.narrow(Upgrade.objects.order_by(), "studio__").filter(studio__state__in=STANDING_STATES)
                .annotate(y=ExtractYear("recognized_on"), over=_period_over(today, "studio__"))
                .values("studio__policy_version", "studio__category", "level", "y", "over").annotate(n=Count("pk")))
        events += [Event(r["studio__policy_version"], r["studio__category"], f"{r['level']}_upgrade", None, r["y"], 0,
                         r["over"], r["n"]) for r in rows]
    if triggers & set(RECORD_TRIGGERS):
        # No city's rules price a ledger record in tranches or by the year, so no per-studio rank is needed
        # here (workshops.money counts them all); `nth` stays 0.
        rows = (scope.narrow(StudioRecord.objects.order_by(), "studio__").filter(studio__state__in=STANDING_STATES)
                .filter(Q(kind="textbook") | Q(kind__in=TRAINING_KINDS, is_new_certificate=True))
                .annotate(y=ExtractYear("date"), over=_period_over(today, "studio__"))
                .values("studio__policy_version", "studio__category", "kind", "level", "y", "over")
                .annotate(n=Count("pk")))
        for r in rows:
            trigger = "textbook_published" if r["kind"] == "textbook" else "certification"
            events.append(Event(r["studio__policy_version"], r["studio__category"], trigger,
                                r["level"] if trigger == "certification" else None, r["y"], 0, r["over"], r["n"]))
    return events


def _times(subsidy: Any, event: Event) -> int:
    """How many of the event's occurrences earn the subsidy (workshops.money._occurrences and its caps)."""
    if event.trigger in ACCEPTANCE_TRIGGERS and event.nth > 0:
        return 0  # an acceptance earns it once
    if subsidy.years is not None and event.nth >= subsidy.years:
        return 0  # 郑州 第十三条: 2万元/年, three years
    return event.n


def _level_matches(subsidy: Any, event: Event) -> bool:
    if event.trigger != "certification":
        return True
    if subsidy.by_level:
        return event.level is not None and SkillLevel(event.level).name.lower() in subsidy.by_level
    return event.level is None  # as workshops.money: an unpriced-by-level subsidy counts records without a level


def _rule_text(policy: Policy, subsidy: Any) -> str:
    def wan(amount: int) -> str:
        return _("%(n)s万元") % {"n": f"{amount / 10000:g}"} if amount >= 10000 else _("%(n)d元") % {"n": amount}

    if subsidy.by_category:
        amounts = "、".join(f"{category_label({policy.version: policy}, policy.version, c)}{wan(a)}"
                            for c, a in subsidy.by_category.items())
    elif subsidy.by_level:
        amounts = "、".join(f"{_level_label(SkillLevel.from_code(c))}{wan(a)}" for c, a in subsidy.by_level.items())
    else:
        amounts = wan(subsidy.amount_yuan or 0)
    text = f"{vocab.SUBSIDY_TRIGGERS.get(subsidy.trigger, subsidy.trigger)}，{vocab.SUBSIDY_PER.get(subsidy.per, '')}"
    text += (_("不高于") if subsidy.is_cap else "") + amounts
    if subsidy.years:
        text += _("，最多%(n)d年") % {"n": subsidy.years}
    if subsidy.max_persons:
        text += _("，最多%(n)d人") % {"n": subsidy.max_persons}
    if subsidy.tranches:
        text += _("；分批拨付：") + "、".join(
            f"{vocab.SUBSIDY_TRIGGERS.get(t.trigger, t.trigger)}{t.share_percent}%" for t in subsidy.tranches)
    if subsidy.after_support_period:
        text += _("；扶持（培育建设）期满后给予")
    return text


def _money(scope: Scope, today: date) -> Money:
    """Committed: what the rules promise when a subsidy's own trigger happens (its full amount, or its
    cap where the policy says 不高于). Due: what may have been paid so far — the same, except that a
    subsidy paid in tranches (平顶山 第十条) is due share by share as each tranche's trigger happens;
    this is exactly workshops.money's `entitled`, summed. Paid: the disbursements. A revoked studio's
    money stops (停发): it counts only with what was paid to it."""
    policies = policies_of(scope)
    committed: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
    due: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
    problems: list[str] = []
    for event in _events(scope, policies, today):
        policy = policies.get(event.version)
        if policy is None:
            problems.append(_("找不到办法版本 %(v)s，相关工作室的资金未计入。") % {"v": event.version})
            continue
        for s in policy.subsidies:
            if (s.after_support_period and not event.over) or not _level_matches(s, event):
                continue
            level_code = SkillLevel(event.level).name.lower() if event.level else None
            amount = Decimal(s.amount_for(category=event.category or None, level=level_code) or 0)
            if not amount:
                continue
            key = (event.version, s.code, event.year)
            if s.trigger == event.trigger:
                times = _times(s, event) * (s.max_persons if s.per == "person" and s.max_persons else 1)
                committed[key] += amount * times
                if not s.tranches:
                    due[key] += amount * times
            for tranche in s.tranches:
                if tranche.trigger == event.trigger and event.nth == 0:
                    due[key] += amount * tranche.share_percent * event.n / 100
    paid: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
    paid_revoked: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    rows = (scope.narrow(Disbursement.objects.order_by(), "studio__")
            .annotate(y=ExtractYear("paid_on"), revoked=Case(When(studio__state=StudioState.REVOKED, then=Value(True)),
                                                              default=Value(False), output_field=BooleanField()))
            .values("studio__policy_version", "subsidy", "y", "revoked").annotate(s=Sum("amount")))
    for r in rows:
        paid[(r["studio__policy_version"], r["subsidy"], r["y"])] += r["s"] or Decimal(0)
        if r["revoked"]:
            paid_revoked[(r["studio__policy_version"], r["subsidy"])] += r["s"] or Decimal(0)
    keys = set(committed) | set(due) | set(paid)
    present = {(v, c) for v, c, _y in keys}
    lines = []
    for version, policy in sorted(policies.items()):
        if version not in {v for v, _c in present}:
            continue  # no studio in scope was set up under this version
        codes = [s.code for s in policy.subsidies]
        for code in codes + sorted(c for v, c in present if v == version and c not in codes):
            subsidy = policy.subsidy(code)

            def total(table: dict[tuple[str, str, int], Decimal], v: str = version, c: str = code) -> Decimal:
                return sum((a for (tv, tc, _y), a in table.items() if tv == v and tc == c), Decimal(0))

            lines.append(SubsidyLine(
                version, code, subsidy.label if subsidy else code, subsidy.article if subsidy else "",
                _rule_text(policy, subsidy) if subsidy else _("办法中没有此资金项目"),
                bool(subsidy and subsidy.is_cap), total(committed), total(due), total(paid),
                paid_revoked.get((version, code), Decimal(0))))
    present_years = {y for _v, _c, y in keys}
    years = list(range(min(present_years), max(present_years) + 1)) if present_years else []
    by_year = [MoneyYear(y, sum((a for (_v, _c, ty), a in committed.items() if ty == y), Decimal(0)),
                         sum((a for (_v, _c, ty), a in due.items() if ty == y), Decimal(0)),
                         sum((a for (_v, _c, ty), a in paid.items() if ty == y), Decimal(0))) for y in years]
    by_line_year = {k: (committed.get(k, Decimal(0)), due.get(k, Decimal(0)), paid.get(k, Decimal(0))) for k in keys}
    return Money(lines, by_year, sorted(set(problems)), by_line_year)


# --- 5. assessments: who is due, and how they did ------------------------------------------------------

@dataclass(frozen=True)
class PeriodicDue:
    district: str
    due: int
    done: int


@dataclass(frozen=True)
class MilestoneDue:
    label: str
    article: str
    months: int
    coming: int  # due within MILESTONE_HORIZON_DAYS
    overdue: int


@dataclass(frozen=True)
class GradeRow:
    period: int
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Assessments:
    year: int
    periodic: list[PeriodicDue]
    periodic_dates: list[tuple[str, date | None]]  # (label, assessment date) per policy version with a cycle
    milestones: list[MilestoneDue]
    grades: list[Tally]  # the grade legend, best first (n = all periods)
    passing: frozenset[str]
    results: list[GradeRow]
    acceptances: list[tuple[str, int, int]]  # (kind label, passed, failed)

    @property
    def periodic_due(self) -> int:
        return sum(r.due for r in self.periodic)

    @property
    def periodic_done(self) -> int:
        return sum(r.done for r in self.periodic)

    @property
    def milestones_overdue(self) -> int:
        return sum(m.overdue for m in self.milestones)


def periodic_due_condition(policies: dict[str, Policy], year: int) -> Q:
    """Studios due for the periodic assessment in `year` (as workshops.deadlines): first assessed in the
    `cycle`-th year after the year they were set up, then every `cycle` years. Needs the
    `r_year`/`r_phase<cycle>` annotations of `annotate_periodic`."""
    condition = Q(pk__in=[])
    for version, policy in policies.items():
        cycle = policy.assessment_cycle_years
        if not cycle:
            continue  # 东莞: evaluation and acceptance are milestones (第十七条)
        rule = Q(policy_version=version, r_year__lte=year - cycle)
        if cycle > 1:
            rule &= Q(**{f"r_phase{cycle}": year % cycle})
        condition |= rule
    return condition


def annotate_periodic(qs: QuerySet[Studio], policies: dict[str, Policy], year: int) -> QuerySet[Studio]:
    qs = qs.annotate(r_year=ExtractYear("established_on"))
    for cycle in {p.assessment_cycle_years for p in policies.values() if (p.assessment_cycle_years or 0) > 1}:
        qs = qs.annotate(**{f"r_phase{cycle}": Mod(F("r_year"), cycle)})
    return qs.annotate(assessed=Exists(Assessment.objects.filter(studio=OuterRef("pk"), kind__in=PERIODIC_KINDS,
                                                                 period=year)))


def assessments(scope: Scope, year: int | None = None, today: date | None = None) -> Assessments:
    today = today or timezone.localdate()
    year = year or today.year
    return cached(scope, "assessments", (year, today), lambda: _assessments(scope, year, today))


def _milestone_cutoffs(today: date, months: int) -> tuple[date, date]:
    """Establishment dates on or before which a milestone `months` later is due soon / overdue."""
    return add_months(today + timedelta(days=MILESTONE_HORIZON_DAYS), -months), add_months(today, -months) - timedelta(
        days=1)


def _assessments(scope: Scope, year: int, today: date) -> Assessments:
    policies = policies_of(scope)
    due_condition = periodic_due_condition(policies, year)
    periodic = [PeriodicDue(r["district__name"], r["due"], r["done"]) for r in (
        annotate_periodic(_standing(scope), policies, year).filter(due_condition)
        .values("district__name").annotate(due=Count("pk", filter=Q(assessed=False)),
                                           done=Count("pk", filter=Q(assessed=True))).order_by("district__name"))]
    dates = [(f"{p.city_name}（{v}）" if len(policies) > 1 else _("考核日期"), p.assessment_date(year))
             for v, p in sorted(policies.items()) if p.assessment_cycle_years]
    # Milestones counted from establishment (东莞 第十四条/第十六条/第十七条, 平顶山 第十条 …): one query,
    # two conditional counts per (version, milestone).
    specs = [(v, p, m) for v, p in sorted(policies.items()) for m in p.acceptance.milestones if m.due_months]
    milestones: list[MilestoneDue] = []
    if specs:
        kinds = sorted({m.kind for _v, _p, m in specs})
        qs = studios_in(scope).filter(state__in=BUILDING_STATES).annotate(**{
            f"has_{k}": Exists(Assessment.objects.filter(studio=OuterRef("pk"), kind=k)) for k in kinds})
        aggregates: dict[str, Any] = {}
        for i, (version, _policy, m) in enumerate(specs):
            soon, late = _milestone_cutoffs(today, m.due_months)
            base = Q(policy_version=version, **{f"has_{m.kind}": False})
            if m.kind == "midterm":
                base &= Q(state=StudioState.ESTABLISHED)
            aggregates[f"soon{i}"] = Count("pk", filter=base & Q(established_on__lte=soon, established_on__gt=late))
            aggregates[f"late{i}"] = Count("pk", filter=base & Q(established_on__lte=late))
        counts = qs.aggregate(**aggregates)
        for i, (_version, _policy, m) in enumerate(specs):
            milestones.append(MilestoneDue(m.label, m.article, m.due_months, counts[f"soon{i}"], counts[f"late{i}"]))
    legend: dict[str, tuple[str, bool, int]] = {}
    for policy in policies.values():
        for rank, grade in enumerate(policy.assessment.grades):
            legend.setdefault(grade.code, (grade.label, grade.passing, rank))
    results: dict[int, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for r in (scope.narrow(Assessment.objects.order_by(), "studio__").filter(kind__in=PERIODIC_KINDS)
              .values("period", "grade").annotate(n=Count("pk"))):
        results[r["period"]][r["grade"]] = r["n"]
        totals[r["grade"]] += r["n"]
        legend.setdefault(r["grade"], (r["grade"], False, 99))
    order = sorted(legend, key=lambda c: (not legend[c][1], legend[c][2]))
    accepted: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in (scope.narrow(Assessment.objects.order_by(), "studio__").exclude(kind__in=PERIODIC_KINDS)
              .values("kind", "passed").annotate(n=Count("pk"))):
        accepted[r["kind"]][0 if r["passed"] else 1] += r["n"]
    kind_labels = dict(Assessment.Kind.choices)
    return Assessments(
        year, periodic, dates, milestones,
        [Tally(c, legend[c][0], totals.get(c, 0)) for c in order if totals.get(c) or c in
         {g.code for p in policies.values() for g in p.assessment.grades}],
        frozenset(c for c in legend if legend[c][1]),
        [GradeRow(p, results[p]) for p in sorted(results, reverse=True)],
        [(str(kind_labels.get(k, k)), v[0], v[1]) for k, v in sorted(accepted.items())])


# --- 6. the yearly summary of a city (PDF: reviews.yearly_report) --------------------------------------

@dataclass(frozen=True)
class YearlySummary:
    city_name: str
    bureau_name: str
    year: int
    established: int
    established_by_district: list[Tally]
    established_by_category: list[Tally]
    standing_at_end: int
    revoked: int
    trained: list[Tally]
    certified: list[Tally]
    activities: list[Tally]
    money_lines: list[tuple[SubsidyLine, Decimal, Decimal, Decimal]]
    money_year: MoneyYear
    grades: list[Tally]
    generated_on: date

    @property
    def trained_total(self) -> int:
        return sum(t.n for t in self.trained)

    @property
    def certified_total(self) -> int:
        return sum(t.n for t in self.certified)


def yearly_summary(city: City, year: int, today: date | None = None) -> YearlySummary:
    """Studios established, people trained, people newly certified by level, activities and money in
    `year`, for the whole city (the bureau's yearly report upward)."""
    today = today or timezone.localdate()
    scope = city_scope(city)
    policies = policies_of(scope)
    studios = studios_in(scope)
    new = studios.filter(established_on__year=year)
    by_district: dict[tuple[str, str], int] = defaultdict(int)
    by_category: dict[tuple[str, str], int] = defaultdict(int)
    for r in new.values("district__name", "policy_version", "category").annotate(n=Count("pk")):
        by_district[(r["district__name"], r["district__name"])] += r["n"]
        by_category[(r["category"] or "-", category_label(policies, r["policy_version"], r["category"]))] += r["n"]
    year_end = date(year, 12, 31)
    # Revoked by the year's end: its decision is dated by then, or (an imported studio with no decision on
    # file) it is revoked with no date to say otherwise.
    decision = Revocation.objects.filter(studio=OuterRef("pk"))
    standing_at_end = studios.filter(established_on__lte=year_end).exclude(
        Exists(decision.filter(decided_on__lte=year_end))
        | Q(state=StudioState.REVOKED, revocation__isnull=True)).count()
    revoked = scope.narrow(Revocation.objects.order_by(), "studio__").filter(decided_on__year=year).count()
    records = scope.narrow(StudioRecord.objects.order_by(), "studio__").filter(date__year=year)
    trained: dict[tuple[str, str], int] = defaultdict(int)
    activities: dict[tuple[str, str], int] = defaultdict(int)
    for r in records.values("kind").annotate(n=Count("pk")):
        label = str(vocab.RECORD_KINDS.get(r["kind"], r["kind"]))
        (trained if r["kind"] in TRAINING_KINDS else activities)[(r["kind"], label)] += r["n"]
    certified = [Tally(str(r["level"] or ""), _level_label(r["level"]), r["n"]) for r in (
        records.filter(kind__in=TRAINING_KINDS, is_new_certificate=True).values("level").annotate(n=Count("pk"))
        .order_by(F("level").desc(nulls_last=True)))]
    all_money = _money(scope, today)
    assessed = _assessments(scope, year, today)
    period_row = next((r for r in assessed.results if r.period == year), None)
    grades = [Tally(t.key, t.label, period_row.counts.get(t.key, 0) if period_row else 0) for t in assessed.grades]
    return YearlySummary(
        city.name, city.bureau_name, year, new.count(), _sorted_tallies(by_district), _sorted_tallies(by_category),
        standing_at_end, revoked,
        [Tally(k, str(vocab.RECORD_KINDS[k]), trained.get((k, str(vocab.RECORD_KINDS[k])), 0)) for k in TRAINING_KINDS],
        certified,
        [Tally(k, str(vocab.RECORD_KINDS[k]), activities.get((k, str(vocab.RECORD_KINDS[k])), 0))
         for k in ACTIVITY_KINDS],
        all_money.lines_in(year), all_money.year(year), grades, today)


# --- 7. the yearly report as a PDF (portal/pdf.py renders and stores it; a task when it takes long) ------

def yearly_report_source(city: City, year: int) -> pdf.Source:
    """The city's yearly summary for the report upward: tables with a chart or two, nothing personal."""
    from reviews import charts

    summary = yearly_summary(city, year)
    figures = {
        "certified": charts.hbar([(t.label, t.n) for t in summary.certified], title=_("当年新取证人数（按等级）"),
                                 unit=_("人"), width=560) if summary.certified else "",
        "money": charts.columns(
            [_("承诺"), _("应拨付"), _("已拨付")],
            [charts.Series(_("金额（万元）"), [summary.money_year.committed, summary.money_year.due,
                                             summary.money_year.paid])],
            title=_("%(year)d年资金（万元）") % {"year": year}, fmt=charts.wan, width=560, height=220),
    }
    return "dashboards/yearly_report.html", {
        "doc_title": _("%(city)s技能大师工作室%(year)d年度工作统计报告") % {"city": city.name, "year": year},
        "doc_author": city.bureau_name, "s": summary, "charts": figures, "sensitive": False}


@pdf.document("reviews.yearly_report")
def _yearly_report_document(object_id: int, variant: str) -> pdf.Source:
    return yearly_report_source(City.objects.get(pk=object_id), int(variant))


# --- cache invalidation ---------------------------------------------------------------------------------

COUNTED_MODELS: tuple[type[models.Model], ...] = (
    Application, ReviewStep, NoticeEntry, Assignment, OpinionRequest, Round, Studio, StudioRecord, Assessment,
    Disbursement, AnnualPlan, Upgrade, Revocation)

for _model in COUNTED_MODELS:
    post_save.connect(bump, sender=_model, dispatch_uid=f"dashboards-{_model._meta.label}")
    post_delete.connect(bump, sender=_model, dispatch_uid=f"dashboards-del-{_model._meta.label}")
