"""The import page in a real browser: several files at once, progress, speaker mapping, links."""

import pytest
from django.urls import reverse
from playwright.sync_api import FilePayload, Page, expect

from observations.models import Document
from tests.factories import ParticipantFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

CALL = (
    "Interviewer: Thanks for joining. How did the first week go?\n"
    "Anna: The SIM took three days to arrive.\n"
    "Interviewer: What did you do meanwhile?\n"
    "Anna: I called support twice and nobody knew where it was.\n"
)


def _file(name: str, text: str) -> FilePayload:
    return {"name": name, "mimeType": "text/plain", "buffer": text.encode()}


def test_researcher_imports_two_transcripts_when_choosing_them_together(
    team, live_server, page: Page, login
) -> None:
    p07 = ParticipantFactory.create(project=team.project, pseudonym="P07")
    login(page, "researcher1")
    page.goto(live_server.url + reverse("frontend:import", args=[team.project.slug]))
    page.get_by_label("Files").set_input_files(
        [_file("call-01.txt", CALL), _file("call-02.txt", CALL.replace("Anna", "Ben"))]
    )
    cards = page.locator(".import-file")
    expect(cards).to_have_count(2)
    expect(cards.locator(".import-file__state.is-ok")).to_have_count(2)
    expect(cards.locator("progress").first).to_have_attribute("value", "100")
    # The interviewer is recognised by label; the customer is chosen per file.
    first = cards.nth(0)
    expect(first.get_by_label("Who is Interviewer?")).to_have_value("interviewer:researcher1")
    first.get_by_label("Who is Anna?").select_option(label="P07")
    cards.nth(1).get_by_label("Who is Ben?").select_option("new")
    cards.nth(1).get_by_label("Pseudonym for Ben").fill("P20")

    page.get_by_role("button", name="Import 2 files").click()
    done = page.locator(".import-done")
    expect(done).to_contain_text("Imported 2 documents")
    expect(done.get_by_role("link", name="call-01")).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("Import complete.")

    documents = {d.title: d for d in Document.objects.filter(project=team.project)}
    assert set(documents) == {"call-01", "call-02"}
    assert documents["call-01"].participant == p07
    assert documents["call-02"].participant == team.project.participants.get(pseudonym="P20")
    assert documents["call-01"].turns.count() == 4


def test_bad_file_shows_its_problem_and_blocks_import_when_among_good_ones(
    team, live_server, page: Page, login
) -> None:
    login(page, "researcher1")
    page.goto(live_server.url + reverse("frontend:import", args=[team.project.slug]))
    page.get_by_label("Files").set_input_files([_file("good.txt", CALL), _file("empty.txt", "")])
    bad = page.locator(".import-file--bad")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("empty.txt")
    expect(bad).to_contain_text("The file is empty")
    expect(page.get_by_role("button", name="Import 2 files")).to_be_disabled()
    assert not Document.objects.exists()


def test_dropped_file_is_checked_and_imported_when_dragged_onto_the_box(
    team, live_server, page: Page, login
) -> None:
    login(page, "owner1")
    page.goto(live_server.url + reverse("frontend:import", args=[team.project.slug]))
    page.evaluate(
        """text => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "dropped.txt", {type: "text/plain"}));
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }""",
        CALL,
    )
    card = page.locator(".import-file", has_text="dropped.txt")
    expect(card.locator(".import-file__state")).to_have_text("Uploaded · ready")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".import-done")).to_contain_text("Imported 1 document")
    assert Document.objects.get(project=team.project).source_name == "dropped.txt"
