"""The learned suggester: which codes a passage probably deserves, learned from coded passages.

Two models vote, each scoring every code independently (one-vs-rest, so a passage may earn two
codes, or none):

- scikit-learn: TF-IDF over words (1-2 grams) and characters (2-5 grams inside words), one
  logistic regression per code. The training set is doubled with a lemmatised, lower-cased copy
  of each passage, so "charged" in a new passage meets "charge" from the examples.
- spaCy: a `textcat_multilabel` component with the bag-of-words architecture (`TextCatBOW`),
  chosen by measurement over the CNN, reduce and ensemble (tok2vec) architectures.

A code's score is the weighted mean of the two probabilities, `SPACY_WEIGHT` for spaCy. The
weights come from `bench/suggester_quality.py` (docs/benchmarks.md, "Suggester quality"): on
banking77 the linear model carries the ranking and spaCy adds little, so its weight is small.

Artefacts (`Learner.to_bytes`) hold no pickle: a zip of JSON, `.npz` arrays loaded with
`allow_pickle=False` and spaCy's own msgpack bytes; `Learner.from_bytes` checks every member.

Cross-validation and the per-code decision thresholds live in coding.suggest.evaluation.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
import spacy
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from spacy.language import Language
from spacy.training import Example
from spacy.util import minibatch

Progress = Callable[[float, str], None]

FORMAT = "verbatim-suggester/1"
# Share of spaCy's vote in a code's score (the rest is the linear model's). Banking77 top-1 vs
# the linear model alone: -0.4 points at 5 examples per code, +-0.1 at 10-20, +0.3 at 50;
# larger weights only lose (docs/benchmarks.md, "Suggester quality").
SPACY_WEIGHT = 0.1
# Regularisation of the per-code logistic regressions: few examples per code want a weak prior.
LOGISTIC_C = 30.0
# spaCy trains for MAX_EPOCHS, or fewer so that epochs x passages stays under EPOCH_BUDGET:
# this caps its share of the training time on large projects (60 s for 4,000 passages in all).
# Batches of 128 rather than 32: the optimiser updates the whole 65,536-row BOW table once per
# batch, so this is 3x faster at the same accuracy (banking77, 20 per intent: 0.727 vs 0.726).
MAX_EPOCHS = 20
MIN_EPOCHS = 4
EPOCH_BUDGET = 60_000
BATCH_SIZE = 128
BOW_CONFIG: dict[str, Any] = {
    "@architectures": "spacy.TextCatBOW.v3",
    "exclusive_classes": False,
    "ngram_size": 2,
    "no_output_layer": False,
    "length": 65536,
}
_MEMBERS = frozenset({"meta.json", "tfidf.json", "arrays.npz", "spacy.bin"})
_ARRAYS = frozenset({"word_idf", "char_idf", "coef", "intercept"})
_MAX_ARTEFACT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class TrainingSet:
    """Passages and their codes; an empty frozenset is a negative for every code."""

    texts: list[str]
    labels: list[frozenset[int]]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError("TrainingSet needs one label set per text.")


def _word_vectorizer(vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=vocabulary)


def _char_vectorizer(vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, vocabulary=vocabulary
    )


def _features(word: TfidfVectorizer, char: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    return normalize(sp.hstack([word.transform(texts), char.transform(texts)]).tocsr())


def _blank(language: str) -> Language:
    """A blank pipeline for `language` (the multi-language tokenizer if spaCy has none)."""
    try:
        return spacy.blank(language)
    except ImportError:
        return spacy.blank("xx")


def _nonempty(texts: Sequence[str]) -> list[str]:
    # thinc's bag-of-words layer fails on a doc without tokens; " " is one (neutral) token.
    return [text if text else " " for text in texts]


def _textcat_pipeline(language: str, codes: Sequence[int]) -> Language:
    nlp = _blank(language)
    textcat = nlp.add_pipe("textcat_multilabel", config={"model": BOW_CONFIG})
    for code in codes:
        textcat.add_label(str(code))  # type: ignore[attr-defined]
    return nlp


def lemmatise(texts: Sequence[str], language: str) -> list[str] | None:
    """Lower-cased lemmas of each text, or None when no pipeline serves `language`.

    Uses the project's cached pipeline (observations.nlp), skipping the parser and NER.
    """
    from django.core.exceptions import ImproperlyConfigured

    from observations.nlp import get_pipeline, sentence_lemmas

    try:
        nlp = get_pipeline(language)
    except (ImproperlyConfigured, OSError):
        return None
    skip = [name for name in nlp.pipe_names if name in ("parser", "ner", "senter")]
    return [sentence_lemmas(doc[:]) for doc in nlp.pipe(texts, disable=skip, batch_size=256)]


@dataclass
class Learner:
    """A trained suggester: `predict` scores every code for each text.

    Build one with `train` or `Learner.from_bytes`; the constructor only assembles parts.
    """

    codes: list[int]
    word: TfidfVectorizer
    char: TfidfVectorizer
    coef: NDArray[np.float32]  # (codes, features)
    intercept: NDArray[np.float32]  # (codes,)
    nlp: Language
    spacy_weight: float = SPACY_WEIGHT
    meta: dict[str, Any] = field(default_factory=dict)

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The linear model's input: word and character TF-IDF, each row L2-normalised."""
        return _features(self.word, self.char, texts)

    def linear_scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """The scikit-learn model's probability per (text, code)."""
        if not texts:
            return np.zeros((0, len(self.codes)))
        decision = self.features(texts) @ self.coef.T + self.intercept
        return np.asarray(expit(decision), dtype=np.float64)

    def spacy_scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """spaCy's textcat probability per (text, code)."""
        labels = [str(code) for code in self.codes]
        scores = np.zeros((len(texts), len(self.codes)))
        for i, doc in enumerate(self.nlp.pipe(_nonempty(texts), batch_size=256)):
            scores[i] = [doc.cats[label] for label in labels]
        return scores

    def score_matrix(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Combined score per (text, code), columns in `self.codes` order, all in [0, 1]."""
        texts = list(texts)
        scores = self.linear_scores(texts)
        if self.spacy_weight > 0:
            w = self.spacy_weight
            scores = (1 - w) * scores + w * self.spacy_scores(texts)
        return np.clip(scores, 0.0, 1.0)

    def predict(self, texts: Sequence[str]) -> list[list[tuple[int, float]]]:
        """For each text, every code with its score in [0, 1], highest first (ties: code order)."""
        scores = self.score_matrix(texts)
        results = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            results.append([(self.codes[j], float(row[j])) for j in order])
        return results

    def to_bytes(self) -> bytes:
        """The artefact: a zip of JSON, pickle-free `.npz` arrays and spaCy's bytes."""
        arrays = io.BytesIO()
        np.savez(
            arrays,
            word_idf=self.word.idf_.astype(np.float64),
            char_idf=self.char.idf_.astype(np.float64),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
        )
        tfidf = {
            "word": {k: int(v) for k, v in self.word.vocabulary_.items()},
            "char": {k: int(v) for k, v in self.char.vocabulary_.items()},
        }
        meta = {
            **self.meta,
            "format": FORMAT,
            "codes": self.codes,
            "spacy_weight": self.spacy_weight,
            "language": self.nlp.lang,
        }
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("meta.json", json.dumps(meta))
            archive.writestr("tfidf.json", json.dumps(tfidf))
            archive.writestr("arrays.npz", arrays.getvalue())
            archive.writestr("spacy.bin", self.nlp.to_bytes())
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Learner:
        """Load an artefact made by `to_bytes`; raises ValueError for anything else.

        Never unpickles: arrays load with `allow_pickle=False` (an object array is refused),
        the pipeline is rebuilt from our own config and only its weights are read.
        """
        if len(data) > _MAX_ARTEFACT_BYTES:
            raise ValueError("Suggester artefact is too large.")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if names != _MEMBERS:
                    raise ValueError(f"Unexpected members in suggester artefact: {sorted(names)}")
                meta = json.loads(archive.read("meta.json"))
                tfidf = json.loads(archive.read("tfidf.json"))
                raw_arrays = archive.read("arrays.npz")
                spacy_bytes = archive.read("spacy.bin")
        except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"Not a suggester artefact: {error}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("Not a suggester artefact of a known format.")
        codes = meta.get("codes")
        if not isinstance(codes, list) or not all(type(c) is int for c in codes):
            raise ValueError("Suggester artefact has no valid code list.")
        try:
            with np.load(io.BytesIO(raw_arrays), allow_pickle=False) as npz:
                if set(npz.files) != _ARRAYS:
                    raise ValueError("Unexpected arrays in suggester artefact.")
                arrays = {name: npz[name] for name in _ARRAYS}
        except (OSError, zipfile.BadZipFile) as error:
            raise ValueError(f"Unreadable arrays in suggester artefact: {error}") from None
        # (np.load raises ValueError itself for an object array: it would need pickle.)
        if any(a.dtype.kind != "f" for a in arrays.values()):
            raise ValueError("Suggester artefact arrays must be floating point.")
        word_vocab, char_vocab = _vocabulary(tfidf, "word"), _vocabulary(tfidf, "char")
        n_features = len(word_vocab) + len(char_vocab)
        coef, intercept = arrays["coef"], arrays["intercept"]
        if (
            arrays["word_idf"].shape != (len(word_vocab),)
            or arrays["char_idf"].shape != (len(char_vocab),)
            or coef.shape != (len(codes), n_features)
            or intercept.shape != (len(codes),)
        ):
            raise ValueError("Suggester artefact arrays do not fit its vocabularies.")
        word, char = _word_vectorizer(word_vocab), _char_vectorizer(char_vocab)
        word.idf_ = arrays["word_idf"]
        char.idf_ = arrays["char_idf"]
        language = meta.get("language", "xx")
        nlp = _textcat_pipeline(language if isinstance(language, str) else "xx", codes)
        try:
            nlp.from_bytes(spacy_bytes)
        except Exception as error:  # spaCy/srsly raise many types for malformed bytes
            raise ValueError(f"Unreadable spaCy model in suggester artefact: {error}") from None
        weight = meta.get("spacy_weight", SPACY_WEIGHT)
        if not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise ValueError("Suggester artefact has an invalid spaCy weight.")
        return cls(
            codes=codes,
            word=word,
            char=char,
            coef=coef.astype(np.float32),
            intercept=intercept.astype(np.float32),
            nlp=nlp,
            spacy_weight=float(weight),
            meta=meta,
        )


def _vocabulary(tfidf: object, key: str) -> dict[str, int]:
    vocab = tfidf.get(key) if isinstance(tfidf, dict) else None
    if not isinstance(vocab, dict) or not all(
        isinstance(k, str) and type(v) is int for k, v in vocab.items()
    ):
        raise ValueError(f"Suggester artefact has no valid {key} vocabulary.")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError(f"Suggester artefact's {key} vocabulary is not a dense index.")
    return vocab


def label_matrix(labels: Sequence[frozenset[int]], codes: Sequence[int]) -> NDArray[np.bool_]:
    """(passages, codes) truth: True where the passage carries the code (others ignored)."""
    column = {code: j for j, code in enumerate(codes)}
    matrix = np.zeros((len(labels), len(codes)), dtype=bool)
    for i, label_set in enumerate(labels):
        for code in label_set:
            if code in column:
                matrix[i, column[code]] = True
    return matrix


def _fit_linear(
    texts: list[str], y: NDArray[np.bool_], progress: Progress | None
) -> tuple[TfidfVectorizer, TfidfVectorizer, NDArray[np.float32], NDArray[np.float32]]:
    word, char = _word_vectorizer(), _char_vectorizer()
    features = normalize(sp.hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr())
    n_codes = y.shape[1]
    coef = np.zeros((n_codes, features.shape[1]), dtype=np.float32)
    intercept = np.zeros(n_codes, dtype=np.float32)
    for j in range(n_codes):
        positives = int(y[:, j].sum())
        if positives in (0, len(texts)):
            # Nothing to learn: a code never (or always) seen scores near 0 (or 1).
            intercept[j] = -8.0 if positives == 0 else 8.0
            continue
        model = LogisticRegression(C=LOGISTIC_C, solver="liblinear")
        model.fit(features, y[:, j])
        coef[j] = model.coef_[0]
        intercept[j] = model.intercept_[0]
        if progress and j % 10 == 0:
            progress(0.1 + 0.4 * j / n_codes, "Training the linear model")
    return word, char, coef, intercept


def _fit_spacy(
    texts: list[str],
    y: NDArray[np.bool_],
    codes: Sequence[int],
    language: str,
    seed: int,
    progress: Progress | None,
) -> tuple[Language, int]:
    nlp = _textcat_pipeline(language, codes)
    labels = [str(code) for code in codes]
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": dict(zip(labels, row, strict=True))})
        for text, row in zip(_nonempty(texts), y.astype(float).tolist(), strict=True)
    ]
    spacy.util.fix_random_seed(seed)
    optimizer = nlp.initialize(lambda: examples)
    epochs = max(MIN_EPOCHS, min(MAX_EPOCHS, EPOCH_BUDGET // max(len(examples), 1)))
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        order = rng.permutation(len(examples))
        for batch in minibatch([examples[i] for i in order], size=BATCH_SIZE):
            nlp.update(batch, drop=0.2, sgd=optimizer)
        if progress:
            progress(0.5 + 0.5 * (epoch + 1) / epochs, "Training the spaCy text classifier")
    return nlp, epochs


def train(
    data: TrainingSet,
    *,
    codes: Sequence[int],
    language: str = "en",
    seed: int = 0,
    progress: Progress | None = None,
    spacy_weight: float = SPACY_WEIGHT,
) -> Learner:
    """Train a Learner that scores each of `codes` (labels outside `codes` are ignored).

    Deterministic for a given `seed`. `spacy_weight` 0 skips spaCy (used by the benchmark).
    Raises ValueError without texts or codes.
    """
    codes = list(dict.fromkeys(codes))
    if not codes:
        raise ValueError("Training needs at least one code.")
    if not data.texts:
        raise ValueError("Training needs at least one passage.")
    started, cpu_started = time.perf_counter(), time.process_time()
    y = label_matrix(data.labels, codes)
    if progress:
        progress(0.0, "Lemmatising passages")
    lemmas = lemmatise(data.texts, language)
    seconds = {"lemmas": time.process_time() - cpu_started}
    linear_texts = list(data.texts) + (lemmas or [])
    linear_y = np.vstack([y, y]) if lemmas is not None else y
    word, char, coef, intercept = _fit_linear(linear_texts, linear_y, progress)
    seconds["linear"] = time.process_time() - cpu_started - seconds["lemmas"]
    epochs = 0
    if spacy_weight > 0:
        nlp, epochs = _fit_spacy(list(data.texts), y, codes, language, seed, progress)
    else:
        nlp = _textcat_pipeline(language, codes)
        nlp.initialize()
    seconds["spacy"] = time.process_time() - cpu_started - seconds["lemmas"] - seconds["linear"]
    meta = {
        "architecture": (
            "tfidf(word 1-2 + char_wb 2-5) one-vs-rest logistic regression"
            f"{' + lemma copies' if lemmas is not None else ''}"
            f", averaged with spaCy textcat_multilabel TextCatBOW.v3 (weight {spacy_weight})"
        ),
        "versions": {
            "spacy": spacy.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "n_passages": len(data.texts),
        "n_codes": len(codes),
        "n_positive": {str(code): int(n) for code, n in zip(codes, y.sum(axis=0), strict=True)},
        "spacy_epochs": epochs,
        "lemma_augmented": lemmas is not None,
        "seed": seed,
        "train_seconds": round(time.perf_counter() - started, 3),
        "train_cpu_seconds": round(time.process_time() - cpu_started, 3),
        "cpu_seconds_by_part": {part: round(s, 3) for part, s in seconds.items()},
    }
    if progress:
        progress(1.0, "Trained")
    return Learner(codes, word, char, coef, intercept, nlp, spacy_weight, meta)
