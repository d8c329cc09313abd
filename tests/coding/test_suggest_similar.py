"""Similar passages (issue 6): "Find similar" without what is coded already, similar
suggestions in generation (the cold start), and "Suggest these for review"."""

import pytest
from django.urls import reverse

from coding.models import Excerpt, Suggestion
from coding.suggest.generate import generate
from coding.suggest.selectors import similar_cache_clear, similar_passages
from coding.suggest.similar_suggest import similar_spans
from tests.coding.suggest_data import (
    BILLING,
    DELIVERY,
    PRAISE,
    UNCODED,
    code_sentence,
    make_document,
    make_study,
    span_of,
)
from tests.conftest import client_for
from tests.factories import CodeFactory


@pytest.fixture(autouse=True)
def _fresh_index():
    similar_cache_clear()
    yield
    similar_cache_clear()


@pytest.fixture
def study(team):
    return make_study(team.project, team.coder)


def _billing_excerpt(study) -> Excerpt:
    return Excerpt.objects.get(document=study.coded[0], text=BILLING[0])


def _suggest_url(team, excerpt) -> str:
    return reverse(
        "api:excerpt-similar-suggest", kwargs={"slug": team.project.slug, "pk": excerpt.pk}
    )


# --- find similar ------------------------------------------------------------------------------


def test_find_similar_leaves_out_passages_coded_with_the_code_when_listing(team, study):
    excerpt = _billing_excerpt(study)
    results = similar_passages(excerpt=excerpt, k=50)
    texts = [row["text"] for row in results]
    assert texts[0] == UNCODED[0]  # "charged my card twice", not coded yet
    assert not set(BILLING) & set(texts)  # every billing sentence is coded with Billing
    assert DELIVERY[0] in texts  # coded, but with another code: still listed


def test_find_similar_leaves_out_a_passage_a_short_excerpt_of_the_code_overlaps(team, study):
    excerpt = _billing_excerpt(study)
    document = study.uncoded
    start, _ = span_of(document, UNCODED[0])
    Excerpt.objects.create(
        project=team.project,
        document=document,
        code=study.billing,
        start=start,
        end=start + 4,  # "They": overlaps the sentence without covering it
        text=document.text[start : start + 4],
        coder=team.coder,
    )
    texts = [row["text"] for row in similar_passages(excerpt=excerpt, k=50)]
    assert UNCODED[0] not in texts


def test_find_similar_lists_the_codes_a_passage_has_when_it_is_coded_otherwise(team, study):
    excerpt = _billing_excerpt(study)
    code_sentence(study.coded[1], DELIVERY[3], study.praise, team.coder)
    rows = {row["text"]: row for row in similar_passages(excerpt=excerpt, k=50)}
    assert rows[DELIVERY[3]]["codes"] == [
        {"id": study.delivery.pk, "name": "Delivery"},
        {"id": study.praise.pk, "name": "Praise"},
    ]
    assert rows[UNCODED[0]]["codes"] == []
    assert "coded" not in rows[UNCODED[0]]


def test_find_similar_queries_do_not_grow_with_codes(team, study, django_assert_max_num_queries):
    excerpt = _billing_excerpt(study)
    similar_passages(excerpt=excerpt, k=50)  # build the index
    for n in range(12):
        code = CodeFactory.create(project=team.project, name=f"Extra {n}")
        code_sentence(study.coded[1], DELIVERY[3 + n % 3], code, team.coder)
    with django_assert_max_num_queries(5):
        rows = similar_passages(excerpt=excerpt, k=50)
    assert any(len(row["codes"]) > 1 for row in rows)


# --- generation ----------------------------------------------------------------------------------


def test_generate_suggests_similar_passages_before_any_model_when_they_resemble_coded_ones(
    team, study, settings
):
    settings.VERBATIM_SIMILAR_THRESHOLD = 0.2
    outcome = generate(project=team.project, methods=("similar",))
    rows = {
        (s.text, s.code_id): s
        for s in Suggestion.objects.filter(project=team.project, method="similar")
    }
    assert outcome.created == len(rows) > 0
    card = rows[(UNCODED[0], study.billing.pk)]
    assert 0.2 <= card.score <= 1.0
    assert card.status == "pending"
    assert card.model_version is None
    assert card.pattern is None
    assert (UNCODED[1], study.delivery.pk) in rows  # "parcel never arrived"
    assert (UNCODED[2], study.praise.pk) in rows  # "agent was very friendly"
    # Nothing already coded with its code, nothing under the threshold.
    coded = {(e.text, e.code_id) for e in Excerpt.objects.filter(project=team.project)}
    assert not coded & set(rows)
    assert all(s.score >= 0.2 for s in rows.values())


def test_generate_keeps_the_best_codes_per_passage_when_top_is_set(team, study, settings):
    settings.VERBATIM_SIMILAR_THRESHOLD = 0.01
    settings.VERBATIM_SUGGEST_TOP = 1
    generate(project=team.project, methods=("similar",))
    per_span: dict[tuple[int, int, int], int] = {}
    for s in Suggestion.objects.filter(project=team.project):
        key = (s.document_id, s.start, s.end)
        per_span[key] = per_span.get(key, 0) + 1
    assert per_span
    assert max(per_span.values()) == 1
    best = Suggestion.objects.get(document=study.uncoded, text=UNCODED[0])
    assert best.code_id == study.billing.pk


