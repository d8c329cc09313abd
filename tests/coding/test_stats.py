"""coding.stats proven against independent pandas/scipy computations on the same data (1e-9)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps
from hypothesis import given, settings
from hypothesis import strategies as st

from coding.stats import (
    adjusted_residual,
    bh_qvalues,
    contingency_test,
    theme_metric_table,
    theme_segment_table,
    theme_segment_table_excerpts,
    wilson_interval,
)

TOL = 1e-9
THEMES = ["t0", "t1", "t2", "t3", "t4"]


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


def ref_wilson(k: int, n: int) -> tuple[float, float]:
    # Closed form written differently from the module: (2np + z² ± z·sqrt(z² + 4np(1-p))) / 2(n+z²).
    z = 1.959963984540054
    p = k / n
    root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    return (2 * n * p + z * z - root) / (2 * (n + z * z)), (2 * n * p + z * z + root) / (
        2 * (n + z * z)
    )


def ref_test(table: pd.DataFrame) -> tuple[str, float | None]:
    """Spec of the row test on a has/hasn't × column crosstab, straight from scipy."""
    table = table.reindex([True, False], fill_value=0)
    table = table.loc[:, table.sum(axis=0) > 0]
    arr = table.to_numpy()
    if arr.shape[1] < 2 or (arr.sum(axis=1) == 0).any():
        return "none", None
    expected = np.outer(arr.sum(axis=1), arr.sum(axis=0)) / arr.sum()
    if arr.shape == (2, 2) and expected.min() < 5:
        return "fisher", float(sps.fisher_exact(arr).pvalue)
    return "chi2", float(sps.chi2_contingency(arr, correction=False).pvalue)


def ref_q(ps: list[float]) -> list[float]:
    return list(sps.false_discovery_control(ps, method="bh")) if ps else []


@st.composite
def datasets(draw: st.DrawFn) -> tuple[dict, dict]:
    n = draw(st.integers(20, 200))
    k = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rates = [draw(st.sampled_from([0.0, 0.03, 0.2, 0.5, 0.9, 1.0])) for _ in THEMES]
    segment_of = {f"p{i}": f"seg{rng.integers(k)}" for i in range(n)}
    presence = {
        pid: {t for t, r in zip(THEMES, rates, strict=True) if rng.random() < r}
        for pid in segment_of
    }
    return presence, segment_of


@settings(max_examples=100, deadline=None)
@given(datasets())
def test_theme_segment_numbers_equal_pandas_scipy_when_random_participants(data):
    presence, segment_of = data
    result = theme_segment_table(presence, segment_of, THEMES)
    df = pd.DataFrame({"pid": list(segment_of), "segment": list(segment_of.values())})
    size = df.groupby("segment").size()
    assert result.segments == sorted(size.index)
    ps, rows_with_p = [], []
    for row in result.rows:
        df["has"] = [row.code in presence[p] for p in df["pid"]]
        table = pd.crosstab(df["has"], df["segment"])
        test, p = ref_test(table)
        assert row.test == test
        assert close(row.p_value, p)
        if p is not None:
            ps.append(p)
            rows_with_p.append(row)
        overall = df["has"].mean()
        n_by_seg = df.groupby("segment")["has"].sum()
        for cell in row.cells:
            n = int(n_by_seg[cell.segment])
            assert cell.n == n
            assert cell.size == int(size[cell.segment])
            assert close(cell.prevalence, n / size[cell.segment])
            assert close(cell.lift, (n / size[cell.segment]) / overall if overall else None)
            low, high = ref_wilson(n, int(size[cell.segment]))
            assert close(cell.ci_low, low)
            assert close(cell.ci_high, high)
            expected_count = size[cell.segment] * overall
            assert cell.enough_evidence == (
                test != "none" and size[cell.segment] >= 5 and expected_count >= 1
            )
            assert (cell.test, cell.p_value) == (row.test, row.p_value)
    for row, q in zip(rows_with_p, ref_q(ps), strict=True):
        assert close(row.q_value, q)
        assert all(cell.q_value == row.q_value for cell in row.cells)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.integers(0, 2**32 - 1))
