"""Pattern rules per code (coding/suggest/patterns.py, tokenmatch.py): validation, case- and
lemma-insensitive matching, token patterns as spaCy matches them, sentence offsets, and the
per-process cache that is rebuilt exactly when the codebook changes."""

from typing import Any

import pytest
from django.urls import reverse
from spacy.matcher import Matcher

from coding import services
from coding.models import Code
from coding.suggest import patterns
from coding.suggest.patterns import PatternHit, compile_patterns, validate
from observations.nlp import get_pipeline, ingest_docs
from tests.conftest import client_for
from tests.factories import CodeFactory

TEXT = (
    "  Refund please.\n\n I was Charged twice, a real bill shock. "
    "REFUNDS are very very slow! The fee was 12 pounds."
)


@pytest.fixture(scope="module")
def nlp():
    return get_pipeline("en")


def parse(nlp, text: str = TEXT):
    return next(iter(ingest_docs(nlp, [text])))


def found(nlp, rules_by_code, text: str = TEXT) -> list[tuple[int, int, str, str]]:
    compiled = compile_patterns(list(rules_by_code.items()), nlp)
    return [
        (
            hit.code,
            hit.pattern,
            text[hit.start : hit.end],
            text[hit.sentence_start : hit.sentence_end],
        )
        for hit in compiled.find(parse(nlp, text))
    ]


# --- validation ------------------------------------------------------------------------------


def test_valid_rules_have_no_problems():
    assert (
        validate(
            [
                {"type": "keyword", "text": "refund"},
                {"type": "phrase", "text": "bill shock"},
                {"type": "tokens", "pattern": [{"LEMMA": "charge"}, {"LOWER": "twice"}]},
            ]
        )
        == []
    )
    assert validate([]) == []


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"type": "keyword"}, "Patterns must be a list."),
        ([{"type": "keyword", "text": "bill shock"}], "pattern 0: a keyword is one word"),
        ([{"type": "phrase", "text": "bill"}], "pattern 0: a phrase has several words"),
        ([{"type": "keyword", "text": "  "}], 'pattern 0: a keyword needs a non-empty "text"'),
        ([{"type": "keyword", "text": "x" * 201}], "pattern 0: the text is longer than 200"),
        (["refund"], "pattern 0: must be an object"),
        ([{"type": "regex", "text": "x"}], 'pattern 0: "type" must be one of'),
        ([{"type": "keyword", "text": "a", "score": 1}], "pattern 0: unknown key(s) score"),
        ([{"type": "tokens", "pattern": []}], "pattern 0: a token pattern needs a non-empty"),
        ([{"type": "tokens", "pattern": ["x"]}], "pattern 0: each token of a token pattern"),
        ([{"type": "tokens", "pattern": [{"OP": "?"}]}], "at least one token with a condition"),
        ([{"type": "tokens", "pattern": [{"DEP": "nsubj"}]}], "'DEP' (dependency labels)"),
    ],
)
def test_each_problem_is_named_with_the_rule_index(rules, expected):
    problems = validate(rules)

    assert len(problems) == 1
    assert expected in problems[0]


def test_matcher_validation_errors_name_rule_token_and_key():
    problems = validate(
        [
            {"type": "keyword", "text": "fine"},
            {"type": "tokens", "pattern": [{"LOWER": "ok"}, {"LEMMAA": "charge"}]},
            {"type": "tokens", "pattern": [{"LOWER": {"IN": "fee"}}]},
        ]
    )

    assert problems == [
        "pattern 1: invalid token pattern: token 1, LEMMAA: Extra inputs are not permitted",
        "pattern 2: invalid token pattern: token 0, LOWER: Input should be a valid list",
    ]


def test_more_than_500_rules_per_code_are_refused():
    rules = [{"type": "keyword", "text": f"word{i}"} for i in range(501)]

    assert validate(rules) == ["A code has at most 500 patterns (501 given)."]
    assert validate(rules[:500]) == []


# --- matching --------------------------------------------------------------------------------


def test_keywords_match_any_case_and_any_form_of_the_word(nlp):
    hits = found(
        nlp, {7: [{"type": "keyword", "text": "charge"}, {"type": "keyword", "text": "refund"}]}
    )

    assert [(code, pattern, match) for code, pattern, match, _ in hits] == [
        (7, 1, "Refund"),
        (7, 0, "Charged"),
        (7, 1, "REFUNDS"),
    ]


def test_phrases_match_case_insensitively_and_report_the_sentence(nlp):
    hits = found(nlp, {3: [{"type": "phrase", "text": "Bill   Shock"}]})

    assert hits == [(3, 0, "bill shock", "I was Charged twice, a real bill shock.")]


