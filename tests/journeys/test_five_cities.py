"""One application per city, from an empty draft to the end of the city's review stages, with every
role acting through the web views only (the test client, signed in as the cast's users).

After each step the database is checked the way the bureau would check it: the application's state,
the review record (ReviewStep), the audit row and the inbox message of whoever acts next. The stages
the application passes through must be exactly the ones the city's policy lists, in its order.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Max
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import calendar
from portal.demo import fake_id_number
from portal.models import AuditEvent, CalendarYear, Notification, User
from reviews.models import Assignment, Notice, Objection, ObjectionState, OpinionRequest, Panel
from tests.factories import PDF_BYTES, Cast, make_round
from tests.reviews.test_public import rendered_ago
from workshops.models import Application, Round, Studio
from workshops.states import STATE_INFO, AppState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _next_years_holidays(db: Any) -> None:
    # Stage deadlines are counted in working days from today; late in a year they run into the next
    # one, which the installed chinesecalendar may not cover yet (portal/calendar.py refuses to guess).
    year = timezone.localdate().year + 1
    if not calendar.package_covers_year(year):
        CalendarYear.objects.create(year=year, complete=True, note="测试：按周一至周五计算")


# --- the walker -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    """The newest audit row and inbox message before a step: what the step adds comes after."""

    audit: int
    inbox: int


@dataclass
class Journey:
    cast: Cast
    capture_on_commit: Any  # pytest-django's django_capture_on_commit_callbacks
    app: Application | None = None
    stages: list[str] = field(default_factory=list)  # the policy stage of each state entered, in order
    clients: dict[int | None, Client] = field(default_factory=dict)

    def client(self, user: User | None) -> Client:
        key = user.pk if user is not None else None
        if key not in self.clients:
            self.clients[key] = Client()
            if user is not None:
                self.clients[key].force_login(user)
        return self.clients[key]

    def get(self, user: User | None, url: str) -> str:
        response = self.client(user).get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.content.decode()

    def post(self, user: User | None, url: str, data: dict[str, Any] | None = None, *, status: int = 302,
             **extra: Any) -> HttpResponse:
        # Inbox messages are created on commit; the test's transaction never commits, so run them here.
        with self.capture_on_commit(execute=True):
            response = self.client(user).post(url, data or {}, **extra)
        assert response.status_code == status, (url, response.status_code, response.content.decode()[:3000])
        return response

    @staticmethod
    def mark() -> Mark:
        return Mark(AuditEvent.objects.aggregate(m=Max("pk"))["m"] or 0,
                    Notification.objects.aggregate(m=Max("pk"))["m"] or 0)

    def audited(self, since: Mark, action: str, *, actor: User | None, obj: Any = None,
                to_state: str | None = None) -> AuditEvent:
        event = AuditEvent.objects.for_object(obj or self.app).filter(pk__gt=since.audit, action=action).last()
        assert event is not None, (action, list(AuditEvent.objects.filter(pk__gt=since.audit).values_list(
            "action", "object_type")))
        assert event.actor_id == (actor.pk if actor is not None else None), (action, event.actor_username)
        if to_state is not None:
            assert event.to_state == to_state, (action, event.from_state, event.to_state)
        return event

    def told(self, since: Mark, user: User, kind: str, url: str) -> Notification:
        message = Notification.objects.filter(pk__gt=since.inbox, recipient=user, kind=kind, url=url).first()
        assert message is not None, (user.username, kind, list(Notification.objects.filter(
            pk__gt=since.inbox).values_list("recipient__username", "kind", "url")))
        return message

    def entered(self, since: Mark, state: str, *, action: str, actor: User | None,
                step: tuple[str, str] | None = None, opinion: str = "") -> Application:
        """The application is now in `state`, with the audit row (and review record) of the move."""
        assert self.app is not None
        self.app.refresh_from_db()
        assert self.app.state == state, (self.app.state, state)
        self.audited(since, action, actor=actor, to_state=state)
        if step is not None:
            review = self.app.review_steps.last()
            assert review is not None and (review.stage, review.outcome) == step
            assert review.actor == actor and review.actor_role == actor.role
            assert opinion in review.opinion
        if STATE_INFO[state].stage:
            self.stages.append(STATE_INFO[state].stage)
        return self.app

    @property
    def app_url(self) -> str:
        assert self.app is not None
        return reverse("reviews:application", args=[self.app.pk])


def person(name: str, n: int, **extra: str) -> dict[str, str]:
    return {"name": name, "id_number": fake_id_number(date(1980, 4, 5), "M", n), "job_category": "worker",
            "skill_level": "5", "honours": "全国技术能手", "mobile": "13812345678", **extra}


# --- the city staff opens a round ---------------------------------------------------------------------

def open_round(j: Journey) -> Round:
    cast, today = j.cast, timezone.localdate()
    since = j.mark()
    j.post(cast.city_staff, reverse("workshops:round_create"), {
        "year": today.year, "title": f"{today.year}年度{cast.city.name}技能大师工作室申报",
        "opens_on": f"{today.year}-01-01", "closes_on": f"{today.year}-12-31"})
    rnd = cast.city.rounds.get()
    j.audited(since, "round.open", actor=cast.city_staff, obj=rnd)
    assert rnd.policy_version == rnd.policy.version and rnd.is_open(today)
    return rnd


def dongguan_round(j: Journey) -> Round:
    """东莞 第二十条: the 办法 lapsed on 2025-12-31, so no new round opens; a 2025 round goes on."""
    cast, today = j.cast, timezone.localdate()
    response = j.post(cast.city_staff, reverse("workshops:round_create"), {
        "year": today.year, "title": f"{today.year}年度东莞市技能大师工作室申报",
        "opens_on": today.isoformat(), "closes_on": f"{today.year}-12-31"}, status=200)
    page = response.content.decode()
    assert "东莞市现行管理办法已于2025-12-31到期，不能开启新一轮申报，请先载入新版本办法。" in page
    assert f"{today.year}年度东莞市技能大师工作室申报" in page  # what was typed is kept
    assert not cast.city.rounds.exists()
    rnd = make_round(cast.city, on=date(2025, 6, 1))
    # The views judge "open" by today's date: stretch the 2025 round over today (no clock faking).
    Round.objects.filter(pk=rnd.pk).update(closes_on=today + timedelta(days=30))
    rnd.refresh_from_db()
    assert rnd.year == 2025 and rnd.policy.effective_until == date(2025, 12, 31)
    return rnd


# --- the unit fills in every step and submits ---------------------------------------------------------

def fill_in_and_submit(j: Journey, rnd: Round) -> Application:
    cast = j.cast
    unit = cast.unit
    assert reverse("workshops:create", args=[rnd.pk]) in j.get(unit, reverse("workshops:list"))
    since = j.mark()
    j.post(unit, reverse("workshops:create", args=[rnd.pk]))
    app = j.app = Application.objects.get(round=rnd, organization=cast.org)
    j.audited(since, "application.create", actor=unit)
    policy = app.policy

    def step(slug: str, data: dict[str, Any], *actions: str) -> None:
        since = j.mark()
        j.post(unit, reverse("workshops:edit", args=[app.pk, slug]), data)
        app.refresh_from_db()
        assert app.state == AppState.DRAFT
        for action in actions:
            j.audited(since, action, actor=unit)
        assert not Notification.objects.filter(pk__gt=since.inbox).exists()  # a draft is the unit's own business

    step("leader", person("周大师", 11), "application.leader")
    step("basic", {"occupation": "数控车工", "use_suggestion": "1",
                   "category": policy.categories[0].code if policy.categories else ""}, "application.edit")
    step("members", person("吴徒弟", 12, role="assistant"), "application.member_add")
    step("site", {"site_address": "实训楼二层", "site_area": "120", "equipment": "数控车床 6 台",
                  "funding_commitment": "20", "education_fund_share": "60"}, "application.edit")
    if policy.eligibility.project is not None:  # 东莞 第六条(三): at least one project
        step("projects", {"name": "高精度零件加工工艺攻关", "objective": "良品率提升至 99%",
                          "content": "工艺参数优化", "duration_months": "36"}, "application.project_add")
    step("plan", {"necessity": "产业急需", "goals": "三年培养骨干 15 人", "work_plan": "以师带徒",
                  "support_measures": "配套资金和场地", "leader_achievements_text": "全国技术能手",
                  "leader_achievements": [a.code for a in policy.eligibility.leader.achievements][:1]},
         "application.edit")
    materials = policy.materials_for(cast.org.kind)
    since = j.mark()
    for material in materials:
        j.post(unit, reverse("workshops:attachment_upload", args=[app.pk]), {
            "kind": material.code, "file": SimpleUploadedFile(f"{material.code}.pdf", PDF_BYTES)})
    assert AuditEvent.objects.for_object(app).filter(pk__gt=since.audit, action="attachment.upload").count() \
        == len(materials) == app.attachments.count()
    step("declarations", {"declarations": [c.code for c in policy.eligibility.conditions], "consent": "on"},
         "application.edit", "application.consent")

    app.refresh_from_db()
    assert app.studio_name == policy.studio_name(leader="周大师", occupation="数控车工", org=cast.org.name)
    assert "符合本市申报条件" in j.get(unit, reverse("workshops:submit", args=[app.pk]))
    since = j.mark()
    j.post(unit, reverse("workshops:submit", args=[app.pk]), {"version": app.version})
    first = j.entered(since, AppState.FORMAL_REVIEW if policy.stages[0] == "formal_review" else AppState.AGGREGATION,
                      action="application.submit", actor=unit)
    assert first.revisions.count() == 1 and not first.review_steps.exists()
    j.told(since, formal_reviewer(j), "application.submitted", j.app_url)
    return first


# --- the bureaus, stage by stage ----------------------------------------------------------------------

def formal_reviewer(j: Journey) -> User:
    """Whoever decides the first stage: 东莞/温州 the district, 郑州 the agency, else the city."""
    level = "agency" if j.app.policy.stages[0] == "aggregation" else j.app.policy.formal_review_level
    return {"district": j.cast.district, "agency": j.cast.agency, "city": j.cast.city_staff}[level]


NEXT = {AppState.EXPERT_REVIEW: "city_staff", AppState.OPINION: "city_staff", AppState.DECISION: "decision",
        AppState.READY_FOR_NOTICE: "city_staff"}


def told_next(j: Journey, since: Mark) -> None:
    """The inbox message of whoever acts on the stage just entered (city staff or decision makers)."""
    who = NEXT.get(j.app.state)
    # Approved: no stage is left and no stage message is sent; the unit hears on 发文设立 (establish below).
    if who is not None:
        j.told(since, getattr(j.cast, who), "application.stage", j.app_url)


def decide(j: Journey, user: User, stage: str, opinion: str, **extra: str) -> None:
    """A stage decided on the application's own page (reviews:decide)."""
    assert j.app_url in j.get(user, reverse("reviews:queue"))
    assert reverse("reviews:decide", args=[j.app.pk]) in j.get(user, j.app_url)
    since = j.mark()
    before = j.app.state
    j.post(user, reverse("reviews:decide", args=[j.app.pk]),
           {"outcome": "passed", "opinion": opinion, "version": j.app.version, **extra})
    after = j.app.stage_state_after(before)
    j.entered(since, after, action=f"review.{stage}.passed", actor=user, step=(stage, "passed"), opinion=opinion)
    told_next(j, since)