def test_theme_segment_excerpt_unit_equals_pandas_scipy_when_random_excerpts(data, seed):
    presence, segment_of = data
    rng = np.random.default_rng(seed)
    totals = {pid: int(rng.integers(0, 9)) for pid in segment_of}
    counts = {
        (pid, t): int(rng.integers(0, totals[pid] + 1))
        for pid in segment_of
        for t in THEMES
        if t in presence[pid]
    }
    result = theme_segment_table_excerpts(counts, totals, segment_of, THEMES)
    df = pd.DataFrame(
        {"pid": list(segment_of), "segment": list(segment_of.values()), "total": totals.values()}
    )
    size = df.groupby("segment")["total"].sum()
    people = df.groupby("segment").size()
    ps, rows_with_p = [], []
    for row in result.rows:
        df["k"] = [counts.get((p, str(row.code)), 0) for p in df["pid"]]
        n_by_seg = df.groupby("segment")["k"].sum()
        table = pd.DataFrame([n_by_seg, size - n_by_seg], index=[True, False])
        test, p = ref_test(table)
        assert row.test == test
        assert close(row.p_value, p)
        if p is not None:
            ps.append(p)
            rows_with_p.append(row)
        overall = df["k"].sum() / df["total"].sum() if df["total"].sum() else None
        for cell in row.cells:
            n, z = int(n_by_seg[cell.segment]), int(size[cell.segment])
            assert (cell.n, cell.size) == (n, z)
            assert close(cell.prevalence, n / z if z else None)
            assert close(cell.lift, n / z / overall if z and overall else None)
            if z:
                assert close(cell.ci_low, ref_wilson(n, z)[0])
            expected_count = z * overall if overall is not None else 0.0
            assert cell.enough_evidence == (
                test != "none" and people[cell.segment] >= 5 and expected_count >= 1
            )
    for row, q in zip(rows_with_p, ref_q(ps), strict=True):
        assert close(row.q_value, q)


@settings(max_examples=100, deadline=None)
@given(datasets(), st.integers(0, 2**32 - 1))
def test_theme_metric_numeric_equals_pandas_scipy_when_random_metric_with_ties(data, seed):
    presence, segment_of = data
    rng = np.random.default_rng(seed)
    metric: dict[str, float | str | None] = {
        pid: (None if rng.random() < 0.15 else float(rng.integers(0, 8))) for pid in segment_of
    }
    rows = theme_metric_table(presence, metric, THEMES, kind="numeric")
    s = pd.Series(metric, dtype=float).dropna()
    ps, rows_with_p = [], []
    for row in rows:
        has = pd.Series({p: row.code in presence[p] for p in s.index})
        x, y = s[has], s[~has]
        assert (row.n_with, row.n_without) == (len(x), len(y))
        assert close(row.median_with, float(x.median()) if len(x) else None)
        assert close(row.median_without, float(y.median()) if len(y) else None)
        if len(x) < 2 or len(y) < 2:
            assert (row.test, row.p_value, row.effect_size) == ("none", None, None)
            continue
        ref = sps.mannwhitneyu(x.to_numpy(), y.to_numpy())
        u_without = sps.mannwhitneyu(y.to_numpy(), x.to_numpy()).statistic
        assert row.test == "mann-whitney"
        assert close(row.statistic, float(ref.statistic))
        assert close(row.p_value, float(ref.pvalue))
        assert close(row.effect_size, 1 - 2 * u_without / (len(x) * len(y)))
        ps.append(float(ref.pvalue))
        rows_with_p.append(row)
    for row, q in zip(rows_with_p, ref_q(ps), strict=True):
        assert close(row.q_value, q)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.integers(0, 2**32 - 1), st.integers(2, 4))
