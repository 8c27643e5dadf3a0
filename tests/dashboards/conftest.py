"""Seeding helpers for the dashboard tests: studios in two districts of a city, with their ledger,
assessments and payments written directly (the figures are what is under test, not the actions)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from portal.models import Organization, SkillLevel
from portal.policies import get_policy
from tests.factories import Cast, make_person
from workshops.models import Assessment, Disbursement, Studio, StudioRecord

_n = iter(range(1, 10**6))


def studio_at(cast: Cast, org: Organization | None = None, *, established_on: date = date(2024, 3, 1),
              category: str | None = None, state: str = "established", occupation: str = "数控车工",
              **extra: Any) -> Studio:
    """A studio of `org` (the cast's unit by default) under the policy in force when it was set up."""
    org = org or cast.org
    policy = get_policy(cast.city.code, established_on)
    years = policy.support_period_years
    if category is None:
        category = policy.categories[0].code if policy.categories else ""
    n = next(_n)
    leader = make_person(organization=org, birth=date(1975, 3, 1), skill_level=SkillLevel.SENIOR_TECHNICIAN,
                         name=f"大师{n}", mobile="13912345678")
    return Studio.objects.create(
        city=cast.city, district=org.district, organization=org, leader=leader, name=extra.pop("name", f"工作室{n}"),
        occupation=occupation, category=category, policy_version=policy.version, established_on=established_on,
        establishment_doc=f"设立文号{n}", state=state,
        support_ends_on=established_on.replace(year=established_on.year + years) if years else None, **extra)


def record(cast: Cast, studio: Studio, kind: str, on: date, *, level: int | None = None, new: bool = False,
           person: str = "学员", **extra: Any) -> StudioRecord:
    return StudioRecord.objects.create(studio=studio, kind=kind, date=on, title=extra.pop("title", f"{kind}{on}"),
                                       person_name=person, level=level, is_new_certificate=new,
                                       agreement_on=on if kind == "apprentice" else None, created_by=cast.unit,
                                       **extra)


def assess(cast: Cast, studio: Studio, period: int, *, passed: bool = True, kind: str = Assessment.Kind.ANNUAL,
           grade: str | None = None, conducted_on: date | None = None) -> Assessment:
    return Assessment.objects.create(studio=studio, kind=kind, period=period,
                                     conducted_on=conducted_on or date(period, 12, 16),
                                     grade=grade or ("pass" if passed else "fail"), passed=passed,
                                     recorded_by=cast.city_staff)


def pay(cast: Cast, studio: Studio, subsidy: str, amount: int | str, paid_on: date, *,
        level: int | None = None) -> Disbursement:
    return Disbursement.objects.create(studio=studio, subsidy=subsidy, amount=Decimal(amount), paid_on=paid_on,
                                       basis="拨付文件", approver="局长", level=level, recorded_by=cast.city_staff)


@pytest.fixture(autouse=True)
def _no_dashboard_cache(settings: Any) -> None:
    # Figures are computed afresh in each test unless a test is about the cache.
    settings.DASHBOARD_CACHE_SECONDS = 0


class World:
    """郑州 (today 2026-11-22 in the tests that pin it): five studios, three in the cast's district (A),
    two in the other (B), with ledgers, assessments and payments whose figures the tests spell out."""

    def __init__(self, cast: Cast) -> None:
        from workshops.models import AnnualPlan, Revocation

        self.cast = cast
        self.a1 = studio_at(cast, established_on=date(2022, 3, 1), category="modern_tech", state="operating")
        self.a2 = studio_at(cast, established_on=date(2024, 6, 1), category="traditional_craft", occupation="焊工")
        self.a3 = studio_at(cast, established_on=date(2025, 2, 1), category="cultural_creative", state="revoked",
                            occupation="焊工")
        self.b1 = studio_at(cast, cast.other_org, established_on=date(2023, 9, 1), category="modern_tech",
                            state="operating", occupation="电工")
        self.b2 = studio_at(cast, cast.other_org, established_on=date(2026, 1, 10), category="modern_tech")
        for year in (2022, 2023, 2024, 2025):
            assess(cast, self.a1, year)
        assess(cast, self.a2, 2025, passed=False)
        assess(cast, self.b1, 2024)
        assess(cast, self.b1, 2025)
        assess(cast, self.b1, 2026, conducted_on=date(2026, 11, 1))
        pay(cast, self.a1, "construction_grant", 150000, date(2022, 5, 1))
        pay(cast, self.a1, "work_fund", 20000, date(2023, 2, 1))
        pay(cast, self.b1, "construction_grant", 100000, date(2023, 12, 1))
        pay(cast, self.a3, "construction_grant", 50000, date(2025, 3, 1))
        record(cast, self.a1, "apprentice", date(2026, 3, 1), level=SkillLevel.SENIOR, new=True, person="张一")
        record(cast, self.a1, "trainee", date(2026, 4, 1), level=SkillLevel.TECHNICIAN, new=True, person="张二")
        record(cast, self.a1, "trainee", date(2026, 4, 2), person="张三")
        record(cast, self.b1, "activity", date(2026, 5, 1))
        record(cast, self.b1, "competition", date(2025, 5, 1))
        Revocation.objects.create(studio=self.a3, ground="fraud", decided_on=date(2025, 10, 1),
                                  decision_body="市人社局", notice_text="通报", decided_by=cast.city_staff)
        AnnualPlan.objects.create(studio=self.a1, year=2026, content="计划", filed_at=timezone.now(),
                                  filed_by=cast.unit)


@pytest.fixture
def world(zz: Cast) -> World:
    return World(zz)
