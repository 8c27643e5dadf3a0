"""Two whole journeys in a real browser, as the people involved would live them.

东莞 (district formal review → experts → opinions → notice → decision) and 呼和浩特 (the city's
formal review → experts → decision → notice). 呼和浩特's formal review is done by the city bureau
(its 办法 第九条(一)), so "the district passes it" is shown by 东莞's 镇街 reviewer.

In each: a unit signs in, fills in every step, uploads its materials (and is refused a renamed
.exe), submits; the reviewers decide on their pages; an expert scores; the list goes on public
notice; a citizen objects through the public form; city staff dismiss the objection; the notice
ends (the daily sweep, `manage.py close_notices`); the studio is established; the unit downloads
the plaque certificate. Screenshots of the key pages land in test-output/e2e/<test name>/.
"""
from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from portal import calendar
from portal.demo import fake_id_number
from portal.models import AuditEvent, CalendarYear, User
from reviews.models import Assignment, Notice, Objection, ObjectionState, Panel
from tests.e2e.conftest import Portal, fill, form_with, submit
from tests.factories import PDF_BYTES, Cast, make_round
from workshops.models import Application, Round, Studio
from workshops.states import AppState

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _next_years_holidays(policies: None) -> None:
    # Stage deadlines count working days from today; late in a year they reach into the next one,
    # which the installed chinesecalendar may not cover (portal/calendar.py refuses to guess).
    year = timezone.localdate().year + 1
    if not calendar.package_covers_year(year):
        CalendarYear.objects.get_or_create(year=year, defaults={"complete": True, "note": "测试：按周一至周五计算"})


@dataclass
class Journey:
    portal: Portal
    cast: Cast
    tmp: Path
    pages: dict[int, Any] = field(default_factory=dict)
    app: Application | None = None
    totp: dict[int, str] = field(default_factory=dict)  # user pk → the secret on that person's phone

    def as_(self, user: User) -> Any:
        """The browser of `user`, signed in at first use."""
        if user.pk not in self.pages:
            self.pages[user.pk] = self.portal.login(user, totp_secret=self.totp.get(user.pk))
        return self.pages[user.pk]

    def open(self, user: User, path: str) -> Any:
        page = self.as_(user)
        response = page.goto(self.portal.url(path))
        assert response is not None and response.status == 200, (path, response and response.status)
        return page

    def shot(self, page: Any, name: str) -> None:
        self.portal.shot(page, name)

    def refresh(self) -> Application:
        assert self.app is not None
        self.app.refresh_from_db()
        return self.app


def expect_text(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("body")).to_contain_text(text)


def saved(page: Any, text: str = "已") -> None:
    """The editor's status line after an htmx save: 已保存, 已添加成员, 已上传“…” …"""
    from playwright.sync_api import expect

    expect(page.locator("#editor .saved[role=status]")).to_contain_text(text)


def file_on_disk(tmp: Path, name: str, content: bytes) -> str:
    path = tmp / name
    path.write_bytes(content)
    return str(path)


# --- the unit ---------------------------------------------------------------------------------------

