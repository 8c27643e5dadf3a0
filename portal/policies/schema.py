"""The policy schema: a tree of frozen dataclasses, and the validator that builds it.

A city's rules live in ``portal/policies/<city>.toml`` (see docs/policies.md for every key).  The
builder below is the *only* place that knows the file layout: it walks the parsed TOML (or the
JSON copy kept in ``PolicyVersion.data``), checks every value, and raises
:class:`~portal.policies.errors.PolicyError` naming the file, the dotted key path and the broken
rule.  Unknown keys are errors too, so a misspelt key cannot silently fall back to a default.

Provenance is part of the schema: every rule table carries ``article = "第N条(…)"`` when it comes
from the city's document, or ``source = "bureau"`` when the document is silent and the bureau
chose a value (written ``# 非办法规定，局内设置`` in the files).  A seed rule without an article is
rejected, so nobody can slip an invented rule in as if it were the city's policy.
"""
from __future__ import annotations

import hashlib
import re
import string
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal.policies import vocab
from portal.policies.errors import PolicyError

SCHEMA_VERSION = 1

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# City.code is a SlugField; we keep to lower case so file name == code on any file system.
_CITY_CODE_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
# District.code is CharField(max_length=12): 6-digit county codes, 9-digit town codes, or a
# stable made-up code for units that have none.
_DISTRICT_CODE_RE = re.compile(r"^[0-9A-Za-z]{1,12}$")

# Model field lengths (portal.models.policy.PolicyVersion / geo.City / geo.District): a file that
# validates must always fit the database.
_MAX_VERSION = 32
_MAX_TITLE = 200
_MAX_DOC_NUMBER = 100
_MAX_CITY_NAME = 50
_MAX_BUREAU_NAME = 100
_MAX_DISTRICT_NAME = 50

Json = Any


# --------------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sourced:
    """Provenance shared by every rule: the article it encodes, or a bureau setting."""

    article: str = ""
    source: str = "seed"

    @property
    def is_bureau_setting(self) -> bool:
        return self.source == "bureau"


@dataclass(frozen=True, kw_only=True)
class District:
    code: str
    name: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class Jurisdiction(Sourced):
    level_label: str
    districts: tuple[District, ...]

    def district(self, code: str) -> District | None:
        return next((d for d in self.districts if d.code == code), None)


@dataclass(frozen=True, kw_only=True)
class Authority(Sourced):
    body: str
    joint_with: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Authorities:
    administration: Authority
    daily_management: Authority | None
    district_support: Authority | None


@dataclass(frozen=True, kw_only=True)
class ReviewStage(Sourced):
    name: str
    body: str
    joint_with: tuple[str, ...] = ()
    site_visit: bool = False
    third_party: bool = False

    @property
    def label(self) -> str:
        return str(vocab.STAGES[self.name])


@dataclass(frozen=True, kw_only=True)
class Notice(Sourced):
    working_days: int
    is_minimum: bool
    venue: str
    on_objection: str
    reserve_substitution: bool


@dataclass(frozen=True, kw_only=True)
class Intake(Sourced):
    rounds_per_year: int


@dataclass(frozen=True, kw_only=True)
class Quota(Sourced):
    per_year: int


@dataclass(frozen=True, kw_only=True)
class Submission(Sourced):
    online: bool
    paper_copies: int | None
    electronic_copy: bool


@dataclass(frozen=True, kw_only=True)
class Durations(Sourced):
    """Default working days per review stage (not the notice: that is ``Notice.working_days``)."""

    working_days: Mapping[str, int]


@dataclass(frozen=True, kw_only=True)
class Review(Sourced):
    stages: tuple[ReviewStage, ...]
    formal_review_level: str
    formal_review_checks_originals: bool
    intake: Intake
    quota: Quota | None
    submission: Submission
    notice: Notice | None
    durations: Durations

    def stage(self, name: str) -> ReviewStage | None:
        return next((s for s in self.stages if s.name == name), None)


@dataclass(frozen=True, kw_only=True)
class Naming(Sourced):
    format: str


@dataclass(frozen=True, kw_only=True)
class OrgKinds(Sourced):
    kinds: tuple[str, ...]
    open_ended: bool


@dataclass(frozen=True, kw_only=True)
class Condition(Sourced):
    code: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Waiver(Sourced):
    code: str
    label: str
    waives: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Retirement(Sourced):
    min_years_before: int
    strict: bool


@dataclass(frozen=True, kw_only=True)
class LeaderRequirements(Sourced):
    min_level: str
    title_equivalent: bool
    achievements_needed: int
    achievements: tuple[Condition, ...]
    waivers: tuple[Waiver, ...]
    retirement: Retirement | None
    priorities: tuple[Condition, ...]

    def level_meets(self, level: str) -> bool:
        """Whether a leader at ``level`` meets the minimum (before any waiver)."""
        if level not in vocab.SKILL_LEVELS:
            raise ValueError(f"unknown skill level {level!r}")
        order = vocab.SKILL_LEVEL_ORDER
        return order.index(level) >= order.index(self.min_level)


@dataclass(frozen=True, kw_only=True)
class SiteArea(Sourced):
    min_m2: int | None
    by_org_kind: Mapping[str, int]


@dataclass(frozen=True, kw_only=True)
class EducationFund(Sourced):
    min_share_percent: int
    applies_to: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OnePerEntity(Sourced):
    strict: bool


@dataclass(frozen=True, kw_only=True)
class ProjectRequirement(Sourced):
    min_projects: int


@dataclass(frozen=True, kw_only=True)
class Eligibility:
    org_kinds: OrgKinds
    leader: LeaderRequirements
    site_area: SiteArea | None
    education_fund: EducationFund | None
    one_per_legal_entity: OnePerEntity | None
    dishonesty_exclusion: Condition | None
    project: ProjectRequirement | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, kw_only=True)
class Material(Sourced):
    code: str
    label: str
    applies_to: tuple[str, ...] = ()

    def applies(self, org_kind: str) -> bool:
        return not self.applies_to or org_kind in self.applies_to


@dataclass(frozen=True, kw_only=True)
class Category(Sourced):
    code: str
    label: str


@dataclass(frozen=True, kw_only=True)
class PlanAggregation(Sourced):
    month: int
    day: int
    body: str
    submitted_to: str


@dataclass(frozen=True, kw_only=True)
class AnnualPlan(Sourced):
    required: bool
    month: int | None
    day: int | None
    filed_with: str
    aggregation: PlanAggregation | None


@dataclass(frozen=True, kw_only=True)
class TrainingIndicator(Sourced):
    code: str
    label: str
    unit: str
    minimum: int | None
    maximum: int | None
    by_category: Mapping[str, int]
    level: str | None
    part_of: str | None
    averaged: bool
    strict: bool
    counts: tuple[str, ...] = ()

    def minimum_for(self, category: str | None = None) -> int | None:
        if self.by_category:
            if category is None:
                return None
            return self.by_category.get(category)
        return self.minimum


@dataclass(frozen=True, kw_only=True)
class Training:
    indicators: tuple[TrainingIndicator, ...]
    ich_exception: Condition | None

    def indicator(self, code: str) -> TrainingIndicator | None:
        return next((i for i in self.indicators if i.code == code), None)


@dataclass(frozen=True, kw_only=True)
class Grade:
    code: str
    label: str
    min_score: int | None
    passing: bool


@dataclass(frozen=True, kw_only=True)
class ScoringItem:
    code: str
    label: str
    points: int


@dataclass(frozen=True, kw_only=True)
class ScoringSection:
    code: str
    label: str
    points: int
    items: tuple[ScoringItem, ...]