def test_generate_leaves_a_pattern_suggestion_in_place_when_similar_finds_the_same_span(
    team, study, settings
):
    from coding.services import code_update

    settings.VERBATIM_SIMILAR_THRESHOLD = 0.3
    code_update(
        code=study.billing, user=team.researcher, patterns=[{"type": "keyword", "text": "charged"}]
    )
    generate(project=team.project)
    row = Suggestion.objects.get(document=study.uncoded, text=UNCODED[0], code=study.billing)
    assert row.method == "pattern"
    assert Suggestion.objects.filter(method="similar").exists()
    again = generate(project=team.project)
    assert again.created == 0


def test_generate_similar_is_silent_when_nothing_is_coded(team, settings):
    settings.VERBATIM_SIMILAR_THRESHOLD = 0.01
    CodeFactory.create(project=team.project, name="Billing")
    make_document(team.project, UNCODED)
    assert generate(project=team.project, methods=("similar",)).created == 0


def test_similar_spans_skip_archived_codes(team, study, settings):
    settings.VERBATIM_SIMILAR_THRESHOLD = 0.01
    active = {study.delivery.pk, study.praise.pk}
    spans = list(similar_spans(team.project, [study.uncoded.pk], active))
    assert spans
    assert {code for _, code, *_ in spans} <= active


def test_generate_similar_queries_do_not_grow_with_codes(
    team, study, settings, django_assert_max_num_queries
):
    settings.VERBATIM_SIMILAR_THRESHOLD = 0.2
    for n in range(15):
        code = CodeFactory.create(project=team.project, name=f"Extra {n}")
        code_sentence(study.coded[n % 6 // 3], PRAISE[n % 6], code, team.coder)
    with django_assert_max_num_queries(16):
        outcome = generate(project=team.project, methods=("similar",))
    assert outcome.created > 0


# --- suggest these for review ------------------------------------------------------------------


def test_suggest_k_creates_pending_similar_suggestions_once_when_asked_twice(team, study):
    excerpt = _billing_excerpt(study)
    listed = similar_passages(excerpt=excerpt, k=3)
    client = client_for(team.coder)
    first = client.post(_suggest_url(team, excerpt), {"k": 3}, format="json")
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 3, "already_suggested": 0, "already_coded": 0}
    made = Suggestion.objects.filter(project=team.project, method="similar").order_by("-score")
    assert [(s.document_id, s.start, s.end) for s in made] == [
        (row["document"], row["start"], row["end"]) for row in listed
    ]
    assert {s.code_id for s in made} == {study.billing.pk}
    assert [s.score for s in made] == [row["score"] for row in listed]
    second = client.post(_suggest_url(team, excerpt), {"k": 3}, format="json")
    assert second.json() == {"created": 0, "already_suggested": 3, "already_coded": 0}
    assert made.count() == 3


def test_suggest_listed_passages_skips_coded_ones_and_keeps_earlier_suggestions(team, study):
    excerpt = _billing_excerpt(study)
    client = client_for(team.coder)
    uncoded = study.uncoded
    start, end = span_of(uncoded, UNCODED[0])
    coded_start, coded_end = span_of(study.coded[1], BILLING[4])
    body = {
        "passages": [
            {"document": uncoded.pk, "start": start, "end": end},
            {"document": study.coded[1].pk, "start": coded_start, "end": coded_end},
        ]
    }
    response = client.post(_suggest_url(team, excerpt), body, format="json")
    assert response.json() == {"created": 1, "already_suggested": 0, "already_coded": 1}
    row = Suggestion.objects.get(project=team.project)
    assert (row.text, row.code_id, row.method) == (UNCODED[0], study.billing.pk, "similar")
    assert row.score > 0.2  # its similarity to the excerpt


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "k"),
        ({"k": 0}, "k"),
        ({"k": 51}, "k"),
        ({"k": 2, "passages": [{"document": 1, "start": 0, "end": 4}]}, "k"),
        ({"passages": [{"document": "x", "start": 0, "end": 4}]}, "passages"),
        ({"passages": "OTHER"}, "passages"),
        ({"passages": "NOT_A_PASSAGE"}, "passages"),
    ],
)
def test_suggest_gives_400_naming_the_field_and_creates_nothing_when_input_is_bad(
    team, study, body, field
):
    other = make_document(team.other_project, UNCODED)
    spans = {
        "OTHER": [{"document": other.pk, "start": 0, "end": len(UNCODED[0])}],
        "NOT_A_PASSAGE": [
            {"document": study.uncoded.pk, "start": 0, "end": len(UNCODED[0])},
            {"document": study.uncoded.pk, "start": 0, "end": 5},
        ],
    }
    if isinstance(body.get("passages"), str):
        body = {"passages": spans[body["passages"]]}
    response = client_for(team.coder).post(
        _suggest_url(team, _billing_excerpt(study)), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert any(error.get("field", "").startswith(field) for error in response.json()["errors"])
    assert not Suggestion.objects.exists()


def test_suggest_is_404_for_an_excerpt_of_another_project_and_403_for_a_manager(team, study):
    theirs = make_study(team.other_project, team.outsider)
    foreign = _billing_excerpt(theirs)
    url = reverse(
        "api:excerpt-similar-suggest", kwargs={"slug": team.project.slug, "pk": foreign.pk}
    )
    assert client_for(team.owner).post(url, {"k": 2}, format="json").status_code == 404
    mine = _suggest_url(team, _billing_excerpt(study))
    assert client_for(team.manager).post(mine, {"k": 2}, format="json").status_code == 403
    assert not Suggestion.objects.exists()