def test_sentence_offsets_are_stripped_like_the_ingests_sentences(nlp):
    hits = found(nlp, {1: [{"type": "keyword", "text": "refund"}]})

    assert hits[0][3] == "Refund please."  # no leading spaces or blank lines
    assert hits[1][3] == "REFUNDS are very very slow!"


def test_token_patterns_match_as_spacy_matches_them(nlp):
    rules = {
        1: [{"type": "tokens", "pattern": [{"LEMMA": "charge"}, {"LOWER": "twice"}]}],
        2: [{"type": "tokens", "pattern": [{"LOWER": "very", "OP": "+"}, {"LOWER": "slow"}]}],
        3: [{"type": "tokens", "pattern": [{"LIKE_NUM": True}, {"LOWER": {"IN": ["pounds"]}}]}],
        4: [
            {
                "type": "tokens",
                "pattern": [{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "?"}, {"LEMMA": "bill"}],
            }
        ],
    }

    hits = {(code, match) for code, _, match, _ in found(nlp, rules)}

    assert hits == {
        (1, "Charged twice"),
        (2, "very very slow"),  # the longest run, not every sub-span
        (3, "12 pounds"),
        (4, "a real bill"),
    }


def test_the_fast_path_agrees_with_spacys_matcher(nlp):
    """Simple token patterns run as a hash join, not through spaCy; the results must agree."""
    doc = parse(nlp, TEXT * 3)
    rules: list[list[dict[str, Any]]] = [
        [{"LEMMA": "be"}, {"IS_ALPHA": True}],
        [{"LOWER": {"IN": ["very", "real"]}}, {"IS_ALPHA": True, "OP": "?"}, {"LOWER": "slow"}],
        [{"IS_PUNCT": True}, {"LOWER": "i"}],
        [{"ORTH": "REFUNDS"}],
        [{"LEMMA": "fee"}, {"LOWER": "was"}, {"LIKE_NUM": True}],
    ]
    compiled = compile_patterns([(9, [{"type": "tokens", "pattern": p} for p in rules])], nlp)
    spacy_matcher = Matcher(nlp.vocab)
    for index, pattern in enumerate(rules):
        spacy_matcher.add(f"9:{index}", [pattern], greedy="LONGEST")

    ours = {(hit.pattern, hit.start, hit.end) for hit in compiled.find(doc)}
    theirs = {
        (int(nlp.vocab.strings[key].split(":")[1]), doc[s].idx, doc[e - 1].idx + len(doc[e - 1]))
        for key, s, e in spacy_matcher(doc)
    }
    assert ours == theirs
    assert len(ours) >= 10


def test_one_hit_per_code_and_span_with_the_lowest_rule_index(nlp):
    rules = {
        5: [{"type": "phrase", "text": "bill shock"}, {"type": "phrase", "text": "BILL shock"}]
    }

    assert [(pattern, match) for _, pattern, match, _ in found(nlp, rules)] == [(0, "bill shock")]


def test_hits_are_sorted_by_position_and_are_patternhits(nlp):
    compiled = compile_patterns(
        [(2, [{"type": "keyword", "text": "slow"}]), (1, [{"type": "keyword", "text": "refund"}])],
        nlp,
    )

    hits = compiled.find(parse(nlp))

    assert all(isinstance(hit, PatternHit) for hit in hits)
    assert [hit.start for hit in hits] == sorted(hit.start for hit in hits)
    assert [hit.code for hit in hits] == [1, 1, 2]


def test_stored_invalid_rules_are_skipped_not_raised(nlp):
    compiled = compile_patterns(
        [(1, [{"type": "keyword"}, {"type": "keyword", "text": "fee"}])], nlp
    )

    assert len(compiled) == 1
    assert [(hit.pattern) for hit in compiled.find(parse(nlp))] == [1]


# --- the per-process cache -------------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch):
    """Count compilations behind compiled_for."""
    patterns.cache_clear()
    calls = []
    real = patterns.compile_patterns

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(patterns, "compile_patterns", counting)
    yield calls
    patterns.cache_clear()


@pytest.mark.django_db
def test_cache_returns_the_same_compiled_rules_while_the_codebook_is_unchanged(
    team, counted, django_assert_num_queries
):
    CodeFactory.create(project=team.project, patterns=[{"type": "keyword", "text": "fee"}])
    first = patterns.compiled_for(team.project)

    with django_assert_num_queries(1):  # the version; no reading, no compiling
        again = patterns.compiled_for(team.project)

    assert again is first
    assert len(counted) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["patterns", "archive", "add", "delete", "undo"])
