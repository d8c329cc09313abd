"""Agreement figures equal the reference libraries on the same unit vectors (issue 7).

The vectors are built here independently, one array slot per character (or per sentence), from
hypothesis-generated texts and excerpts of 2–4 coders; the code under test builds weighted runs.
"""

import itertools
import math
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from coding.agreement import metrics, units


@st.composite
def codings(draw, max_coders=4):
    """(document lengths, per coder per document a list of spans in that document)."""
    lengths = draw(st.lists(st.integers(0, 60), min_size=1, max_size=4))
    coders = draw(st.integers(2, max_coders))
    spans = []
    for _ in range(coders):
        per_doc = []
        for length in lengths:
            found = []
            if length:
                for _ in range(draw(st.integers(0, 3))):
                    start = draw(st.integers(0, length - 1))
                    end = draw(st.integers(start + 1, length))
                    found.append((start, end))
            per_doc.append(found)
        spans.append(per_doc)
    return lengths, spans


def _joined(lengths, spans):
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return offsets, [
        [
            (int(offsets[d]) + s, int(offsets[d]) + e)
            for d, found in enumerate(per)
            for s, e in found
        ]
        for per in spans
    ]


def _expanded(lengths, spans):
    """The naive reference: one slot per character, per coder."""
    rows = []
    for per in spans:
        row = []
        for length, found in zip(lengths, per, strict=True):
            doc = np.zeros(length, dtype=int)
            for s, e in found:
                doc[s:e] = 1
            row.append(doc)
        rows.append(np.concatenate(row))
    return np.array(rows)


def _reference(data):
    coders = data.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kappa = cohen_kappa_score(data[0], data[1]) if coders == 2 and data.shape[1] else None
    try:
        alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    except ValueError:  # "There has to be more than one value in the domain."
        alpha = None
    percent = 100.0 * float(np.mean((data == data[0]).all(axis=0))) if data.shape[1] else None
    return percent, kappa, alpha


def _close(ours, theirs):
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        return ours is None
    return ours is not None and abs(ours - theirs) <= 1e-9


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(codings())
def test_character_figures_equal_sklearn_and_krippendorff(case):
    lengths, spans = case
    offsets, joined = _joined(lengths, spans)
    u = units.character_units(offsets, np.array(lengths), joined)
    got = metrics.agreement(u.values, u.weights)
    data = _expanded(lengths, spans)
    percent, kappa, alpha = _reference(data)
    assert got.units == data.shape[1]
    assert _close(got.percent, percent), (got, percent)
    assert _close(got.krippendorff_alpha, alpha), (got, alpha)
    if len(spans) == 2:
        assert _close(got.cohen_kappa, kappa), (got, kappa)
    else:
        assert got.cohen_kappa is None
        assert "two coders" in got.notes["cohen_kappa"]


@settings(max_examples=200, deadline=None)
@given(codings(), st.data())
def test_sentence_figures_equal_references_when_sentences_cut_the_text(case, data):
    lengths, spans = case
    offsets, joined = _joined(lengths, spans)
    starts, ends, docs, reference = [], [], [], []
    for d, length in enumerate(lengths):
        cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, length - 1)), max_size=4))))
        bounds = [0, *[c for c in cuts if 0 < c < length], length] if length else []
        for s, e in itertools.pairwise(bounds):
            starts.append(int(offsets[d]) + s)
            ends.append(int(offsets[d]) + e)
            docs.append(d)
            # Reference rule: a coder marks a sentence an excerpt overlaps by >= 1 character.
            reference.append([int(any(a < e and b > s for a, b in per[d])) for per in spans])
    u = units.sentence_units(np.array(starts), np.array(ends), np.array(docs), joined)
    got = metrics.agreement(u.values, u.weights)
    matrix = np.array(reference, dtype=int).T.reshape(len(spans), len(starts))
    assert (u.values.astype(int) == matrix).all()
    percent, kappa, alpha = _reference(matrix)
    assert _close(got.percent, percent)
    assert _close(got.krippendorff_alpha, alpha)
    if len(spans) == 2:
        assert _close(got.cohen_kappa, kappa)


def test_kappa_is_null_with_a_reason_when_both_coders_mark_nothing():
    got = metrics.agreement(np.zeros((2, 3), bool), np.array([5, 1, 2]))
    assert got.percent == 100.0
    assert got.cohen_kappa is None
    assert "nan" in got.notes["cohen_kappa"]
    assert got.krippendorff_alpha is None
    assert "alpha" in got.notes["krippendorff_alpha"]


def test_chance_agreement_uses_each_coders_marginals_not_pooled_ones():
    # Coder A marks 8 of 10 characters, B marks 2 (overlapping 1). Pooled marginals (Scott's pi,
    # the well-known mistake) give a different chance agreement than Cohen's own-marginal one.
    a = np.array([1] * 8 + [0] * 2, bool)
    b = np.array([1] * 1 + [0] * 8 + [1], bool)
    got = metrics.agreement(np.array([a, b]), np.ones(10, np.int64))
    assert got.cohen_kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    pooled = (a.mean() + b.mean()) / 2
    observed = (a == b).mean()
    scott = (observed - (pooled**2 + (1 - pooled) ** 2)) / (1 - (pooled**2 + (1 - pooled) ** 2))
    assert abs(got.cohen_kappa - scott) > 0.05


def test_uncoded_units_count_not_only_coded_ones():
    # Agreement over a long uncoded stretch is real agreement: dropping it would change kappa.
    lengths, spans = [100], [[[(0, 10)]], [[(5, 15)]]]
    offsets, joined = _joined(lengths, spans)
    u = units.character_units(offsets, np.array(lengths), joined)
    got = metrics.agreement(u.values, u.weights)
    assert got.units == 100
    assert got.coded == 15
    assert got.percent == pytest.approx(90.0)


def test_disputed_passages_chain_touching_excerpts_but_not_across_documents():
    lengths = [20, 20]
    spans = [[[(0, 5)], [(0, 4)]], [[(5, 9)], [(0, 4)]]]
    offsets, joined = _joined(lengths, spans)
    u = units.character_units(offsets, np.array(lengths), joined)
    found = units.disputed_passages(u, joined)
    assert found == [(0, 0, 9, 9)]  # doc 1: both coded [0, 4) alike: no dispute