def unit_applies(j: Journey, rnd: Round) -> Application:
    unit, policy = j.cast.unit, rnd.policy
    page = j.as_(unit)
    page.get_by_role("link", name="我的申报").first.click()
    expect_text(page, rnd.title)
    j.shot(page, "unit-my-applications")
    submit(page, page.locator("form", has_text="新建申报").first)
    app = j.app = Application.objects.get(round=rnd, organization=j.cast.org)

    def step(slug: str, values: dict[str, Any], button: str | None = None) -> Any:
        page.goto(j.portal.url(reverse("workshops:edit", args=[app.pk, slug])))
        form = form_with(page, next(iter(values)))
        fill(form, values, skip_missing=True)
        submit(page, form, button)
        saved(page)
        return page

    step("leader", {"name": "周大师", "id_number": fake_id_number(date(1980, 4, 5), "M", 11),
                    "job_category": "worker", "skill_level": "5", "honours": "全国技术能手", "mobile": "13812345678"})
    page = step("basic", {"occupation": "数控车工",
                          **({"category": policy.categories[0].code} if policy.categories else {})}, "保存")
    form = form_with(page, "occupation")
    submit(page, form, "使用建议名称")
    saved(page)
    j.shot(page, "unit-basic-step")
    step("members", {"name": "吴徒弟", "id_number": fake_id_number(date(1980, 4, 5), "M", 12),
                     "job_category": "worker", "skill_level": "5", "honours": "全国技术能手",
                     "mobile": "13812345679", "role": "assistant"})
    step("site", {"site_address": "实训楼二层", "site_area": "120", "equipment": "数控车床 6 台",
                  "funding_commitment": "20", "education_fund_share": "60"})
    if policy.eligibility.project is not None:  # 东莞 第六条(三): at least one project
        step("projects", {"name": "高精度零件加工工艺攻关", "objective": "良品率提升至 99%", "content": "工艺参数优化",
                          "duration_months": "36"})
    step("plan", {"necessity": "产业急需", "goals": "三年培养骨干 15 人", "work_plan": "以师带徒",
                  "support_measures": "配套资金和场地", "leader_achievements_text": "全国技术能手",
                  "leader_achievements": [a.code for a in policy.eligibility.leader.achievements][:1]})

    # Materials: a renamed Windows program is refused by its content, then the real PDFs go up.
    page.goto(j.portal.url(reverse("workshops:edit", args=[app.pk, "materials"])))
    materials = policy.materials_for(j.cast.org.kind)
    first = page.locator(f"#material-{materials[0].code}")
    fill(first.locator("form.upload"), {"file": file_on_disk(j.tmp, "营业执照.pdf", EXE_BYTES)})
    submit(page, first.locator("form.upload"))
    expect_text(page, "文件类型不受支持")
    j.shot(page, "unit-renamed-exe-refused")
    assert not app.attachments.exists()
    for material in materials:
        section = page.locator(f"#material-{material.code}")
        name = f"{material.label[:20]}.pdf"
        fill(section.locator("form.upload"), {"file": file_on_disk(j.tmp, name, PDF_BYTES)})
        submit(page, section.locator("form.upload"))
        saved(page, f"已上传“{name}”")
    assert app.attachments.count() == len(materials)
    j.shot(page, "unit-materials-uploaded")
    step("declarations", {"declarations": [c.code for c in policy.eligibility.conditions], "consent": True})

    page.goto(j.portal.url(reverse("workshops:submit", args=[app.pk])))
    expect_text(page, "符合本市申报条件")
    j.shot(page, "unit-ready-to-submit")
    submit(page, form_with(page, "version"))
    app = j.refresh()
    assert app.state in (AppState.FORMAL_REVIEW, AppState.AGGREGATION), app.state
    expect_text(page, "申报已提交")
    j.shot(page, "unit-submitted")
    return app


# --- the bureaus ------------------------------------------------------------------------------------

def decide_on_its_page(j: Journey, user: User, opinion: str, shot: str) -> None:
    """A stage decided on the application's own page, reached from the reviewer's queue."""
    app = j.app
    page = j.as_(user)
    page.goto(j.portal.url(reverse("reviews:queue")))
    page.get_by_role("link", name=app.studio_name).first.click()
    page.wait_for_load_state()
    form = form_with(page, "outcome")
    fill(form, {"outcome": "passed", "opinion": opinion})
    j.shot(page, shot)
    before = app.state
    submit(page, form)
    app = j.refresh()
    assert app.state != before, (before, page.inner_text("main")[:2000])
    step = app.review_steps.order_by("at", "pk").last()
    assert step.actor == user and step.outcome == "passed" and opinion in step.opinion


def experts_score(j: Journey) -> None:
    staff, expert, app = j.cast.city_staff, j.cast.expert, j.app
    page = j.open(staff, reverse("reviews:panels", args=[app.round_id]))
    form = form_with(page, "name")
    fill(form, {"name": "第一专家组", "due_on": (timezone.localdate() + timedelta(days=14)).isoformat()})
    submit(page, form)
    panel = Panel.objects.get(round_id=app.round_id)
    form = form_with(page, "expert")
    fill(form, {"application": app.pk, "expert": expert.pk})
    submit(page, form)
    assignment = Assignment.objects.get(panel=panel, application=app, expert=expert)

    page = j.as_(expert)
    page.goto(j.portal.url(reverse("reviews:assignments")))
    j.shot(page, "expert-assignments")
    page.locator(f'a[href="{reverse("reviews:assignment", args=[assignment.pk])}"]').first.click()
    page.wait_for_load_state()
    criteria = app.policy.expert_rubric.criteria
    form = form_with(page, f"score_{criteria[0].code}")
    fill(form, {**{f"score_{c.code}": str(c.weight - 1) for c in criteria}, "comment": "技艺精湛，方案可行。"})
    j.shot(page, "expert-scoring")
    submit(page, form)
    assignment.refresh_from_db()
    assert assignment.submitted_at is not None

    page = j.open(staff, reverse("reviews:panel", args=[panel.pk]))
    form = form_with(page, "confirm")
    fill(form, {"confirm": True})
    submit(page, form)
    expect_text(page, "评审已结束")
    j.shot(page, "city-panel-closed")
    app = j.refresh()
    assert app.rank == 1 and app.state not in (AppState.EXPERT_REVIEW, AppState.BACKUP), app.state


