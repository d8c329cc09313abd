"""The coding workspace in a real browser: code with the keyboard, in-vivo codes, read-only
managers, and user text that must stay text."""

import pytest
from django.urls import reverse
from playwright.sync_api import Dialog, Page, expect

from coding.models import Code, Excerpt
from observations.models import Document
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory, SpeakerTurnFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

XSS = "<img src=x onerror=alert(1)>"
LINES = [
    "Thanks for joining. How was your first month with us?",
    "Honestly the roaming charges on my first bill were a real shock to me.",
    "What did you do then?",
    "I called support and waited forty minutes before anyone answered.",
]


def transcript(project, lines: list[str]) -> Document:
    text = "\n".join(lines)
    document = DocumentFactory.create(project=project, title="Call with P07", text=text)
    cursor = 0
    for index, line in enumerate(lines):
        SpeakerTurnFactory.create(
            document=document,
            index=index,
            start=cursor,
            end=cursor + len(line),
            speaker="Interviewer" if index % 2 == 0 else "Ama",
            started_at_ms=index * 15_000,
        )
        cursor += len(line) + 1
    return document


def open_workspace(page: Page, live_server, document: Document) -> None:
    url = reverse("frontend:document-code", args=[document.project.slug, document.pk])
    page.goto(live_server.url + url)
    page.wait_for_function("() => window.workspaceReady === true")


def select_words(page: Page, words: str) -> None:
    """Select `words` in the document text (the first turn holding them), focus in the text."""
    page.evaluate(
        """(words) => {
          const doc = document.getElementById("ws-doc");
          doc.focus();
          const walker = document.createTreeWalker(doc, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const at = n.data.indexOf(words);
            if (at >= 0 && n.parentElement.closest("[data-start]")) {
              window.getSelection().setBaseAndExtent(n, at, n, at + words.length);
              return;
            }
          }
          throw new Error("not found: " + words);
        }""",
        words,
    )


def test_coder_applies_code_with_keyboard_and_sees_it_after_reload(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    CodeFactory.create(project=team.project, name="Billing surprise", color="#d62728")
    CodeFactory.create(project=team.project, name="Support wait", color="#2ca02c")
    login(page, "coder1")
    open_workspace(page, live_server, document)

    select_words(page, "roaming charges")
    page.keyboard.press("c")
    picker = page.get_by_role("dialog")
    expect(picker).to_be_visible()
    page.keyboard.type("billing")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 201):
        page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(page.locator("#ws-live")).to_have_text("Coded “roaming charges” as Billing surprise")

    excerpt = Excerpt.objects.get(document=document)
    assert document.text[excerpt.start : excerpt.end] == "roaming charges"
    assert (excerpt.code.name, excerpt.coder.username) == ("Billing surprise", "coder1")

    page.reload()
    page.wait_for_function("() => window.workspaceReady === true")
    mark = page.locator("mark.ws-hl")
    expect(mark).to_have_text("roaming charges")
    expect(mark).to_have_attribute("title", "Billing surprise (coder1)")
    expect(page.locator(".ws-stripe")).to_have_text("BS")

    # Number keys pick from the list; recent codes come first.
    select_words(page, "waited forty minutes")
    page.keyboard.press("Enter")
    expect(page.locator(".ws-opt").first).to_contain_text("Billing surprise")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 201):
        page.keyboard.press("2")
    assert Excerpt.objects.filter(document=document, code__name="Support wait").count() == 1


def test_coder_creates_in_vivo_code_from_selected_words(team, live_server, page: Page, login):
    document = transcript(team.project, LINES)
    login(page, "coder1")
    open_workspace(page, live_server, document)

    select_words(page, "a real shock")
    page.keyboard.press("c")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 201):
        page.get_by_role("button", name="New code from selection").click()
    expect(page.locator("mark.ws-hl")).to_have_text("a real shock")
    code = Code.objects.get(project=team.project, name="a real shock")
    assert code.parent is None
    assert Excerpt.objects.get(code=code).coder.username == "coder1"