def first_stage(j: Journey) -> None:
    user = formal_reviewer(j)
    stage = STATE_INFO[j.app.state].stage
    extra = {}
    if j.app.policy.formal_review_checks_originals:
        # 温州 第五条(一): originals are checked before passing; without the tick the form is refused.
        response = j.post(user, reverse("reviews:decide", args=[j.app.pk]),
                          {"outcome": "passed", "opinion": "材料齐全", "version": j.app.version}, status=400)
        assert "本市办法要求审核证明材料原件（第五条(一)），请核对原件后勾选。" in response.content.decode()
        assert "材料齐全" in response.content.decode()
        j.app.refresh_from_db()
        assert j.app.state == AppState.FORMAL_REVIEW and not j.app.review_steps.exists()
        extra["originals_checked"] = "on"
    decide(j, user, stage, "材料齐全，符合申报条件，同意推荐。", **extra)
    if extra:
        assert j.app.review_steps.get().originals_checked


def expert_review(j: Journey) -> None:
    cast, app = j.cast, j.app
    staff, expert = cast.city_staff, cast.expert
    panels_url = reverse("reviews:panels", args=[app.round_id])
    assert j.app_url in j.get(staff, panels_url)
    since = j.mark()
    j.post(staff, panels_url, {"name": "第一专家组", "due_on": (timezone.localdate() + timedelta(days=14)).isoformat()})
    panel = Panel.objects.get(round_id=app.round_id)
    j.audited(since, "panel.create", actor=staff, obj=panel)

    since = j.mark()
    j.post(staff, reverse("reviews:assign", args=[panel.pk]), {"application": app.pk, "expert": expert.pk})
    assignment = Assignment.objects.get(panel=panel, application=app, expert=expert)
    j.audited(since, "panel.assign", actor=staff)
    assignment_url = reverse("reviews:assignment", args=[assignment.pk])
    j.told(since, expert, "assignment.new", assignment_url)

    criteria = app.policy.expert_rubric.criteria
    assert assignment_url in j.get(expert, reverse("reviews:assignments"))
    assert all(f'name="score_{c.code}"' in j.get(expert, assignment_url) for c in criteria)
    since = j.mark()
    j.post(expert, assignment_url, {**{f"score_{c.code}": str(c.weight - 1) for c in criteria},
                                    "comment": "技艺精湛，方案可行。"})
    assignment.refresh_from_db()
    assert assignment.submitted_at is not None and assignment.total == sum(c.weight - 1 for c in criteria)
    j.audited(since, "assignment.score", actor=expert)
    app.refresh_from_db()
    assert app.state == AppState.EXPERT_REVIEW  # scores alone move nothing: the panel is closed by staff

    since = j.mark()
    j.post(staff, reverse("reviews:panel_close", args=[panel.pk]), {"confirm": "on"})
    panel.refresh_from_db()
    assert panel.is_closed
    j.audited(since, "panel.close", actor=staff, obj=panel)
    moved = j.entered(since, app.stage_state_after(AppState.EXPERT_REVIEW), action="review.expert_review.passed",
                      actor=staff, step=("expert_review", "passed"), opinion="排名第 1")
    assert (moved.rank, moved.score) == (1, sum(c.weight - 1 for c in criteria))
    told_next(j, since)