@dataclass(frozen=True, kw_only=True)
class ScoringTable(Sourced):
    total: int
    sections: tuple[ScoringSection, ...]
    bonus_cap: int
    bonus_items: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FailureRule(Sourced):
    consecutive_to_revoke: int | None
    rectification: bool


@dataclass(frozen=True, kw_only=True)
class Assessment(Sourced):
    cycle_years: int | None
    month: int | None
    day: int | None
    date_source: str
    conducted_by: Authority
    evaluated_by: Authority | None
    grades: tuple[Grade, ...]
    failure: FailureRule
    scoring: ScoringTable | None

    def date_in(self, year: int) -> date | None:
        if self.month is None or self.day is None:
            return None
        return date(year, self.month, self.day)

    def grade_for(self, score: int) -> Grade:
        """The grade a total score earns (bonus already added and capped by the caller)."""
        scored = [g for g in self.grades if g.min_score is not None]
        if not scored:
            raise ValueError("this city's grades have no score thresholds")
        for grade in sorted(scored, key=lambda g: g.min_score or 0, reverse=True):
            if score >= (grade.min_score or 0):
                return grade
        return scored[-1]


@dataclass(frozen=True, kw_only=True)
class Milestone(Sourced):
    code: str
    kind: str
    label: str
    due_months: int | None
    due_source: str
    min_count: int
    third_party: bool


@dataclass(frozen=True, kw_only=True)
class Acceptance(Sourced):
    support_period_years: int | None
    conducted_by: Authority | None
    milestones: tuple[Milestone, ...]

    def has_milestone(self, kind: str) -> bool:
        return any(m.kind == kind for m in self.milestones)


@dataclass(frozen=True, kw_only=True)
class Plaque(Sourced):
    timing: str
    issued_by: str
    joint_with: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Tranche:
    trigger: str
    share_percent: int
    share_source: str


@dataclass(frozen=True, kw_only=True)
class Subsidy(Sourced):
    code: str
    label: str
    recipient: str
    trigger: str
    per: str
    amount_yuan: int | None
    is_cap: bool
    by_category: Mapping[str, int]
    by_level: Mapping[str, int]
    years: int | None
    max_persons: int | None
    tranches: tuple[Tranche, ...]
    renewable: bool
    subject_to_budget: bool
    after_support_period: bool
    funded_by: str
    note: str

    def amount_for(self, *, category: str | None = None, level: str | None = None) -> int | None:
        """The amount (or cap, see ``is_cap``) in yuan for a category / certified level."""
        if self.by_category:
            return self.by_category.get(category or "")
        if self.by_level:
            return self.by_level.get(level or "")
        return self.amount_yuan


@dataclass(frozen=True, kw_only=True)
class Benefit(Sourced):
    code: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Ground(Sourced):
    code: str
    label: str
    is_fraud: bool
    after_rectification: bool


@dataclass(frozen=True, kw_only=True)
class Sanction(Sourced):
    ban_years: int
    subjects: tuple[str, ...]
    scope: str


@dataclass(frozen=True, kw_only=True)
class Revocation(Sourced):
    decided_by: Authority
    consequences: tuple[str, ...]
    grounds: tuple[Ground, ...]
    sanction: Sanction | None

    @property
    def fraud_grounds(self) -> tuple[Ground, ...]:
        return tuple(g for g in self.grounds if g.is_fraud)


@dataclass(frozen=True, kw_only=True)
class LeaderChange(Sourced):
    on_departure: str
    approved_by: str


@dataclass(frozen=True, kw_only=True)
class Criterion:
    code: str
    label: str
    weight: int
    basis: str


@dataclass(frozen=True, kw_only=True)
class Rubric(Sourced):
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, kw_only=True)
class Reminders(Sourced):
    offsets_days: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class Policy:
    """One version of one city's rules.  Build it with :func:`load_policy_file` or
    :func:`policy_from_data`; never construct it by hand outside tests."""

    code: str
    city_name: str
    bureau_name: str
    jurisdiction: Jurisdiction
    version: str
    title: str
    document_number: str
    issuers: tuple[str, ...]
    issued_on: date | None
    effective_from: date
    effective_until: date | None
    effective_article: str
    effective_from_source: str
    is_draft: bool
    interpreted_by: str
    authorities: Authorities
    review: Review
    naming: Naming
    eligibility: Eligibility
    required_materials: tuple[Material, ...]
    categories: tuple[Category, ...]
    annual_plan: AnnualPlan
    training: Training
    assessment: Assessment
    acceptance: Acceptance
    plaque: Plaque
    subsidies: tuple[Subsidy, ...]
    benefits: tuple[Benefit, ...]
    revocation: Revocation
    leader_change: LeaderChange
    expert_rubric: Rubric
    reminders: Reminders
    source_name: str = ""
    sha256: str = ""
    schema_version: int = SCHEMA_VERSION

    # --- validity ----------------------------------------------------------------------------------
    def is_in_force(self, on: date) -> bool:
        if on < self.effective_from:
            return False
        return self.effective_until is None or on <= self.effective_until

    def round_open(self, on: date) -> bool:
        """Whether a new application round may be opened on ``on`` under this version.

        Only while the document is in force: 东莞 第二十条 makes its 办法 lapse on 2025-12-31, so
        after that date no round opens until the bureau loads a new version.
        """
        return self.is_in_force(on)

    # --- review ------------------------------------------------------------------------------------
    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.review.stages)

    def has_stage(self, name: str) -> bool:
        if name not in vocab.STAGES:
            # A typo in calling code must not read as "this city has no such stage".
            raise ValueError(f"unknown review stage {name!r}")
        return name in self.stages

    def stage(self, name: str) -> ReviewStage | None:
        return self.review.stage(name)

    @property
    def formal_review_level(self) -> str:
        return self.review.formal_review_level

    @property
    def formal_review_checks_originals(self) -> bool:
        return self.review.formal_review_checks_originals

    @property
    def notice_working_days(self) -> int | None:
        return self.review.notice.working_days if self.review.notice else None

    @property
    def notice_days_is_minimum(self) -> bool:
        return bool(self.review.notice and self.review.notice.is_minimum)

    @property
    def rounds_per_year(self) -> int:
        return self.review.intake.rounds_per_year

    @property
    def yearly_quota(self) -> int | None:
        return self.review.quota.per_year if self.review.quota else None

    def working_days(self, stage: str) -> int | None:
        """Default length of a stage in working days (the notice's comes from the document)."""
        if stage == "notice":
            return self.notice_working_days
        return self.review.durations.working_days.get(stage)

    # --- application -------------------------------------------------------------------------------
    @property
    def name_format(self) -> str:
        return self.naming.format

    def studio_name(self, *, leader: str, occupation: str = "", org: str = "") -> str:
        return self.naming.format.format(leader=leader, occupation=occupation, org=org)

    @property
    def eligible_org_kinds(self) -> tuple[str, ...]:
        return self.eligibility.org_kinds.kinds

    def materials_for(self, org_kind: str) -> tuple[Material, ...]:
        return tuple(m for m in self.required_materials if m.applies(org_kind))

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    @property
    def min_leader_level(self) -> str:
        return self.eligibility.leader.min_level

    def min_site_area_m2(self, org_kind: str) -> int | None:
        """The strictest floor-area minimum that applies to ``org_kind`` (None: no minimum)."""
        site = self.eligibility.site_area
        if site is None:
            return None
        values = [v for v in (site.min_m2, site.by_org_kind.get(org_kind)) if v is not None]
        return max(values) if values else None

    def min_education_fund_percent(self, org_kind: str) -> int | None:
        fund = self.eligibility.education_fund
        if fund is None or (fund.applies_to and org_kind not in fund.applies_to):
            return None
        return fund.min_share_percent

    @property
    def sanction_ban_years(self) -> int | None:
        sanction = self.revocation.sanction
        return sanction.ban_years if sanction else None

    # --- running a studio --------------------------------------------------------------------------
    def plan_deadline(self, year: int) -> date | None:
        """The calendar date the year's work plan is due (before any working-day shift)."""
        plan = self.annual_plan
        if not plan.required or plan.month is None or plan.day is None:
            return None
        return date(year, plan.month, plan.day)

    def plan_aggregation_deadline(self, year: int) -> date | None:
        agg = self.annual_plan.aggregation
        return date(year, agg.month, agg.day) if agg else None

    def assessment_date(self, year: int) -> date | None:
        return self.assessment.date_in(year)

    @property
    def assessment_cycle_years(self) -> int | None:
        return self.assessment.cycle_years

    @property
    def consecutive_failures_to_revoke(self) -> int | None:
        return self.assessment.failure.consecutive_to_revoke

    @property
    def support_period_years(self) -> int | None:
        return self.acceptance.support_period_years

    @property
    def plaque_timing(self) -> str:
        return self.plaque.timing

    def training_minimum(self, code: str, category: str | None = None) -> int | None:
        indicator = self.training.indicator(code)
        return indicator.minimum_for(category) if indicator else None

    def subsidy(self, code: str) -> Subsidy | None:
        return next((s for s in self.subsidies if s.code == code), None)

    def subsidies_on(self, trigger: str) -> tuple[Subsidy, ...]:
        if trigger not in vocab.SUBSIDY_TRIGGERS:
            raise ValueError(f"unknown subsidy trigger {trigger!r}")
        return tuple(s for s in self.subsidies if s.trigger == trigger or any(t.trigger == trigger for t in s.tranches))

    def __str__(self) -> str:
        return f"{self.city_name} {self.title}（{self.version}）"


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------