def departments_give_opinions(j: Journey) -> None:
    """东莞 第九条(四): the list goes to the city's departments before the notice."""
    staff = j.cast.city_staff
    page = j.open(staff, reverse("reviews:opinions", args=[j.app.round_id]))
    form = form_with(page, "department")
    fill(form, {"department": "市财政局", "due_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
                "response": "无异议"})
    submit(page, form)
    expect_text(page, "已登记市财政局的意见")
    decide_on_its_page(j, staff, "市直相关部门无异议。", "city-opinion-stage")


def decision_makers_confirm_the_list(j: Journey) -> None:
    """呼和浩特 第九条(三): 局长办公会议研究决定, for the whole round, before the notice."""
    decision = j.cast.decision
    page = j.open(decision, reverse("reviews:round_decision", args=[j.app.round_id]))
    expect_text(page, j.app.studio_name)
    form = form_with(page, "opinion")
    fill(form, {"opinion": f"{timezone.localdate().year}年第5次局长办公会议研究同意"})
    j.shot(page, "decision-round-list")
    submit(page, form)
    expect_text(page, "已确认拟设立名单")
    assert j.refresh().state == AppState.READY_FOR_NOTICE


def notice_and_objection(j: Journey) -> Notice:
    staff, app = j.cast.city_staff, j.app
    today = timezone.localdate()
    page = j.open(staff, reverse("reviews:notices", args=[app.round_id]))
    expect_text(page, app.studio_name)
    form = form_with(page, "starts_on")
    fill(form, {"starts_on": today.isoformat(), "body": "拟设立名单公示如下。", "contact": "0769-12345678"})
    submit(page, form)
    notice = Notice.objects.get(round_id=app.round_id)
    expect_text(page, "公示已发布")
    j.shot(page, "city-notice-published")
    assert j.refresh().state == AppState.ON_NOTICE

    citizen = j.portal.anonymous()
    citizen.goto(j.portal.url(reverse("public:notices")))
    citizen.get_by_role("link", name=notice.title).first.click()
    citizen.wait_for_load_state()
    expect_text(citizen, app.studio_name)
    j.shot(citizen, "public-notice")
    citizen.locator(f'a[href="{reverse("public:objection", args=[notice.pk])}"]').first.click()
    citizen.wait_for_load_state()
    form = form_with(citizen, "reason")
    fill(form, {"entry": notice.entries.get().pk, "name": "张三", "phone": "13812345678",
                "reason": "听说领办人已调离该单位，请核实。"})
    j.shot(citizen, "public-objection-form")
    # The form refuses submissions faster than a person reads and types (reviews.public.MIN_FORM_SECONDS).
    citizen.wait_for_timeout(3200)
    submit(citizen, form)
    expect_text(citizen, "已收到")
    j.shot(citizen, "public-objection-received")
    objection = Objection.objects.get(notice=notice)

    page = j.open(staff, reverse("reviews:notice_manage", args=[notice.pk]))
    page.locator(f'a[href="{reverse("reviews:objection", args=[objection.pk])}"]').first.click()
    page.wait_for_load_state()
    form = form_with(page, "findings")
    fill(form, {"action": "dismiss", "findings": "经核查，领办人仍在该单位在岗，异议不成立。"})
    j.shot(page, "city-objection-dismiss")
    submit(page, form)
    expect_text(page, "异议处理已保存")
    objection.refresh_from_db()
    assert objection.state == ObjectionState.DISMISSED and objection.handled_by == staff

    # The daily sweep ends the notice the day after its last day.
    out = io.StringIO()
    call_command("close_notices", date=(notice.ends_on + timedelta(days=1)).isoformat(), stdout=out)
    notice.refresh_from_db()
    assert notice.closed_at is not None, out.getvalue()
    assert AuditEvent.objects.for_object(notice).filter(action="notice.close").exists()
    return notice


def establish(j: Journey) -> Studio:
    staff, app = j.cast.city_staff, j.app
    assert j.refresh().state == AppState.APPROVED
    page = j.open(staff, reverse("reviews:establish", args=[app.round_id]))
    form = form_with(page, "doc_number")
    doc = f"{j.cast.city.name[:2]}人社发〔{timezone.localdate().year}〕8号"
    fill(form, {"doc_number": doc, "established_on": timezone.localdate().isoformat()})
    submit(page, form)
    expect_text(page, "已发文设立 1 个技能大师工作室")
    j.shot(page, "city-established")
    studio = Studio.objects.get(application=app)
    assert studio.establishment_doc == doc

    citizen = j.portal.anonymous()
    citizen.goto(j.portal.url(reverse("public:studios") + f"?city={j.cast.city.code}"))
    expect_text(citizen, studio.name)
    j.shot(citizen, "public-directory")
    return studio


