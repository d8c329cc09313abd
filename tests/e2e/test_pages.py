"""The pages in a real browser: log in, find a project, read its figures, add a member, log out."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    ParticipantFactory,
    SessionFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


def figure(page: Page, label: str) -> str:
    return (
        page.locator(".figure", has=page.locator("dt", has_text=label))
        .locator(".figure__value")
        .inner_text()
    )


def test_researcher_sees_project_counts_when_logged_in_through_form(
    team, live_server, page: Page, login
) -> None:
    ParticipantFactory.create_batch(3, project=team.project)
    SessionFactory.create_batch(2, project=team.project)
    ExcerptFactory.create_batch(2, document=DocumentFactory.create(project=team.project))
    CodeFactory.create(project=team.project)

    login(page, "researcher1")

    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    expect(page.locator(".project-card")).to_have_count(1)
    expect(page.locator(".project-card .badge")).to_have_text("Your role: Researcher")
    page.get_by_role("link", name="Onboarding calls").click()
    page.wait_for_url(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))
    assert figure(page, "Participants") == "3"
    assert figure(page, "Observation sessions") == "2"
    assert figure(page, "Documents") == "1"
    assert figure(page, "Codes") == "3"
    assert figure(page, "Excerpts") == "2"
    expect(page.get_by_role("heading", name="Your role: Researcher")).to_be_visible()


def test_owner_adds_member_and_logs_out_when_on_members_page(
    team, live_server, page: Page, login
) -> None:
    UserFactory.create(username="newcoder")
    login(page, "owner1")
    page.goto(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))
    page.get_by_role("link", name="Manage members").click()
    expect(page.get_by_role("heading", name="Members", exact=True)).to_be_visible()

    page.get_by_label("Username").fill("newcoder")
    page.get_by_label("Role", exact=True).select_option("researcher")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add member").click()

    assert posted.value.request.headers.get("hx-request") == "true"  # swapped in place by htmx
    expect(page.get_by_role("status")).to_have_text("Added newcoder as Researcher.")
    row = page.locator("tbody tr", has_text="newcoder")
    expect(row.get_by_label("Role for newcoder")).to_have_value("researcher")
    expect(page.get_by_role("heading", name="People in this project (5)")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + reverse("login"))
    expect(page.get_by_role("heading", name="Log in to Verbatim")).to_be_visible()


def test_project_home_has_no_horizontal_scroll_when_viewport_is_phone_width(
    team, live_server, page: Page, login
) -> None:
    team.project.name = "Onboarding calls for prepaid customers in the north region, 2026"
    team.project.description = "Why new prepaid customers call support in their first week."
    team.project.save()
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "owner1")

    page.goto(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))

    expect(page.get_by_role("heading", name="In this project so far")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
