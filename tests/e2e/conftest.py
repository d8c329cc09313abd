"""Browser-test harness: one headless Chromium per session, a fresh context per test, a live server.

The browser is the system Chromium (never `playwright install`): `CHROMIUM_PATH`, else the first of
`chromium`, `chromium-browser`, `google-chrome` on PATH. Without one the tests fail, never skip, so
a CI image that lost its browser is noticed.
"""

import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from tests.factories import DEFAULT_PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to set up
# data would otherwise be refused as "called from an async context".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

LoginFn = Callable[[Page, str], None]


def chromium_executable() -> str:
    """The Chromium to drive, or fail the test with what is missing and how to get it."""
    configured = os.environ.get("CHROMIUM_PATH", "")
    if configured:
        if not Path(configured).is_file():
            pytest.fail(f"CHROMIUM_PATH={configured} is not a file.", pytrace=False)
        return configured
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "No Chromium browser found for the e2e tests: none of "
        f"{', '.join(BROWSER_NAMES)} is on PATH and CHROMIUM_PATH is not set. "
        "Install one (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH.",
        pytrace=False,
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item so `page` can tell whether the test failed."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = playwright_driver.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=LAUNCH_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a new browser context (no shared cookies), screenshotted if the test fails."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def login(live_server) -> LoginFn:
    """Log a user in through the login form, as a person would, and wait for the project list."""

    def log_in(page: Page, username: str, password: str = DEFAULT_PASSWORD) -> None:
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(live_server.url + reverse("frontend:project-list"))

    return log_in
