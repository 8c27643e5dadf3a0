"""What a studio is entitled to under its policy's subsidies, and whether a payment fits.

Entitlement = the subsidy's amount (by category or level where the policy says so) × how many times
its trigger has happened (once, per passed year up to the policy's years, per person up to its
maximum, per published textbook, per newly certified person at that level); with tranches, only the
shares whose trigger has happened. Rewards the policy grants only after the support period (东莞
第十二条) are nil before it ends. A payment above what is left is refused, citing the article.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.db.models import Sum
from django.utils import timezone

from portal.models import SkillLevel
from workshops.models import Assessment, Disbursement, Studio, StudioRecord, Upgrade
from workshops.states import StudioState

ACCEPTANCE_TRIGGERS = {"midterm_acceptance": Assessment.Kind.MIDTERM, "final_acceptance": Assessment.Kind.FINAL}


@dataclass(frozen=True)
class Entitlement:
    code: str
    label: str
    article: str
    entitled: Decimal  # what may have been paid in all, so far
    paid: Decimal
    is_cap: bool
    level: int | None = None

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.entitled - self.paid)


def _occurrences(studio: Studio, trigger: str, level: int | None) -> int:
    """How many times a subsidy's trigger has happened for this studio."""
    if trigger == "establishment":
        return 1
    if trigger in ACCEPTANCE_TRIGGERS:
        return min(1, Assessment.objects.filter(studio=studio, kind=ACCEPTANCE_TRIGGERS[trigger], passed=True).count())
    if trigger == "annual_assessment_pass":
        return Assessment.objects.filter(studio=studio, kind=Assessment.Kind.ANNUAL, passed=True).count()
    if trigger in ("provincial_upgrade", "national_upgrade"):
        return Upgrade.objects.filter(studio=studio, level=trigger.split("_")[0]).count()
    if trigger == "textbook_published":
        return StudioRecord.objects.filter(studio=studio, kind="textbook").count()
    if trigger == "certification":
        return StudioRecord.objects.filter(studio=studio, kind__in=("apprentice", "trainee"),
                                           is_new_certificate=True, level=level).count()
    raise ValueError(f"unknown subsidy trigger {trigger!r}")


class Facts(Protocol):
    """What an entitlement counts. The database by default; an import counts in memory, with its own rows."""

    def occurrences(self, studio: Studio, trigger: str, level: int | None) -> int: ...

    def paid(self, studio: Studio, code: str, level: int | None, by_level: bool) -> Decimal:
        """Paid so far under `code`; for a level-priced subsidy, only what was paid at `level`."""
        ...


class DatabaseFacts:
    def occurrences(self, studio: Studio, trigger: str, level: int | None) -> int:
        return _occurrences(studio, trigger, level)

    def paid(self, studio: Studio, code: str, level: int | None, by_level: bool) -> Decimal:
        rows = Disbursement.objects.filter(studio=studio, subsidy=code)
        if by_level:
            rows = rows.filter(level=level)
        return rows.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def _support_period_over(studio: Studio) -> bool:
    return studio.state == StudioState.PERIOD_ENDED or (
        studio.support_ends_on is not None and studio.support_ends_on <= timezone.localdate())


def entitlement(studio: Studio, code: str, *, level: int | None = None, facts: Facts | None = None) -> Entitlement:
    facts = facts or DatabaseFacts()
    subsidy = studio.policy.subsidy(code)
    if subsidy is None:
        raise KeyError(code)
    level_code = SkillLevel(level).name.lower() if level else None
    per = Decimal(subsidy.amount_for(category=studio.category or None, level=level_code) or 0)
    if subsidy.after_support_period and not _support_period_over(studio):
        entitled = Decimal(0)
    elif subsidy.tranches:
        share = sum(t.share_percent for t in subsidy.tranches if facts.occurrences(studio, t.trigger, level))
        entitled = per * share / 100
    else:
        times = facts.occurrences(studio, subsidy.trigger, level)
        if subsidy.years is not None:
            # 郑州 第十六条: a renewed support period brings its own years of work fund.
            periods = 1 + (studio.renewals if subsidy.renewable else 0)
            times = min(times, subsidy.years * periods)
        if subsidy.per == "person" and subsidy.max_persons:
            times *= subsidy.max_persons
        entitled = per * times
    paid = facts.paid(studio, code, level, bool(subsidy.by_level))
    return Entitlement(code, subsidy.label, subsidy.article, entitled, paid, subsidy.is_cap, level)


def entitlements(studio: Studio) -> list[Entitlement]:
    """Every subsidy of the studio's policy (per level for level-priced ones)."""
    rows = []
    for subsidy in studio.policy.subsidies:
        if subsidy.by_level:
            rows += [entitlement(studio, subsidy.code, level=SkillLevel.from_code(c)) for c in subsidy.by_level]
        else:
            rows.append(entitlement(studio, subsidy.code))
    return rows