def test_cache_is_rebuilt_when_the_codebook_changes(team, counted, nlp, change):
    code = CodeFactory.create(project=team.project, patterns=[{"type": "keyword", "text": "fee"}])
    spare = CodeFactory.create(project=team.project, name="Spare")
    first = patterns.compiled_for(team.project)
    doc = parse(nlp)
    assert {hit.code for hit in first.find(doc)} == {code.pk}

    if change == "patterns":
        services.code_update(code=code, patterns=[{"type": "keyword", "text": "refund"}])
    elif change == "archive":
        services.code_archive(code=code, user=team.owner)
    elif change == "add":
        CodeFactory.create(
            project=team.project, name="New", patterns=[{"type": "keyword", "text": "slow"}]
        )
    elif change == "delete":
        services.code_delete(code=spare, user=team.owner)
    else:  # undo restores the earlier codebook exactly: the rules in between must go
        services.code_update(code=code, user=team.owner, patterns=[])
        first = patterns.compiled_for(team.project)
        assert first.find(doc) == []
        latest = team.project.codebook_changes.order_by("-id").first()
        services.codebook_undo(change=latest, user=team.owner)

    second = patterns.compiled_for(team.project)

    assert second is not first
    assert second.version != first.version
    assert len(counted) == (3 if change == "undo" else 2)
    texts = {doc.text[hit.start : hit.end] for hit in second.find(doc)}
    expected = {
        "patterns": {"Refund", "REFUNDS"},
        "archive": set(),  # archived codes give no hits
        "add": {"fee", "slow"},
        "delete": {"fee"},
        "undo": {"fee"},
    }[change]
    assert texts == expected
    assert patterns.compiled_for(team.project) is second  # and cached again


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["patterns", "undo", "admin"])
def test_cache_is_rebuilt_when_changes_share_one_clock_tick(
    team, counted, nlp, monkeypatch, change
):
    # Every write stamps the same instant, as two writes within the clock's resolution do.
    from django.utils import timezone

    tick = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: tick)
    code = CodeFactory.create(project=team.project, patterns=[{"type": "keyword", "text": "fee"}])
    CodeFactory.create(project=team.project, name="Spare")
    first = patterns.compiled_for(team.project)

    if change == "admin":  # a write outside the services: no history, same timestamp
        Code.objects.filter(pk=code.pk).update(patterns=[{"type": "keyword", "text": "refund"}])
    else:
        services.code_update(code=code, user=team.owner, patterns=[])
    second = patterns.compiled_for(team.project)
    if change == "undo":
        latest = team.project.codebook_changes.order_by("-id").first()
        services.codebook_undo(change=latest, user=team.owner)
        assert patterns.compiled_for(team.project).version == first.version  # same codebook
    third = patterns.compiled_for(team.project)

    assert second.version != first.version
    doc = parse(nlp)
    expected = {"patterns": set(), "undo": {"fee"}, "admin": {"Refund", "REFUNDS"}}[change]
    assert {doc.text[hit.start : hit.end] for hit in third.find(doc)} == expected


@pytest.mark.django_db
def test_each_project_has_its_own_compiled_rules(team, counted):
    from tests.factories import ProjectFactory

    other = ProjectFactory.create(slug="elsewhere")
    CodeFactory.create(project=team.project, patterns=[{"type": "keyword", "text": "fee"}])
    CodeFactory.create(project=other, patterns=[{"type": "keyword", "text": "refund"}])

    mine, theirs = patterns.compiled_for(team.project), patterns.compiled_for(other)

    assert mine is not theirs
    assert patterns.compiled_for(team.project) is mine
    assert len(counted) == 2


# --- the code service and the API ------------------------------------------------------------


@pytest.mark.django_db
def test_api_refuses_bad_patterns_with_a_400_naming_the_field(team):
    code = CodeFactory.create(project=team.project)
    url = reverse("api:code-detail", kwargs={"slug": team.project.slug, "pk": code.pk})

    response = client_for(team.researcher).patch(
        url,
        {
            "patterns": [
                {"type": "keyword", "text": "ok"},
                {"type": "tokens", "pattern": [{"LEMA": "x"}]},
            ]
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "patterns"
    assert error["message"].startswith("pattern 1: invalid token pattern: token 0, LEMA")
    assert Code.objects.get(pk=code.pk).patterns == []


@pytest.mark.django_db
def test_api_saves_good_patterns_and_the_history_records_it(team):
    code = CodeFactory.create(project=team.project)
    url = reverse("api:code-detail", kwargs={"slug": team.project.slug, "pk": code.pk})
    rules = [{"type": "phrase", "text": "bill shock"}]

    response = client_for(team.researcher).patch(url, {"patterns": rules}, format="json")

    assert response.status_code == 200
    assert Code.objects.get(pk=code.pk).patterns == rules
    assert team.project.codebook_changes.order_by("-id").first().summary == (
        f"Changed patterns of {code.name!r}."
    )