_MISSING: Any = object()


def _choices_text(choices: Collection[str]) -> str:
    return "、".join(choices)


class _Node:
    """One TOML table being read: knows its dotted path and which of its keys were read."""

    def __init__(self, file: str, data: Mapping[str, Any], path: str = "") -> None:
        self.file = file
        self.data = data
        self.path = path
        self._seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str | None, rule: str) -> NoReturn:
        raise PolicyError(self.file, self.key(name) if name else (self.path or "(文件)"), rule)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, required: bool) -> Any:
        self._seen.add(name)
        if name not in self.data:
            if required:
                self.fail(name, _("缺少必填项"))
            return _MISSING
        return self.data[name]

    def done(self) -> None:
        for name in self.data:
            if name not in self._seen:
                self.fail(name, _("未知的键（拼写错误，或本版本的 schema 不支持此项）"))

    # --- scalars -----------------------------------------------------------------------------------
    def text(self, name: str, *, required: bool = True, max_length: int | None = None) -> str:
        value = self._get(name, required)
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(name, _("必须是非空字符串"))
        if max_length is not None and len(value.strip()) > max_length:
            self.fail(name, _("长度不能超过 %(n)d 个字符") % {"n": max_length})
        return value.strip()

    def code(self, name: str = "code", *, pattern: re.Pattern[str] = _CODE_RE, rule: str | None = None) -> str:
        value = self.text(name)
        if not pattern.match(value):
            self.fail(name, _(rule) if rule else _("必须是以小写字母开头、只含小写字母、数字和下划线的代码"))
        return value

    def integer(
        self, name: str, *, required: bool = True, minimum: int = 1, maximum: int | None = None
    ) -> int | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            if minimum == 1:
                self.fail(name, _("必须是正整数"))
            if minimum == 0:
                self.fail(name, _("必须是非负整数"))
            self.fail(name, _("必须是不小于 %(n)d 的整数") % {"n": minimum})
        if maximum is not None and value > maximum:
            self.fail(name, _("不能大于 %(n)d") % {"n": maximum})
        return value

    def req_integer(self, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
        value = self.integer(name, required=True, minimum=minimum, maximum=maximum)
        assert value is not None  # required=True never returns None
        return value

    def boolean(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.fail(name, _("必须是布尔值（true 或 false）"))
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        # TOML gives a date; the JSON copy in PolicyVersion.data gives an ISO string.
        if type(value) is date:
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(name, _("必须是日期（如 2024-01-01，不加引号、不带时间）"))

    def choice(
        self,
        name: str,
        choices: Mapping[str, Any],
        *,
        required: bool = True,
        default: str = "",
        unknown: str | None = None,
    ) -> str:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.fail(name, _("必须是字符串"))
        if value not in choices:
            self.fail(name, _unknown_message(unknown, value, choices))
        return value

    def month_day(self, *, required: bool = True) -> tuple[int | None, int | None]:
        month = self.integer("month", required=required, maximum=12)
        day = self.integer("day", required=required or month is not None, maximum=31)
        if month is None and day is not None:
            self.fail("month", _("缺少必填项"))
        if month is not None and day is not None:
            try:
                date(2023, month, day)  # a common year: 2月29日 would vanish three years in four
            except ValueError:
                self.fail("day", _("%(m)d月%(d)d日不是每年都有的日期") % {"m": month, "d": day})
        return month, day

    # --- collections -------------------------------------------------------------------------------
    def _list(self, name: str, required: bool) -> list[Any] | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.fail(name, _("必须是数组"))
        return value

    def texts(self, name: str, *, required: bool = False, allow_empty: bool = True) -> tuple[str, ...]:
        items = self._list(name, required)
        if items is None:
            return ()
        if not items and not allow_empty:
            self.fail(name, _("不能为空"))
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise PolicyError(self.file, f"{self.key(name)}[{i}]", _("必须是非空字符串"))
        return tuple(item.strip() for item in items)

    def choices(
        self,
        name: str,
        choices: Mapping[str, Any],
        *,
        required: bool = False,
        allow_empty: bool = True,
        unknown: str | None = None,
    ) -> tuple[str, ...]:
        items = self._list(name, required)
        if items is None:
            return ()
        if not items and not allow_empty:
            self.fail(name, _("不能为空"))
        seen: set[str] = set()
        for i, item in enumerate(items):
            where = f"{self.key(name)}[{i}]"
            if not isinstance(item, str):
                raise PolicyError(self.file, where, _("必须是字符串"))
            if item not in choices:
                raise PolicyError(self.file, where, _unknown_message(unknown, item, choices))
            if item in seen:
                raise PolicyError(self.file, where, _("重复的取值“%(v)s”") % {"v": item})
            seen.add(item)
        return tuple(items)

    def int_list(self, name: str, *, required: bool = True) -> tuple[int, ...]:
        items = self._list(name, required)
        if items is None:
            return ()
        if not items:
            self.fail(name, _("不能为空"))
        for i, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise PolicyError(self.file, f"{self.key(name)}[{i}]", _("必须是正整数"))
        if len(set(items)) != len(items):
            self.fail(name, _("不能有重复的值"))
        return tuple(items)

    def int_map(
        self,
        name: str,
        keys: Mapping[str, Any] | Collection[str],
        *,
        unknown: str | None = None,
    ) -> Mapping[str, int]:
        value = self._get(name, False)
        if value is _MISSING:
            return MappingProxyType({})
        if not isinstance(value, Mapping) or not value:
            self.fail(name, _("必须是非空的表（如 {a = 1, b = 2}）"))
        result: dict[str, int] = {}
        for key, item in value.items():
            where = f"{self.key(name)}.{key}"
            if key not in keys:
                raise PolicyError(self.file, where, _unknown_message(unknown, key, keys))
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise PolicyError(self.file, where, _("必须是正整数"))
            result[key] = item
        return MappingProxyType(result)

    def table(self, name: str, *, required: bool = True) -> _Node | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, Mapping):
            self.fail(name, _("必须是表（[%(key)s]）") % {"key": self.key(name)})
        return _Node(self.file, value, self.key(name))

    def req_table(self, name: str) -> _Node:
        node = self.table(name, required=True)
        assert node is not None
        return node

    def tables(self, name: str, *, required: bool = True, allow_empty: bool = False) -> list[_Node]:
        items = self._list(name, required)
        if items is None:
            return []
        if not items and not allow_empty:
            self.fail(name, _("不能为空"))
        nodes = []
        for i, item in enumerate(items):
            where = f"{self.key(name)}[{i}]"
            if not isinstance(item, Mapping):
                raise PolicyError(self.file, where, _("必须是表（[[%(key)s]]）") % {"key": self.key(name)})
            nodes.append(_Node(self.file, item, where))
        return nodes

    # --- provenance --------------------------------------------------------------------------------
    def provenance(self) -> dict[str, str]:
        source = self.choice("source", vocab.SOURCES, required=False, default="seed")
        article = self.text("article", required=False)
        if source == "seed" and not article:
            self.fail(
                "article",
                _("出自办法的规则必须注明条款（article = \"第N条\"）；办法未规定的请写 source = \"bureau\""),
            )
        return {"article": article, "source": source}


def _unknown_message(template: str | None, value: object, choices: Collection[str]) -> str:
    # Templates arrive untranslated (gettext_noop) so the happy path never touches gettext.
    text = _(template) if template else _("“%(value)s”不是允许的取值，可选：%(choices)s")
    return text % {"value": value, "choices": _choices_text(choices)}


_UNKNOWN_STAGE = gettext_noop("未知的审查环节“%(value)s”，可选：%(choices)s")
_UNKNOWN_LEVEL = gettext_noop("未知的技能等级“%(value)s”，可选：%(choices)s")
_UNKNOWN_ORG_KIND = gettext_noop("未知的依托单位类别“%(value)s”，可选：%(choices)s")
_UNKNOWN_CATEGORY = gettext_noop("未知的类别代码“%(value)s”，本文件 [[categories]] 中定义的有：%(choices)s")
_DISTRICT_CODE_RULE = gettext_noop("只能包含字母和数字，最长 12 位（行政区划代码）")
_UNKNOWN_DEPARTMENT = gettext_noop("未知的部门“%(value)s”，可选：%(choices)s")


def _check_unique(nodes: list[_Node], values: list[str], what: str = "code") -> None:
    seen: set[str] = set()
    for node, value in zip(nodes, values, strict=True):
        if value in seen:
            node.fail(what, _("重复的代码“%(v)s”") % {"v": value})
        seen.add(value)


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def _authority(node: _Node) -> Authority:
    result = Authority(
        body=node.text("body"),
        joint_with=node.choices("joint_with", vocab.DEPARTMENTS, unknown=_UNKNOWN_DEPARTMENT),
        **node.provenance(),
    )
    node.done()
    return result


def _condition(node: _Node) -> Condition:
    result = Condition(code=node.code(), label=node.text("label"), **node.provenance())
    node.done()
    return result


def _conditions(parent: _Node, name: str) -> tuple[Condition, ...]:
    nodes = parent.tables(name, required=False, allow_empty=True)
    items = [_condition(n) for n in nodes]
    _check_unique(nodes, [c.code for c in items])
    return tuple(items)


def _jurisdiction(node: _Node) -> Jurisdiction:
    level_label = node.text("level_label")
    prov = node.provenance()
    nodes = node.tables("districts")
    districts = []
    for d in nodes:
        districts.append(
            District(
                code=d.code("code", pattern=_DISTRICT_CODE_RE, rule=_DISTRICT_CODE_RULE),
                name=d.text("name", max_length=_MAX_DISTRICT_NAME),
                kind=d.choice("kind", vocab.DISTRICT_KINDS),
            )
        )
        d.done()
    _check_unique(nodes, [d.code for d in districts])
    node.done()
    return Jurisdiction(level_label=level_label, districts=tuple(districts), **prov)


def _authorities(node: _Node) -> Authorities:
    admin = _authority(node.req_table("administration"))
    daily = node.table("daily_management", required=False)
    district = node.table("district_support", required=False)
    node.done()
    return Authorities(
        administration=admin,
        daily_management=_authority(daily) if daily else None,
        district_support=_authority(district) if district else None,
    )


def _review(node: _Node) -> Review:
    level = node.choice("formal_review_level", vocab.FORMAL_REVIEW_LEVELS)
    originals = node.boolean("formal_review_checks_originals", required=True)
    prov = node.provenance()

    stage_nodes = node.tables("stages")
    stages: list[ReviewStage] = []
    for s in stage_nodes:
        name = s.choice("name", vocab.STAGES, unknown=_UNKNOWN_STAGE)
        site_visit = s.boolean("site_visit")
        third_party = s.boolean("third_party")
        if (site_visit or third_party) and name != "expert_review":
            s.fail("site_visit" if site_visit else "third_party", _("只有 expert_review 环节可以设置此项"))
        stages.append(
            ReviewStage(
                name=name,
                body=s.text("body"),
                joint_with=s.choices("joint_with", vocab.DEPARTMENTS, unknown=_UNKNOWN_DEPARTMENT),
                site_visit=site_visit,
                third_party=third_party,
                **s.provenance(),
            )
        )
        s.done()
    _check_unique(stage_nodes, [s.name for s in stages], what="name")
    names = [s.name for s in stages]

    # Someone has to receive the file first: either a formal check or an agency collecting it.
    if names[0] not in ("formal_review", "aggregation"):
        stage_nodes[0].fail("name", _("第一个环节必须是 formal_review 或 aggregation"))
    if "expert_review" not in names:
        node.fail("stages", _("必须包含 expert_review 环节（五市办法均由专家评审/评估）"))
    expert_at = names.index("expert_review")
    # Opinions, decisions and notices are about the experts' result, so they cannot precede it.
    for i, name in enumerate(names[:expert_at]):
        if name in ("opinion", "decision", "notice"):
            stage_nodes[i].fail("name", _("%(s)s 必须排在 expert_review 之后") % {"s": name})
    needed = "aggregation" if level == "agency" else "formal_review"
    if needed not in names:
        node.fail(
            "formal_review_level",
            _("取值 %(level)s 要求 stages 中有 %(stage)s 环节") % {"level": level, "stage": needed},
        )

    intake_node = node.req_table("intake")
    intake = Intake(rounds_per_year=intake_node.req_integer("rounds_per_year", maximum=12), **intake_node.provenance())
    intake_node.done()

    quota_node = node.table("quota", required=False)
    quota = None
    if quota_node:
        quota = Quota(per_year=quota_node.req_integer("per_year"), **quota_node.provenance())
        quota_node.done()

    sub_node = node.req_table("submission")
    submission = Submission(
        online=sub_node.boolean("online", required=True),
        paper_copies=sub_node.integer("paper_copies", required=False),
        electronic_copy=sub_node.boolean("electronic_copy"),
        **sub_node.provenance(),
    )
    sub_node.done()

    notice_node = node.table("notice", required=False)
    notice = None
    if notice_node:
        notice = Notice(
            working_days=notice_node.req_integer("working_days", maximum=60),
            is_minimum=notice_node.boolean("is_minimum", required=True),
            venue=notice_node.text("venue"),
            on_objection=notice_node.text("on_objection", required=False),
            reserve_substitution=notice_node.boolean("reserve_substitution"),
            **notice_node.provenance(),
        )
        notice_node.done()
    if ("notice" in names) != (notice is not None):
        if notice is None:
            node.fail("notice", _("stages 中有 notice 环节，必须提供 [review.notice]"))
        node.fail("notice", _("stages 中没有 notice 环节，不能提供 [review.notice]"))

    dur_node = node.req_table("durations")
    dur_prov = dur_node.provenance()
    durations: dict[str, int] = {}
    for key in list(dur_node.data):
        if key in ("article", "source"):
            continue
        if key == "notice":
            dur_node.fail(key, _("公示期由 review.notice.working_days 规定，不在 durations 中设置"))
        if key not in vocab.STAGES:
            dur_node.fail(key, _unknown_message(_UNKNOWN_STAGE, key, vocab.STAGES))
        if key not in names:
            dur_node.fail(key, _("环节 %(s)s 不在 review.stages 中") % {"s": key})
        durations[key] = dur_node.req_integer(key, maximum=250)
    for name in names:
        if name != "notice" and name not in durations:
            dur_node.fail(name, _("缺少必填项（review.stages 中每个环节都要有默认工作日数）"))
    dur_node.done()

    node.done()
    return Review(
        stages=tuple(stages),
        formal_review_level=level,
        formal_review_checks_originals=originals,
        intake=intake,
        quota=quota,
        submission=submission,
        notice=notice,
        durations=Durations(working_days=MappingProxyType(durations), **dur_prov),
        **prov,
    )


def _naming(node: _Node) -> Naming:
    fmt = node.text("format")
    try:
        fields = [(name, spec, conv) for _lit, name, spec, conv in string.Formatter().parse(fmt) if name is not None]
    except ValueError:
        node.fail("format", _("花括号不配对"))
    for name, spec, conv in fields:
        if name not in vocab.NAME_PLACEHOLDERS or spec or conv:
            node.fail(
                "format",
                _("未知的占位符“{%(name)s}”，可选：%(choices)s")
                % {"name": name, "choices": _choices_text("{" + k + "}" for k in vocab.NAME_PLACEHOLDERS)},
            )
    if "leader" not in {f[0] for f in fields}:
        node.fail("format", _("必须包含 {leader}（领办人姓名）"))
    result = Naming(format=fmt, **node.provenance())
    node.done()
    return result


def _eligibility(node: _Node) -> Eligibility:
    kinds_node = node.req_table("org_kinds")
    org_kinds = OrgKinds(
        kinds=kinds_node.choices(
            "kinds", vocab.ORG_KINDS, required=True, allow_empty=False, unknown=_UNKNOWN_ORG_KIND
        ),
        open_ended=kinds_node.boolean("open_ended"),
        **kinds_node.provenance(),
    )
    kinds_node.done()
    allowed_kinds = {k: vocab.ORG_KINDS[k] for k in org_kinds.kinds}
    not_eligible = gettext_noop("依托单位类别“%(value)s”不在 eligibility.org_kinds.kinds 中（%(choices)s）")

    leader_node = node.req_table("leader")
    min_level = leader_node.choice("min_level", vocab.SKILL_LEVELS, unknown=_UNKNOWN_LEVEL)
    title_equivalent = leader_node.boolean("title_equivalent")
    achievements_needed = leader_node.req_integer("achievements_needed", minimum=0)
    leader_prov = leader_node.provenance()
    achievements = _conditions(leader_node, "achievements")
    if achievements_needed > len(achievements):
        leader_node.fail(
            "achievements_needed",
            _("不能大于 achievements 的条数（%(n)d）") % {"n": len(achievements)},
        )
    waiver_nodes = leader_node.tables("waivers", required=False, allow_empty=True)
    waivers = []
    for w in waiver_nodes:
        waivers.append(
            Waiver(
                code=w.code(),
                label=w.text("label"),
                waives=w.choices("waives", vocab.WAIVABLE, required=True, allow_empty=False),
                **w.provenance(),
            )
        )
        w.done()
    _check_unique(waiver_nodes, [w.code for w in waivers])
    ret_node = leader_node.table("retirement", required=False)
    retirement = None
    if ret_node:
        retirement = Retirement(
            min_years_before=ret_node.req_integer("min_years_before", minimum=0, maximum=20),
            strict=ret_node.boolean("strict", required=True),
            **ret_node.provenance(),
        )
        ret_node.done()
    priorities = _conditions(leader_node, "priorities")
    leader_node.done()
    leader = LeaderRequirements(
        min_level=min_level,
        title_equivalent=title_equivalent,
        achievements_needed=achievements_needed,
        achievements=achievements,
        waivers=tuple(waivers),
        retirement=retirement,
        priorities=priorities,
        **leader_prov,
    )

    site_node = node.table("site_area", required=False)
    site_area = None
    if site_node:
        site_area = SiteArea(
            min_m2=site_node.integer("min_m2", required=False),
            by_org_kind=site_node.int_map("by_org_kind", allowed_kinds, unknown=not_eligible),
            **site_node.provenance(),
        )
        if site_area.min_m2 is None and not site_area.by_org_kind:
            site_node.fail("min_m2", _("min_m2 与 by_org_kind 至少要有一项"))
        site_node.done()

    fund_node = node.table("education_fund", required=False)
    fund = None
    if fund_node:
        fund = EducationFund(
            min_share_percent=fund_node.req_integer("min_share_percent", maximum=100),
            applies_to=fund_node.choices("applies_to", allowed_kinds, unknown=not_eligible),
            **fund_node.provenance(),
        )
        fund_node.done()

    one_node = node.table("one_per_legal_entity", required=False)
    one = None
    if one_node:
        one = OnePerEntity(strict=one_node.boolean("strict", required=True), **one_node.provenance())
        one_node.done()

    dis_node = node.table("dishonesty_exclusion", required=False)
    dishonesty = _condition(dis_node) if dis_node else None

    proj_node = node.table("project", required=False)
    project = None
    if proj_node:
        project = ProjectRequirement(min_projects=proj_node.req_integer("min_projects"), **proj_node.provenance())
        proj_node.done()

    conditions = _conditions(node, "conditions")
    node.done()
    return Eligibility(
        org_kinds=org_kinds,
        leader=leader,
        site_area=site_area,
        education_fund=fund,
        one_per_legal_entity=one,
        dishonesty_exclusion=dishonesty,
        project=project,
        conditions=conditions,
    )


def _materials(root: _Node, org_kinds: tuple[str, ...]) -> tuple[Material, ...]:
    nodes = root.tables("materials")
    allowed = {k: vocab.ORG_KINDS[k] for k in org_kinds}
    items = []
    for m in nodes:
        items.append(
            Material(
                code=m.code(),
                label=m.text("label"),
                applies_to=m.choices(
                    "applies_to",
                    allowed,
                    unknown=gettext_noop("依托单位类别“%(value)s”不在 eligibility.org_kinds.kinds 中（%(choices)s）"),
                ),
                **m.provenance(),
            )
        )
        m.done()
    _check_unique(nodes, [m.code for m in items])
    return tuple(items)


def _categories(root: _Node) -> tuple[Category, ...]:
    nodes = root.tables("categories", required=False, allow_empty=True)
    items = [Category(code=n.code(), label=n.text("label"), **n.provenance()) for n in nodes]
    for n in nodes:
        n.done()
    _check_unique(nodes, [c.code for c in items])
    return tuple(items)


def _annual_plan(node: _Node) -> AnnualPlan:
    required = node.boolean("required", required=True)
    month, day = node.month_day(required=required)
    if not required and month is not None:
        node.fail("month", _("required = false 时不能设置报送日期"))
    filed_with = node.text("filed_with", required=required)
    prov = node.provenance()
    agg_node = node.table("aggregation", required=False)
    aggregation = None
    if agg_node:
        if not required:
            node.fail("aggregation", _("required = false 时不能设置汇总上报日期"))
        a_month, a_day = agg_node.month_day()
        assert a_month is not None and a_day is not None
        aggregation = PlanAggregation(
            month=a_month,
            day=a_day,
            body=agg_node.text("body"),
            submitted_to=agg_node.text("submitted_to"),
            **agg_node.provenance(),
        )
        agg_node.done()
    node.done()
    return AnnualPlan(required=required, month=month, day=day, filed_with=filed_with, aggregation=aggregation, **prov)


def _training(node: _Node | None, categories: tuple[Category, ...]) -> Training:
    if node is None:
        return Training(indicators=(), ich_exception=None)
    category_codes = {c.code: c.label for c in categories}
    nodes = node.tables("indicators", required=False, allow_empty=True)
    indicators = []
    for n in nodes:
        unit = n.choice("unit", vocab.TRAINING_UNITS)
        minimum = n.integer("min", required=False, maximum=100 if unit == "percent" else None)
        maximum = n.integer("max", required=False)
        by_category = n.int_map("by_category", category_codes, unknown=_UNKNOWN_CATEGORY)
        if (minimum is None) == (not by_category):
            n.fail("min", _("min 与 by_category 必须且只能提供一项"))
        if by_category and set(by_category) != set(category_codes):
            n.fail("by_category", _("必须为每个类别给出数值（%(c)s）") % {"c": _choices_text(category_codes)})
        if maximum is not None and minimum is not None and maximum < minimum:
            n.fail("max", _("不能小于 min"))
        level = n.choice("level", vocab.SKILL_LEVELS, required=False, unknown=_UNKNOWN_LEVEL) or None
        # Which ledger records the indicator counts; a percentage counts within its part_of indicator.
        counts = n.choices("counts", vocab.RECORD_KINDS, required=unit != "percent", allow_empty=False)
        indicators.append(
            TrainingIndicator(
                code=n.code(),
                label=n.text("label"),
                unit=unit,
                minimum=minimum,
                maximum=maximum,
                by_category=by_category,
                level=level,
                part_of=n.text("part_of", required=False) or None,
                averaged=n.boolean("averaged"),
                strict=n.boolean("strict", default=True),
                counts=counts,
                **n.provenance(),
            )
        )
        n.done()
    codes = [i.code for i in indicators]
    _check_unique(nodes, codes)
    for n, ind in zip(nodes, indicators, strict=True):
        if ind.part_of is not None and (ind.part_of not in codes or ind.part_of == ind.code):
            n.fail("part_of", _("必须是本节另一项指标的 code（%(c)s）") % {"c": _choices_text(codes)})
        if ind.unit == "percent" and ind.part_of is None:
            n.fail("part_of", _("百分比指标必须用 part_of 指明是哪项指标的百分比"))
    ich_node = node.table("ich_exception", required=False)
    ich = _condition(ich_node) if ich_node else None
    node.done()
    return Training(indicators=tuple(indicators), ich_exception=ich)


def _assessment(node: _Node) -> Assessment:
    cycle_years = node.integer("cycle_years", required=False, maximum=10)
    month, day = node.month_day(required=cycle_years is not None)
    date_source = node.choice("date_source", vocab.SOURCES, required=False, default="seed")
    prov = node.provenance()
    conducted_by = _authority(node.req_table("conducted_by"))
    ev = node.table("evaluated_by", required=False)
    evaluated_by = _authority(ev) if ev else None

    grade_nodes = node.tables("grades")
    grades = []
    for g in grade_nodes:
        grades.append(
            Grade(
                code=g.code(),
                label=g.text("label"),
                min_score=g.integer("min_score", required=False, minimum=0, maximum=100),
                passing=g.boolean("passing", required=True),
            )
        )
        g.done()
    _check_unique(grade_nodes, [g.code for g in grades])
    if not any(g.passing for g in grades) or all(g.passing for g in grades):
        node.fail("grades", _("至少要有一个合格等级和一个不合格等级"))
    with_scores = [g.min_score is not None for g in grades]
    if any(with_scores) and not all(with_scores):
        node.fail("grades", _("min_score 要么每个等级都写，要么都不写"))
    if all(with_scores):
        scores = [g.min_score or 0 for g in grades]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            node.fail("grades", _("min_score 必须从高到低排列且互不相同"))
        if scores[-1] != 0:
            node.fail("grades", _("最后一个等级的 min_score 必须为 0（覆盖全部分数）"))
        passing = [g.passing for g in grades]
        if passing != sorted(passing, reverse=True):
            node.fail("grades", _("合格等级的分数线必须都高于不合格等级"))

    fail_node = node.req_table("failure")
    failure = FailureRule(
        consecutive_to_revoke=fail_node.integer("consecutive_to_revoke", required=False, maximum=10),
        rectification=fail_node.boolean("rectification", required=True),
        **fail_node.provenance(),
    )
    fail_node.done()

    scoring_node = node.table("scoring", required=False)
    scoring = _scoring(scoring_node) if scoring_node else None
    if scoring is not None and not all(with_scores):
        node.fail("grades", _("有评分表（scoring）时每个等级都必须写 min_score"))

    node.done()
    return Assessment(
        cycle_years=cycle_years,
        month=month,
        day=day,
        date_source=date_source,
        conducted_by=conducted_by,
        evaluated_by=evaluated_by,
        grades=tuple(grades),
        failure=failure,
        scoring=scoring,
        **prov,
    )


def _scoring(node: _Node) -> ScoringTable:
    total = node.req_integer("total")
    bonus_cap = node.req_integer("bonus_cap", minimum=0)
    bonus_items = node.texts("bonus_items")
    prov = node.provenance()
    section_nodes = node.tables("sections")
    sections = []
    for s in section_nodes:
        points = s.req_integer("points")
        item_nodes = s.tables("items")
        items = []
        for i in item_nodes:
            items.append(ScoringItem(code=i.code(), label=i.text("label"), points=i.req_integer("points")))
            i.done()
        _check_unique(item_nodes, [i.code for i in items])
        item_sum = sum(i.points for i in items)
        if item_sum != points:
            s.fail(
                "items",
                _("各项分值之和为 %(sum)d，应等于本节 points %(points)d") % {"sum": item_sum, "points": points},
            )
        sections.append(ScoringSection(code=s.code(), label=s.text("label"), points=points, items=tuple(items)))
        s.done()
    _check_unique(section_nodes, [s.code for s in sections])
    all_items = [i.code for s in sections for i in s.items]
    if len(set(all_items)) != len(all_items):
        node.fail("sections", _("各节的评分项 code 必须全表唯一"))
    section_sum = sum(s.points for s in sections)
    if section_sum != total:
        node.fail(
            "sections",
            _("各节分值之和为 %(sum)d，应等于 total %(total)d") % {"sum": section_sum, "total": total},
        )
    node.done()
    return ScoringTable(total=total, sections=tuple(sections), bonus_cap=bonus_cap, bonus_items=bonus_items, **prov)


def _acceptance(node: _Node | None) -> Acceptance:
    if node is None:
        return Acceptance(support_period_years=None, conducted_by=None, milestones=(), source="bureau")
    support = node.integer("support_period_years", required=False, maximum=10)
    prov = node.provenance()
    by = node.table("conducted_by", required=False)
    conducted_by = _authority(by) if by else None
    nodes = node.tables("milestones", required=False, allow_empty=True)
    milestones = []
    for m in nodes:
        due = m.integer("due_months", required=False, maximum=120)
        due_source = m.choice("due_source", vocab.SOURCES, required=due is not None, default="")
        if due is None and due_source:
            m.fail("due_source", _("没有 due_months 时不能写 due_source"))
        milestones.append(
            Milestone(
                code=m.code(),
                kind=m.choice("kind", vocab.MILESTONE_KINDS),
                label=m.text("label"),
                due_months=due,
                due_source=due_source,
                min_count=m.integer("min_count", required=False) or 1,
                third_party=m.boolean("third_party"),
                **m.provenance(),
            )
        )
        m.done()
    _check_unique(nodes, [m.code for m in milestones])
    dues = [m.due_months for m in milestones if m.due_months is not None]
    if dues != sorted(dues):
        node.fail("milestones", _("里程碑必须按 due_months 从早到晚排列"))
    if support is not None and dues and dues[-1] > support * 12:
        node.fail("milestones", _("due_months 不能超过扶持（培育）期 %(n)d 个月") % {"n": support * 12})
    node.done()
    return Acceptance(support_period_years=support, conducted_by=conducted_by, milestones=tuple(milestones), **prov)


def _plaque(node: _Node) -> Plaque:
    result = Plaque(
        timing=node.choice("timing", vocab.PLAQUE_TIMINGS),
        issued_by=node.text("issued_by"),
        joint_with=node.choices("joint_with", vocab.DEPARTMENTS, unknown=_UNKNOWN_DEPARTMENT),
        **node.provenance(),
    )
    node.done()
    return result


def _subsidies(root: _Node, categories: tuple[Category, ...]) -> tuple[Subsidy, ...]:
    category_codes = {c.code: c.label for c in categories}
    nodes = root.tables("subsidies", required=True, allow_empty=True)
    items = []
    for n in nodes:
        amount = n.integer("amount_yuan", required=False)
        by_category = n.int_map("by_category", category_codes, unknown=_UNKNOWN_CATEGORY)
        by_level = n.int_map("by_level", vocab.SKILL_LEVELS, unknown=_UNKNOWN_LEVEL)
        if [amount is not None, bool(by_category), bool(by_level)].count(True) != 1:
            n.fail("amount_yuan", _("amount_yuan、by_category、by_level 必须且只能提供一项"))
        if by_category and set(by_category) != set(category_codes):
            n.fail("by_category", _("必须为每个类别给出金额（%(c)s）") % {"c": _choices_text(category_codes)})
        per = n.choice("per", vocab.SUBSIDY_PER)
        years = n.integer("years", required=False, maximum=20)
        if years is not None and per != "year":
            n.fail("years", _("只有 per = \"year\" 的补贴可以设置 years"))
        tranche_nodes = n.tables("tranches", required=False, allow_empty=True)
        tranches = []
        for t in tranche_nodes:
            tranches.append(
                Tranche(
                    trigger=t.choice("trigger", vocab.SUBSIDY_TRIGGERS),
                    share_percent=t.req_integer("share_percent", maximum=100),
                    share_source=t.choice("share_source", vocab.SOURCES, required=False, default="seed"),
                )
            )
            t.done()
        if tranches and sum(t.share_percent for t in tranches) != 100:
            n.fail("tranches", _("各批比例之和必须为 100"))
        items.append(
            Subsidy(
                code=n.code(),
                label=n.text("label"),
                recipient=n.choice("recipient", vocab.SUBSIDY_RECIPIENTS),
                trigger=n.choice("trigger", vocab.SUBSIDY_TRIGGERS),
                per=per,
                amount_yuan=amount,
                is_cap=n.boolean("is_cap", required=True),
                by_category=by_category,
                by_level=by_level,
                years=years,
                max_persons=n.integer("max_persons", required=False),
                tranches=tuple(tranches),
                renewable=n.boolean("renewable"),
                subject_to_budget=n.boolean("subject_to_budget"),
                after_support_period=n.boolean("after_support_period"),
                funded_by=n.text("funded_by", required=False),
                note=n.text("note", required=False),
                **n.provenance(),
            )
        )
        n.done()
    _check_unique(nodes, [s.code for s in items])
    return tuple(items)


def _benefits(root: _Node) -> tuple[Benefit, ...]:
    nodes = root.tables("benefits", required=False, allow_empty=True)
    items = []
    for n in nodes:
        items.append(Benefit(code=n.code(), label=n.text("label"), **n.provenance()))
        n.done()
    _check_unique(nodes, [b.code for b in items])
    return tuple(items)


def _revocation(node: _Node) -> Revocation:
    decided_by = _authority(node.req_table("decided_by"))
    consequences = node.choices("consequences", vocab.REVOCATION_CONSEQUENCES, required=True, allow_empty=False)
    prov = node.provenance()
    nodes = node.tables("grounds")
    grounds = []
    for g in nodes:
        grounds.append(
            Ground(
                code=g.code(),
                label=g.text("label"),
                is_fraud=g.boolean("is_fraud", required=True),
                after_rectification=g.boolean("after_rectification"),
                **g.provenance(),
            )
        )
        g.done()
    _check_unique(nodes, [g.code for g in grounds])
    sanction_node = node.table("sanction", required=False)
    sanction = None
    if sanction_node:
        sanction = Sanction(
            ban_years=sanction_node.req_integer("ban_years", maximum=20),
            subjects=sanction_node.choices("subjects", vocab.SANCTION_SUBJECTS, required=True, allow_empty=False),
            scope=sanction_node.text("scope"),
            **sanction_node.provenance(),
        )
        sanction_node.done()
        if not any(g.is_fraud for g in grounds):
            node.fail("sanction", _("有处罚（sanction）时至少要有一条 is_fraud = true 的取消情形"))
    node.done()
    return Revocation(
        decided_by=decided_by, consequences=consequences, grounds=tuple(grounds), sanction=sanction, **prov
    )


def _leader_change(node: _Node) -> LeaderChange:
    result = LeaderChange(
        on_departure=node.choice("on_departure", vocab.LEADER_DEPARTURE),
        approved_by=node.text("approved_by", required=False),
        **node.provenance(),
    )
    node.done()
    return result


def _rubric(node: _Node) -> Rubric:
    prov = node.provenance()
    nodes = node.tables("criteria")
    criteria = []
    for n in nodes:
        criteria.append(
            Criterion(
                code=n.code(),
                label=n.text("label"),
                weight=n.req_integer("weight", maximum=100),
                basis=n.text("basis", required=False),
            )
        )
        n.done()
    _check_unique(nodes, [c.code for c in criteria])
    total = sum(c.weight for c in criteria)
    if total != 100:
        node.fail("criteria", _("权重之和必须为 100，当前为 %(n)d") % {"n": total})
    node.done()
    return Rubric(criteria=tuple(criteria), **prov)


def _reminders(node: _Node) -> Reminders:
    offsets = node.int_list("offsets_days")
    result = Reminders(offsets_days=tuple(sorted(offsets, reverse=True)), **node.provenance())
    node.done()
    return result


# --------------------------------------------------------------------------------------------------
# Whole file
# --------------------------------------------------------------------------------------------------


def _build(root: _Node, *, source_name: str, sha256: str) -> Policy:
    schema_version = root.req_integer("schema_version")
    if schema_version != SCHEMA_VERSION:
        root.fail("schema_version", _("本程序只支持 schema_version = %(n)d") % {"n": SCHEMA_VERSION})

    city = root.req_table("city")
    code = city.code(
        "code", pattern=_CITY_CODE_RE, rule=gettext_noop("必须以小写字母开头，只含小写字母、数字、下划线和连字符")
    )
    city_name = city.text("name", max_length=_MAX_CITY_NAME)
    bureau_name = city.text("bureau_name", max_length=_MAX_BUREAU_NAME)
    city.done()

    jurisdiction = _jurisdiction(root.req_table("jurisdiction"))

    doc = root.req_table("document")
    version = doc.text("version", max_length=_MAX_VERSION)
    title = doc.text("title", max_length=_MAX_TITLE)
    document_number = doc.text("document_number", required=False, max_length=_MAX_DOC_NUMBER)
    issuers = doc.texts("issuers", required=True, allow_empty=False)
    issued_on = doc.day("issued_on", required=False)
    effective_from = doc.day("effective_from")
    assert effective_from is not None
    effective_until = doc.day("effective_until", required=False)
    if effective_until is not None and effective_until < effective_from:
        doc.fail(
            "effective_until",
            _("不能早于 effective_from（%(from)s）") % {"from": effective_from.isoformat()},
        )
    effective_from_source = doc.choice("effective_from_source", vocab.SOURCES, required=False, default="seed")
    is_draft = doc.boolean("is_draft")
    interpreted_by = doc.text("interpreted_by", required=False)
    doc_prov = doc.provenance()
    doc.done()

    authorities = _authorities(root.req_table("authorities"))
    review = _review(root.req_table("review"))
    naming = _naming(root.req_table("naming"))
    eligibility = _eligibility(root.req_table("eligibility"))
    materials = _materials(root, eligibility.org_kinds.kinds)
    categories = _categories(root)
    annual_plan = _annual_plan(root.req_table("annual_plan"))
    training = _training(root.table("training", required=False), categories)
    assessment = _assessment(root.req_table("assessment"))
    acceptance = _acceptance(root.table("acceptance", required=False))
    plaque = _plaque(root.req_table("plaque"))
    subsidies = _subsidies(root, categories)
    benefits = _benefits(root)
    revocation = _revocation(root.req_table("revocation"))
    leader_change = _leader_change(root.req_table("leader_change"))
    rubric = _rubric(root.req_table("expert_rubric"))
    reminders = _reminders(root.req_table("reminders"))
    root.done()

    # --- rules that span sections --------------------------------------------------------------------
    if plaque.timing == "acceptance" and not acceptance.has_milestone("final"):
        root.fail("plaque.timing", _("验收后授牌要求 [[acceptance.milestones]] 中有 kind = \"final\" 的验收"))
    needs = {
        "midterm_acceptance": "midterm",
        "final_acceptance": "final",
    }
    for i, subsidy in enumerate(subsidies):
        for trigger in (subsidy.trigger, *(t.trigger for t in subsidy.tranches)):
            kind = needs.get(trigger)
            if kind and not acceptance.has_milestone(kind):
                root.fail(
                    f"subsidies[{i}].trigger",
                    _("触发条件 %(t)s 要求 [[acceptance.milestones]] 中有 kind = \"%(k)s\"")
                    % {"t": trigger, "k": kind},
                )
            if trigger == "annual_assessment_pass" and assessment.cycle_years is None:
                root.fail(
                    f"subsidies[{i}].trigger",
                    _("触发条件 annual_assessment_pass 要求 assessment.cycle_years"),
                )
        if subsidy.after_support_period and acceptance.support_period_years is None:
            root.fail(
                f"subsidies[{i}].after_support_period",
                _("要求 acceptance.support_period_years"),
            )
    ground_codes = {g.code for g in revocation.grounds}
    has_streak = assessment.failure.consecutive_to_revoke is not None
    if has_streak != ("consecutive_assessment_failures" in ground_codes):
        root.fail(
            "assessment.failure.consecutive_to_revoke",
            _("与 revocation.grounds 中 code = \"consecutive_assessment_failures\" 的情形必须同时出现"),
        )
    if (leader_change.on_departure == "revoke") != ("leader_departure" in ground_codes):
        root.fail(
            "leader_change.on_departure",
            _("on_departure = \"revoke\" 与 revocation.grounds 中 code = \"leader_departure\" 的情形必须同时出现"),
        )
    if review.formal_review_level == "district" and not jurisdiction.districts:
        root.fail("jurisdiction.districts", _("由县区/镇街形式审查时必须列出县区/镇街"))

    return Policy(
        code=code,
        city_name=city_name,
        bureau_name=bureau_name,
        jurisdiction=jurisdiction,
        version=version,
        title=title,
        document_number=document_number,
        issuers=issuers,
        issued_on=issued_on,
        effective_from=effective_from,
        effective_until=effective_until,
        effective_article=doc_prov["article"],
        effective_from_source=effective_from_source,
        is_draft=is_draft,
        interpreted_by=interpreted_by,
        authorities=authorities,
        review=review,
        naming=naming,
        eligibility=eligibility,
        required_materials=materials,
        categories=categories,
        annual_plan=annual_plan,
        training=training,
        assessment=assessment,
        acceptance=acceptance,
        plaque=plaque,
        subsidies=subsidies,
        benefits=benefits,
        revocation=revocation,
        leader_change=leader_change,
        expert_rubric=rubric,
        reminders=reminders,
        source_name=source_name,
        sha256=sha256,
        schema_version=schema_version,
    )


def policy_from_data(data: Mapping[str, Any], *, source_name: str, sha256: str = "") -> Policy:
    """Validate parsed policy data (TOML, or its JSON copy in ``PolicyVersion.data``)."""
    if not isinstance(data, Mapping):
        raise PolicyError(source_name, "(文件)", _("顶层必须是表"))
    return _build(_Node(source_name, data), source_name=source_name, sha256=sha256)


def read_policy_bytes(path: Path) -> tuple[bytes, dict[str, Any]]:
    """Read and parse a policy file; syntax errors become :class:`PolicyError`."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(name, "(文件)", _("无法读取：%(e)s") % {"e": exc.strerror or exc}) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(name, "(文件)", _("必须是 UTF-8 编码")) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(name, "(语法)", _("TOML 语法错误：%(e)s") % {"e": exc}) from exc
    return raw, data


def load_policy_file(path: str | Path) -> Policy:
    """Read, parse and validate one city's policy file.

    The city code must equal the file name (``zhengzhou.toml`` → ``code = "zhengzhou"``) so that
    the file an operator edits is unambiguous.
    """
    return load_policy_file_with_data(path)[0]


def load_policy_file_with_data(path: str | Path) -> tuple[Policy, dict[str, Any]]:
    """Like :func:`load_policy_file`, also returning the parsed data (read once, so the stored
    data and sha256 always describe the same bytes)."""
    path = Path(path)
    raw, data = read_policy_bytes(path)
    policy = policy_from_data(data, source_name=path.name, sha256=hashlib.sha256(raw).hexdigest())
    if policy.code != path.stem:
        raise PolicyError(
            path.name, "city.code", _("必须与文件名一致（应为 \"%(stem)s\"）") % {"stem": path.stem}
        )
    return policy, data


def to_json_data(data: Json) -> Json:
    """The parsed TOML as JSON-storable data (dates become ISO strings, read back by ``_Node.day``)."""
    if isinstance(data, Mapping):
        return {str(k): to_json_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [to_json_data(v) for v in data]
    if isinstance(data, date):
        return data.isoformat()
    return data


__all__ = [
    "SCHEMA_VERSION",
    "Acceptance",
    "AnnualPlan",
    "Assessment",
    "Authorities",
    "Authority",
    "Benefit",
    "Category",
    "Condition",
    "Criterion",
    "District",
    "Durations",
    "EducationFund",
    "Eligibility",
    "FailureRule",
    "Grade",
    "Ground",
    "Intake",
    "Jurisdiction",
    "LeaderChange",
    "LeaderRequirements",
    "Material",
    "Milestone",
    "Naming",
    "Notice",
    "OnePerEntity",
    "OrgKinds",
    "PlanAggregation",
    "Plaque",
    "Policy",
    "ProjectRequirement",
    "Quota",
    "Reminders",
    "Retirement",
    "Review",
    "ReviewStage",
    "Revocation",
    "Rubric",
    "Sanction",
    "ScoringItem",
    "ScoringSection",
    "ScoringTable",
    "SiteArea",
    "Sourced",
    "Subsidy",
    "Submission",
    "Training",
    "TrainingIndicator",
    "Tranche",
    "Waiver",
    "load_policy_file",
    "load_policy_file_with_data",
    "policy_from_data",
    "read_policy_bytes",
    "to_json_data",
]
