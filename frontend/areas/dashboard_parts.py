"""What the manager dashboard shows (issue 5): the heatmap rows and cells with their colour,
emphasis and accessible labels, theme cards, code-frequency bars and export links. The rules for
a finding are in `frontend.areas.dashboard`'s module note; the views there render these."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from coding import analysis, evidence, hypotheses, stats
from coding.models import Code

FINDING_Q = 0.05
FINDING_RESIDUAL = 1.96  # two-sided 5% for an approximately standard normal residual


def is_finding(cell: stats.ThemeSegmentCell, significant: bool) -> bool:
    """See the module note: enough evidence, a significant row, a residual beyond ±1.96."""
    return (
        significant
        and cell.enough_evidence
        and cell.residual is not None
        and abs(cell.residual) >= FINDING_RESIDUAL
    )


QUOTE_LIMIT = 50
BEST_QUOTES = 3
LEVEL_LABELS = {"theme": "Themes", "code": "Codes"}
UNIT_LABELS = {"participant": "Participants", "excerpt": "Excerpts"}
TEST_LABELS = {"chi2": "χ² test", "fisher": "Fisher's exact test", "none": "no test"}
SEGMENT_COLOURS = 8  # dash-seg-0 … dash-seg-7 in verbatim.css; more segments repeat them

# Lift bins on a log2 scale, symmetric around 1: (upper bound of |log2 lift|, step). Steps map to a
# ColorBrewer PuOr ramp (purple above average, orange below), which is colour-blind safe and
# perceptually ordered; the neutral middle is light grey.
LIFT_STEPS = ((0.15, 0), (0.5, 1), (1.0, 2), (1.5, 3), (math.inf, 4))


def fmt_p(value: float | None) -> str:
    """A p- or q-value as a reader expects it: "< 0.001", else three significant figures."""
    if value is None:
        return "–"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.2g}" if value < 0.01 else f"{value:.3f}".rstrip("0").rstrip(".")


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def lift_step(lift: float | None) -> tuple[str, int]:
    """("up" | "down" | "flat", step 0–4) of a lift on the symmetric log2 scale."""
    if lift is None or lift <= 0:
        return ("down", 4) if lift == 0 else ("flat", 0)
    magnitude = abs(math.log2(lift))
    step = next(s for bound, s in LIFT_STEPS if magnitude < bound)
    if step == 0:
        return "flat", 0
    return ("up" if lift > 1 else "down"), step


def lift_words(lift: float | None) -> str:
    if lift is None:
        return "no one has this theme"
    if abs(lift - 1) < 0.05:
        return "about the same as all participants"
    return f"{lift:.1f}× the rate of all participants"


# --- the view model -----------------------------------------------------------------------------


@dataclass
class Cell:
    segment: str
    n: int
    size: int
    prevalence: str
    lift: str
    enough: bool
    finding: bool
    css: str
    label: str
    url: str


@dataclass
class Row:
    code: int
    name: str
    path: str
    test: str
    p: str
    q: str
    significant: bool
    cells: list[Cell]
    url: str


@dataclass
class Bar:
    """One horizontal bar: label, value and geometry in a 0–100 viewBox."""

    label: str
    value: str
    width: float
    low: float | None = None
    high: float | None = None
    enough: bool = True
    finding: bool = False
    text: str = ""
    parts: list[tuple[float, float, int]] = field(default_factory=list)  # (x, width, colour)


@dataclass
class ThemeCard:
    code: int
    name: str
    description: str
    inclusion_notes: str
    bars: list[Bar]
    quotes: list[dict[str, Any]]
    hypotheses: list[Any]
    quotes_url: str
    significant: bool


def _quotes_url(slug: str, params: dict[str, str], code: int, segment: str | None) -> str:
    query = {**params, "code": str(code)}
    if segment is not None:
        query["segment"] = segment
    return f"{reverse('frontend:dashboard-quotes', args=[slug])}?{urlencode(query)}"


def heatmap_rows(
    dataset: analysis.Dataset, result: stats.ThemeSegmentResult, slug: str, params: dict[str, str]
) -> list[Row]:
    """The heatmap, row by row, with each cell's colour class, emphasis and accessible label."""
    unit_word = "participants" if result.unit == "participant" else "excerpts"
    rows = []
    for r in result.rows:
        code = int(r.code)  # type: ignore[call-overload]
        significant = r.q_value is not None and r.q_value < FINDING_Q
        cells = []
        for c in r.cells:
            finding = is_finding(c, significant)
            direction, step = lift_step(c.lift)
            if not c.enough_evidence:
                css = "dash-cell--thin"
            else:
                css = f"dash-cell--{direction}{step}"
                css += " dash-cell--finding" if finding else " dash-cell--muted"
            share = f"{c.n} of {c.size} {unit_word} ({fmt_pct(c.prevalence)})"
            if not c.enough_evidence:
                verdict = "not enough evidence to compare"
            elif finding:
                verdict = f"finding: {lift_words(c.lift)}, beyond chance (q {fmt_p(r.q_value)})"
            elif significant:
                verdict = f"{lift_words(c.lift)}, within what chance allows for this segment"
            else:
                verdict = f"{lift_words(c.lift)}, not beyond chance"
            label = f"{dataset.names[code]} in {c.segment}: {share}; {verdict}. Show the quotes."
            cells.append(
                Cell(
                    segment=c.segment,
                    n=c.n,
                    size=c.size,
                    prevalence=fmt_pct(c.prevalence),
                    lift="–" if c.lift is None else f"{c.lift:.1f}×",
                    enough=c.enough_evidence,
                    finding=finding,
                    css=css,
                    label=label,
                    url=_quotes_url(slug, params, code, c.segment),
                )
            )
        rows.append(
            Row(
                code=code,
                name=dataset.names[code],
                path=dataset.paths[code],
                test=TEST_LABELS.get(r.test, r.test),
                p=fmt_p(r.p_value),
                q=fmt_p(r.q_value),
                significant=significant,
                cells=cells,
                url=_quotes_url(slug, params, code, None),
            )
        )
    return rows


