"""Assisted coding in a real browser: the review queue decided with keys, the workspace's code
picker ordered by a trained model, "find similar" from an excerpt. Screenshots land in
test-artifacts/."""

import json
import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from coding.models import Excerpt, Suggestion
from coding.suggest import services
from research.models import Job
from tests.coding.suggest_data import make_document, make_study, span_of
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_workspace import open_workspace, select_words
from tests.factories import CodeFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

SENTENCES = [
    "Okay, let us start the interview.",
    "I was charged twice for the same order and nobody at the bank could explain why.",
    "The parcel arrived a week late and the box was soaked.",
    "The staff on the phone were lovely.",
    "We have about twenty minutes left.",
]


def _queue(team):
    """Three pending suggestions: a sure pattern hit, an uncertain model one, a fairly sure one."""
    billing = CodeFactory.create(
        project=team.project,
        name="Billing <b>",
        color="#aa3377",
        patterns=[{"type": "phrase", "text": "charged twice"}],
    )
    delivery = CodeFactory.create(project=team.project, name="Delivery", color="#228833")
    document = make_document(team.project, SENTENCES, title="Call with P07")
    made = {}
    for key, sentence, code, method, score in (
        ("sure", SENTENCES[1], billing, "pattern", 0.97),
        ("unsure", SENTENCES[2], delivery, "model", 0.52),
        ("fair", SENTENCES[3], delivery, "model", 0.81),
    ):
        start, end = span_of(document, sentence)
        made[key] = Suggestion.objects.create(
            project=team.project,
            document=document,
            code=code,
            start=start,
            end=end,
            text=sentence,
            score=score,
            method=method,
            pattern=0 if method == "pattern" else None,
            model_version=None if method == "pattern" else 1,
        )
    return made


def _open_queue(page: Page, live_server, team) -> None:
    page.goto(live_server.url + reverse("frontend:suggestions", args=[team.project.slug]))
    page.wait_for_function("() => window.suggestionsReady === true")


def test_coder_accepts_and_rejects_with_keys_uncertain_first(team, live_server, page: Page, login):
    made = _queue(team)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "coder1")
    page.goto(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))
    page.get_by_role("link", name="Suggestions").click()
    page.wait_for_function("() => window.suggestionsReady === true")

    card = page.locator("#sg-card")
    # The least certain first: the model's 52% guess.
    expect(card.locator("#sg-card-code")).to_have_text("Delivery")
    expect(card).to_contain_text("52%")
    expect(card).to_contain_text("Model version 1")
    expect(card.locator("#sg-card-text")).to_have_text(SENTENCES[2])
    expect(card.locator("#sg-card-before")).to_contain_text("nobody at the bank")
    expect(card).to_contain_text("Suggestion 1 of 3 pending")
    expect(page.get_by_role("button", name="Accept a")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "suggestions-queue.png"), full_page=True)

    page.keyboard.press("a")
    expect(page.locator("#sg-count-accepted")).to_have_text("1")
    expect(page.locator("#sg-count-pending")).to_have_text("2")
    excerpt = Excerpt.objects.get(suggestion=made["unsure"])
    assert (excerpt.code_id, excerpt.coder.username) == (made["unsure"].code_id, "coder1")
    assert excerpt.text == SENTENCES[2]

    # Next: the 81% one, then the pattern hit; its code name stays text.
    expect(card).to_contain_text("81%")
    expect(card).to_contain_text("Suggestion 1 of 2 pending")
    page.keyboard.press("k")  # back to the decided one: it says so, and cannot be decided again
    expect(card.locator("#sg-card-decision")).to_have_text("✓ Accepted: excerpt created")
    expect(card).to_contain_text("Decided · 2 still pending")
    expect(page.get_by_role("button", name="Accept a")).to_be_disabled()
    expect(card.get_by_role("link", name="Call with P07")).to_have_attribute(
        "href", re.compile(rf"/code/\?excerpt={excerpt.pk}$")
    )
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(card).to_contain_text("Suggestion 2 of 2 pending")
    expect(card.locator("#sg-card-code")).to_have_text("Billing <b>")
    expect(card).to_contain_text("Pattern rule “charged twice”")
    page.keyboard.press("k")
    expect(card).to_contain_text("81%")
    page.keyboard.press("r")
    expect(page.locator("#sg-count-rejected")).to_have_text("1")
    made["fair"].refresh_from_db()
    assert made["fair"].status == "rejected"
    assert made["fair"].excerpt_id is None

    # The mouse works too; then nothing is left.
    expect(card.locator("#sg-card-code")).to_have_text("Billing <b>")
    page.get_by_role("button", name="Reject r").click()
    expect(page.locator("#sg-empty")).to_be_visible()
    expect(page.locator("#sg-empty-title")).to_have_text("Nothing pending")
    expect(page.locator("#sg-count-pending")).to_have_text("0")
    # After a reload, the figures say how often coders accepted each source.
    page.reload()
    page.wait_for_function("() => window.suggestionsReady === true")
    quality = page.locator(".sg-quality")
    expect(quality).to_contain_text("coders accepted 1 of 2 (50%)")
    expect(quality).to_contain_text("coders accepted 0 of 1 (0%)")
    expect(quality.locator("code")).to_have_text("charged twice")
    page.screenshot(path=str(ARTIFACTS / "suggestions-empty.png"), full_page=True)