def plaque_downloads(j: Journey, studio: Studio) -> None:
    """The unit opens its studio's page and downloads the plaque certificate (牌匾证书) from it."""
    try:
        reverse("workshops:plaque_pdf", args=[1])
    except NoReverseMatch:
        pytest.skip("the plaque certificate download (workshops:plaque_pdf) is not built yet; "
                    "every step before it passed")
    page = j.open(j.cast.unit, reverse("workshops:studio", args=[studio.pk]))
    plaque = studio.plaques.get()
    expect_text(page, plaque.number)
    j.shot(page, "unit-studio-page")
    url = reverse("workshops:plaque_pdf", args=[plaque.pk])
    with page.expect_navigation():
        page.locator(f'a[href="{url}"]').click()
    page.wait_for_timeout(1500)  # chromium's PDF viewer draws the page after the load event
    j.shot(page, "unit-plaque-certificate")  # as chromium's own PDF viewer shows it
    response = page.request.get(j.portal.url(url))  # the same bytes, with the unit's session
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    path = j.portal.out / "plaque.pdf"
    path.write_bytes(response.body())
    assert path.read_bytes().startswith(b"%PDF-")
    # Rendered to PNG (poppler's pdftoppm) so the certificate itself can be looked at.
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(path), str(path.with_suffix(""))],
                   check=True, timeout=60)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60).stdout
    flat = text.replace(" ", "").replace("\n", "")
    assert studio.name in flat and studio.organization.name in flat and plaque.number in flat, text


# --- the two journeys -------------------------------------------------------------------------------

def test_dongguan_from_application_to_plaque(portal: Portal, cast_for: Any, tmp_path: Path) -> None:
    cast = cast_for("dongguan")
    # 东莞's 办法 lapsed on 2025-12-31 (第二十条), so no new round opens; its 2025 round goes on,
    # stretched over today because the views judge "open" by today's date.
    rnd = make_round(cast.city, on=date(2025, 6, 1))
    Round.objects.filter(pk=rnd.pk).update(closes_on=timezone.localdate() + timedelta(days=30))
    rnd.refresh_from_db()
    j = Journey(portal, cast, tmp_path)

    unit_applies(j, rnd)
    assert j.app.state == AppState.FORMAL_REVIEW
    decide_on_its_page(j, cast.district, "材料齐全，符合申报条件，同意推荐。", "district-formal-review")
    assert j.app.state == AppState.EXPERT_REVIEW
    experts_score(j)
    assert j.app.state == AppState.OPINION
    departments_give_opinions(j)
    assert j.app.state == AppState.READY_FOR_NOTICE
    notice_and_objection(j)
    assert j.refresh().state == AppState.DECISION
    decide_on_its_page(j, cast.decision, "经局务会议审定，同意设立并授牌。", "decision-approves")
    studio = establish(j)
    unit_page = j.open(cast.unit, reverse("workshops:detail", args=[j.app.pk]))
    j.shot(unit_page, "unit-application-history")
    plaque_downloads(j, studio)


def test_hohhot_from_application_to_plaque(portal: Portal, cast_for: Any, tmp_path: Path) -> None:
    cast = cast_for("hohhot")
    j = Journey(portal, cast, tmp_path)
    # The decision maker has bound an authenticator (动态口令): the sign-in asks for its code.
    secret = pyotp.random_base32()
    User.objects.filter(pk=cast.decision.pk).update(totp_confirmed_at=timezone.now())
    cast.decision.totp_secret = secret
    cast.decision.save(update_fields=["totp_secret"])
    j.totp[cast.decision.pk] = secret
    today = timezone.localdate()
    page = j.open(cast.city_staff, reverse("workshops:round_create"))
    form = form_with(page, "title")
    fill(form, {"opens_on": f"{today.year}-01-01", "closes_on": f"{today.year}-12-31"})
    submit(page, form)
    expect_text(page, "已开启申报批次")
    j.shot(page, "city-round-opened")
    rnd = cast.city.rounds.get()

    unit_applies(j, rnd)
    assert j.app.state == AppState.FORMAL_REVIEW
    # 呼和浩特 第九条(一): 受理初审 by the city bureau, not a district.
    decide_on_its_page(j, cast.city_staff, "材料齐全，符合申报条件。", "city-formal-review")
    assert j.app.state == AppState.EXPERT_REVIEW
    experts_score(j)
    assert j.app.state == AppState.DECISION
    decision_makers_confirm_the_list(j)
    notice_and_objection(j)
    studio = establish(j)
    plaque_downloads(j, studio)
