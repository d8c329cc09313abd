"""Stored XSS (issue 8.3) in a real browser: hostile markup in every user-written text field, then
every page that shows those fields is opened in Chromium.

The payloads would set `window.__xss` (or open a dialog) if any page let them run, and would add
an `<img src=x>` or an `<svg>` with an `onload` to the DOM if any page parsed them as markup. On
every page the test asserts none of that happened and that the payload is on screen as text.
"""

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.urls import reverse
from playwright.sync_api import Dialog, Page

from coding import hypotheses
from coding.models import Code, Excerpt, Suggestion
from coding.refi.export import project_to_qda
from coding.refi.writer import write_qdpx
from observations.models import Document, FieldNote
from research.models import Participant, Project, Segment
from tests.factories import (
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    MemoFactory,
    SessionFactory,
)
from tests.frontend.test_dashboard_page import build_study

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
JS_URL = "javascript:window.__xss=1"
PAYLOAD = f"{IMG}{SCRIPT}{SVG}"  # 94 characters: fits every name field but the pseudonym
TEXT = f"The roaming charges were a shock {PAYLOAD} so I called {JS_URL} again."


def named(label: str) -> str:
    """A name that is the label plus every payload: unique per label, still hostile."""
    return f"{label} {PAYLOAD}"


@dataclass
class Hostile:
    project: Project
    theme: Code
    segment: Segment
    document: Document
    session_id: int


@pytest.fixture
def hostile(team) -> Hostile:
    """A study whose every user-written field holds the payloads."""
    project = team.project
    Project.objects.filter(pk=project.pk).update(
        name=named("Study"), description=f"{PAYLOAD} {JS_URL}"
    )
    study = build_study(
        project,
        team.researcher,
        themes={
            named("Billing"): {named("Switchers"): 9, named("Loyal"): 1, "Newcomers": 2},
            named("Waiting"): {named("Switchers"): 5, named("Loyal"): 5, "Newcomers": 1},
        },
        sizes={named("Switchers"): 6, named("Loyal"): 6, "Newcomers": 2},
    )
    theme = study.codes[named("Billing")]
    Code.objects.filter(project=project).update(
        description=PAYLOAD, inclusion_notes=PAYLOAD, exclusion_notes=JS_URL, example=PAYLOAD
    )
    for n, person in enumerate(Participant.objects.filter(project=project)):
        # 64 characters at most: two payloads per pseudonym, alternating which.
        person.pseudonym = f"{n}{IMG}" if n % 2 else f"{n}{SVG}"
        person.attributes = {PAYLOAD: PAYLOAD, "site": JS_URL}
        person.save(update_fields=["pseudonym", "attributes"])
    Document.objects.filter(project=project).update(title=named("Interview"))
    Excerpt.objects.filter(project=project).update(memo=f"{PAYLOAD} {JS_URL}")
    # A second coder, so agreement has two to compare.
    for excerpt in list(Excerpt.objects.filter(project=project, code=theme)[:3]):
        ExcerptFactory.create(
            document=excerpt.document,
            code=theme,
            coder=team.coder,
            start=excerpt.start,
            end=excerpt.end + 4,
            memo=PAYLOAD,
        )
    document = DocumentFactory.create(
        project=project, title=named("Transcript"), text=TEXT, char_count=len(TEXT)
    )
    ExcerptFactory.create(
        document=document, code=theme, coder=team.researcher, start=0, end=len(TEXT), memo=PAYLOAD
    )
    session = SessionFactory.create(
        project=project, title=named("Visit"), site=named("Site"), context=PAYLOAD, goals=JS_URL
    )
    FieldNoteFactory.create(session=session, text=f"{PAYLOAD} {JS_URL}")
    FieldNoteFactory.create(session=session, kind=FieldNote.Kind.QUOTE, text=TEXT)
    MemoFactory.create(
        project=project, author=team.researcher, title=named("Memo"), text=PAYLOAD, code=theme
    )
    MemoFactory.create(
        project=project, author=team.researcher, title=named("Doc memo"), text=JS_URL,
        document=document,
    )  # fmt: skip
    segment = Segment.objects.get(segmentation=study.segmentation, name=named("Switchers"))
    hypotheses.hypothesis_create(
        project=project,
        user=team.researcher,
        statement=f"{PAYLOAD} {JS_URL}",
        code=theme,
        kind="segment",
        segmentation=study.segmentation,
        segment=segment.name,
        direction="more",
    )
    Suggestion.objects.create(
        project=project,
        document=document,
        code=study.codes[named("Waiting")],
        start=0,
        end=len(TEXT),
        text=TEXT,
        score=0.7,
        method=Suggestion.Method.PATTERN,
    )
    return Hostile(
        project=project, theme=theme, segment=segment, document=document, session_id=session.pk
    )