def test_coder_edits_memo_and_deletes_own_excerpt_from_panel(team, live_server, page: Page, login):
    document = transcript(team.project, LINES)
    start = document.text.index("forty minutes")
    excerpt = ExcerptFactory.create(
        document=document,
        code=CodeFactory.create(project=team.project, name="Support wait"),
        coder=team.coder,
        start=start,
        end=start + len("forty minutes"),
    )
    login(page, "coder1")
    open_workspace(page, live_server, document)
    page.locator("mark.ws-hl").focus()
    expect(page.locator("#ws-tip")).to_have_text("Support wait (coder1)")
    page.keyboard.press("Enter")
    panel = page.locator("#ws-panel")
    panel.get_by_label("Memo").fill("Long waits come up in every call.")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.ok):
        panel.get_by_role("button", name="Save").click()
    excerpt.refresh_from_db()
    assert excerpt.memo == "Long waits come up in every call."
    with page.expect_response(lambda r: r.request.method == "DELETE" and r.status == 204):
        panel.get_by_role("button", name="Delete excerpt").click()
    expect(page.locator("mark.ws-hl")).to_have_count(0)
    assert not Excerpt.objects.filter(pk=excerpt.pk).exists()


def test_manager_sees_no_coding_controls_and_api_refuses_their_excerpt(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    code = CodeFactory.create(project=team.project, name="Billing surprise")
    login(page, "manager1")
    open_workspace(page, live_server, document)
    expect(page.get_by_text("Read-only")).to_be_visible()
    expect(page.locator("#ws-picker")).to_have_count(0)
    expect(page.get_by_role("button", name="New code from selection")).to_have_count(0)
    select_words(page, "roaming charges")
    page.keyboard.press("c")
    expect(page.get_by_role("dialog")).to_have_count(0)

    status = page.evaluate(
        """async ([doc, code]) => {
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const r = await fetch("/api/v1/projects/onboarding-calls/excerpts/", {
            method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token},
            body: JSON.stringify({document: doc, code: code, start: 0, end: 6}),
          });
          return [r.status, (await r.json()).detail];
        }""",
        [document.pk, code.pk],
    )
    assert status[0] == 403
    assert "manager" in status[1]
    assert not Excerpt.objects.exists()


def test_markup_in_turn_and_code_name_renders_as_text_when_coding(
    team, live_server, page: Page, login
):
    document = transcript(team.project, [f"I pasted {XSS} into the chat box.", "Odd."])
    code = CodeFactory.create(project=team.project, name=XSS)
    ExcerptFactory.create(document=document, code=code, coder=team.coder, start=0, end=8)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    login(page, "coder1")
    open_workspace(page, live_server, document)
    expect(page.locator(".ws-text").first).to_contain_text(XSS)
    expect(page.locator("mark.ws-hl")).to_have_attribute("title", f"{XSS} (coder1)")
    page.locator("mark.ws-hl").focus()
    expect(page.locator("#ws-tip")).to_have_text(f"{XSS} (coder1)")
    page.keyboard.press("Enter")
    expect(page.locator("#ws-panel")).to_contain_text(XSS)
    select_words(page, "chat box")
    page.keyboard.press("c")
    expect(page.locator(".ws-opt").first).to_contain_text(XSS)
    expect(page.locator("img")).to_have_count(0)
    page.keyboard.press("Escape")
    assert dialogs == []


def test_coder_selects_by_word_with_keyboard_from_next_uncoded_turn(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    ExcerptFactory.create(
        document=document,
        code=CodeFactory.create(project=team.project, name="Greeting"),
        coder=team.coder,
        start=0,
        end=len("Thanks"),
    )
    CodeFactory.create(project=team.project, name="Billing surprise")
    login(page, "coder1")
    open_workspace(page, live_server, document)
    page.locator("#ws-doc").focus()
    page.keyboard.press("n")  # the first turn is coded: the caret lands in the second
    expect(page.locator("#ws-live")).to_have_text("Next uncoded turn: Ama")
    page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.press("c")
    expect(page.locator("#ws-picker-quote")).to_have_text("Honestly the")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator("#ws-doc")).to_be_focused()


def test_filters_and_blind_mode_narrow_highlights_when_several_coders_coded(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    billing = CodeFactory.create(project=team.project, name="Billing surprise")
    support = CodeFactory.create(project=team.project, name="Support wait")
    text = document.text
    for coder, code, words in (
        (team.coder, billing, "roaming charges"),
        (team.researcher, billing, "charges on my first bill"),  # overlaps the coder's
        (team.researcher, support, "forty minutes"),
    ):
        at = text.index(words)
        ExcerptFactory.create(
            document=document, code=code, coder=coder, start=at, end=at + len(words)
        )
    login(page, "coder1")
    open_workspace(page, live_server, document)
    expect(page.locator("#ws-count")).to_have_text("3 excerpts shown")
    expect(page.locator("mark.ws-hl--overlap")).to_have_text("charges")
    page.get_by_label("Coder").select_option("researcher1")
    expect(page.locator("#ws-count")).to_have_text("2 excerpts shown")
    page.get_by_label("Coder").select_option("")
    page.get_by_label("Code", exact=True).select_option(label="Support wait")
    expect(page.locator("mark.ws-hl")).to_have_text("forty minutes")
    page.get_by_label("Code", exact=True).select_option("")
    page.get_by_label("Blind mode (only my excerpts)").check()
    expect(page.locator("#ws-count")).to_have_text("1 excerpt shown")
    expect(page.locator("mark.ws-hl")).to_have_text("roaming charges")


def test_highlight_is_rolled_back_with_visible_error_when_server_refuses(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    code = CodeFactory.create(project=team.project, name="Billing surprise")
    login(page, "coder1")
    open_workspace(page, live_server, document)
    Code.objects.filter(pk=code.pk).update(is_archived=True)  # archived behind the page's back
    select_words(page, "roaming charges")
    page.keyboard.press("c")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 400):
        page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Not saved")
    expect(page.get_by_role("alert")).to_contain_text("archived")
    expect(page.locator("mark.ws-hl")).to_have_count(0)
    assert not Excerpt.objects.exists()


def test_coder_adds_document_memo_from_memos_panel(team, live_server, page: Page, login):
    from coding.models import Memo

    document = transcript(team.project, LINES)
    login(page, "coder1")
    open_workspace(page, live_server, document)
    expect(page.locator("#ws-memo-list")).to_contain_text("No memos about this document yet.")
    page.get_by_label("Title").fill("Roaming")
    page.get_by_label("Memo about this document").fill("Roaming fees surprise most callers.")
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 201):
        page.get_by_role("button", name="Add memo").click()
    expect(page.locator("#ws-memo-list")).to_contain_text("Roaming fees surprise most callers.")
    expect(page.locator("#ws-live")).to_have_text("Memo added")
    memo = Memo.objects.get(document=document)
    assert (memo.title, memo.author.username) == ("Roaming", "coder1")
    page.reload()
    page.wait_for_function("() => window.workspaceReady === true")
    expect(page.locator("#ws-memo-list")).to_contain_text("Roaming · coder1")


def test_excerpt_needing_review_is_marked_beyond_colour_when_text_changed(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    at = document.text.index("forty minutes")
    ExcerptFactory.create(
        document=document,
        code=CodeFactory.create(project=team.project, name="Support wait"),
        coder=team.researcher,
        start=at,
        end=at + len("forty minutes"),
        needs_review=True,
        review_reason="The coded words were edited.",
    )
    login(page, "manager1")
    open_workspace(page, live_server, document)
    mark = page.locator("mark.ws-hl")
    expect(mark).to_have_class("ws-hl ws-hl--review")
    expect(mark).to_have_attribute("title", "Support wait (researcher1, needs review)")
    expect(mark).to_have_attribute("data-tag", "SW")
    expect(page.locator(".ws-stripe")).to_have_attribute("title", "Support wait · researcher1")
    mark.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ws-panel")).to_contain_text("needs review: The coded words were edited.")
    # Managers only read: looking for similar passages is their one button.
    expect(page.locator("#ws-panel").get_by_role("button")).to_have_text(["Find similar passages"])
