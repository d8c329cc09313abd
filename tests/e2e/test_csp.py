"""Pages work under the Content-Security-Policy (`script-src 'self'`, `style-src 'self'`): Chromium
reports no violation on any page of the demo study, the admin or the API docs, and what the pages
used to draw with style attributes (code colours, tree indents, bar widths) is still drawn."""

from collections.abc import Iterator
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect

from coding.management.commands import _demo_data as demo_data
from coding.models import Code, Suggestion
from coding.suggest.services import suggestion_decide
from observations.models import Document, ObservationSession
from research.models import Participant, Project

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

# A `securitypolicyviolation` listener in every document, before the page's own scripts: it sees
# what the console shows and also violations Chromium reports only as events.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}: ${e.sample}`));
"""
# [data-color, computed background] of every swatch that carries a code's colour.
SWATCHES = """sel => [...document.querySelectorAll(sel)].map(
  e => [e.dataset.color, getComputedStyle(e).backgroundColor])"""


def _record_violations(page: Page) -> list[str]:
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    page.add_init_script(LISTEN)
    return violations


def _events(page: Page) -> list[str]:
    return page.evaluate("() => window.__csp || []")


def rgb(hex_colour: str) -> str:
    """'#1f77b4' -> 'rgb(31, 119, 180)', as getComputedStyle writes it."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture
def demo(db) -> Project:
    """`manage.py load_demo`'s study, with a few suggestions decided so the review page draws its
    accepted-share bars."""
    call_command("load_demo", stdout=StringIO())
    project = Project.objects.get(slug=demo_data.SLUG)
    researcher = get_user_model().objects.get(username="researcher")
    for n, suggestion in enumerate(Suggestion.objects.filter(project=project).order_by("pk")[:6]):
        status = Suggestion.Status.REJECTED if n % 3 == 0 else Suggestion.Status.ACCEPTED
        suggestion_decide(suggestion=suggestion, user=researcher, status=status)
    return project


def demo_pages(project: Project) -> Iterator[tuple[str, str]]:
    """(what, path) of every page type of the study, as its owner sees them."""
    slug = project.slug
    theme = Code.objects.get(project=project, name="Activation friction")
    child = Code.objects.get(project=project, name="Number porting")
    sibling = Code.objects.get(project=project, name="SIM and eSIM setup")
    document = Document.objects.filter(project=project).order_by("pk").first()
    session = ObservationSession.objects.filter(project=project).first()
    person = Participant.objects.filter(project=project).first()
    assert document is not None
    assert session is not None
    assert person is not None

    def url(name: str, *args: object) -> str:
        return reverse(f"frontend:{name}", args=[slug, *args])

    yield "project list", reverse("frontend:project-list")
    yield "project home", url("project-home")
    yield "members", url("project-members")
    yield "documents", url("document-list")
    yield "reader", url("document-detail", document.pk)
    yield "workspace", url("document-code", document.pk)
    yield "search", url("search") + "?q=bill"
    yield "sessions", url("session-list")
    yield "session", url("session-detail", session.pk)
    yield "quick capture", url("session-capture", session.pk)
    yield "journey stages", url("journey-stages")
    yield "imports", url("import")
    yield "segmentations", url("segmentation-list")
    yield "codebook", url("codebook") + f"?code={theme.pk}"
    yield "split", url("codebook-split", theme.pk)
    yield "merge", url("codebook-merge", child.pk) + f"?into={sibling.pk}"
    yield "suggestions", url("suggestions")
    yield "dashboard", url("dashboard")
    yield "hypotheses", url("hypotheses")
    yield "agreement", url("agreement") + "?coder=researcher&coder=coder"
    yield "co-occurrence", url("cooccurrence")
    yield "exchange", url("exchange")
    yield "privacy", url("privacy")
    yield "erase participant", url("participant-erase", person.pk)
    yield "pii", url("pii-review")


def test_every_page_of_the_demo_runs_without_csp_violations(
    demo: Project, live_server, page: Page, login
) -> None:
    violations = _record_violations(page)
    login(page, "owner", demo_data.DEFAULT_PASSWORD)
    visited, events = [], []
    for what, path in demo_pages(demo):
        response = page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        visited.append(f"{what} {response and response.status}")
        events += [f"{what}: {e}" for e in _events(page)]
        # The pages a page leads to by link: evidence behind a dashboard cell or a co-occurrence.
        link = {"dashboard": "/dashboard/quotes/", "co-occurrence": "/cooccurrence/passages/"}
        if what in link:
            href = page.locator(f'a[href*="{link[what]}"]').first.get_attribute("href")
            assert href, f"{what}: no link to {link[what]}"
            response = page.goto(live_server.url + href)
            page.wait_for_load_state("networkidle")
            visited.append(f"{what} evidence {response and response.status}")
            events += [f"{what} evidence: {e}" for e in _events(page)]

    assert [v for v in visited if not v.endswith(" 200")] == []
    assert len(visited) == 27
    assert events == []
    assert violations == []