def test_filters_narrow_the_queue_and_readers_cannot_decide(team, live_server, page: Page, login):
    _queue(team)
    login(page, "manager1")
    _open_queue(page, live_server, team)
    expect(page.get_by_role("button", name="Accept a")).to_have_count(0)
    expect(page.get_by_role("button", name="Train the assistant t")).to_have_count(0)
    page.keyboard.press("a")  # nothing happens for a reader
    page.get_by_label("Made by").select_option("pattern")
    expect(page.locator("#sg-card")).to_contain_text("Suggestion 1 of 1 pending")
    expect(page.locator("#sg-card-code")).to_have_text("Billing <b>")
    assert Suggestion.objects.filter(status="pending").count() == 3


def test_picker_is_ordered_by_the_model_and_find_similar_lists_passages(
    team, live_server, page: Page, login
):
    study = make_study(team.project, team.researcher)
    suggester = services.suggester_train(project=team.project)
    assert suggester.status == "ready"
    services.predict(team.project, ["warm the model cache"])  # the live server shares it

    login(page, "coder1")
    open_workspace(page, live_server, study.uncoded)
    select_words(page, "The parcel never arrived at my door.")
    page.keyboard.press("c")
    picker = page.locator("#ws-picker")
    expect(picker).to_have_attribute("data-ordered", "model")
    first = picker.locator(".ws-opt").first
    expect(first).to_contain_text("Delivery")
    expect(first.locator(".ws-opt__score")).to_have_text(re.compile(r"^\d{1,3}%$"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workspace-picker-model.png"))
    page.keyboard.press("Escape")

    # A billing passage puts Billing first.
    select_words(page, "They charged my card twice this month.")
    page.keyboard.press("c")
    expect(picker).to_have_attribute("data-ordered", "model")
    expect(picker.locator(".ws-opt").first).to_contain_text("Billing")
    page.keyboard.press("Escape")

    # Find similar from an excerpt of a coded document.
    open_workspace(page, live_server, study.coded[0])
    page.locator("mark.ws-hl", has_text="charged twice").first.click()
    panel = page.locator("#ws-panel")
    panel.get_by_role("button", name="Find similar passages").first.click()
    items = panel.locator(".ws-similar__item")
    expect(items.first).to_be_visible()
    link = items.first.get_by_role("link").first
    expect(link).to_have_attribute("href", re.compile(r"/documents/\d+/\?at=\d+&len=\d+#hit$"))
    expect(items.first.locator(".ws-similar__score")).to_have_text(re.compile(r"^\d{1,3}%$"))
    page.screenshot(path=str(ARTIFACTS / "workspace-find-similar.png"), full_page=False)
    link.click()
    expect(page.locator("mark#hit")).to_be_visible()


def test_find_similar_suggests_the_listed_passages_for_review_once(
    team, live_server, page: Page, login
):
    from tests.coding.suggest_data import DELIVERY, UNCODED, code_sentence

    study = make_study(team.project, team.researcher)
    code_sentence(study.coded[0], DELIVERY[0], study.praise, team.researcher)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "coder1")
    open_workspace(page, live_server, study.coded[0])
    page.locator("mark.ws-hl", has_text="charged twice").first.click()
    panel = page.locator("#ws-panel")
    panel.get_by_role("button", name="Find similar passages").first.click()
    items = panel.locator(".ws-similar__item")
    expect(items.first).to_contain_text(UNCODED[0])  # the one billing sentence nobody coded
    # Coded with Billing already: not listed. Coded otherwise: listed with its codes.
    expect(panel.locator(".ws-similar__list")).not_to_contain_text("I was charged twice")
    expect(panel.locator(".ws-similar__has").first).to_contain_text("Already coded:")
    suggest = panel.get_by_role("button", name="Suggest these for review")
    suggest.click()
    status = panel.locator(".ws-similar__suggest .ws-similar__status")
    expect(status).to_contain_text("suggestions of Billing added to the review queue")
    listed = items.count()
    made = Suggestion.objects.filter(method="similar", code=study.billing, status="pending")
    assert made.count() == listed
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workspace-similar-suggest.png"), full_page=False)

    # Asking again (after a fresh search) adds nothing.
    panel.get_by_role("button", name="Find similar passages").first.click()
    expect(items.first).to_be_visible()
    panel.get_by_role("button", name="Suggest these for review").click()
    expect(status).to_contain_text("in the review queue already")
    assert made.count() == listed

    status.get_by_role("link", name="Review them").click()
    page.wait_for_function("() => window.suggestionsReady === true")
    expect(page.locator("#sg-filter-method")).to_have_value("similar")
    expect(page.locator("#sg-card-method")).to_have_text("Similar to a coded passage")
    expect(page.locator("#sg-card-code")).to_contain_text("Billing")
    page.screenshot(path=str(ARTIFACTS / "suggestions-similar.png"), full_page=False)


def test_picker_keeps_its_order_without_a_model(team, live_server, page: Page, login):
    study = make_study(team.project, team.researcher)
    login(page, "coder1")
    open_workspace(page, live_server, study.uncoded)
    with page.expect_response(re.compile(r"/suggesters/latest/predict/$")) as answer:
        select_words(page, "The parcel never arrived at my door.")
        page.keyboard.press("c")
    assert answer.value.status == 404
    picker = page.locator("#ws-picker")
    expect(picker.locator(".ws-opt").first).to_contain_text("Billing")
    expect(picker.locator(".ws-opt__score")).to_have_count(0)
    assert picker.get_attribute("data-ordered") is None


def test_coder_trains_the_assistant_from_the_empty_queue(
    team, live_server, page: Page, login, settings
):
    # The tiny study's model would not reach the precision floor; this test is about the flow.
    settings.VERBATIM_SUGGEST_MIN_PRECISION = 0.0
    make_study(team.project, team.researcher)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "coder1")
    _open_queue(page, live_server, team)
    expect(page.locator("#sg-empty-title")).to_have_text("No suggestions yet")
    expect(page.locator("#sg-model-line")).to_contain_text("No model trained yet")
    page.keyboard.press("t")
    expect(page.locator("#sg-job-text")).to_contain_text(
        re.compile(r"Trained model version 1 on \d+ passages"), timeout=60_000
    )
    expect(page.locator("#sg-model-line")).to_contain_text("Model version 1 is ready")
    # The new model's suggestions are in the queue, and the counts say so.
    expect(page.locator("#sg-card")).to_be_visible()
    expect(page.locator("#sg-card-method")).to_have_text("Model version 1")
    pending = Suggestion.objects.filter(project=team.project, status="pending").count()
    assert pending > 0
    expect(page.locator("#sg-count-pending")).to_have_text(str(pending))
    page.reload()
    page.wait_for_function("() => window.suggestionsReady === true")
    figures = page.locator(".sg-quality table").last
    expect(figures).to_contain_text("Billing")
    page.screenshot(path=str(ARTIFACTS / "suggestions-trained.png"), full_page=True)


