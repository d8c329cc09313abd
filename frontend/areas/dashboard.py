"""The manager dashboard (issue 5): theme × segment heatmap, the quotes behind a cell, a card per
theme, code frequencies, coverage and exports, for one segmentation snapshot.

Every number comes from `coding.analysis` (which hands the computing to `coding.stats`); this
module only chooses what to show and how. Guarantees:

* A cell is shown as a finding (full colour, bold, ★) only when it has enough evidence, its
  row's Benjamini–Hochberg q-value is below `FINDING_Q`, AND its adjusted residual is beyond
  ±`FINDING_RESIDUAL` — the segment itself drives the row's difference (a significant row does not
  make every segment in it different). Cells without enough evidence are hatched and never
  coloured; the rest are muted tints of the lift colour.
* The page's query count does not grow with themes, participants or excerpts (the coverage panel
  costs a few queries per segment of the snapshot).
* Charts are server-side SVG sized by attributes: no inline style or script, no CDN.
* The quotes route answers htmx with a fragment and a plain browser with a full page, so a cell is
  an ordinary link that works without JavaScript.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from coding import analysis, evidence, hypotheses, stats
from coding.models import Code
from frontend.views import AuthedRequest
from observations.models import Document
from research.models import Project, Segmentation
from research.permissions import access_project
from research.roles import Capability

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


# --- request parsing -----------------------------------------------------------------------------


@dataclass
class Choice:
    """What the filter form asks for, after validation; `errors` names what was ignored."""

    segmentation: Segmentation | None
    level: analysis.Level
    unit: str
    filters: analysis.Filters
    errors: list[str] = field(default_factory=list)

    def params(self) -> dict[str, str]:
        """The choice as query parameters, for links that keep it."""
        out: dict[str, str] = {}
        if self.segmentation is not None:
            out["snapshot"] = str(self.segmentation.pk)
        out["level"] = self.level
        out["unit"] = self.unit
        out.update(self.filters.as_params())
        return out


def _parse_date(raw: str, label: str, errors: list[str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{label}: “{raw}” is not a date (use YYYY-MM-DD); it was ignored.")
        return None


def parse_choice(project: Project, query: QueryDict, snapshots: list[Segmentation]) -> Choice:
    """Read the filter form. Bad values are reported and replaced by the default; a snapshot id
    that is not one of this project's is a 404 (exactly like another project's object)."""
    errors: list[str] = []
    segmentation = snapshots[0] if snapshots else None
    raw_snapshot = query.get("snapshot", "").strip()
    if raw_snapshot:
        by_id = {str(s.pk): s for s in snapshots}
        if not raw_snapshot.isdigit() or raw_snapshot not in by_id:
            raise Http404("No such snapshot in this project.")
        segmentation = by_id[raw_snapshot]
    level = query.get("level", "theme")
    if level not in analysis.LEVELS:
        errors.append(f"Level “{level}” is unknown; showing themes.")
        level = "theme"
    unit = query.get("unit", "participant")
    if unit not in analysis.UNITS:
        errors.append(f"Unit “{unit}” is unknown; counting participants.")
        unit = "participant"
    sources: set[str] = set()
    for raw in query.getlist("source"):
        for name in filter(None, (part.strip() for part in raw.split(","))):
            if name in analysis.SOURCES:
                sources.add(name)
            else:
                errors.append(f"Source type “{name}” is unknown; it was ignored.")
    date_from = _parse_date(query.get("date_from", ""), "From", errors)
    date_to = _parse_date(query.get("date_to", ""), "To", errors)
    if date_from and date_to and date_from > date_to:
        errors.append("The “from” date is after the “to” date; both were ignored.")
        date_from = date_to = None
    filters = analysis.Filters(
        sources=frozenset(sources),
        customer_speech_only=query.get("customer_speech", "") in ("1", "on", "true"),
        date_from=date_from,
        date_to=date_to,
    )
    return Choice(segmentation, level, unit, filters, errors)  # type: ignore[arg-type]


def _snapshots(project: Project) -> list[Segmentation]:
    """The project's snapshots, newest import first (the default is the first)."""
    return list(project.segmentations.order_by("-imported_at", "-version", "-pk"))


# --- formatting ---------------------------------------------------------------------------------


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