def opinion(j: Journey) -> None:
    """东莞 第九条(四): the list goes to the city's departments, then each application is passed."""
    staff, app = j.cast.city_staff, j.app
    url = reverse("reviews:opinions", args=[app.round_id])
    assert j.app_url in j.get(staff, url)
    since = j.mark()
    j.post(staff, url, {"department": "市财政局", "due_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
                        "response": "无异议"})
    request = OpinionRequest.objects.get(round_id=app.round_id)
    j.audited(since, "opinion.record", actor=staff, obj=request)
    decide(j, staff, "opinion", "市直相关部门无异议。")


def round_decision(j: Journey) -> None:
    """The decision makers confirm the round's whole list: 郑州 第七条, 平顶山 第六条, 温州 第五条(三),
    呼和浩特 第九条(三)."""
    decision, app = j.cast.decision, j.app
    url = reverse("reviews:round_decision", args=[app.round_id])
    assert j.app.studio_name in j.get(decision, url)
    since = j.mark()
    j.post(decision, url, {"opinion": "2026年第5次局长办公会议研究同意"})
    j.entered(since, app.stage_state_after(AppState.DECISION), action="review.decision.passed", actor=decision,
              step=("decision", "passed"), opinion="局长办公会议研究同意")
    told_next(j, since)


