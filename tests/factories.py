"""Small make_* helpers and a fixed cast of users per city (STYLE.md §8)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.demo import fake_id_number, fake_uscc
from portal.models import City, Organization, OrgKind, Person, SkillLevel, User
from portal.roles import Role

_counter = itertools.count(1000)
PASSWORD = "Test@2026-portal"


def make_org(city: City, district: Any = None, *, kind: str = OrgKind.ENTERPRISE, **extra: Any) -> Organization:
    district = district or city.districts.order_by("code").first()
    n = next(_counter)
    region = district.code[:6] if district.code[:6].isdigit() else "441900"
    return Organization.objects.create(
        name=extra.pop("name", f"测试单位{n}"), uscc=fake_uscc(n, region), kind=kind, city=city,
        district=district, training_site_area=extra.pop("training_site_area", 500), **extra)


def make_user(role: str, city: City | None = None, *, district: Any = None, organization: Any = None,
              **extra: Any) -> User:
    n = next(_counter)
    user = User(username=extra.pop("username", f"{role}{n}"), role=role, city=city, district=district,
                organization=organization, full_name=extra.pop("full_name", f"用户{n}"), **extra)
    user.set_password(PASSWORD)
    user.full_clean()
    user.save()
    return user


def make_person(*, birth: date = date(1975, 5, 1), sex: str = "M", organization: Organization | None = None,
                skill_level: int = SkillLevel.TECHNICIAN, **extra: Any) -> Person:
    n = next(_counter)
    id_number = extra.pop("id_number", None) or fake_id_number(birth, sex, n)
    return Person.objects.create(name=extra.pop("name", f"人员{n}"), id_number=id_number,
                                 organization=organization, skill_level=skill_level, **extra)


@dataclass
class Cast:
    city: City
    org: Organization
    other_org: Organization
    unit: User
    other_unit: User
    district: User
    other_district: User
    agency: User
    city_staff: User
    decision: User
    expert: User
    observer: User

    def roles(self) -> dict[str, User]:
        return {name: getattr(self, name) for name in (
            "unit", "other_unit", "district", "other_district", "agency", "city_staff", "decision",
            "expert", "observer")}


def make_cast(city_code: str) -> Cast:
    city = City.objects.get(code=city_code)
    d1, d2 = list(city.districts.order_by("code")[:2])
    org = make_org(city, d1)
    other_org = make_org(city, d2, kind=OrgKind.VOCATIONAL_SCHOOL)
    expert_org = make_org(city, d2, kind=OrgKind.RESEARCH)
    return Cast(
        city=city, org=org, other_org=other_org,
        unit=make_user(Role.UNIT, city, organization=org),
        other_unit=make_user(Role.UNIT, city, organization=other_org),
        district=make_user(Role.DISTRICT, city, district=d1),
        other_district=make_user(Role.DISTRICT, city, district=d2),
        agency=make_user(Role.AGENCY, city),
        city_staff=make_user(Role.CITY, city),
        decision=make_user(Role.DECISION, city),
        expert=make_user(Role.EXPERT, city, organization=expert_org),
        observer=make_user(Role.OBSERVER, city),
    )


# --- applications ---------------------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_round(city: City, *, on: date | None = None, quota: int | None = None) -> Any:
    from django.utils import timezone

    from portal.policies import get_policy
    from workshops.models import Round

    on = on or timezone.localdate()
    policy = get_policy(city.code, on)
    return Round.objects.create(city=city, year=on.year, title=f"{on.year}年度{city.name}技能大师工作室申报",
                                policy_version=policy.version, opens_on=on.replace(month=1, day=1),
                                closes_on=on.replace(month=12, day=31), quota=quota if quota is not None
                                else policy.yearly_quota)


def make_application(cast: Cast, rnd: Any = None, *, org: Organization | None = None, complete: bool = True,
                     **fields: Any) -> Any:
    """A draft that passes every completeness and eligibility rule of the cast's city."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from workshops.actions import CONSENT_VERSION
    from workshops.models import Application, ApplicationProject, Attachment

    rnd = rnd or make_round(cast.city)
    org = org or cast.org
    unit_user = unit_user_of(org)
    policy = rnd.policy
    app = Application.objects.create(round=rnd, organization=org, city=org.city, district=org.district,
                                     created_by=unit_user)
    if not complete:
        return app
    leader = make_person(organization=org, birth=date(1978, 3, 1), skill_level=SkillLevel.SENIOR_TECHNICIAN,
                         name=fields.pop("leader_name", "王师傅"))
    values: dict[str, Any] = {
        "studio_name": policy.studio_name(leader=leader.name, occupation="数控车工", org=org.name),
        "occupation": "数控车工", "category": policy.categories[0].code if policy.categories else "",
        "leader": leader, "site_address": "厂区实训楼三层", "site_area": 200, "equipment": "数控车床 6 台",
        "funding_commitment": 20, "education_fund_share": 60, "necessity": "产业急需", "goals": "三年培养高技能人才",
        "work_plan": "以师带徒", "support_measures": "配套资金和场地",
        "leader_achievements_text": "全国技术能手",
        "declarations": [c.code for c in policy.eligibility.conditions],
        "leader_achievements": [a.code for a in policy.eligibility.leader.achievements][:1],
        "consent_version": CONSENT_VERSION, "consented_at": timezone.now(),
    }
    values.update(fields)
    for key, value in values.items():
        setattr(app, key, value)
    app.save()
    if org.kind in policy.eligibility.site_area.by_org_kind if policy.eligibility.site_area else False:
        org.training_site_area = 1200
        org.save(update_fields=["training_site_area"])
    for material in policy.materials_for(org.kind):
        Attachment.objects.create(application=app, kind=material.code, file=ContentFile(PDF_BYTES, "m.pdf"),
                                  original_name=f"{material.label}.pdf", content_type="application/pdf",
                                  size=len(PDF_BYTES), sha256="0" * 64, uploaded_by=unit_user)
    if policy.eligibility.project:
        ApplicationProject.objects.create(application=app, name="高精度零件加工工艺攻关", objective="良品率提升")
    return app