def test_theme_metric_categorical_equals_crosstab_scipy_when_random_categories(data, seed, k):
    presence, segment_of = data
    rng = np.random.default_rng(seed)
    metric: dict[str, float | str | None] = {
        pid: (None if rng.random() < 0.1 else f"c{rng.integers(k)}") for pid in segment_of
    }
    rows = theme_metric_table(presence, metric, THEMES, kind="categorical")
    s = pd.Series(metric).dropna()
    ps, rows_with_p = [], []
    for row in rows:
        has = pd.Series({p: row.code in presence[p] for p in s.index})
        test, p = ref_test(pd.crosstab(has, s))
        assert (row.test, row.n_with, row.n_without) == (test, int(has.sum()), int((~has).sum()))
        assert close(row.p_value, p)
        if p is not None:
            ps.append(p)
            rows_with_p.append(row)
    for row, q in zip(rows_with_p, ref_q(ps), strict=True):
        assert close(row.q_value, q)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40))
def test_bh_qvalues_equal_scipy_false_discovery_control_when_random_p(ps):
    assert np.allclose(bh_qvalues(ps), sps.false_discovery_control(ps, method="bh"), 0, TOL)


def test_bh_qvalues_are_monotone_and_capped_when_worked_example():
    ps = [0.01, 0.04, 0.03, 0.005, 0.9]
    # Ranked: .005 .01 .03 .04 .9 -> .025 .025 .05 .05 .9 (step-up min), back in input order.
    assert bh_qvalues(ps) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.9], abs=TOL)
    assert bh_qvalues([1.0, 1.0]) == [1.0, 1.0]


def test_wilson_interval_matches_newcombe_when_textbook_example():
    # Newcombe (1998), Stat Med 17:857, method 3: 81/263 -> 0.2553 to 0.3662; 0/10 -> 0 to 0.2775.
    low, high = wilson_interval(81, 263) or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = wilson_interval(0, 10) or (1, 1)
    assert (low, round(high, 4)) == (0.0, 0.2775)
    assert wilson_interval(0, 0) is None


def test_row_uses_fisher_when_2x2_has_expected_count_below_5():
    presence = {f"a{i}": {"t"} for i in range(3)} | {f"b{i}": set() for i in range(10)}
    presence |= {f"a{i}": set() for i in range(3, 8)} | {"b10": {"t"}}
    segment_of = {p: p[0] for p in presence}
    row = theme_segment_table(presence, segment_of, ["t"]).rows[0]
    assert row.test == "fisher"
    assert row.p_value == pytest.approx(sps.fisher_exact([[3, 1], [5, 10]]).pvalue, abs=TOL)
    assert row.statistic == pytest.approx(6.0)


def test_row_is_none_when_everybody_or_nobody_has_the_theme():
    segment_of = {f"p{i}": "AB"[i % 2] for i in range(20)}
    presence = {p: {"all"} for p in segment_of}
    result = theme_segment_table(presence, segment_of, ["all", "never"], min_cell=1)
    for row in result.rows:
        assert (row.test, row.p_value, row.q_value) == ("none", None, None)
        assert not any(cell.enough_evidence for cell in row.cells)
    assert result.rows[1].cells[0].lift is None
    assert result.rows[0].cells[0].lift == 1.0


def test_chi2_is_uncorrected_when_2x2_with_large_counts():
    table = [[30, 10], [20, 40]]
    rt = contingency_test(table)
    plain = sps.chi2_contingency(table, correction=False)
    yates = sps.chi2_contingency(table, correction=True)
    assert rt.test == "chi2"
    assert rt.statistic == pytest.approx(plain.statistic, abs=TOL)
    assert rt.p_value == pytest.approx(plain.pvalue, abs=TOL)
    assert not math.isclose(plain.pvalue, yates.pvalue)


def test_mann_whitney_equals_scipy_default_when_ties():
    presence = {f"w{i}": {"t"} for i in range(6)} | {f"o{i}": set() for i in range(7)}
    values = [3, 3, 5, 5, 7, 8, 1, 2, 3, 3, 4, 5, 5]
    metric: dict[str, float | str | None] = dict(zip(presence, map(float, values), strict=True))
    row = theme_metric_table(presence, metric, ["t"], kind="numeric")[0]
    ref = sps.mannwhitneyu(values[:6], values[6:])
    assert row.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert row.statistic == pytest.approx(ref.statistic, abs=TOL)
    assert (row.median_with, row.median_without) == (5.0, 3.0)
    assert row.effect_size is not None
    assert row.effect_size > 0  # the theme group tends higher


