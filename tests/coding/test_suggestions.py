"""Assisted coding (issue 6), core: training data, training, decisions, retraining, generation.

Training runs the real learner on ~30 passages (a few seconds); tests that only need *a* model
share one trained per test through `trained`.
"""

import pytest
from django.db import connection
from django.urls import reverse

from coding.models import Excerpt, Suggester, Suggestion
from coding.services import code_update
from coding.suggest import services
from coding.suggest.generate import generate
from coding.suggest.learner import Learner
from coding.suggest.training import build_training, covers
from research.models import Job
from tests.coding.suggest_data import (
    BILLING,
    SMALL_TALK,
    UNCODED,
    code_sentence,
    make_document,
    make_study,
    span_of,
)
from tests.conftest import client_for


@pytest.fixture(autouse=True)
def _fresh_caches():
    from coding.suggest.patterns import cache_clear
    from coding.suggest.selectors import similar_cache_clear

    services.learner_cache_clear()
    similar_cache_clear()
    cache_clear()
    yield
    services.learner_cache_clear()


@pytest.fixture
def study(team):
    return make_study(team.project, team.coder)


@pytest.fixture
def trained(team, study):
    return services.suggester_train(project=team.project)


def _suggest(document, sentence, code, **fields):
    start, end = span_of(document, sentence)
    defaults = {"method": "model", "score": 0.6, "model_version": 1}
    return Suggestion.objects.create(
        project=document.project,
        document=document,
        code=code,
        start=start,
        end=end,
        text=document.text[start:end],
        **(defaults | fields),
    )


def _labels(training):
    return dict(zip(training.data.texts, training.data.labels, strict=True))


# --- training data ---------------------------------------------------------------------------


def test_covers_counts_half_the_passage_or_a_span_inside_it():
    assert covers(0, 10, 0, 5)  # half
    assert not covers(0, 10, 6, 20)  # four of ten
    assert covers(0, 10, 3, 6)  # inside
    assert not covers(0, 10, 10, 20)  # touching only


def test_training_labels_coded_passages_and_uses_small_talk_of_coded_documents_as_negatives(
    team, study
):
    training = build_training(team.project)
    labels = _labels(training)
    assert labels[BILLING[0]] == {study.billing.pk}
    assert labels[SMALL_TALK[0]] == frozenset()  # read and left uncoded: a negative
    # The document nobody coded is unknown, not negative.
    assert not set(UNCODED) & set(labels)
    assert sorted(training.codes) == sorted([study.billing.pk, study.delivery.pk, study.praise.pk])
    assert training.positives[study.billing.pk] == 6


def test_training_counts_a_short_excerpt_inside_a_sentence_as_a_positive(team, study):
    document = study.coded[0]
    start, _ = span_of(document, SMALL_TALK[1])
    Excerpt.objects.create(
        project=team.project,
        document=document,
        code=study.praise,
        start=start,
        end=start + 7,  # "Can you"
        text=document.text[start : start + 7],
        coder=team.coder,
    )
    assert _labels(build_training(team.project))[SMALL_TALK[1]] == {study.praise.pk}


def test_training_leaves_out_codes_with_fewer_than_three_positives(team, study):
    from tests.factories import CodeFactory

    rare = CodeFactory.create(project=team.project, name="Rare")
    code_sentence(study.coded[0], SMALL_TALK[0], rare, team.coder)
    code_sentence(study.coded[0], SMALL_TALK[1], rare, team.coder)
    training = build_training(team.project)
    assert rare.pk not in training.codes
    assert training.skipped == {rare.pk: 2}
    assert all(rare.pk not in label for label in training.data.labels)


def test_rejected_suggestion_becomes_a_negative_in_the_next_training_set(team, study):
    passage = UNCODED[0]  # in the document nobody coded: unknown until rejected
    assert passage not in _labels(build_training(team.project))
    suggestion = _suggest(study.uncoded, passage, study.billing)
    services.suggestion_decide(suggestion=suggestion, user=team.coder, status="rejected")
    training = build_training(team.project)
    assert _labels(training)[passage] == frozenset()
    assert training.negatives_from_rejections == 1


