"""Pages work under the Content-Security-Policy: Chromium reports no violation on them."""

import pytest
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect

pytestmark = pytest.mark.e2e


def _record_violations(page: Page) -> list[str]:
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    return violations


def test_pages_run_without_csp_violations_when_a_researcher_works(
    team, live_server, page: Page, login
) -> None:
    violations = _record_violations(page)
    login(page, "researcher1")
    for name in ("project-home", "codebook", "suggestions"):
        page.goto(live_server.url + reverse(f"frontend:{name}", args=[team.project.slug]))
        page.wait_for_load_state("networkidle")

    assert violations == []


def test_swagger_ui_renders_without_csp_violations_when_api_docs_open(
    live_server, page: Page, db
) -> None:
    violations = _record_violations(page)

    page.goto(live_server.url + reverse("api-docs"))

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Verbatim API")
    assert violations == []


def test_inline_script_is_blocked_when_injected_into_a_page(live_server, page: Page, db) -> None:
    violations = _record_violations(page)
    page.goto(live_server.url + reverse("login"))

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.append(s); }"
    )

    assert page.evaluate("() => window.injected === undefined")
    assert violations, "Chromium should report the blocked inline script"