def test_rank_biserial_is_minus_one_when_theme_group_all_lower():
    presence = {f"w{i}": {"t"} for i in range(3)} | {f"o{i}": set() for i in range(3)}
    metric: dict[str, float | str | None] = dict(
        zip(presence, [1.0, 2.0, 3.0, 10.0, 11.0, None], strict=True)
    )
    row = theme_metric_table(presence, metric, ["t"], kind="numeric")[0]
    assert (row.n_with, row.n_without, row.effect_size) == (3, 2, -1.0)


def test_metric_row_is_none_when_fewer_than_two_on_a_side():
    presence = {"a": {"t"}, "b": set(), "c": set()}
    metric: dict[str, float | str | None] = {"a": 1.0, "b": 2.0, "c": 3.0}
    row = theme_metric_table(presence, metric, ["t"], kind="numeric")[0]
    assert (row.test, row.p_value, row.q_value, row.median_with) == ("none", None, None, 1.0)


def test_mann_whitney_uses_scipy_exact_p_when_small_samples_without_ties():
    presence = {f"w{i}": {"t"} for i in range(3)} | {f"o{i}": set() for i in range(4)}
    values = [1.5, 2.5, 9.0, 3.0, 4.0, 5.0, 6.0]
    metric: dict[str, float | str | None] = dict(zip(presence, values, strict=True))
    row = theme_metric_table(presence, metric, ["t"], kind="numeric")[0]
    exact = sps.mannwhitneyu(values[:3], values[3:], method="exact")
    assert row.p_value == pytest.approx(exact.pvalue, abs=TOL)
    assert row.effect_size == pytest.approx(2 * 4 / 12 - 1, abs=TOL)


def test_cell_lacks_evidence_when_segment_smaller_than_min_cell():
    segment_of = {f"p{i}": "big" for i in range(30)} | {f"s{i}": "small" for i in range(4)}
    presence = {p: ({"t"} if i % 2 else set()) for i, p in enumerate(segment_of)}
    result = theme_segment_table(presence, segment_of, ["t"])
    by_segment = {cell.segment: cell for cell in result.cells}
    assert by_segment["big"].enough_evidence
    assert not by_segment["small"].enough_evidence
    assert result.segment_participants == {"big": 30, "small": 4}


def test_excerpt_table_rejects_counts_when_more_theme_excerpts_than_excerpts():
    with pytest.raises(ValueError, match="more"):
        theme_segment_table_excerpts({("p", "t"): 3}, {"p": 2}, {"p": "A"}, ["t"])


@given(
    counts=st.lists(st.integers(0, 30), min_size=2, max_size=5),
    extra=st.lists(st.integers(0, 30), min_size=5, max_size=5),
)
@settings(max_examples=60, deadline=None)
def test_adjusted_residuals_equal_the_numpy_formula_and_square_to_chi2_when_2x2(counts, extra):
    sizes = [c + e for c, e in zip(counts, extra, strict=False)]
    if sum(counts) in (0, sum(sizes)) or sum(1 for z in sizes if z) < 2:
        return
    table = np.array([counts, [z - c for c, z in zip(counts, sizes, strict=True)]], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    expected = sps.contingency.expected_freq(table)
    total = table.sum()
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    want = (table[0] - expected[0]) / np.sqrt(
        expected[0] * (1 - rows[0] / total) * (1 - cols / total)
    )
    got = [
        adjusted_residual(c, z, sum(counts), sum(sizes))
        for c, z in zip(counts, sizes, strict=True)
        if z
    ]
    assert got == pytest.approx(list(want), abs=1e-9)
    if table.shape[1] == 2:  # Haberman: in a 2 × 2 table r² is Pearson's χ² (no correction)
        chi2 = sps.chi2_contingency(table, correction=False).statistic
        assert got[0] is not None
        assert got[0] ** 2 == pytest.approx(chi2, abs=1e-9)


def test_cell_residual_is_none_when_nobody_has_the_theme():
    result = theme_segment_table({}, {1: "A", 2: "B"}, ["t"], min_cell=1)
    assert [c.residual for c in result.cells] == [None, None]