def test_a_rejection_does_not_outweigh_an_excerpt_of_the_same_code(team, study):
    suggestion = _suggest(study.coded[0], BILLING[0], study.billing)
    services.suggestion_decide(suggestion=suggestion, user=team.researcher, status="rejected")
    assert _labels(build_training(team.project))[BILLING[0]] == {study.billing.pk}


# --- training --------------------------------------------------------------------------------


def test_training_stores_a_ready_version_with_metrics_and_an_artefact_that_round_trips(
    team, study, trained
):
    assert trained.status == Suggester.Status.READY
    assert trained.version == 1
    assert trained.trained_on["passages"] == 22
    for code in (study.billing, study.delivery, study.praise):
        assert set(trained.metrics[str(code.pk)]) >= {"precision", "recall", "f1", "support"}
        assert trained.metrics[str(code.pk)]["support"] == 6
    assert trained.metrics["overall"]["codes"] == 3
    # Loaded from the database in a fresh process cache, the model predicts the same.
    stored = bytes(Suggester.objects.values_list("artefact", flat=True).get(pk=trained.pk))
    original = Learner.from_bytes(stored).predict([UNCODED[0]])
    services.learner_cache_clear()
    loaded = services.load_learner(Suggester.objects.get(pk=trained.pk))
    assert loaded.predict([UNCODED[0]]) == original
    assert loaded.predict([UNCODED[0]])[0][0][0] == study.billing.pk
    assert services.load_learner(trained) is loaded  # cached per process


def test_training_without_enough_coding_fails_with_a_clear_message_and_a_failed_version(team):
    from django.core.exceptions import ValidationError

    make_document(team.project, SMALL_TALK)
    with pytest.raises(ValidationError, match="coded passages"):
        services.suggester_train(project=team.project)
    failed = Suggester.objects.get(project=team.project)
    assert failed.status == Suggester.Status.FAILED
    assert "coded passages" in failed.error