def unit_user_of(org: Organization) -> User:
    return User.objects.filter(role=Role.UNIT, organization=org).first() or make_user(Role.UNIT, org.city,
                                                                                      organization=org)


def reviewer_for(cast: Cast, app: Any) -> User:
    """Who decides the application's current stage in this cast's city."""
    from workshops.rules import acting_role

    role = acting_role(app)
    return {Role.DISTRICT: cast.district if app.district_id == cast.district.district_id else cast.other_district,
            Role.AGENCY: cast.agency, Role.CITY: cast.city_staff, Role.DECISION: cast.decision}[role]


def walk(cast: Cast, apps: list[Any], *, until: str, on: date | None = None,
         scores: dict[int, int] | None = None) -> list[Any]:
    """Drive applications through their city's stages with actions until each reaches `until` or
    stops (backup, approved). Expert review scores every criterion at `scores[app.pk]` percent."""
    from reviews import actions as review_actions
    from workshops import actions
    from workshops.models import Application
    from workshops.states import AppState

    apps = [actions.do_submit_application(a, actor=unit_user_of(a.organization), on=on) for a in apps]
    stop = {until, AppState.BACKUP, AppState.APPROVED, AppState.REJECTED}
    for _ in range(10):
        apps = [Application.objects.get(pk=a.pk) for a in apps]
        if all(a.state in stop for a in apps):
            return apps
        in_expert = [a for a in apps if a.state == AppState.EXPERT_REVIEW]
        if in_expert:
            panel = review_actions.do_create_panel(in_expert[0].round, actor=cast.city_staff, name="专家组")
            for a in in_expert:
                assignment = review_actions.do_assign_expert(panel, a, cast.expert, actor=cast.city_staff)
                pct = (scores or {}).get(a.pk, 90)
                review_actions.do_submit_scores(assignment, actor=cast.expert, scores={
                    c.code: c.weight * pct / 100 for c in a.policy.expert_rubric.criteria})
            review_actions.do_close_panel(panel, actor=cast.city_staff, on=on)
            continue
        for a in apps:
            if a.state not in stop and a.state != AppState.EXPERT_REVIEW:
                review_actions.do_review_stage(a, actor=reviewer_for(cast, a), outcome="passed", opinion="同意",
                                               originals_checked=True, on=on)
    raise AssertionError("applications did not settle")


def make_studio(cast: Cast, *, established_on: date | None = None, category: str = "", **extra: Any) -> Any:
    """An established studio of the cast's unit, under the city's policy version in force then."""
    from portal.policies import get_policy
    from workshops.models import Studio

    established_on = established_on or date(2026, 1, 5)
    policy = get_policy(cast.city.code, established_on)
    years = policy.support_period_years
    leader = extra.pop("leader", None) or make_person(organization=cast.org, birth=date(1975, 3, 1),
                                                     skill_level=SkillLevel.SENIOR_TECHNICIAN, name="张大师")
    return Studio.objects.create(
        city=cast.city, district=cast.org.district, organization=cast.org, leader=leader,
        name=extra.pop("name", f"{cast.city.name}张大师技能大师工作室"), occupation="数控车工",
        category=category or (policy.categories[0].code if policy.categories else ""),
        policy_version=policy.version, established_on=established_on, establishment_doc="设立文号",
        support_ends_on=established_on.replace(year=established_on.year + years) if years else None, **extra)
