"""Bulk seeding for benchmarks: thousands of units, people, applications, studios and notices.

Rows are built in memory and written with bulk_create; fields a model's save() would derive
(the ID number's blind index, birth date, sex) are derived here the same way.
"""
from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from portal import crypto
from portal.demo import fake_id_number, fake_uscc
from portal.models import City, Organization, OrgKind, Person, SkillLevel, User
from portal.roles import Role
from portal.validators import parse_id_number
from reviews.models import Notice, NoticeEntry
from workshops.models import Application, Round, Studio
from workshops.states import AppState, StudioState

OCCUPATIONS = ["数控车工", "焊工", "钳工", "电工", "汽车维修工", "中式烹调师", "美发师", "茶艺师", "木雕工", "模具工"]
BATCH = 2000


def seed_public(studios: int, notices: int, *, start: int = 0) -> None:
    """Add `studios` studios and `notices` notices; `start` keeps codes unique across calls."""
    cities = list(City.objects.prefetch_related("districts"))
    owner = User.objects.create(username=f"bench{User.objects.count()}", role=Role.CITY, city=cities[0],
                                full_name="基准测试")
    rounds = {c.pk: Round.objects.create(city=c, year=2020, title=f"{c.name}基准批次{start}", policy_version="1",
                                         opens_on=date(2020, 1, 1), closes_on=date(2020, 12, 31)) for c in cities}
    orgs, people = [], []
    for i in range(start, start + studios):
        city = cities[i % len(cities)]
        district = list(city.districts.all())[i % city.districts.count()]
        region = district.code[:6] if district.code[:6].isdigit() else "441900"
        orgs.append(Organization(name=f"{city.name}基准单位{i}", uscc=fake_uscc(900000 + i, region),
                                 kind=OrgKind.ENTERPRISE, city=city, district=district))
        id_number = fake_id_number(date(1960, 1, 1) + timedelta(days=i % 9000), "M", i // 9000, region)
        info = parse_id_number(id_number)
        people.append(Person(name=f"师傅{i}", id_number=id_number, id_hash=crypto.blind_index(id_number),
                             birth_date=info.birth_date, sex=info.sex, skill_level=SkillLevel.SENIOR_TECHNICIAN))
    # bulk_create returns the rows with their primary keys on PostgreSQL and SQLite ≥ 3.35.
    orgs = Organization.objects.bulk_create(orgs, batch_size=BATCH)
    people = Person.objects.bulk_create(people, batch_size=BATCH)
    apps, rows = [], []
    for i, (org, person) in enumerate(zip(orgs, people, strict=True)):
        occupation = OCCUPATIONS[i % len(OCCUPATIONS)]
        name = f"{org.city.name}{person.name}{occupation}技能大师工作室"
        apps.append(Application(round=rounds[org.city_id], organization=org, city_id=org.city_id,
                                district_id=org.district_id, state=AppState.APPROVED, studio_name=name,
                                occupation=occupation, leader=person, created_by=owner))
    apps = Application.objects.bulk_create(apps, batch_size=BATCH)
    districts = {d.pk: d for c in cities for d in c.districts.all()}
    states = [StudioState.ESTABLISHED, StudioState.ACCEPTED, StudioState.OPERATING, StudioState.REVOKED]
    for i, app in enumerate(apps):
        rows.append(Studio(application=app, city_id=app.city_id, district_id=app.district_id,
                           organization=app.organization, leader=app.leader, name=app.studio_name,
                           occupation=app.occupation, policy_version="1", state=states[i % len(states)],
                           established_on=date(2014 + i % 12, 1 + i % 12, 1 + i % 28)))
    Studio.objects.bulk_create(rows, batch_size=BATCH)
    now = timezone.now()
    notice_rows = []
    for i in range(notices):
        city = cities[i % len(cities)]
        start = date(2016, 1, 4) + timedelta(days=7 * i)
        notice_rows.append(Notice(round=rounds[city.pk], city=city, title=f"{city.name}第{i + 1}批拟设立名单公示",
                                  starts_on=start, ends_on=start + timedelta(days=6), working_days=5,
                                  published_at=now, published_by=owner))
    notice_rows = Notice.objects.bulk_create(notice_rows, batch_size=BATCH)
    by_city: dict[int, list[Application]] = {}
    for app in apps:
        by_city.setdefault(app.city_id, []).append(app)
    entries = []
    for i, notice in enumerate(notice_rows):
        pool = by_city[notice.city_id]
        for position in range(1, 6):
            app = pool[(i * 5 + position) % len(pool)]
            entries.append(NoticeEntry(notice=notice, application=app, position=position,
                                       studio_name=app.studio_name, leader_name=app.leader.name,
                                       organization_name=app.organization.name, occupation=app.occupation,
                                       district_name=districts[app.district_id].name))
    NoticeEntry.objects.bulk_create(entries, batch_size=BATCH, ignore_conflicts=True)


def seed_accounts(*, domain: str = "bench.example.gov.cn") -> int:
    """The people reminders go to: a unit account (with e-mail) for every organization that has none, a
    reviewer per district, and city staff, agency and decision accounts per city. Passwords are unusable."""
    from django.db.models import Exists, OuterRef

    users = []
    orphans = Organization.objects.filter(~Exists(User.objects.filter(organization=OuterRef("pk"), role=Role.UNIT)))
    for org_id, city_id in orphans.values_list("pk", "city_id").iterator(chunk_size=BATCH):
        users.append(User(username=f"bench-unit-{org_id}", role=Role.UNIT, city_id=city_id, organization_id=org_id,
                          full_name=f"经办人{org_id}", email=f"unit{org_id}@{domain}", password="!"))
    for city in City.objects.prefetch_related("districts"):
        for role in (Role.CITY, Role.AGENCY, Role.DECISION):
            name = f"bench-{role}-{city.code}"
            if not User.objects.filter(username=name).exists():
                users.append(User(username=name, role=role, city=city, full_name=name, email=f"{name}@{domain}",
                                  password="!"))
        for district in city.districts.all():
            name = f"bench-district-{district.code}"
            if not User.objects.filter(username=name).exists():
                users.append(User(username=name, role=Role.DISTRICT, city=city, district=district, full_name=name,
                                  email=f"{name}@{domain}", password="!"))
    User.objects.bulk_create(users, batch_size=BATCH)
    return len(users)
