"""Agreement metrics over binary unit vectors that carry weights (pure; no ORM).

A unit matrix is ``values`` (coders × units, bool) with ``weights`` (units, int): a unit of
weight w stands for w identical units (a run of w characters), so every figure equals the one the
reference libraries give on the expanded vectors. Counts are summed as Python integers and each
figure is one division at the end, so nothing is lost to rounding on large projects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BoolMatrix = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

NO_UNITS = "no units to compare"
TWO_CODERS = "Cohen's kappa compares exactly two coders"
ONE_CATEGORY_KAPPA = (
    "both coders gave every unit the same single value: chance agreement is 1 and kappa is "
    "undefined (scikit-learn returns nan)"
)
ONE_CATEGORY_ALPHA = (
    "every unit got the same value from every coder: expected disagreement is 0 and alpha is "
    "undefined (the krippendorff package refuses a one-value domain)"
)


@dataclass(frozen=True)
class Agreement:
    """Percent agreement (0–100), Cohen's kappa and Krippendorff's alpha (nominal).

    A figure that is undefined is None, with the reason in ``notes`` (keyed by figure name).
    ``units`` is the number of units (characters or sentences) compared; ``coded`` how many of
    them at least one coder marked.
    """

    percent: float | None
    cohen_kappa: float | None
    krippendorff_alpha: float | None
    units: int
    coded: int
    notes: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {
            "percent": self.percent,
            "cohen_kappa": self.cohen_kappa,
            "krippendorff_alpha": self.krippendorff_alpha,
            "units": self.units,
            "coded": self.coded,
            "notes": self.notes,
        }


def agreement(values: BoolMatrix, weights: IntArray) -> Agreement:
    """All three figures of a coders × units matrix (at least two coders).

    Percent: the share of units on which every coder gave the same value. Kappa (two coders
    only): chance agreement from each coder's own marginals, as scikit-learn's
    ``cohen_kappa_score``. Alpha (nominal, any number of coders, no missing values): chance from
    the pooled values, as the ``krippendorff`` package.
    """
    coders = values.shape[0]
    if coders < 2:
        raise ValueError("agreement needs at least two coders")
    weights = np.asarray(weights, dtype=np.int64)
    total = int(weights.sum())
    ones = values.sum(axis=0).astype(np.int64)  # per unit: how many coders marked it
    coded = int(weights[ones > 0].sum())
    notes: dict[str, str] = {}
    if total == 0:
        notes = {"percent": NO_UNITS, "cohen_kappa": NO_UNITS, "krippendorff_alpha": NO_UNITS}
        if coders != 2:
            notes["cohen_kappa"] = TWO_CODERS
        return Agreement(None, None, None, 0, 0, notes)
    unanimous = (ones == 0) | (ones == coders)
    percent = 100.0 * int(weights[unanimous].sum()) / total
    kappa: float | None = None
    if coders == 2:
        kappa = _kappa(values[0], values[1], weights, total)
        if kappa is None:
            notes["cohen_kappa"] = ONE_CATEGORY_KAPPA
    else:
        notes["cohen_kappa"] = TWO_CODERS
    alpha = _alpha(ones, weights, coders, total)
    if alpha is None:
        notes["krippendorff_alpha"] = ONE_CATEGORY_ALPHA
    return Agreement(percent, kappa, alpha, total, coded, notes)


def _kappa(a: BoolMatrix, b: BoolMatrix, weights: IntArray, total: int) -> float | None:
    # 1 - observed disagreement / expected disagreement, the expectation from the product of
    # each coder's OWN marginals (a tool pooling them here computes Scott's pi, not kappa).
    disagree = int(weights[a != b].sum())
    a1, b1 = int(weights[a].sum()), int(weights[b].sum())
    a0, b0 = total - a1, total - b1
    expected = a1 * b0 + a0 * b1  # × 1/total, cancelled below
    if expected == 0:
        return None
    return 1.0 - disagree * total / expected


def _alpha(ones: IntArray, weights: IntArray, coders: int, total: int) -> float | None:
    # Nominal alpha with every unit coded by all m coders: n = m·N pairable values; observed
    # disagreeing pairs per unit k(m-k)/(m-1); expected from the POOLED value counts n0·n1/(n-1).
    n = coders * total
    n1 = int((weights * ones).sum())
    n0 = n - n1
    if n0 == 0 or n1 == 0:
        return None
    disagreeing = int((weights * ones * (coders - ones)).sum())
    return 1.0 - (n - 1) * disagreeing / ((coders - 1) * n0 * n1)


def clean(value: float | None) -> float | None:
    """A figure fit for JSON: None for None or nan."""
    if value is None or value != value:
        return None
    return float(value)