def pages(h: Hostile, team) -> Iterator[tuple[str, str]]:
    """(what, path) of every page that renders the hostile fields."""
    slug = h.project.slug
    args = [slug]
    doc = [slug, h.document.pk]
    yield "project list", reverse("frontend:project-list")
    yield "project home", reverse("frontend:project-home", args=args)
    yield "members", reverse("frontend:project-members", args=args)
    yield "documents", reverse("frontend:document-list", args=args)
    yield "reader", reverse("frontend:document-detail", args=doc)
    yield "workspace", reverse("frontend:document-code", args=doc)
    yield "search", reverse("frontend:search", args=args) + "?q=roaming"
    yield "sessions", reverse("frontend:session-list", args=args)
    yield "session", reverse("frontend:session-detail", args=[slug, h.session_id])
    yield "codebook", reverse("frontend:codebook", args=args)
    yield "codebook code", reverse("frontend:codebook", args=args) + f"?code={h.theme.pk}"
    yield "segmentations", reverse("frontend:segmentation-list", args=args)
    yield "dashboard", reverse("frontend:dashboard", args=args)
    yield (
        "dashboard quotes",
        reverse("frontend:dashboard-quotes", args=args) + f"?code={h.theme.pk}",
    )
    yield "hypotheses", reverse("frontend:hypotheses", args=args)
    yield "suggestions", reverse("frontend:suggestions", args=args)
    yield (
        "agreement",
        reverse("frontend:agreement", args=args)
        + f"?coder={team.researcher.username}&coder={team.coder.username}",
    )
    yield "co-occurrence", reverse("frontend:cooccurrence", args=args)
    yield "exchange", reverse("frontend:exchange", args=args)
    yield "pii", reverse("frontend:pii-review", args=args)


def problems(page: Page, what: str) -> list[str]:
    """What the open page shows of a payload that ran or became markup; empty when none."""
    found = []
    ran = page.evaluate("() => window.__xss")
    if ran is not None:
        found.append(f"{what}: window.__xss = {ran!r}")
    markup = page.evaluate(
        """() => document.querySelectorAll(
            'img[src="x"], svg[onload], script:not([src]):not([type]), [onerror], [onload]'
        ).length"""
    )
    if markup:
        found.append(f"{what}: {markup} element(s) parsed from a payload")
    js_links = page.evaluate(
        """() => [...document.querySelectorAll('a[href], area[href], form[action], iframe[src]')]
            .map(e => e.getAttribute('href') || e.getAttribute('action') || e.getAttribute('src'))
            .filter(u => /^\\s*javascript:/i.test(u)).length"""
    )
    if js_links:
        found.append(f"{what}: {js_links} javascript: link(s)")
    shown = page.locator("body").inner_text()
    if IMG not in shown and SVG not in shown:
        found.append(f"{what}: no payload visible as text")
    return found


def visit_all(
    page: Page, base: str, paths: Iterator[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """Open each page; return (problems, dialog messages)."""
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    found: list[str] = []
    for what, path in paths:
        response = page.goto(base + path)
        if response is None or response.status != 200:
            found.append(f"{what}: {path} answered {response and response.status}")
            continue
        page.wait_for_load_state("networkidle")
        if what == "workspace":
            # The script paints code names, memos and the panel from JSON: open the panel of
            # the payload's excerpt so those paths run too.
            page.wait_for_function("() => window.workspaceReady === true")
            page.locator(".ws-hl").first.click()
            page.wait_for_load_state("networkidle")
        found += problems(page, what)
    return found, dialogs


def test_the_checks_catch_a_payload_that_runs(page: Page):
    page.set_content(f"<p>{PAYLOAD}</p><a href='{JS_URL}'>link</a>")
    found = problems(page, "raw")
    assert "raw: window.__xss = 1" in found
    assert any("parsed from a payload" in f for f in found)
    assert "raw: 1 javascript: link(s)" in found
    assert "raw: no payload visible as text" in found


def test_no_payload_runs_or_becomes_markup_on_any_page(
    team, hostile: Hostile, live_server, page: Page, login
):
    login(page, "owner1")
    found, dialogs = visit_all(page, live_server.url, pages(hostile, team))
    assert not dialogs, dialogs
    assert not found, "\n".join(found)


def test_names_imported_from_a_qdpx_stay_text(
    team, hostile: Hostile, live_server, page: Page, login, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    archive = io.BytesIO()
    write_qdpx(project_to_qda(hostile.project), archive)
    other = team.other_project
    login(page, "outsider")
    page.goto(live_server.url + reverse("frontend:exchange", args=[other.slug]))
    page.get_by_label("REFI-QDA file (.qdpx or .qdc)").set_input_files(
        {"name": f"{IMG}.qdpx", "mimeType": "application/zip", "buffer": archive.getvalue()}
    )
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"\?job="))
    imported = Document.objects.filter(project=other).order_by("pk").last()
    assert imported is not None
    assert Code.objects.filter(project=other, name=named("Billing")).exists()
    report = page.url.removeprefix(live_server.url)
    paths = [
        ("import report", report),
        ("imported: documents", reverse("frontend:document-list", args=[other.slug])),
        ("imported: reader", reverse("frontend:document-detail", args=[other.slug, imported.pk])),
        ("imported: codebook", reverse("frontend:codebook", args=[other.slug])),
        ("imported: co-occurrence", reverse("frontend:cooccurrence", args=[other.slug])),
    ]
    found, dialogs = visit_all(page, live_server.url, iter(paths))
    assert not dialogs, dialogs
    assert not found, "\n".join(found)


def test_import_review_card_shows_a_hostile_file_as_text(team, live_server, page: Page, login):
    # imports.js puts the server's review card in with innerHTML: the one innerHTML in the app.
    transcript = f"Interviewer: {PAYLOAD} how was it?\n{IMG}: {SCRIPT} {JS_URL}\n"
    login(page, "researcher1")
    page.goto(live_server.url + reverse("frontend:import", args=[team.project.slug]))
    page.get_by_label("Files").set_input_files(
        {"name": f"{SVG}.txt", "mimeType": "text/plain", "buffer": transcript.encode()}
    )
    page.locator(".import-file__state.is-ok, .import-file__state.is-bad").wait_for()
    card = page.locator(".import-file").first
    assert f"{SVG}.txt" in card.inner_text()
    found = problems(page, "import card")
    assert not found, "\n".join(found)