def test_training_job_through_the_api_reports_the_version(
    team, study, django_capture_on_commit_callbacks
):
    url = reverse("api:suggester-list", kwargs={"slug": team.project.slug})
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team.coder).post(url, {}, format="json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result is not None
    assert job.result["version"] == 1
    listing = client_for(team.manager).get(url).json()
    assert [row["version"] for row in listing["results"]] == [1]
    row = listing["results"][0]
    assert row["code_metrics"][0]["code_name"] in ("Billing", "Delivery", "Praise")
    assert "artefact" not in row
    latest = client_for(team.manager).get(
        reverse("api:suggester-detail", kwargs={"slug": team.project.slug, "pk": "latest"})
    )
    assert latest.json()["version"] == 1


# --- decisions -------------------------------------------------------------------------------


def _decide(team, user, suggestion, status):
    url = reverse("api:suggestion-detail", kwargs={"slug": team.project.slug, "pk": suggestion.pk})
    return client_for(user).patch(url, {"status": status}, format="json")


def test_accepting_creates_an_excerpt_recording_the_suggestion_and_is_idempotent(team, study):
    suggestion = _suggest(study.uncoded, UNCODED[0], study.billing)
    response = _decide(team, team.coder, suggestion, "accepted")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted"
    assert body["decided_by"] == "coder1"
    excerpt = Excerpt.objects.get(pk=body["excerpt"])
    assert excerpt.suggestion_id == suggestion.pk
    assert excerpt.coder == team.coder
    assert (excerpt.code, excerpt.start, excerpt.end) == (
        study.billing,
        suggestion.start,
        suggestion.end,
    )
    again = _decide(team, team.researcher, suggestion, "accepted")
    assert again.status_code == 200
    assert again.json()["excerpt"] == excerpt.pk
    assert again.json()["decided_by"] == "coder1"
    assert Excerpt.objects.filter(suggestion=suggestion).count() == 1


def test_an_accepted_suggestion_cannot_be_rejected_but_a_rejected_one_can_be_accepted(team, study):
    first = _suggest(study.uncoded, UNCODED[0], study.billing)
    assert _decide(team, team.coder, first, "accepted").status_code == 200
    refused = _decide(team, team.coder, first, "rejected")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "status"
    second = _suggest(study.uncoded, UNCODED[1], study.delivery)
    assert _decide(team, team.coder, second, "rejected").json()["excerpt"] is None
    assert _decide(team, team.coder, second, "accepted").json()["excerpt"] is not None


def test_deciding_needs_the_code_capability_and_a_valid_status(team, study):
    suggestion = _suggest(study.uncoded, UNCODED[0], study.billing)
    assert _decide(team, team.manager, suggestion, "accepted").status_code == 403
    bad = _decide(team, team.coder, suggestion, "maybe")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "status"
    assert Suggestion.objects.get(pk=suggestion.pk).status == "pending"


def test_accepting_a_suggestion_whose_text_changed_is_refused(team, study):
    suggestion = _suggest(study.uncoded, UNCODED[0], study.billing)
    Suggestion.objects.filter(pk=suggestion.pk).update(text="something else")
    assert _decide(team, team.coder, suggestion, "accepted").status_code == 400
    assert not Excerpt.objects.filter(suggestion=suggestion).exists()


def test_another_projects_suggestion_is_404(team, study):
    other = make_document(team.other_project, UNCODED)
    from tests.factories import CodeFactory

    foreign = _suggest(other, UNCODED[0], CodeFactory.create(project=team.other_project))
    url = reverse("api:suggestion-detail", kwargs={"slug": team.project.slug, "pk": foreign.pk})
    client = client_for(team.owner)
    assert client.get(url).status_code == 404
    assert client.patch(url, {"status": "accepted"}, format="json").status_code == 404
    assert Suggestion.objects.get(pk=foreign.pk).status == "pending"


# --- retraining ------------------------------------------------------------------------------


def test_retraining_is_queued_once_after_the_configured_number_of_decisions(team, study, settings):
    settings.VERBATIM_RETRAIN_AFTER_DECISIONS = 3
    sentences = [*UNCODED, *SMALL_TALK[:2]]
    suggestions = [
        _suggest(
            study.uncoded if s in UNCODED else study.coded[0], s, study.billing, model_version=None
        )
        for s in sentences
    ]
    training_jobs = Job.objects.filter(project=team.project, kind=services.TRAIN_JOB)
    for suggestion in suggestions[:2]:
        services.suggestion_decide(suggestion=suggestion, user=team.coder, status="rejected")
    assert not training_jobs.exists()
    services.suggestion_decide(suggestion=suggestions[2], user=team.coder, status="rejected")
    assert training_jobs.count() == 1  # queued (it runs at commit)
    for suggestion in suggestions[3:]:
        services.suggestion_decide(suggestion=suggestion, user=team.coder, status="rejected")
    assert training_jobs.count() == 1  # not again while one is queued


def test_a_new_version_restarts_the_decision_count(team, study, settings):
    settings.VERBATIM_RETRAIN_AFTER_DECISIONS = 2
    first = _suggest(study.uncoded, UNCODED[0], study.billing)
    services.suggestion_decide(suggestion=first, user=team.coder, status="rejected")
    assert services.decisions_since_latest(team.project) == 1
    Suggester.objects.create(project=team.project, version=1, status="failed")
    assert services.decisions_since_latest(team.project) == 0


# --- generation ------------------------------------------------------------------------------


def test_model_generation_suggests_uncoded_passages_and_is_idempotent(
    team, study, trained, settings
):
    settings.VERBATIM_SUGGEST_MIN_PRECISION = 0.0  # the tiny study's model is not trusted
    first = generate(project=team.project)
    assert first.created > 0
    made = Suggestion.objects.filter(project=team.project, method="model")
    billing = made.get(document=study.uncoded, code=study.billing, text=UNCODED[0])
    assert billing.model_version == trained.version
    assert 0.5 <= billing.score <= 1.0
    # Passages already coded with the code are never suggested for it.
    assert not made.filter(document__in=study.coded, code=study.billing, text__in=BILLING).exists()
    count = made.count()
    assert generate(project=team.project).created == 0
    assert made.count() == count


def test_refresh_replaces_pending_model_suggestions_but_keeps_decided_ones(
    team, study, trained, settings
):
    settings.VERBATIM_SUGGEST_MIN_PRECISION = 0.0  # the tiny study's model is not trusted
    generate(project=team.project)
    decided = Suggestion.objects.filter(method="model", document=study.uncoded).first()
    assert decided is not None
    services.suggestion_decide(suggestion=decided, user=team.coder, status="rejected")
    Suggestion.objects.filter(method="model", status="pending").update(score=0.99)
    outcome = generate(project=team.project, refresh_model=True)
    assert outcome.replaced > 0
    assert not Suggestion.objects.filter(status="pending", score=0.99).exists()
    assert Suggestion.objects.get(pk=decided.pk).status == "rejected"


def test_generation_removes_pending_suggestions_whose_text_changed(team, study):
    stale = _suggest(study.uncoded, UNCODED[0], study.billing)
    Suggestion.objects.filter(pk=stale.pk).update(text="not what the document says")
    assert generate(project=team.project).removed_stale == 1
    assert not Suggestion.objects.filter(pk=stale.pk).exists()


def test_pattern_rules_suggest_and_follow_codebook_edits(team, study):
    """Matcher invalidation end to end: a rule edited away stops matching, the new one does."""
    code_update(
        code=study.billing, user=team.researcher, patterns=[{"type": "keyword", "text": "charge"}]
    )
    generate(project=team.project, methods=("pattern",))
    hits = Suggestion.objects.filter(method="pattern", code=study.billing)
    assert list(hits.values_list("text", flat=True)) == [UNCODED[0]]  # "charged" by its lemma
    hit = hits.get()
    assert hit.pattern == 0
    assert hit.score == 0.5  # a new rule: no track record yet

    code_update(
        code=study.billing,
        user=team.researcher,
        patterns=[{"type": "phrase", "text": "the parcel"}],
    )
    later = make_document(team.project, ["They charged me again.", "The parcel was torn."])
    generate(project=team.project, documents=[later.pk], methods=("pattern",))
    new = Suggestion.objects.filter(method="pattern", code=study.billing, document=later)
    assert list(new.values_list("text", flat=True)) == ["The parcel was torn."]


def test_pattern_span_setting_suggests_only_the_match(team, study, settings):
    settings.VERBATIM_SUGGEST_SPAN = "match"
    code_update(
        code=study.billing, user=team.researcher, patterns=[{"type": "keyword", "text": "card"}]
    )
    generate(project=team.project, methods=("pattern",))
    assert list(Suggestion.objects.values_list("text", flat=True)) == ["card"]


def test_processing_a_document_queues_suggestions_when_rules_exist(
    team, study, django_capture_on_commit_callbacks
):
    from observations.services.documents import document_create

    code_update(
        code=study.delivery, user=team.researcher, patterns=[{"type": "keyword", "text": "courier"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        document, _ = document_create(
            project=team.project,
            creator=team.researcher,
            title="New call",
            text="Hello there. The courier threw my parcel over the fence.",
        )
    suggestion = Suggestion.objects.get(document=document)
    assert suggestion.code == study.delivery
    assert suggestion.text == "The courier threw my parcel over the fence."
    job = Job.objects.get(kind=services.GENERATE_JOB)
    assert job.status == Job.Status.SUCCEEDED
    assert job.result is not None
    assert job.result["created"] == 1


def test_processing_queues_nothing_when_nothing_could_be_suggested(
    team, django_capture_on_commit_callbacks
):
    from observations.services.documents import document_create

    with django_capture_on_commit_callbacks(execute=True):
        document_create(project=team.project, creator=team.owner, title="T", text="Hi. Bye.")
    assert not Job.objects.filter(kind=services.GENERATE_JOB).exists()


# --- reading ---------------------------------------------------------------------------------


def test_list_is_uncertain_first_with_context_and_filters(
    team, study, django_assert_max_num_queries
):
    decided = _suggest(study.uncoded, UNCODED[0], study.billing, score=0.5)
    services.suggestion_decide(suggestion=decided, user=team.coder, status="rejected")
    sure = _suggest(study.uncoded, UNCODED[1], study.delivery, score=0.95)
    unsure = _suggest(study.uncoded, UNCODED[2], study.praise, score=0.55)
    low = _suggest(study.coded[0], SMALL_TALK[0], study.praise, score=0.3)
    url = reverse("api:suggestion-list", kwargs={"slug": team.project.slug})
    client = client_for(team.manager)
    client.get(url)
    with django_assert_max_num_queries(5):
        body = client.get(url).json()
    assert [row["id"] for row in body["results"]] == [unsure.pk, low.pk, sure.pk, decided.pk]
    row = body["results"][0]
    assert row["document_title"] == "Not coded yet"
    assert row["code_name"] == "Praise"
    assert row["context_before"].endswith("arrived at my door. ")
    assert row["context_after"] == " " + UNCODED[3]
    assert set(row) >= {"model_version", "pattern", "method", "excerpt", "score", "status"}
    filtered = client.get(url, {"status": "pending", "code": study.delivery.pk}).json()
    assert [row["id"] for row in filtered["results"]] == [sure.pk]
    assert client.get(url, {"method": "robot"}).status_code == 400


def test_stats_give_acceptance_per_code_method_and_pattern(team, study):
    code_update(
        code=study.billing, user=team.researcher, patterns=[{"type": "keyword", "text": "charge"}]
    )
    accepted = _suggest(study.uncoded, UNCODED[0], study.billing, method="pattern", pattern=0)
    rejected = _suggest(study.coded[0], SMALL_TALK[0], study.billing, method="pattern", pattern=0)
    _suggest(study.coded[0], SMALL_TALK[1], study.billing)  # model, pending
    services.suggestion_decide(suggestion=accepted, user=team.coder, status="accepted")
    services.suggestion_decide(suggestion=rejected, user=team.coder, status="rejected")
    url = reverse("api:suggestion-stats", kwargs={"slug": team.project.slug})
    body = client_for(team.manager).get(url).json()
    by_method = {row["method"]: row for row in body["codes"]}
    pattern_row = by_method["pattern"]
    assert (pattern_row["code"], pattern_row["code_name"], pattern_row["pattern"]) == (
        study.billing.pk,
        "Billing",
        None,
    )
    assert (pattern_row["decided"], pattern_row["accepted"], pattern_row["rejected"]) == (2, 1, 1)
    assert by_method["pattern"]["acceptance"] == 0.5
    assert by_method["model"]["decided"] == 0
    assert by_method["model"]["acceptance"] is None
    [rule] = body["patterns"]
    assert (rule["pattern"], rule["pattern_text"], rule["accepted"]) == (0, "charge", 1)
    assert {row["method"] for row in body["overall"]} == {"model", "pattern"}


def test_predict_ranks_every_code_and_is_404_before_any_training(team, study):
    url = reverse("api:suggester-predict", kwargs={"slug": team.project.slug})
    client = client_for(team.coder)
    missing = client.post(url, {"texts": ["I was charged twice"]}, format="json")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No suggester has been trained for this project yet."
    services.suggester_train(project=team.project)
    body = client.post(url, {"texts": ["I was charged twice", "late parcel"]}, format="json")
    assert body.status_code == 200
    results = body.json()["results"]
    assert len(results) == 2
    assert {entry["code"] for entry in results[0]} == {
        study.billing.pk,
        study.delivery.pk,
        study.praise.pk,
    }
    scores = [entry["score"] for entry in results[0]]
    assert scores == sorted(scores, reverse=True)
    assert results[0][0]["code"] == study.billing.pk
    bad = client.post(url, {"texts": "not a list"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "texts"


def test_similar_lists_resembling_passages_elsewhere(team, study):
    excerpt = Excerpt.objects.get(document=study.coded[0], text=BILLING[0])
    url = reverse("api:excerpt-similar", kwargs={"slug": team.project.slug, "pk": excerpt.pk})
    client = client_for(team.manager)
    body = client.get(url, {"k": 3}).json()
    results = body["results"]
    assert len(results) == 3
    assert results[0]["text"] == UNCODED[0]  # "charged my card twice"
    assert results[0]["document_title"] == "Not coded yet"
    assert results[0]["codes"] == []  # nothing coded in that document
    assert all(row["text"] != BILLING[0] for row in results)  # not itself
    assert client.get(url, {"k": 51}).status_code == 400
    assert client.get(url, {"k": "x"}).json()["errors"][0]["field"] == "k"


def test_context_is_cut_to_whole_words_only_inside_the_text():
    from coding.suggest.selectors import CONTEXT_CHARS, trim_context

    long_before = "x" * (CONTEXT_CHARS - 6) + "ab cd "
    assert trim_context(long_before, "") == ("cd ", "")
    long_after = " ab cd" + "y" * (CONTEXT_CHARS - 6)
    assert trim_context("", long_after) == ("", " ab")
    assert trim_context("short start", "short end") == ("short start", "short end")


def test_turn_unit_uses_speaker_turns_as_passages(team, study, settings):
    from observations.models import SpeakerTurn

    settings.VERBATIM_SUGGEST_UNIT = "turn"
    document = study.coded[0]
    # One turn holding two billing sentences: a positive for billing once, not twice.
    start, _ = span_of(document, BILLING[0])
    _, end = span_of(document, BILLING[1])
    SpeakerTurn.objects.create(document=document, index=0, start=start, end=end)
    training = build_training(team.project)
    turn_text = document.text[start:end]
    assert _labels(training)[turn_text] == {study.billing.pk}
    assert BILLING[0] not in _labels(training)  # that document's passages are its turns
    assert BILLING[3] in _labels(training)  # a document without turns keeps its sentences


def test_generate_api_queues_a_job_for_one_document(
    team, study, django_capture_on_commit_callbacks
):
    code_update(
        code=study.praise, user=team.researcher, patterns=[{"type": "keyword", "text": "friendly"}]
    )
    url = reverse("api:suggestion-generate", kwargs={"slug": team.project.slug})
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team.coder).post(url, {"document": study.uncoded.pk}, format="json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert list(Suggestion.objects.filter(method="pattern").values_list("document", "text")) == [
        (study.uncoded.pk, UNCODED[2])
    ]
    # Similar suggestions come along (the coded documents resemble it), for that document only.
    assert set(Suggestion.objects.values_list("method", flat=True)) == {"pattern", "similar"}
    assert set(Suggestion.objects.values_list("document", flat=True)) == {study.uncoded.pk}
    foreign = make_document(team.other_project, UNCODED)
    refused = client_for(team.coder).post(url, {"document": foreign.pk}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "document"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers: no race to lose"
)
def test_two_coders_accepting_at_once_make_one_excerpt(team, study):
    import threading

    suggestion = _suggest(study.uncoded, UNCODED[0], study.billing)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def accept(user):
        try:
            barrier.wait()
            decided = services.suggestion_decide(
                suggestion=suggestion, user=user, status="accepted"
            )
            outcomes.append(decided.excerpt_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(u,)) for u in (team.coder, team.researcher)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2
    assert len(set(outcomes)) == 1
    assert Excerpt.objects.filter(suggestion=suggestion).count() == 1
