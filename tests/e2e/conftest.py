"""Browser journeys: the portal served by Django's live server, driven through Debian's chromium.

Chromium is the Debian package (`/usr/bin/chromium`, installed by .ci/run); Playwright never
downloads a browser of its own. Every person in a journey has their own browser context (their own
cookies), signs in through the login form and does everything by clicking and typing. Screenshots
go to test-output/e2e/<test name>/ (gitignored), numbered in the order they were taken.

Every page is watched for what a user would not see but must not happen: a Content-Security-Policy
violation (an inline script or style the policy blocks), a JavaScript error, a 5xx response.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
# Headless, as root in a container (no sandbox), and nothing that phones home: this machine's
# network is closed, and chromium's background connections would be refused at every start.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--lang=zh-CN"]  # the browser's own widgets (file and date inputs) as a user here sees them
OUTPUT = ROOT / "test-output" / "e2e"
TIMEOUT_MS = 15_000
VIOLATION_REPORTER = """
document.addEventListener("securitypolicyviolation", e => console.error(
  "CSP violation: " + e.violatedDirective + " at " + e.sourceFile + ":" + e.lineNumber + ":" + e.columnNumber
  + " sample=" + JSON.stringify(e.sample) + " blocked=" + e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), "
                    "as .ci/run does; Playwright's own browser download is not used")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread, and Django refuses ORM calls from a
    # thread with a running loop. The test's own queries are plain synchronous code between browser
    # steps, so allow them for as long as the browser is open (and only then).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Portal:
    """The running portal and the people using it, each in their own browser context."""

    base_url: str
    browser: Any
    out: Path
    problems: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def url(self, path: str) -> str:
        return self.base_url + path

    def new_page(self, who: str) -> Any:
        context = self.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                           viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        # The console line chromium prints for a CSP violation does not say where; this one does.
        context.add_init_script(VIOLATION_REPORTER)
        self.contexts.append(context)
        page = context.new_page()

        def on_console(message: Any) -> None:
            text = message.text
            if message.type == "error" and ("Content Security Policy" in text or "CSP violation" in text
                                            or "Refused to" in text):
                self.problems.append(f"[{who}] CSP: {text} on {page.url}")
            elif message.type == "error" and "Failed to load resource" not in text:
                self.problems.append(f"[{who}] console error: {text} on {page.url}")

        def on_response(response: Any) -> None:
            if response.status >= 500:
                self.problems.append(f"[{who}] HTTP {response.status} from {response.request.method} {response.url}")
            elif response.status == 404 and "/static/" in response.url:
                self.problems.append(f"[{who}] missing static file {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"[{who}] page error: {exc} on {page.url}"))
        page.on("response", on_response)
        return page

    def anonymous(self, who: str = "citizen") -> Any:
        return self.new_page(who)

    def login(self, user: Any, password: str = PASSWORD, *, totp_secret: str | None = None) -> Any:
        """A fresh browser for `user`, signed in through the login form (and the code step when the
        account has an authenticator bound: `totp_secret` is what the phone would hold)."""
        page = self.new_page(user.username)
        page.goto(self.url("/accounts/login/"))
        page.fill('input[name="username"]', user.username)
        page.fill('input[name="password"]', password)
        with page.expect_navigation():
            page.locator("form", has=page.locator('input[name="password"]')).locator(
                'button[type="submit"]').click()
        if totp_secret is not None:
            import pyotp

            assert "/accounts/login/code/" in page.url, page.url
            self.shot(page, f"{user.username}-totp-step")
            page.fill('input[name="code"]', pyotp.TOTP(totp_secret).now())
            with page.expect_navigation():
                page.locator("form", has=page.locator('input[name="code"]')).locator(
                    'button[type="submit"]').click()
        assert "/accounts/login/" not in page.url, f"{user.username} could not sign in: {page.inner_text('main')}"
        return page

    def shot(self, page: Any, name: str) -> Path:
        path = self.out / f"{len(self.shots) + 1:02d}-{name}.png"
        # caret="initial": hiding the caret puts a style attribute on inputs, which htmx then copies
        # when it swaps the form, and the CSP (rightly) blocks: a violation the user never causes.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        self.shots.append(path)
        with (self.out / "steps.txt").open("a") as log:  # where the run's time goes, step by step
            log.write(f"{time.monotonic() - self.started:7.1f}s  {path.name}  {page.url}\n")
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def portal(live_server: Any, browser: Any, request: Any) -> Iterator[Portal]:
    out = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    p = Portal(live_server.url, browser, out)
    try:
        yield p
    finally:
        if getattr(request.node, "e2e_failed", False):
            # What each person had on screen when the test failed.
            for n, context in enumerate(p.contexts):
                for page in context.pages:
                    page.screenshot(path=str(out / f"failed-{n}.png"), full_page=True)
        p.close()
    assert not p.problems, "what the browser saw go wrong:\n" + "\n".join(p.problems)


# --- filling in forms as a person does ----------------------------------------------------------------

def form_with(page: Any, name: str) -> Any:
    """The form that holds the field `name` (pages have several: logout, upload per material …)."""
    return page.locator("form", has=page.locator(f'[name="{name}"]')).first


def fill(form: Any, values: dict[str, Any], *, skip_missing: bool = False) -> None:
    """Type, pick, tick: each value the way its widget takes it. Lists tick several checkboxes.
    `skip_missing`: a field this city's form does not have is left out (forms differ by policy)."""
    for name, value in values.items():
        fields = form.locator(f'[name="{name}"]')
        if skip_missing and fields.count() == 0:
            continue
        first = fields.first
        tag = first.evaluate("e => e.tagName.toLowerCase()")
        kind = (first.get_attribute("type") or "").lower()
        if tag == "select":
            first.select_option(str(value))
        elif kind == "radio":
            form.locator(f'[name="{name}"][value="{value}"]').check()
        elif kind == "checkbox" and isinstance(value, list | tuple):
            for v in value:
                form.locator(f'[name="{name}"][value="{v}"]').check()
        elif kind == "checkbox":
            first.set_checked(bool(value))
        elif kind == "file":
            first.set_input_files(value)
        else:
            first.fill(str(value))


def submit(page: Any, form: Any, button: str | None = None) -> Any:
    """Press the form's button and wait for what follows: a new page, or htmx's swap of the editor."""
    target = form.locator("button[type=submit]", has_text=button) if button else form.locator(
        "button[type=submit]")
    target = target.first
    if form.get_attribute("hx-post"):
        with page.expect_response(lambda r: r.request.method == "POST") as response:
            target.click()
        # htmx marks the request, swap and settle phases with classes; done when none is left.
        page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
        return response.value
    with page.expect_navigation():
        target.click()
    return page
