"""Search in a real browser: type words, open a hit, land on the highlighted words in the reader."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from observations.models import Document
from tests.factories import DocumentFactory, ParticipantFactory, SpeakerTurnFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

FILLER = "I mostly use the app to check my data allowance and pay the bill each month."
SPOT = "The roaming charges on my first bill were a real shock to me."


def long_transcript(project, participant) -> Document:
    """A transcript whose hit sits far down the page, so opening it must scroll."""
    lines = [FILLER] * 80 + [SPOT] + [FILLER] * 40
    text = "\n".join(lines)
    document = DocumentFactory.create(project=project, title="Call with P07", text=text)
    cursor = 0
    for index, line in enumerate(lines):
        SpeakerTurnFactory.create(
            document=document,
            index=index,
            start=cursor,
            end=cursor + len(line),
            speaker="Anna",
            participant=participant,
            started_at_ms=index * 15_000,
        )
        cursor += len(line) + 1
    return document


def test_hit_opens_reader_at_highlighted_words_when_clicked(team, live_server, page: Page, login):
    participant = ParticipantFactory.create(project=team.project, pseudonym="P07")
    document = long_transcript(team.project, participant)
    DocumentFactory.create(project=team.other_project, title="Other study", text=SPOT)

    login(page, "manager1")
    page.goto(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))
    page.get_by_role("searchbox").fill("roaming charged")
    page.get_by_role("button", name="Search").click()

    expect(page.locator(".search-count")).to_contain_text("2 hits for")
    hits = page.locator(".hit")
    expect(hits).to_have_count(2)
    expect(hits.first.locator(".hit__match")).to_have_text("roaming")
    expect(hits.first).to_contain_text("P07")
    expect(hits.first).to_contain_text("Call with P07")
    expect(page.get_by_text("Other study")).to_have_count(0)

    hits.nth(1).locator(".hit__link").click()
    page.wait_for_url(f"**/documents/{document.pk}/**")
    mark = page.locator("mark#hit")
    expect(mark).to_have_text("charges")
    expect(mark).to_be_in_viewport()
    expect(page.locator(".block--hit .block__speaker")).to_have_text("P07")