def test_code_colours_indents_and_bars_are_drawn_without_style_attributes(
    demo: Project, live_server, page: Page, login
) -> None:
    violations = _record_violations(page)
    login(page, "owner", demo_data.DEFAULT_PASSWORD)
    theme = Code.objects.get(project=demo, name="Activation friction")
    page.goto(live_server.url + reverse("frontend:codebook", args=[demo.slug]))

    tree = page.evaluate(SWATCHES, ".cb-tree .cb-swatch")
    assert len(tree) == Code.objects.filter(project=demo).count()
    assert [shown for _, shown in tree] == [rgb(colour) for colour, _ in tree]
    indents = page.evaluate(
        """() => [...document.querySelectorAll('.cb-row')].map(r => [r.dataset.depth,
          parseFloat(getComputedStyle(r.querySelector('.cb-link')).paddingLeft)])"""
    )
    theme_indent = {pad for depth, pad in indents if depth == "1"}
    code_indent = {pad for depth, pad in indents if depth == "2"}
    assert len(theme_indent) == len(code_indent) == 1
    assert code_indent.pop() - theme_indent.pop() == pytest.approx(1.4 * 16)
    assert page.evaluate("() => document.querySelectorAll('[style], style').length") == 0

    # An htmx swap (open a code), then Back (htmx restores the page from its history copy).
    page.locator(f"#cb-code-{theme.pk}").click()
    expect(page.locator("#cb-panel-title")).to_contain_text("Activation friction")
    panel = page.evaluate(SWATCHES, "#cb-panel-title .cb-swatch")
    assert panel == [[theme.color, rgb(theme.color)]]
    page.go_back()
    expect(page.locator("#cb-panel-title")).to_have_text("Choose a code")
    restored = page.evaluate(SWATCHES, ".cb-tree .cb-swatch")
    assert [shown for _, shown in restored] == [rgb(colour) for colour, _ in restored]
    # htmx's request indicator rules come from verbatim.css, not from a <style> it would add.
    hidden = page.evaluate(
        """() => { const s = document.createElement('span'); s.className = 'htmx-indicator';
          document.body.append(s); return getComputedStyle(s).visibility; }"""
    )
    assert hidden == "hidden"
    assert page.evaluate("() => document.querySelectorAll('style').length") == 0

    page.goto(live_server.url + reverse("frontend:suggestions", args=[demo.slug]))
    swatches = page.evaluate(SWATCHES, ".sg-table .sg-swatch")
    assert swatches
    assert [shown for _, shown in swatches] == [rgb(colour) for colour, _ in swatches]
    bars = page.evaluate(
        """() => [...document.querySelectorAll('.sg-table .sg-bar__fill')].map(f => [
          Number(f.dataset.percent),
          f.getBoundingClientRect().width / f.parentElement.getBoundingClientRect().width * 100])"""
    )
    assert bars
    assert all(drawn == pytest.approx(percent, abs=0.5) for percent, drawn in bars), bars
    assert {percent for percent, _ in bars} - {0, 100}, "some bar should be part-filled"
    assert _events(page) == []
    assert violations == []


def test_admin_and_browsable_api_run_without_csp_violations(
    demo: Project, live_server, page: Page, login
) -> None:
    get_user_model().objects.create_superuser("root", "root@example.invalid", "root-pass-123")
    code = Code.objects.filter(project=demo).first()
    assert code
    violations = _record_violations(page)
    login(page, "root", "root-pass-123")
    paths = [
        reverse("admin:index"),
        reverse("admin:coding_code_changelist"),
        reverse("admin:coding_code_change", args=[code.pk]),
        "/api/v1/projects/",  # DRF's HTML: the one place style-src also allows inline style
    ]
    events = []
    for path in paths:
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        events += [f"{path}: {e}" for e in _events(page)]

    assert events == []
    assert violations == []


def test_swagger_ui_renders_without_csp_violations_when_api_docs_open(
    live_server, page: Page, db
) -> None:
    violations = _record_violations(page)

    page.goto(live_server.url + reverse("api-docs"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Verbatim API")
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()

    # The page rules drf-spectacular's template had in a <style> element, now a stylesheet.
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == rgb("#fafafa")
    assert _events(page) == []
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


def test_inline_style_is_blocked_when_injected_into_a_page(live_server, page: Page, db) -> None:
    violations = _record_violations(page)
    page.goto(live_server.url + reverse("login"))

    page.evaluate(
        """() => document.body.insertAdjacentHTML('beforeend',
          '<p id="x" style="color: rgb(1, 2, 3)">x</p>'
          + '<style>body { color: rgb(1, 2, 3) }</style>')"""
    )

    assert page.evaluate("() => getComputedStyle(document.getElementById('x')).color") != (
        "rgb(1, 2, 3)"
    )
    assert page.evaluate("() => getComputedStyle(document.body).color") != "rgb(1, 2, 3)"
    directives = {event.split()[0] for event in _events(page)}
    assert directives == {"style-src-attr", "style-src-elem"}
    assert violations, "Chromium should report the blocked style attribute and element"