@login_required
@require_safe
def dashboard_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug, need=Capability.READ)
    project = access.project
    snapshots = _snapshots(project)
    choice = parse_choice(project, request.GET, snapshots)
    context: dict[str, Any] = {
        "project": project,
        "snapshots": snapshots,
        "choice": choice,
        "sources": Document.Kind.choices,
        "levels": LEVEL_LABELS.items(),
        "units": UNIT_LABELS.items(),
        "form_errors": choice.errors,
    }
    status = 400 if choice.errors else 200  # the page still renders, with the defaults used
    if choice.segmentation is None:
        return render(request, "frontend/dashboard/page.html", context, status=status)
    params = choice.params()
    dataset = analysis.gather(
        project=project,
        segmentation=choice.segmentation,
        level=choice.level,
        filters=choice.filters,
    )
    result = analysis.theme_segment(dataset, choice.unit)
    rows = heatmap_rows(dataset, result, slug, params)
    excerpt_bars, people_bars, legend = frequency_bars(dataset)
    context.update(
        {
            "dataset": dataset,
            "result": result,
            "rows": rows,
            "segments": [
                (name, result.segment_participants.get(name, 0)) for name in result.segments
            ],
            "findings": sum(1 for row in rows for cell in row.cells if cell.finding),
            "thin_cells": sum(1 for row in rows for cell in row.cells if not cell.enough),
            "cell_count": sum(len(row.cells) for row in rows),
            "min_participants": analysis.min_participants(),
            "finding_q": FINDING_Q,
            "cards": theme_cards(dataset, result, rows) if choice.level == "theme" else [],
            "excerpt_bars": excerpt_bars,
            "people_bars": people_bars,
            "segment_legend": [(name, i % SEGMENT_COLOURS) for i, name in enumerate(legend)],
            "coverage": evidence.coverage(
                project=project, segmentation=choice.segmentation, dataset=dataset
            ),
            "exports": export_links(access.can(Capability.EXPORT), slug, params),
        }
    )
    return render(request, "frontend/dashboard/page.html", context, status=status)


class BadQuery(Exception):
    """A malformed quotes request: answered with 400 and the message."""


def _quotes_target(project: Project, query: QueryDict, choice: Choice) -> tuple[int, str | None]:
    raw = query.get("code", "").strip()
    if not raw:
        raise BadQuery("Say which theme: the code parameter is missing.")
    if not raw.isdigit():
        raise BadQuery("The code parameter must be a number.")
    segment = query.get("segment")
    assert choice.segmentation is not None
    if segment is not None and segment not in set(
        choice.segmentation.segments.values_list("name", flat=True)
    ):
        raise Http404("No such segment in this snapshot.")
    return int(raw), segment


@login_required
@require_safe
def dashboard_quotes(request: AuthedRequest, slug: str) -> HttpResponse:
    """The quotes behind one cell (or a whole row without `segment`): a fragment for htmx, a
    page otherwise. Another project's code, or a code that is no row at this level, is a 404."""
    access = access_project(request.user, slug, need=Capability.READ)
    project = access.project
    snapshots = _snapshots(project)
    choice = parse_choice(project, request.GET, snapshots)
    template = f"frontend/dashboard/{'_quotes' if request.htmx else 'quotes'}.html"
    context: dict[str, Any] = {"project": project, "choice": choice, "error": ""}
    if choice.segmentation is None:
        context["error"] = "Import a segmentation snapshot first."
        return render(request, template, context, status=400)
    try:
        code, segment = _quotes_target(project, request.GET, choice)
    except BadQuery as error:
        context["error"] = str(error)
        return render(request, template, context, status=400)
    try:
        found = evidence.quotes(
            project=project,
            segmentation=choice.segmentation,
            code=code,
            segment=segment,
            level=choice.level,
            filters=choice.filters,
            limit=QUOTE_LIMIT,
        )
    except Code.DoesNotExist:
        raise Http404("No such theme in this project.") from None
    name = project.codes.values_list("name", flat=True).get(pk=code)
    kinds = dict(Document.Kind.choices)
    for quote in found["quotes"]:
        quote["source_label"] = kinds.get(quote["source"], quote["source"])
    params = choice.params()
    context.update(
        {
            "code": code,
            "code_name": name,
            "segment": segment,
            "total": found["total"],
            "quotes": found["quotes"],
            "limit": QUOTE_LIMIT,
            "back_url": f"{reverse('frontend:dashboard', args=[slug])}?{urlencode(params)}",
        }
    )
    return render(request, template, context)


urlpatterns = [
    path("p/<slug:slug>/dashboard/", dashboard_page, name="dashboard"),
    path("p/<slug:slug>/dashboard/quotes/", dashboard_quotes, name="dashboard-quotes"),
]
