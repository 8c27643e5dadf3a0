"""Demo data: one account per role in every city, a few units, so a newcomer can click through.

Also the generators of valid-looking codes that tests use: a 统一社会信用代码 and a 身份证号 with
correct check characters, made from a number, so the same call always gives the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from portal.models import City, District, Organization, OrgKind, User
from portal.roles import Role
from portal.validators import id_check_digit, uscc_check_char

DEMO_PASSWORD = "Demo@2026-portal"


def fake_uscc(n: int, region: str = "410402", prefix: str = "91") -> str:
    """A valid 18-character code: 91 (工商·企业) + region + 9 digits from n + check character."""
    body = f"{prefix}{region[:6]}{n:09d}"
    return body + uscc_check_char(body)


def fake_id_number(birth: date, sex: str = "M", n: int = 1, region: str = "410402") -> str:
    """A valid 18-digit 身份证号; the sequence digit is odd for men, even for women (GB 11643)."""
    seq = (n * 2 + (1 if sex == "M" else 0)) % 1000
    body = f"{region[:6]}{birth:%Y%m%d}{seq:03d}"
    return body + id_check_digit(body)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    city: str
    scope: str


ROLE_USERNAMES: list[tuple[str, str]] = [
    (Role.UNIT, "unit"),
    (Role.DISTRICT, "district"),
    (Role.AGENCY, "agency"),
    (Role.CITY, "city"),
    (Role.DECISION, "decision"),
    (Role.EXPERT, "expert"),
    (Role.OBSERVER, "observer"),
]


def _region(district: District) -> str:
    code = district.code
    return code[:6] if len(code) >= 6 and code[:6].isdigit() else "441900"


@transaction.atomic
def seed_demo(password: str = DEMO_PASSWORD) -> list[DemoAccount]:
    """Create or refresh the demo accounts and units. Safe to run again: nothing is duplicated."""
    accounts: list[DemoAccount] = []
    for index, city in enumerate(City.objects.order_by("code")):
        districts = list(city.districts.order_by("code")[:2])
        if not districts:
            continue
        orgs = []
        specs = [
            (f"{city.name}精工机械制造有限公司", OrgKind.ENTERPRISE, 1200),
            (f"{city.name}技师学院", OrgKind.VOCATIONAL_SCHOOL, 3000),
        ]
        for j, (name, kind, area) in enumerate(specs):
            district = districts[j % len(districts)]
            org, _ = Organization.objects.update_or_create(
                uscc=fake_uscc(index * 100 + j + 1, _region(district)),
                defaults={"name": name, "kind": kind, "city": city, "district": district,
                          "training_site_area": area, "legal_representative": "张建国"},
            )
            orgs.append(org)
        for role, suffix in ROLE_USERNAMES:
            username = f"{city.code}_{suffix}"
            defaults: dict[str, object] = {"role": role, "city": city, "district": None, "organization": None,
                                           "full_name": f"{city.name}{Role(role).label}", "is_active": True}
            if role == Role.UNIT:
                defaults["organization"] = orgs[0]
            if role == Role.DISTRICT:
                defaults["district"] = orgs[0].district
            if role == Role.EXPERT:
                defaults["organization"] = orgs[1]
            user, _ = User.objects.update_or_create(username=username, defaults=defaults)
            user.set_password(password)
            user.save(update_fields=["password"])
            scope = str(defaults.get("organization") or defaults.get("district") or city.name)
            accounts.append(DemoAccount(username, Role(role).label, city.name, scope))
    _open_demo_rounds()
    for role, username in [(Role.SYSADMIN, "sysadmin"), (Role.SECADMIN, "secadmin"), (Role.AUDITADMIN, "auditadmin")]:
        user, _ = User.objects.update_or_create(
            username=username, defaults={"role": role, "full_name": Role(role).label, "is_active": True,
                                         "is_staff": role == Role.SYSADMIN})
        user.set_password(password)
        user.save(update_fields=["password"])
        accounts.append(DemoAccount(username, Role(role).label, "全平台", "全平台"))
    return accounts


def _open_demo_rounds() -> None:
    """This year's round in every city whose policy is in force, so a demo unit can start applying.

    The Round model belongs to workshops; portal may not import it at module level, and the demo
    is the one place that needs a whole working city, so it is looked up through the app registry.
    """
    from django.apps import apps
    from django.utils import timezone

    from portal.policies import PolicyNotFound, get_policy

    round_model = apps.get_model("workshops", "Round")
    today = timezone.localdate()
    for city in City.objects.all():
        try:
            policy = get_policy(city.code, today)
        except PolicyNotFound:
            continue
        if not round_model.objects.filter(city=city, year=today.year).exists():
            round_model.objects.create(city=city, year=today.year,
                                       title=f"{today.year}年度{city.name}技能大师工作室申报",
                                       policy_version=policy.version, opens_on=today.replace(month=1, day=1),
                                       closes_on=today.replace(month=12, day=31), quota=policy.yearly_quota)
