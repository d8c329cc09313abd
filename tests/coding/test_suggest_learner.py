"""The learned suggester (coding.suggest.learner) and similar-passage search (similar)."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coding.suggest.evaluation import cross_validate, micro_average
from coding.suggest.learner import Learner, TrainingSet, train
from coding.suggest.similar import SimilarityIndex

BANKING77 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "banking77"

BILLING, CRASH, DELIVERY = 11, 22, 33
CODES = [BILLING, CRASH, DELIVERY]
EXAMPLES = {
    BILLING: [
        "I was charged twice for my subscription",
        "the bill shows a charge I never made",
        "why is my invoice higher this month",
        "they billed me for a plan I cancelled",
        "refund the double charge please",
        "my card was charged the wrong amount",
    ],
    CRASH: [
        "the app crashed when I opened it",
        "it keeps crashing on the login screen",
        "the application freezes and then closes",
        "every update makes the app crash again",
        "it froze and I lost my work",
        "the program crashes whenever I save",
    ],
    DELIVERY: [
        "my parcel has not arrived yet",
        "the delivery is two weeks late",
        "the courier left the package at the wrong door",
        "where is my order, it was due on monday",
        "tracking says delivered but nothing came",
        "the shipment got lost on the way",
    ],
}
NEGATIVES = ["thanks, that is all", "good morning", "can you hear me now", "let me think"]


def synthetic() -> TrainingSet:
    texts, labels = [], []
    for code, examples in EXAMPLES.items():
        texts += examples
        labels += [frozenset({code})] * len(examples)
    texts += NEGATIVES
    labels += [frozenset()] * len(NEGATIVES)
    # One passage carrying two codes, and a label outside `codes` (ignored).
    texts += ["charged twice and the app crashed", "an unrelated remark", ""]
    labels += [frozenset({BILLING, CRASH}), frozenset({999}), frozenset()]
    return TrainingSet(texts, labels)


@pytest.fixture(scope="module")
def learner() -> Learner:
    return train(synthetic(), codes=CODES, seed=0)


def test_predict_scores_every_code_sorted_in_unit_interval(learner: Learner) -> None:
    results = learner.predict(["my bill has a strange charge", "the app crashes", ""])
    assert len(results) == 3
    for ranked in results:
        assert sorted(code for code, _ in ranked) == sorted(CODES)
        scores = [score for _, score in ranked]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
    assert results[0][0][0] == BILLING
    assert results[1][0][0] == CRASH
    assert learner.predict([]) == []


def test_meta_describes_the_model(learner: Learner) -> None:
    meta = learner.meta
    assert meta["n_passages"] == len(synthetic().texts)
    assert meta["n_codes"] == 3
    assert "textcat_multilabel" in meta["architecture"]
    assert meta["versions"]["scikit-learn"]
    assert meta["train_seconds"] >= 0
    assert meta["n_positive"] == {str(BILLING): 7, str(CRASH): 7, str(DELIVERY): 6}


def test_round_trip_predicts_the_same(learner: Learner) -> None:
    texts = ["the parcel never came", "double charge on my card", "hello there"]
    restored = Learner.from_bytes(learner.to_bytes())
    assert restored.codes == learner.codes
    assert restored.predict(texts) == learner.predict(texts)
    assert restored.meta["n_passages"] == learner.meta["n_passages"]


def test_training_is_deterministic_for_a_seed() -> None:
    texts = ["the parcel never came", "double charge on my card"]
    first = train(synthetic(), codes=CODES, seed=3).predict(texts)
    second = train(synthetic(), codes=CODES, seed=3).predict(texts)
    assert first == second


def _rebuilt(
    artefact: bytes, replace: dict[str, bytes], extra: dict[str, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(artefact)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, replace.get(name, source.read(name)))
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def test_from_bytes_rejects_an_object_array_that_would_need_pickle(learner: Learner) -> None:
    with zipfile.ZipFile(io.BytesIO(learner.to_bytes())) as archive:
        arrays = dict(np.load(io.BytesIO(archive.read("arrays.npz"))))
    arrays["coef"] = np.array([{"evil": object()}], dtype=object)
    crafted = io.BytesIO()
    np.savez(crafted, **arrays)  # pickles the object array
    assert b"'descr': '|O'" in crafted.getvalue()  # an object array: stored as a pickle
    with pytest.raises(ValueError, match="allow_pickle"):
        Learner.from_bytes(_rebuilt(learner.to_bytes(), {"arrays.npz": crafted.getvalue()}))


def test_from_bytes_rejects_extra_members_and_garbage(learner: Learner) -> None:
    artefact = learner.to_bytes()
    with pytest.raises(ValueError, match="Unexpected members"):
        Learner.from_bytes(_rebuilt(artefact, {}, {"model.pkl": b"\x80\x04N."}))
    with pytest.raises(ValueError, match="Not a suggester artefact"):
        Learner.from_bytes(b"\x80\x04\x95 not a zip")
    with pytest.raises(ValueError, match="known format"):
        Learner.from_bytes(_rebuilt(artefact, {"meta.json": b'{"format": "other"}'}))
    with pytest.raises(ValueError, match="Unreadable spaCy model"):
        Learner.from_bytes(_rebuilt(artefact, {"spacy.bin": b"garbage"}))


def test_from_bytes_rejects_arrays_that_do_not_fit(learner: Learner) -> None:
    meta = json.loads(zipfile.ZipFile(io.BytesIO(learner.to_bytes())).read("meta.json"))
    meta["codes"] = [*meta["codes"], 44]
    with pytest.raises(ValueError, match="do not fit"):
        Learner.from_bytes(_rebuilt(learner.to_bytes(), {"meta.json": json.dumps(meta).encode()}))


def test_train_refuses_empty_input() -> None:
    with pytest.raises(ValueError, match="at least one passage"):
        train(TrainingSet([], []), codes=CODES)
    with pytest.raises(ValueError, match="at least one code"):
        train(synthetic(), codes=[])
    with pytest.raises(ValueError, match="one label set per text"):
        TrainingSet(["one"], [])


def test_a_code_without_positives_scores_low() -> None:
    model = train(synthetic(), codes=[*CODES, 77], seed=0)
    ranked = dict(model.predict(["the app crashed"])[0])
    assert ranked[77] < 0.1


def test_cross_validate_reports_every_code() -> None:
    metrics = cross_validate(synthetic(), codes=CODES, folds=3, seed=0).metrics
    assert set(metrics) == set(CODES)
    for figures in metrics.values():
        assert {"precision", "recall", "f1", "support"} <= set(figures)
        assert all(0.0 <= figures[k] <= 1.0 for k in ("precision", "recall", "f1"))
        assert figures["tp"] + figures["fn"] == figures["support"]
    assert metrics[BILLING]["support"] == 7
    assert metrics[DELIVERY]["support"] == 6
    overall = micro_average(metrics)
    assert overall["support"] == 20
    assert 0.0 <= overall["f1"] <= 1.0


def test_cross_validate_survives_tiny_data() -> None:
    data = TrainingSet(["refund please"], [frozenset({BILLING})])
    metrics = cross_validate(data, codes=CODES, folds=5).metrics
    assert metrics[BILLING] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0.0,
        "fp": 0.0,
        "fn": 0.0,
        "support": 1.0,
    }


def _banking77(name: str) -> Path:
    path = BANKING77 / name
    if not path.is_file():
        pytest.fail(f"banking77 data missing: {path} not found")
    return path


def test_learner_ranks_banking77_intents_well_above_chance() -> None:
    train_frame = pd.read_csv(_banking77("train.csv"))
    test_frame = pd.read_csv(_banking77("test.csv"))
    intents = sorted(train_frame.category.unique())[:10]
    code = {intent: i + 1 for i, intent in enumerate(intents)}
    picked = pd.concat(
        train_frame[train_frame.category == intent].sample(n=10, random_state=0)
        for intent in intents
    )
    held = pd.concat(test_frame[test_frame.category == intent].head(20) for intent in intents)
    model = train(
        TrainingSet(picked.text.tolist(), [frozenset({code[c]}) for c in picked.category]),
        codes=list(code.values()),
    )
    ranked = model.predict(held.text.tolist())
    truth = [code[c] for c in held.category]
    top1 = np.mean([r[0][0] == t for r, t in zip(ranked, truth, strict=True)])
    top3 = np.mean([t in {c for c, _ in r[:3]} for r, t in zip(ranked, truth, strict=True)])
    assert top1 > 0.6  # chance is 0.1
    assert top3 > 0.85


def test_similarity_index_finds_resembling_passages() -> None:
    items = [
        (1, "I was charged twice for my subscription"),
        (2, "the app crashed when I opened it"),
        (3, "charged twice for the subscription again"),
        (4, "my parcel has not arrived yet"),
        (5, ""),
    ]
    index = SimilarityIndex.build(items)
    hits = index.query("charged twice for my subscription", k=2)
    assert [passage for passage, _ in hits] == [1, 3]
    assert hits[0][1] >= hits[1][1] > 0
    assert all(0 < score <= 1 for _, score in hits)
    assert index.query("charged twice", exclude={1})[0][0] == 3
    assert index.query("zzzz qqqq") == []
    assert len(index.query("the", k=10)) <= 4
    assert index.query("charged", k=0) == []


def test_similarity_index_of_nothing_finds_nothing() -> None:
    assert SimilarityIndex.build([]).query("anything") == []
    assert SimilarityIndex.build([(1, "   ")]).query("anything") == []
