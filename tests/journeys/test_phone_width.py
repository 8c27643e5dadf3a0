"""The pages a unit and the reviewers use, read as HTML for what breaks them on a 375px phone — without a
browser (the Playwright check at 375px comes later):

- the viewport meta tag, so the phone does not render a desktop-wide page and shrink it;
- no inline width over 360px (an `<img width=800>` or a `<table width>` forces sideways scrolling);
- every table either scrolls inside `.table-scroll` or stacks into labelled blocks (`table.stack`, with
  a `data-label` on each cell and a stylesheet that defines the stacking);
- no inline `<script>`, `<style>`, `style=` or `on…=` handler: the Content-Security-Policy forbids them,
  so they would silently not work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import calendar
from portal.models import CalendarYear, User
from reviews import actions as review_actions
from reviews import notices
from tests.factories import Cast, make_application, make_org, make_round, unit_user_of, walk
from workshops.forms import steps_for
from workshops.states import AppState

pytestmark = pytest.mark.django_db

VIEWPORT = "width=device-width, initial-scale=1"
MAX_WIDTH = 360
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
STACKING_CSS = ("/static/css/workshops.css", "/static/css/reviews.css")  # the sheets defining table.stack


@pytest.fixture(autouse=True)
def _next_years_holidays(db: Any) -> None:
    # Deadlines counted from today may run into next year, which chinesecalendar may not cover yet.
    year = timezone.localdate().year + 1
    if not calendar.package_covers_year(year):
        CalendarYear.objects.create(year=year, complete=True, note="测试：按周一至周五计算")


@dataclass
class PhoneCheck(HTMLParser):
    """Walks one page and lists what would break it on a phone."""

    viewport: str | None = None
    stylesheets: list[str] = field(default_factory=list)
    stacked_tables: int = 0
    problems: list[str] = field(default_factory=list)
    open: list[tuple[str, set[str]]] = field(default_factory=list)  # (tag, classes) of the open elements

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        where = f"<{tag}{''.join(f' {k}={v!r}' for k, v in attrs)[:120]}>"
        if tag == "meta" and a.get("name") == "viewport":
            self.viewport = a.get("content")
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))
        if tag == "script" and not a.get("src"):
            self.problems.append(f"inline script {where}")
        if tag == "style" or "style" in a:
            self.problems.append(f"inline style {where}")
        self.problems += [f"inline handler {where}" for name in a if name.startswith("on")]
        width = re.match(r"\s*(\d+)", a.get("width", ""))
        if width and int(width.group(1)) > MAX_WIDTH:
            self.problems.append(f"fixed width {where}")
        if tag == "table":
            if "stack" in classes:
                self.stacked_tables += 1
            elif not any("table-scroll" in c for _t, c in self.open):
                self.problems.append(f"table neither stacked nor in .table-scroll {where}")
        if tag == "td" and "colspan" not in a and not a.get("data-label"):
            table = next((c for t, c in reversed(self.open) if t == "table"), set())
            if "stack" in table:
                self.problems.append(f"stacked cell without data-label {where}")
        if tag not in VOID:
            self.open.append((tag, classes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        # Browsers close what a template left open (<li>, <p>): pop back to the matching element.
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                del self.open[i:]
                return


def phone_problems(html: str) -> list[str]:
    page = PhoneCheck()
    page.feed(html)
    page.close()
    problems = list(page.problems)
    if page.viewport != VIEWPORT:
        problems.append(f"viewport meta is {page.viewport!r}")
    if page.stacked_tables and not set(STACKING_CSS) & set(page.stylesheets):
        problems.append("table.stack without the stylesheet that stacks it")
    return problems


def check_pages(pages: list[tuple[User, str, str, dict[str, Any] | None]]) -> None:
    clients: dict[int, Client] = {}
    failures = []
    tables = 0
    for user, method, url, data in pages:
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        response = getattr(clients[user.pk], method)(url, data or {})
        assert response.status_code in (200, 400), (user.role, method, url, response.status_code)
        html = response.content.decode()
        tables += html.count("<table")
        failures += [f"{user.role} {method.upper()} {url}: {p}" for p in phone_problems(html)]
    assert not failures, "\n" + "\n".join(failures)
    assert tables, "no table was checked"


def test_the_checker_finds_what_breaks_a_phone() -> None:
    good = (f'<meta name="viewport" content="{VIEWPORT}"><link rel="stylesheet" href="/static/css/reviews.css">'
            '<div class="table-scroll"><table><tr><td>1</td></tr></table></div>'
            '<table class="stack"><tr><td data-label="名称">甲</td><td colspan="2">注</td></tr></table>'
            '<script src="/static/x.js"></script><img src="a.png" width="320">')
    assert phone_problems(good) == []
    bad = ('<meta name="viewport" content="width=1024"><table><tr><td>1</td></tr></table>'
           '<table class="stack"><tr><td>甲</td></tr></table><img src="a.png" width="800">'
           '<p style="color:red" onclick="go()">x</p><script>alert(1)</script><style>p{}</style>')
    found = "\n".join(phone_problems(bad))
    for expected in ("viewport meta", "neither stacked", "without data-label", "fixed width", "inline style",
                     "inline handler", "inline script", "without the stylesheet"):
        assert expected in found, expected


def test_the_units_pages_fit_a_phone(cast_for: Any) -> None:
    dg = cast_for("dongguan")  # 东莞 has every step, 立项项目 included
    rnd = make_round(dg.city, on=date(2025, 6, 1))
    draft = make_application(dg, rnd)
    submitted = make_application(dg, rnd, org=make_org(dg.city, dg.org.district))
    walk(dg, [submitted], until=AppState.FORMAL_REVIEW, on=date(2025, 6, 2))
    other = unit_user_of(submitted.organization)
    pages: list[tuple[User, str, str, dict[str, Any] | None]] = [
        (dg.unit, "get", reverse("workshops:list"), None),
        *[(dg.unit, "get", reverse("workshops:edit", args=[draft.pk, s.slug]), None) for s in steps_for(rnd.policy)],
        (dg.unit, "get", reverse("workshops:submit", args=[draft.pk]), None),
        (dg.unit, "get", reverse("workshops:detail", args=[draft.pk]), None),
        # Pages with errors on them: a bad 身份证号, an incomplete application refused on submit.
        (dg.unit, "post", reverse("workshops:edit", args=[draft.pk, "leader"]), {"name": "甲", "id_number": "123"}),
        (other, "get", reverse("workshops:list"), None),
        (other, "get", reverse("workshops:detail", args=[submitted.pk]), None),
    ]
    blank = make_application(dg, rnd, org=make_org(dg.city, dg.org.district), complete=False)
    pages.append((unit_user_of(blank.organization), "post", reverse("workshops:submit", args=[blank.pk]),
                  {"version": blank.version}))
    check_pages(pages)


@pytest.fixture
def bureau_pages(cast_for: Any) -> list[tuple[User, str, str, dict[str, Any] | None]]:
    """A 东莞 round with an application at each stage, and a 呼和浩特 one awaiting its decision."""
    dg: Cast = cast_for("dongguan")
    on = date(2025, 6, 2)
    rnd = make_round(dg.city, on=date(2025, 6, 1))

    def app_at(state: str) -> Any:
        app = make_application(dg, rnd, org=make_org(dg.city, dg.org.district))
        return walk(dg, [app], until=state, on=on)[0]

    formal = app_at(AppState.FORMAL_REVIEW)
    opinion = app_at(AppState.OPINION)  # walk's panel for it is closed: a page with the ranked list
    ready = app_at(AppState.READY_FOR_NOTICE)
    expert = app_at(AppState.EXPERT_REVIEW)
    closed_panel = opinion.assignments.get().panel
    panel = review_actions.do_create_panel(rnd, actor=dg.city_staff, name="第二专家组")
    assignment = review_actions.do_assign_expert(panel, expert, dg.expert, actor=dg.city_staff)
    notice = notices.do_publish_notice(rnd, actor=dg.city_staff, starts_on=timezone.localdate(),
                                       applications=[ready])
    objection = notices.do_submit_objection(notice, entry=notice.entries.get(), name="张三", phone="13812345678",
                                            email="", reason="领办人已调离本单位，请核实。", evidence=None,
                                            source_ip="10.0.0.1")

    hh: Cast = cast_for("hohhot")
    hh_round = make_round(hh.city)
    (deciding,) = walk(hh, [make_application(hh, hh_round)], until=AppState.DECISION)
    return [
        (dg.district, "get", reverse("reviews:queue"), None),
        (dg.district, "get", reverse("reviews:application", args=[formal.pk]), None),
        (dg.district, "post", reverse("reviews:decide", args=[formal.pk]),
         {"outcome": "returned", "opinion": "", "version": formal.version}),  # refused: a reason is required
        (dg.city_staff, "get", reverse("reviews:queue"), None),
        (dg.city_staff, "get", reverse("reviews:application", args=[opinion.pk]), None),
        (dg.city_staff, "get", reverse("reviews:panels", args=[rnd.pk]), None),
        (dg.city_staff, "get", reverse("reviews:panel", args=[panel.pk]), None),
        (dg.city_staff, "get", reverse("reviews:panel", args=[closed_panel.pk]), None),
        (dg.city_staff, "get", reverse("reviews:assignment", args=[assignment.pk]), None),
        (dg.city_staff, "get", reverse("reviews:opinions", args=[rnd.pk]), None),
        (dg.city_staff, "get", reverse("reviews:notices", args=[rnd.pk]), None),
        (dg.city_staff, "get", reverse("reviews:notice_manage", args=[notice.pk]), None),
        (dg.city_staff, "get", reverse("reviews:objection", args=[objection.pk]), None),
        (dg.city_staff, "get", reverse("reviews:establish", args=[rnd.pk]), None),
        (dg.expert, "get", reverse("reviews:assignments"), None),
        (dg.expert, "get", reverse("reviews:assignment", args=[assignment.pk]), None),
        (dg.expert, "post", reverse("reviews:assignment", args=[assignment.pk]), {"comment": "未评分"}),
        (dg.expert, "get", reverse("reviews:assignment", args=[closed_panel.assignments.get().pk]), None),
        (hh.decision, "get", reverse("reviews:queue"), None),
        (hh.decision, "get", reverse("reviews:application", args=[deciding.pk]), None),
        (hh.decision, "get", reverse("reviews:round_decision", args=[hh_round.pk]), None),
    ]


def test_the_reviewers_pages_fit_a_phone(bureau_pages: list[tuple[User, str, str, dict[str, Any] | None]]) -> None:
    check_pages(bureau_pages)


def test_the_public_notice_pages_fit_a_phone(cast_for: Any, client: Client) -> None:
    hh = cast_for("hohhot")
    rnd = make_round(hh.city)
    walk(hh, [make_application(hh, rnd)], until=AppState.READY_FOR_NOTICE)
    notice = notices.do_publish_notice(rnd, actor=hh.city_staff, starts_on=timezone.localdate() - timedelta(days=1))
    failures = []
    for url in (reverse("public:home"), reverse("public:notices"), reverse("public:notice", args=[notice.pk]),
                reverse("public:objection", args=[notice.pk]), reverse("public:studios")):
        response = client.get(url)
        assert response.status_code == 200, url
        failures += [f"{url}: {p}" for p in phone_problems(response.content.decode())]
    assert not failures, "\n" + "\n".join(failures)
