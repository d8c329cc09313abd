"""Theme × segment and theme × metric statistics (issue 5); pure: plain data in, dataclasses out.

Design note (which test when, and why)
--------------------------------------
* Unit "participant" (default): a participant either has a theme or not. ``n`` counts participants
  with the theme in a segment, ``size`` the segment's participants, ``prevalence = n / size``.
  Participants are the universe of ``segment_of`` (participants without a segment are left out;
  a participant with a segment but no entry in ``presence`` has no themes).
* Unit "excerpt": ``n`` counts the theme's excerpts in a segment and ``size`` the segment's
  excerpts (all excerpts of its participants, each counted once however many themes it carries), so
  ``prevalence`` is the share of the segment's excerpts that carry the theme. Excerpts of one
  participant are not independent: excerpt-unit p-values are anti-conservative and are meant for
  exploration; the participant unit is the one to claim findings with.
* ``residual``: the cell's adjusted standardised residual (``adjusted_residual``): which
  segments drive a row's significant test. A cell is a finding only when its row is significant
  after BH, it has enough evidence, and ``|residual| >= 1.96`` — a significant row does not make
  every segment in it different from the rest.
* ``lift = prevalence / overall prevalence`` where the overall prevalence pools all segments
  (participants, or excerpts, with a segment). ``None`` when the theme never occurs.
* Wilson score interval (95 %) for each prevalence; it stays inside [0, 1] and behaves at 0 and n.
  For ``n == 0`` trials there is no interval: ``wilson_interval`` returns ``None``.
* Per row (theme) a 2 × k table has/hasn't × segment (segments with size 0 left out). Pearson's χ²
  WITHOUT continuity correction (``scipy.stats.chi2_contingency(table, correction=False)``), unless
  the table is 2 × 2 and an expected count is below 5: then Fisher's exact test, two-sided
  (``scipy.stats.fisher_exact``), whose ``statistic`` is the sample odds ratio (``None`` when it is
  infinite or undefined). A degenerate row — fewer than two non-empty segments, nobody or everybody
  has the theme — gets ``test == "none"`` and ``p_value is None``. A 2 × k table (k > 2) with
  small expected counts keeps χ² (scipy has no exact r × c test); its p-value is approximate there,
  which is one reason cells with small expected counts are flagged (next point).
* ``enough_evidence`` of a cell is False when the segment has fewer than ``min_cell`` participants
  (also in the excerpt unit: evidence comes from people, not from how much they talked), or when the
  theme's expected count in the cell (``size × overall prevalence``) is below ``min_expected``
  (default 1, Cochran's bound under which a cell cannot show a difference), or the row is
  degenerate.
  Such cells must never be presented as findings.
* Benjamini–Hochberg q-values across the rows that have a p-value (monotone step-up, capped at 1);
  equal to ``scipy.stats.false_discovery_control(p, method="bh")``.
* Numeric metric: participants with vs without the theme, missing values (None, NaN) excluded;
  medians; two-sided Mann–Whitney U exactly as ``scipy.stats.mannwhitneyu(x, y)`` by default
  (``method="auto"``: exact without ties for small samples, else normal approximation with
  continuity correction). Effect size is the rank-biserial correlation
  ``r = 1 - 2 U_without / (n_with n_without) = 2 U_with / (n_with n_without) - 1`` where
  ``U_with`` counts (with, without) pairs in which the with-theme value is higher (ties count ½):
  r > 0 means the theme group tends higher, r in [-1, 1]. Fewer than 2 on either side: "none".
* Categorical metric: χ² (or Fisher) of theme presence × category, as for segments.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

import numpy as np
from scipy import stats as sps
from scipy.stats.contingency import expected_freq

TestName = Literal["chi2", "fisher", "mann-whitney", "none"]
Unit = Literal["participant", "excerpt"]
P = TypeVar("P", bound=Hashable)  # participant id
T = TypeVar("T", bound=Hashable)  # theme (code) id

FISHER_EXPECTED_BELOW = 5.0


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for ``successes`` out of ``n``; ``None`` when ``n == 0``.

    Guaranteed ``0 <= low <= successes / n <= high <= 1``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return None
    z = float(sps.norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def bh_qvalues(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in input order, monotone and capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    # Step-up: walk from the largest p down, keeping the running minimum of p * m / rank.
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q


@dataclass(frozen=True)
class RowTest:
    """Outcome of the association test of one 2 × k table."""

    test: TestName
    statistic: float | None
    p_value: float | None


def contingency_test(table: Sequence[Sequence[float]]) -> RowTest:
    """χ² without correction, or two-sided Fisher for a 2 × 2 table with an expected count < 5.

    ``table`` is 2 × k (row 0: has the theme, row 1: hasn't). Columns with a zero total are
    dropped; a table left with fewer than 2 columns or a zero row gives ``test == "none"``.
    """
    arr = np.asarray(table, dtype=float)
    arr = arr[:, arr.sum(axis=0) > 0]
    if arr.shape[1] < 2 or (arr.sum(axis=1) == 0).any():
        return RowTest("none", None, None)
    if arr.shape == (2, 2) and (expected_freq(arr) < FISHER_EXPECTED_BELOW).any():
        res = sps.fisher_exact(arr.astype(np.int64), alternative="two-sided")
        odds = float(res.statistic)
        return RowTest("fisher", odds if math.isfinite(odds) else None, float(res.pvalue))
    chi = sps.chi2_contingency(arr, correction=False)
    return RowTest("chi2", float(chi.statistic), float(chi.pvalue))


def adjusted_residual(n: int, size: int, total_n: int, total_size: int) -> float | None:
    """Haberman's adjusted standardised residual of the "has the theme" cell of one segment:
    ``(n - E) / sqrt(E (1 - total_n / N) (1 - size / N))`` with ``E = size * total_n / N``.

    Approximately standard normal under independence, so ``|r| >= 1.96`` marks the segments
    that drive a significant row (Agresti, *Categorical Data Analysis*, 3rd ed., 2.4.5).
    ``None`` when undefined: an empty segment, a segment holding everyone, or a theme that
    nobody or everybody has.
    """
    if total_size == 0 or size == 0:
        return None
    expected = size * total_n / total_size
    variance = expected * (1 - total_n / total_size) * (1 - size / total_size)
    if variance <= 0:
        return None
    return (n - expected) / math.sqrt(variance)


# --- theme × segment -----------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeSegmentCell:
    """One theme × segment cell (field names as in API.md), with its row's test repeated."""

    code: Hashable
    segment: str
    n: int
    size: int
    prevalence: float | None
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    expected: float
    residual: float | None
    enough_evidence: bool
    test: TestName
    p_value: float | None
    q_value: float | None


@dataclass(frozen=True)
class ThemeSegmentRow:
    """One theme: totals over all segments, its test and its cells in segment order."""

    code: Hashable
    n: int
    size: int
    prevalence: float | None
    test: TestName
    statistic: float | None
    p_value: float | None
    q_value: float | None
    cells: list[ThemeSegmentCell]


@dataclass(frozen=True)
class ThemeSegmentResult:
    unit: Unit
    segments: list[str]
    segment_participants: dict[str, int]
    rows: list[ThemeSegmentRow]

    @property
    def cells(self) -> list[ThemeSegmentCell]:
        """All cells, row by row, segment by segment (the API's flat ``cells`` list)."""
        return [cell for row in self.rows for cell in row.cells]


def _segment_order(segment_of: Mapping[P, str], segments: Sequence[str] | None) -> list[str]:
    if segments is not None:
        return list(segments)
    return sorted(set(segment_of.values()))


def _build_result(
    *,
    unit: Unit,
    themes: Sequence[T],
    segments: list[str],
    n_of: Mapping[tuple[T, str], int],
    size_of: Mapping[str, int],
    people_of: Mapping[str, int],
    min_cell: int,
    min_expected: float,
) -> ThemeSegmentResult:
    total_size = sum(size_of[s] for s in segments)
    drafts: list[tuple[T, int, float | None, RowTest, list[int]]] = []
    for theme in themes:
        counts = [n_of.get((theme, s), 0) for s in segments]
        sizes = [size_of[s] for s in segments]
        for c, z in zip(counts, sizes, strict=True):
            if c > z:
                raise ValueError(f"theme {theme!r}: count {c} exceeds segment size {z}")
        total_n = sum(counts)
        overall = total_n / total_size if total_size else None
        table = [counts, [z - c for c, z in zip(counts, sizes, strict=True)]]
        drafts.append((theme, total_n, overall, contingency_test(table), counts))

    with_p = [i for i, d in enumerate(drafts) if d[3].p_value is not None]
    q_list = bh_qvalues([drafts[i][3].p_value or 0.0 for i in with_p])
    q_of = dict(zip(with_p, q_list, strict=True))

    rows: list[ThemeSegmentRow] = []
    for i, (theme, total_n, overall, rt, counts) in enumerate(drafts):
        q = q_of.get(i)
        cells: list[ThemeSegmentCell] = []
        for seg, c in zip(segments, counts, strict=True):
            size = size_of[seg]
            prevalence = c / size if size else None
            lift = prevalence / overall if prevalence is not None and overall else None
            ci = wilson_interval(c, size)
            expected = size * overall if overall is not None else 0.0
            residual = adjusted_residual(c, size, total_n, total_size)
            enough = (
                rt.test != "none" and people_of.get(seg, 0) >= min_cell and expected >= min_expected
            )
            cells.append(
                ThemeSegmentCell(
                    code=theme,
                    segment=seg,
                    n=c,
                    size=size,
                    prevalence=prevalence,
                    lift=lift,
                    ci_low=ci[0] if ci else None,
                    ci_high=ci[1] if ci else None,
                    expected=expected,
                    residual=residual,
                    enough_evidence=enough,
                    test=rt.test,
                    p_value=rt.p_value,
                    q_value=q,
                )
            )
        rows.append(
            ThemeSegmentRow(
                code=theme,
                n=total_n,
                size=total_size,
                prevalence=overall,
                test=rt.test,
                statistic=rt.statistic,
                p_value=rt.p_value,
                q_value=q,
                cells=cells,
            )
        )
    return ThemeSegmentResult(
        unit=unit, segments=segments, segment_participants=dict(people_of), rows=rows
    )


def _people_per_segment(segment_of: Mapping[P, str], segments: Sequence[str]) -> dict[str, int]:
    people = dict.fromkeys(segments, 0)
    for seg in segment_of.values():
        if seg in people:
            people[seg] += 1
    return people


def theme_segment_table(
    presence: Mapping[P, Iterable[T]],
    segment_of: Mapping[P, str],
    themes: Sequence[T],
    *,
    min_cell: int = 5,
    min_expected: float = 1.0,
    segments: Sequence[str] | None = None,
) -> ThemeSegmentResult:
    """Participant-unit theme × segment table (see the module note for every definition).

    ``segments`` fixes the column order (default: sorted names); participants whose segment is
    not in it are left out. Rows follow ``themes``; q-values are BH across rows with a p-value.
    """
    order = _segment_order(segment_of, segments)
    wanted = set(order)
    people = _people_per_segment(segment_of, order)
    n_of: dict[tuple[T, str], int] = {}
    for pid, seg in segment_of.items():
        if seg not in wanted:
            continue
        for theme in set(presence.get(pid, ())):
            n_of[(theme, seg)] = n_of.get((theme, seg), 0) + 1
    return _build_result(
        unit="participant",
        themes=themes,
        segments=order,
        n_of=n_of,
        size_of=people,
        people_of=people,
        min_cell=min_cell,
        min_expected=min_expected,
    )


def theme_segment_table_excerpts(
    counts: Mapping[tuple[P, T], int],
    excerpt_totals: Mapping[P, int],
    segment_of: Mapping[P, str],
    themes: Sequence[T],
    *,
    min_cell: int = 5,
    min_expected: float = 1.0,
    segments: Sequence[str] | None = None,
) -> ThemeSegmentResult:
    """Excerpt-unit theme × segment table.

    ``counts[(participant, theme)]`` is the number of the participant's excerpts carrying the theme;
    ``excerpt_totals[participant]`` the number of the participant's excerpts (each once, whatever
    its themes), so a segment's size is the sum over its participants and prevalence the share of
    its excerpts with the theme. ``min_cell`` still counts participants.
    """
    order = _segment_order(segment_of, segments)
    wanted = set(order)
    people = _people_per_segment(segment_of, order)
    size_of = dict.fromkeys(order, 0)
    for pid, seg in segment_of.items():
        if seg in wanted:
            size_of[seg] += int(excerpt_totals.get(pid, 0))
    n_of: dict[tuple[T, str], int] = {}
    for (pid, theme), k in counts.items():
        found = segment_of.get(pid)
        if found is None or found not in wanted:
            continue
        seg = found
        if k > excerpt_totals.get(pid, 0):
            raise ValueError(f"participant {pid!r}: more {theme!r} excerpts than excerpts")
        n_of[(theme, seg)] = n_of.get((theme, seg), 0) + int(k)
    return _build_result(
        unit="excerpt",
        themes=themes,
        segments=order,
        n_of=n_of,
        size_of=size_of,
        people_of=people,
        min_cell=min_cell,
        min_expected=min_expected,
    )


# --- theme × metric ------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeMetricRow:
    """One theme against a metric (field names as in API.md)."""

    code: Hashable
    n_with: int
    n_without: int
    median_with: float | None
    median_without: float | None
    test: TestName
    statistic: float | None
    p_value: float | None
    q_value: float | None
    effect_size: float | None


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """``(U_x, p, r)``: U of ``x`` (pairs with x higher, ties ½), scipy's default two-sided p,
    rank-biserial r = 2 U_x / (n_x n_y) - 1 (positive when ``x`` tends higher)."""
    n1, n2 = len(x), len(y)
    ranks = sps.rankdata(np.concatenate([np.asarray(x, float), np.asarray(y, float)]))
    u_x = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    p = float(sps.mannwhitneyu(x, y).pvalue)
    return u_x, p, 2 * u_x / (n1 * n2) - 1


def theme_metric_table(
    presence: Mapping[P, Iterable[T]],
    metric: Mapping[P, float | str | None],
    themes: Sequence[T],
    *,
    kind: Literal["numeric", "categorical"],
) -> list[ThemeMetricRow]:
    """Per theme: participants with vs without it, compared on ``metric``.

    Participants are the keys of ``metric`` with a non-missing value (numeric values must convert
    with ``float()``, else ValueError). Numeric: medians and
    Mann–Whitney (see module note). Categorical: χ²/Fisher of presence × category, medians and
    effect size ``None``. BH q-values across rows with a p-value.
    """
    values: dict[P, float | str] = {
        pid: v for pid, v in metric.items() if v is not None and not _is_missing(v)
    }
    sets = {pid: set(presence.get(pid, ())) for pid in values}
    drafts: list[ThemeMetricRow] = []
    for theme in themes:
        with_ids = [pid for pid in values if theme in sets[pid]]
        without_ids = [pid for pid in values if theme not in sets[pid]]
        n1, n2 = len(with_ids), len(without_ids)
        if kind == "numeric":
            x = [float(values[p]) for p in with_ids]
            y = [float(values[p]) for p in without_ids]
            med_x = float(np.median(x)) if x else None
            med_y = float(np.median(y)) if y else None
            if n1 < 2 or n2 < 2:
                rt, effect = RowTest("none", None, None), None
            else:
                u_x, p, effect = mann_whitney(x, y)
                rt = RowTest("mann-whitney", u_x, p)
        else:
            cats = sorted({str(v) for v in values.values()})
            table = [
                [sum(1 for p in with_ids if str(values[p]) == c) for c in cats],
                [sum(1 for p in without_ids if str(values[p]) == c) for c in cats],
            ]
            rt, effect, med_x, med_y = contingency_test(table), None, None, None
        drafts.append(
            ThemeMetricRow(
                code=theme,
                n_with=n1,
                n_without=n2,
                median_with=med_x,
                median_without=med_y,
                test=rt.test,
                statistic=rt.statistic,
                p_value=rt.p_value,
                q_value=None,
                effect_size=effect,
            )
        )
    with_p = [i for i, r in enumerate(drafts) if r.p_value is not None]
    q_list = bh_qvalues([drafts[i].p_value or 0.0 for i in with_p])
    q_of = dict(zip(with_p, q_list, strict=True))
    return [replace(row, q_value=q_of.get(i)) for i, row in enumerate(drafts)]
