"""How good the learned suggester is, and where each code's decision threshold lies.

Cross-validation trains one model per fold and keeps its scores for the passages it did not
see (out-of-fold scores). From them:

- **Per-code thresholds.** On a small project the model's probabilities are small (the demo's
  median is about 0.05), so one global cut-off at 0.5 proposes nothing. Each code's threshold
  maximises F1 over its out-of-fold scores (`tune_threshold`); a code with fewer than
  `MIN_TUNE_POSITIVES` positives there keeps the global setting.
- **Honest figures.** A threshold tuned on some scores flatters F1 measured on the same scores.
  So fold k's passages are judged at a threshold tuned on the *other* folds' out-of-fold scores
  only, and the counts are pooled over folds (`evaluate_scores`). The threshold stored with the
  model is tuned on all out-of-fold scores; the figures describe the tuning procedure, not that
  exact cut-off (the usual nested-evaluation trade: slightly pessimistic, never optimistic).

Out-of-fold scores come from different fold models, so their scales differ a little; pooling
them is the standard compromise when there is no separate validation set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from coding.suggest.learner import Progress, TrainingSet, label_matrix, train

DEFAULT_THRESHOLD = 0.5
# Fewer positives than this leave too few points to place a cut-off: the global setting stands.
MIN_TUNE_POSITIVES = 3


@dataclass(frozen=True)
class Threshold:
    """A code's decision threshold: suggest when score >= `value`. `tuned` is False when it is
    the global fallback (too few positives to tune)."""

    value: float
    tuned: bool


@dataclass(frozen=True)
class CrossValidation:
    """Per-code figures (`precision`, `recall`, `f1`, `tp`, `fp`, `fn`, `support`) and the
    per-code thresholds to store with the model trained on all passages."""

    metrics: dict[int, dict[str, float]]
    thresholds: dict[int, Threshold]


def tune_threshold(
    scores: ArrayLike,
    truth: ArrayLike,
    *,
    fallback: float = DEFAULT_THRESHOLD,
    min_positives: int = MIN_TUNE_POSITIVES,
) -> Threshold:
    """The cut-off (suggest when score >= it) that maximises F1 of `scores` against `truth`.

    Ties go to the higher cut-off (fewer, surer suggestions). The value lies halfway between
    the lowest score it accepts and the next lower score, if any: every value in that gap gives
    the same F1 on these scores, and the middle leaves a margin both ways. With fewer than
    `min_positives` positives, `Threshold(fallback, tuned=False)`.
    """
    values = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(truth, dtype=bool).ravel()
    positives = int(labels.sum())
    if positives < max(1, min_positives):
        return Threshold(float(fallback), tuned=False)
    order = np.argsort(-values, kind="stable")
    ranked, hits = values[order], labels[order]
    tp = np.cumsum(hits)
    fp = np.cumsum(~hits)
    # A cut-off can only fall between distinct scores: the last index of each run of ties.
    ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
    # F1 = 2tp / (2tp + fp + fn) = 2tp / (tp + fp + positives): exact integers, one division,
    # so equal F1s compare equal and argmax's first hit is the highest cut-off.
    f1 = 2 * tp[ends] / (tp[ends] + fp[ends] + positives)
    end = int(ends[int(np.argmax(f1))])
    lowest = float(ranked[end])
    if end + 1 < len(ranked):
        return Threshold((lowest + float(ranked[end + 1])) / 2, tuned=True)
    return Threshold(lowest, tuned=True)


def _prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "tp": float(tp),
        "fp": float(fp),
        "fn": float(fn),
    }


def evaluate_scores(
    scores: NDArray[np.float64],
    truth: NDArray[np.bool_],
    fold: NDArray[np.int_],
    *,
    codes: Sequence[int],
    fallback: float = DEFAULT_THRESHOLD,
    min_positives: int = MIN_TUNE_POSITIVES,
) -> CrossValidation:
    """Figures and thresholds from out-of-fold `scores` (passages x codes; a row of NaN was
    never scored) against `truth`, passages assigned to folds by `fold`.

    Fold k is judged at a threshold tuned on the other folds' scored rows only (its own scores
    never choose its cut-off); tp/fp/fn are pooled over folds. The returned thresholds are tuned
    on every scored row. `support` counts each code's positives among all rows.
    """
    codes = list(codes)
    scored = ~np.isnan(scores).any(axis=1)
    tp, fp, fn = (np.zeros(len(codes)) for _ in range(3))
    for k in np.unique(fold[scored]):
        held = scored & (fold == k)
        rest = scored & (fold != k)
        for j in range(len(codes)):
            cut = tune_threshold(
                scores[rest, j], truth[rest, j], fallback=fallback, min_positives=min_positives
            ).value
            predicted, actual = scores[held, j] >= cut, truth[held, j]
            tp[j] += int((predicted & actual).sum())
            fp[j] += int((predicted & ~actual).sum())
            fn[j] += int((~predicted & actual).sum())
    metrics: dict[int, dict[str, float]] = {}
    thresholds: dict[int, Threshold] = {}
    for j, code in enumerate(codes):
        metrics[code] = _prf(tp[j], fp[j], fn[j]) | {"support": float(truth[:, j].sum())}
        thresholds[code] = tune_threshold(
            scores[scored, j], truth[scored, j], fallback=fallback, min_positives=min_positives
        )
    return CrossValidation(metrics, thresholds)


def fold_of(labels: Sequence[frozenset[int]], folds: int, seed: int) -> NDArray[np.int_]:
    """A fold per passage, stratified-ish: the passages of each code's group (keyed by their
    rarest code; negatives their own group) are dealt round-robin, so a code with at least
    `folds` positives has some in every fold."""
    counts: dict[int, int] = {}
    for label_set in labels:
        for code in label_set:
            counts[code] = counts.get(code, 0) + 1
    groups: dict[int | None, list[int]] = {}
    for i, label_set in enumerate(labels):
        key = min(label_set, key=lambda c: (counts[c], c)) if label_set else None
        groups.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=int)
    offset = 0
    for key in sorted(groups, key=lambda k: (k is None, k if k is not None else 0)):
        members = [groups[key][i] for i in rng.permutation(len(groups[key]))]
        for rank, i in enumerate(members):
            fold[i] = (offset + rank) % folds
        offset += len(members)  # continue the deal where the last group stopped
    return fold


def cross_validate(
    data: TrainingSet,
    *,
    codes: Sequence[int],
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
    language: str = "en",
    threshold: float = DEFAULT_THRESHOLD,
) -> CrossValidation:
    """Cross-validated precision, recall and F1 per code, and per-code thresholds.

    Trains a model per fold and keeps its scores on the held-out passages; `evaluate_scores`
    then judges each fold at a threshold tuned without that fold's scores (honest figures) and
    tunes the stored thresholds on all of them. `threshold` is the global fallback for codes
    with fewer than MIN_TUNE_POSITIVES positives. `support` counts the code's positive passages
    in `data` (small supports mean noisy figures: shown, not hidden); `tp`, `fp`, `fn` let
    `micro_average` sum them. Folds are capped by the number of passages; with fewer than 2
    passages every figure is 0 and every threshold the fallback. A figure is 0 when undefined.
    """
    codes = list(dict.fromkeys(codes))
    y = label_matrix(data.labels, codes)
    folds = min(folds, len(data.texts))
    scores = np.full((len(data.texts), len(codes)), np.nan)
    fold = np.zeros(len(data.texts), dtype=int)
    if folds >= 2:
        fold = fold_of(data.labels, folds, seed)
        for k in range(folds):
            held = np.flatnonzero(fold == k)
            kept = np.flatnonzero(fold != k)
            if not len(held) or not len(kept):
                continue

            def step(fraction: float, message: str, k: int = k) -> None:
                if progress:
                    progress((k + fraction) / folds, f"Fold {k + 1} of {folds}: {message}")

            learner = train(
                TrainingSet([data.texts[i] for i in kept], [data.labels[i] for i in kept]),
                codes=codes,
                language=language,
                seed=seed,
                progress=step,
            )
            scores[held] = learner.score_matrix([data.texts[i] for i in held])
    result = evaluate_scores(scores, y, fold, codes=codes, fallback=threshold)
    if progress:
        progress(1.0, "Cross-validated")
    return result


def micro_average(metrics: dict[int, dict[str, float]]) -> dict[str, float]:
    """Micro-averaged precision/recall/F1 (and total support) over `cross_validate`'s codes."""
    tp = sum(m["tp"] for m in metrics.values())
    fp = sum(m["fp"] for m in metrics.values())
    fn = sum(m["fn"] for m in metrics.values())
    return _prf(tp, fp, fn) | {"support": float(sum(m["support"] for m in metrics.values()))}