def _prevalence_bars(row: stats.ThemeSegmentRow, significant: bool) -> list[Bar]:
    bars = []
    for c in row.cells:
        low = None if c.ci_low is None else c.ci_low * 100
        high = None if c.ci_high is None else c.ci_high * 100
        interval = ""
        if low is not None:
            interval = f", 95% interval {fmt_pct(c.ci_low)}–{fmt_pct(c.ci_high)}"
        bars.append(
            Bar(
                label=c.segment,
                value=f"{fmt_pct(c.prevalence)} ({c.n}/{c.size})",
                width=(c.prevalence or 0.0) * 100,
                low=low,
                high=high,
                enough=c.enough_evidence,
                finding=is_finding(c, significant),
                text=f"{c.segment}: {fmt_pct(c.prevalence)}{interval}"
                + ("" if c.enough_evidence else "; not enough evidence"),
            )
        )
    return bars


def theme_cards(
    dataset: analysis.Dataset,
    result: stats.ThemeSegmentResult,
    rows: list[Row],
) -> list[ThemeCard]:
    """A card per row: definition, prevalence by segment with Wilson whiskers, best quotes and
    the hypotheses about the theme or its codes. Five queries whatever the rows (plus the
    re-evaluation of hypotheses whose data changed)."""
    codes = {
        c.pk: c
        for c in Code.objects.filter(project=dataset.project, pk__in=dataset.rows).only(
            "id", "name", "description", "inclusion_notes"
        )
    }
    best = evidence.best_quotes_by_row(dataset, k=BEST_QUOTES)
    # A theme's card lists the hypotheses about the theme and about any of its codes.
    about: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for code_id, items in hypotheses.for_themes(dataset.project).items():
        if code_id in dataset.parents:
            about[dataset.row_of(code_id)].extend(items)
    cards = []
    for stat_row, row in zip(result.rows, rows, strict=True):
        code = codes.get(row.code)
        cards.append(
            ThemeCard(
                code=row.code,
                name=row.name,
                description=code.description if code else "",
                inclusion_notes=code.inclusion_notes if code else "",
                bars=_prevalence_bars(stat_row, row.significant),
                quotes=best.get(row.code, []),
                hypotheses=about.get(row.code, []),
                quotes_url=row.url,
                significant=row.significant,
            )
        )
    return cards


def frequency_bars(dataset: analysis.Dataset) -> tuple[list[Bar], list[Bar], list[str]]:
    """(excerpts per row, participants per row, segment legend): bars stacked by segment, over
    all evidence in the filtered documents (participants without a segment in a grey part)."""
    segment_index = {name: i for i, name in enumerate(dataset.segments)}
    no_segment = len(dataset.segments)
    excerpts: dict[int, Counter[int]] = defaultdict(Counter)
    people: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for e in dataset.evidence:
        if e.row == -1:
            continue
        seg = dataset.segment_of.get(e.participant or 0)
        part = segment_index.get(seg, no_segment) if seg is not None else no_segment
        excerpts[e.row][part] += 1
        if e.participant is not None:
            people[e.row][part].add(e.participant)

    def bars(counts: dict[int, Counter[int]], word: str) -> list[Bar]:
        totals = {row: sum(counts[row].values()) for row in dataset.rows}
        top = max(totals.values(), default=0) or 1
        out = []
        for row in dataset.rows:
            x = 0.0
            parts = []
            for part in range(no_segment + 1):
                width = counts[row][part] / top * 100
                if width:
                    parts.append((x, width, part if part < no_segment else -1))
                    x += width
            label = dataset.paths[row] if dataset.level == "code" else dataset.names[row]
            out.append(
                Bar(
                    label=label,
                    value=str(totals[row]),
                    width=totals[row] / top * 100,
                    parts=[(px, pw, -1 if c < 0 else c % SEGMENT_COLOURS) for px, pw, c in parts],
                    text=f"{label}: {totals[row]} {word}",
                )
            )
        return out

    people_counts = {
        row: Counter({part: len(ids) for part, ids in by_part.items()})
        for row, by_part in people.items()
    }
    return (
        bars(excerpts, "excerpts"),
        bars(defaultdict(Counter, people_counts), "participants"),
        dataset.segments,
    )


def export_links(
    access_can_export: bool, slug: str, params: dict[str, str]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(what, [(format, url)])]: the matrix with the current filters, and the project exports;
    empty for a role without the export capability (the API would refuse the files)."""
    if not access_can_export:
        return []
    api = reverse("api:project-detail", kwargs={"slug": slug})
    matrix = {k: v for k, v in params.items() if k != "snapshot"}
    if "snapshot" in params:
        matrix["segmentation"] = params["snapshot"]
    excerpts = reverse("api:export-excerpts", kwargs={"slug": slug})
    features = reverse("api:export-theme-features", kwargs={"slug": slug})
    return [
        (
            "This matrix, with the filters above",
            [
                (label, f"{api}analysis/theme-segment/?{urlencode({**matrix, 'format': fmt})}")
                for fmt, label in (("csv", "CSV"), ("xlsx", "XLSX"))
            ],
        ),
        (
            "Excerpts with participant attributes and code path",
            [("CSV", f"{excerpts}?format=csv"), ("XLSX", f"{excerpts}?format=xlsx")],
        ),
        (
            "Theme features: one row per participant by customer ref, one column per code",
            [("CSV", f"{features}?format=csv")],
        ),
    ]


# --- views --------------------------------------------------------------------------------------