STAGE_STEPS = {AppState.FORMAL_REVIEW: first_stage, AppState.AGGREGATION: first_stage,
               AppState.EXPERT_REVIEW: expert_review, AppState.OPINION: opinion, AppState.DECISION: round_decision}


def walk_to(j: Journey, end: str) -> Application:
    for _ in range(len(STAGE_STEPS) + 1):
        if j.app.state == end:
            return j.app
        STAGE_STEPS[j.app.state](j)
    raise AssertionError(f"stuck in {j.app.state}")


# --- 1. each city, draft to approval or to the notice -------------------------------------------

ENDS = {"pingdingshan": AppState.APPROVED, "zhengzhou": AppState.APPROVED, "wenzhou": AppState.APPROVED,
        "dongguan": AppState.READY_FOR_NOTICE, "hohhot": AppState.READY_FOR_NOTICE}


@pytest.fixture
def journey(cast_for: Any, django_capture_on_commit_callbacks: Any, request: Any) -> Journey:
    return Journey(cast_for(request.param), django_capture_on_commit_callbacks)


def to_the_notice_or_approval(j: Journey) -> Application:
    rnd = dongguan_round(j) if j.cast.city.code == "dongguan" else open_round(j)
    fill_in_and_submit(j, rnd)
    app = walk_to(j, ENDS[j.cast.city.code])
    stages = list(app.policy.stages)
    assert j.stages == (stages[:stages.index("notice") + 1] if "notice" in stages else stages)
    return app


