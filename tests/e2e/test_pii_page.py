"""The personal-data review page in a real browser: decide in place (htmx), then apply."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from observations.models import Document
from observations.services import pii_detect
from tests.factories import DocumentFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

TEXT = "Kwame Mensah gave his direct line, +44 113 496 0381, and his e-mail, km@example.org."


def test_owner_replaces_values_when_deciding_in_place_and_applying(
    team, live_server, page: Page, login
) -> None:
    document = DocumentFactory.create(project=team.project, title="Store visit", text=TEXT)
    pii_detect(document=document, person_spans=[(0, len("Kwame Mensah"))])
    url = live_server.url + reverse("frontend:pii-review", args=[team.project.slug])

    login(page, "owner1")
    page.goto(url)
    row = page.locator(".pii-cand").filter(has=page.locator("mark", has_text="Kwame Mensah"))
    row.get_by_role("button", name="Replace", exact=True).click()
    expect(row).to_contain_text("Will be replaced")
    to_replace = page.locator("#pii-counts .pii-counts__figures > div", has_text="To replace")
    expect(to_replace.locator("dd")).to_have_text("1")
    assert page.url == url  # decided in place, no page load
    # The keyboard moves on to the next row (frontend/static/frontend/pii.js).
    next_row = page.locator(".pii-cand").nth(1)
    expect(next_row.get_by_role("button", name="Replace", exact=True)).to_be_focused()

    page.get_by_role("button", name="Replace 1 phone number").click()
    page.get_by_role("link", name="Apply replacements…").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "2 values in 1 document will be replaced"
    )
    page.get_by_role("button", name="Replace 2 values").click()
    expect(page.locator("#applied")).to_contain_text(
        "Replaced 1 person name and 1 phone number in 1 document."
    )
    document = Document.objects.get(pk=document.pk)
    assert document.text.startswith("[Person 1] gave his direct line, [Phone 1], and")
