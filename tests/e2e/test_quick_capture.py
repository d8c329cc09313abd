"""Quick capture on a phone-sized screen: save without reload, keep drafts and a send queue
through network failures and reloads, never create a note twice."""

import pytest
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, ViewportSize, expect

from observations.models import Document, FieldNote
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

PHONE: ViewportSize = {"width": 390, "height": 844}
# Without a broker the save also runs the field notes' NLP inside the request (spaCy's first load
# included), so waits on the server's answer get more than the default 5 s.
SERVER = 30_000


def _lose_answer(route: Route) -> None:
    """The note reaches the server but its answer never reaches the phone."""
    try:
        if route.request.method == "POST":
            route.fetch()
            route.abort("internetdisconnected")
        else:
            route.continue_()
    except PlaywrightError:  # the page reloaded meanwhile and the request is gone: lost anyway
        pass


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide at a {PHONE['width']}px viewport"


def test_quick_capture_keeps_notes_until_server_confirms_when_network_fails(
    team, live_server, page: Page, login
) -> None:
    session = SessionFactory.create(project=team.project, title="Main St store")
    session.participants.set([ParticipantFactory.create(project=team.project, pseudonym="P03")])
    url = live_server.url + reverse(
        "frontend:session-capture", args=[team.project.slug, session.pk]
    )
    page.set_viewport_size(PHONE)
    login(page, "researcher1")
    page.goto(url)
    _no_horizontal_scroll(page)
    page.evaluate("window.__sameDocument = 'yes'")
    notes = page.locator("#capture-notes .note")
    queue = page.locator("#capture-queue")
    text = page.get_by_label("Note", exact=True)
    time = page.get_by_label("Time")

    # 1. Save online: the note appears in the list, with no navigation.
    expect(time).to_have_value("")
    text.fill("Where is the SIM slot?")
    expect(time).not_to_have_value("")  # stamped when typing started
    page.get_by_text("Quote", exact=True).click()
    page.get_by_label("Who").select_option(label="P03")
    page.get_by_role("button", name="Save note").click()
    expect(notes).to_have_count(1, timeout=SERVER)
    expect(notes.first).to_contain_text("Quote · P03")
    expect(notes.first).to_contain_text("Where is the SIM slot?")
    expect(queue).to_be_hidden()
    expect(text).to_have_value("")
    assert page.evaluate("window.__sameDocument") == "yes"
    _no_horizontal_scroll(page)

    # 2. The network fails after the server got the note: it stays queued and visible.
    page.route("**/capture/", _lose_answer)
    text.fill("Asked for the manager twice.")
    page.get_by_role("button", name="Save note").click()
    expect(queue).to_be_visible()
    expect(page.locator("#queue-list .note")).to_have_count(1)
    expect(queue).to_contain_text("Asked for the manager twice.")
    expect(queue).to_contain_text("Waiting to send")
    text.fill("A draft I have not saved yet")
    _no_horizontal_scroll(page)

    # 3. Reload: the draft and the queue are still there.
    page.reload()
    expect(page.locator("#queue-list .note")).to_have_count(1)
    expect(text).to_have_value("A draft I have not saved yet")
    expect(time).not_to_have_value("")

    # 4. The network is back: Retry (or the timer) sends it, the queue empties, one copy exists.
    page.unroute_all(behavior="wait")
    # A programmatic click: the timer may have emptied (and hidden) the queue a moment earlier.
    page.evaluate("document.getElementById('queue-retry').click()")
    expect(queue).to_be_hidden(timeout=SERVER)
    expect(notes.filter(has_text="Asked for the manager twice.")).to_have_count(1)
    expect(text).to_have_value("A draft I have not saved yet")
    assert FieldNote.objects.filter(session=session).count() == 2
    assert FieldNote.objects.filter(text="Asked for the manager twice.").count() == 1
    document = Document.objects.get(session=session, kind=Document.Kind.FIELD_NOTES)
    assert document.text.count("Asked for the manager twice.") == 1
    stored = page.evaluate("Object.keys(localStorage).map(k => [k, localStorage.getItem(k)])")
    assert any(key.endswith(":queue") and value == "[]" for key, value in stored)


def test_quick_capture_sends_queued_note_automatically_when_back_online(
    team, live_server, page: Page, login
) -> None:
    session = SessionFactory.create(project=team.project)
    url = live_server.url + reverse(
        "frontend:session-capture", args=[team.project.slug, session.pk]
    )
    page.set_viewport_size(PHONE)
    login(page, "researcher1")
    page.goto(url)
    page.context.set_offline(True)
    page.get_by_label("Note", exact=True).fill("Offline observation.")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("#capture-queue")).to_contain_text("Offline observation.")
    assert not FieldNote.objects.filter(session=session).exists()
    page.context.set_offline(False)  # fires `online`; the page sends without a click
    expect(page.locator("#capture-queue")).to_be_hidden(timeout=SERVER)
    expect(page.locator("#capture-notes .note")).to_have_count(1)
    assert FieldNote.objects.get(session=session).text == "Offline observation."