def the_unit_follows(j: Journey) -> None:
    """The unit sees the state on its own page; every stage decided so far has its review record."""
    detail = j.get(j.cast.unit, reverse("workshops:detail", args=[j.app.pk]))
    assert j.app.get_state_display() in detail
    assert [s.stage for s in j.app.review_steps.all()] == [s for s in j.stages if s != "notice"]


@pytest.mark.parametrize("journey", ["pingdingshan", "zhengzhou", "wenzhou"], indirect=True)
def test_it_takes_an_application_from_a_draft_to_approval(journey: Journey) -> None:
    # 平顶山 第六条、第七条, 郑州 第七条, 温州 第五条: no notice; the decision makers' list is final.
    app = to_the_notice_or_approval(journey)
    assert app.state == AppState.APPROVED
    the_unit_follows(journey)


# --- 2. 呼和浩特 and 东莞 on through the notice to a studio in the public directory -----------------------

def through_the_notice(j: Journey) -> Notice:
    cast, app = j.cast, j.app
    staff = cast.city_staff
    notices_url = reverse("reviews:notices", args=[app.round_id])
    assert app.studio_name in j.get(staff, notices_url)
    since = j.mark()
    today = timezone.localdate()
    response = j.post(staff, notices_url, {"starts_on": today.isoformat(), "working_days": "5",
                                           "title": "", "body": "拟设立名单公示如下。", "contact": "0000-12345678"})
    notice = Notice.objects.get(round_id=app.round_id)
    assert response["Location"] == reverse("reviews:notice_manage", args=[notice.pk])
    assert notice.entries.get().application_id == app.pk and notice.is_open_on(today)
    j.audited(since, "notice.publish", actor=staff, obj=notice)
    j.entered(since, AppState.ON_NOTICE, action="notice.start", actor=staff)

    # A citizen objects through the public form.
    assert app.studio_name in j.get(None, reverse("public:notice", args=[notice.pk]))
    assert 'name="ts"' in j.get(None, reverse("public:objection", args=[notice.pk]))
    since = j.mark()
    j.post(None, reverse("public:objection", args=[notice.pk]), {
        "entry": notice.entries.get().pk, "name": "张三", "phone": "13812345678", "email": "",
        "reason": "听说领办人已调离该单位，请核实。", "website": "", "ts": rendered_ago(notice, 60)})
    objection = Objection.objects.get(notice=notice)
    assert objection.state == ObjectionState.RECEIVED
    j.audited(since, "objection.receive", actor=None)
    objection_url = reverse("reviews:objection", args=[objection.pk])
    j.told(since, staff, "objection.received", objection_url)

    # City staff find it on the notice and dismiss it; then the daily sweep ends the notice.
    assert objection_url in j.get(staff, reverse("reviews:notice_manage", args=[notice.pk]))
    since = j.mark()
    j.post(staff, objection_url, {"action": "dismiss", "findings": "经核查，领办人仍在该单位在岗，异议不成立。"})
    objection.refresh_from_db()
    assert objection.state == ObjectionState.DISMISSED and objection.handled_by == staff
    j.audited(since, "objection.dismiss", actor=staff, obj=objection)

    since = j.mark()
    out = io.StringIO()
    with j.capture_on_commit(execute=True):
        call_command("close_notices", date=(notice.ends_on + timedelta(days=1)).isoformat(), stdout=out)
    assert f"公示 #{notice.pk} 期满结束" in out.getvalue()
    notice.refresh_from_db()
    assert notice.closed_at is not None
    j.entered(since, app.stage_state_after(AppState.READY_FOR_NOTICE), action="notice.end", actor=None)
    told_next(j, since)
    return notice