def test_training_progress_is_polled_from_the_jobs_url(team, live_server, page: Page, login):
    """A real broker answers 202 with a queued job: the page polls its (absolute) url."""
    job = Job.objects.create(
        project=team.project,
        kind="suggester_train",
        status="running",
        progress=0.4,
        message="Cross-validating",
    )
    url = live_server.url + reverse("api:job-detail", args=[job.pk])
    login(page, "coder1")
    page.route(
        re.compile(r"/suggesters/$"),
        lambda route: route.fulfill(
            status=202,
            content_type="application/json",
            body=json.dumps(
                {"job": {"id": str(job.pk), "status": "queued", "progress": 0, "url": url}}
            ),
        ),
    )
    _open_queue(page, live_server, team)
    page.get_by_role("button", name="Train the assistant t").click()
    expect(page.locator("#sg-job-text")).to_have_text(
        "Training the assistant: Cross-validating (40%)"
    )
    Job.objects.filter(pk=job.pk).update(
        status="succeeded", progress=1.0, result={"version": 2, "trained_on": {"passages": 50}}
    )
    expect(page.locator("#sg-job-text")).to_contain_text("Trained model version 2 on 50 passages")


def test_queue_loads_the_next_page_when_the_coder_reaches_the_end(
    team, live_server, page: Page, login
):
    code = CodeFactory.create(project=team.project, name="Delivery")
    document = make_document(team.project, [f"Sentence number {i}." for i in range(30)])
    for i in range(27):
        start, end = span_of(document, f"Sentence number {i}.")
        Suggestion.objects.create(
            project=team.project,
            document=document,
            code=code,
            start=start,
            end=end,
            text=document.text[start:end],
            score=0.5 + i / 100,
            method="model",
            model_version=1,
        )
    login(page, "coder1")
    _open_queue(page, live_server, team)
    card = page.locator("#sg-card")
    for i in range(1, 28):
        expect(card).to_contain_text(f"Suggestion {i} of 27 pending")
        expect(card.locator("#sg-card-text")).to_have_text(f"Sentence number {i - 1}.")
        if i < 27:
            page.keyboard.press("j")
    expect(page.get_by_role("button", name="Next j")).to_be_disabled()
