"""Recall of the real PII detector (spaCy NER + regexes + known names) on the seeded corpus in
tests/fixtures/pii/ (regenerate with tests/fixtures/pii/generate.py).

A gold span counts as found when a detection of its kind covers it whole (a known name counts as
a person). Precision is reported: a detection is right when it overlaps a gold span of its kind.
"""

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from observations import pii
from observations.nlp import get_pipeline

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "pii" / "corpus.json"
SNIPPETS = json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]


def _kind(kind: str) -> str:
    return pii.PERSON if kind == pii.KNOWN_NAME else kind


@cache
def _evaluation() -> tuple[Counter[str], Counter[str], Counter[str], Counter[str], list[str]]:
    """(gold, found, detected, correct) per kind, and the missed spans for messages."""
    nlp = get_pipeline("en")
    gold_n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    missed: list[str] = []
    texts = [s["text"] for s in SNIPPETS]
    for snippet, doc in zip(SNIPPETS, nlp.pipe(texts), strict=True):
        spans = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"]
        detections = pii.detect(
            snippet["text"], person_spans=spans, known_names=snippet["known_names"]
        )
        for gold in snippet["gold"]:
            gold_n[gold["kind"]] += 1
            if any(
                _kind(d.kind) == gold["kind"] and d.start <= gold["start"] and gold["end"] <= d.end
                for d in detections
            ):
                found[gold["kind"]] += 1
            else:
                missed.append(f"{snippet['id']} {gold['kind']} {gold['text']!r}")
        for d in detections:
            detected[_kind(d.kind)] += 1
            if any(
                _kind(d.kind) == g["kind"] and d.start < g["end"] and g["start"] < d.end
                for g in snippet["gold"]
            ):
                correct[_kind(d.kind)] += 1
    return gold_n, found, detected, correct, missed


@pytest.mark.parametrize("kind", ["person", "email", "phone"])
def test_recall_is_at_least_095_when_detecting_the_seeded_corpus(kind: str) -> None:
    gold_n, found, detected, correct, missed = _evaluation()
    recall = found[kind] / gold_n[kind]
    precision = correct[kind] / detected[kind] if detected[kind] else 0.0
    print(f"{kind}: recall {recall:.3f} ({found[kind]}/{gold_n[kind]}), precision {precision:.3f}")
    assert gold_n[kind] >= 20
    assert recall >= 0.95, [m for m in missed if f" {kind} " in m]


def test_luhn_valid_cards_are_found_and_invalid_runs_are_not_when_detecting_corpus() -> None:
    gold_n, found, detected, correct, missed = _evaluation()
    assert gold_n["card"] >= 8
    assert found["card"] == gold_n["card"], [m for m in missed if " card " in m]
    assert correct["card"] == detected["card"]


def test_no_distractor_is_flagged_when_detecting_corpus() -> None:
    nlp = get_pipeline("en")
    flagged = []
    for snippet in SNIPPETS:
        if not snippet["distractors"]:
            continue
        doc = nlp(snippet["text"])
        spans = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"]
        for d in pii.detect(snippet["text"], person_spans=spans, known_names=[]):
            for noise in snippet["distractors"]:
                if d.start < noise["end"] and noise["start"] < d.end:
                    flagged.append((snippet["id"], d.kind, snippet["text"][d.start : d.end]))
    assert flagged == []


def test_corpus_has_invalid_card_like_runs_when_checking_distractors() -> None:
    runs = [
        "".join(c for c in noise["text"] if c.isdigit())
        for s in SNIPPETS
        for noise in s["distractors"]
    ]
    sixteen = {r for r in runs if len(r) == 16}
    assert sixteen
    assert not any(pii.luhn_valid(r) for r in sixteen)