def establish(j: Journey) -> Studio:
    cast, app = j.cast, j.app
    url = reverse("reviews:establish", args=[app.round_id])
    assert app.studio_name in j.get(cast.city_staff, url)
    since = j.mark()
    doc = f"{cast.city.name[:2]}人社发〔{timezone.localdate().year}〕8号"
    j.post(cast.city_staff, url, {"doc_number": doc, "established_on": timezone.localdate().isoformat()})
    studio = Studio.objects.get(application=app)
    assert (studio.name, studio.establishment_doc, studio.leader) == (app.studio_name, doc, app.leader)
    j.audited(since, "studio.establish", actor=cast.city_staff, obj=studio)
    j.told(since, cast.unit, "studio.established", "")
    directory = j.get(None, reverse("public:studios") + f"?city={cast.city.code}")
    assert studio.name in directory and "周大师" in directory
    return studio


@pytest.mark.parametrize("journey", ["hohhot"], indirect=True)
def test_hohhot_decides_then_gives_notice_then_establishes(journey: Journey) -> None:
    # 呼和浩特 第九条(三)(四): 局长办公会议研究决定, then 公示不少于5个工作日, then 发文公布.
    assert to_the_notice_or_approval(journey).state == AppState.READY_FOR_NOTICE
    the_unit_follows(journey)
    through_the_notice(journey)
    assert journey.app.state == AppState.APPROVED
    assert journey.stages == list(journey.app.policy.stages)
    establish(journey)


@pytest.mark.parametrize("journey", ["dongguan"], indirect=True)
def test_dongguan_gives_notice_then_decides_then_establishes(journey: Journey) -> None:
    # 东莞 第九条(五)(六): 公示5个工作日, then 审定授牌 by the bureau, then 发文设立并授牌.
    assert to_the_notice_or_approval(journey).state == AppState.READY_FOR_NOTICE
    the_unit_follows(journey)
    through_the_notice(journey)
    assert journey.app.state == AppState.DECISION
    assert journey.app.stage_due_on is not None  # the decision stage has its deadline like any other
    decide(journey, journey.cast.decision, "decision", "经局务会议审定，同意设立并授牌。")
    assert journey.app.state == AppState.APPROVED
    assert journey.stages == list(journey.app.policy.stages)
    studio = establish(journey)
    assert studio.plaques.get().issuing_body == journey.app.policy.plaque.issued_by
