"""Code co-occurrence (issue 7): which codes meet, counted by the database.

Design note
-----------
Three ways for two codes to meet (``by``):

* ``overlap`` — a *pair* of excerpts, one of each code, in the same document whose character
  ranges ``[start, end)`` overlap (ranges that only touch, ``[0, 5)`` and ``[5, 9)``, do not).
  An excerpt of A overlapping three excerpts of B counts three.
* ``sentence`` — a sentence of ``observations.Sentence`` touched (overlapped) by at least one
  excerpt of each code. Documents the ingest has not split into sentences add nothing.
* ``participant`` — a participant with at least one excerpt of each code, by the evidence rule of
  `coding.analysis` (whose words an excerpt is: the speaker turn its start falls in, else the
  field note's participant, else the document's). Excerpts attributed to nobody add nothing.

**Diagonal.** A code's own cell holds its count in the same unit: its excerpts (``overlap``),
the sentences its excerpts touch (``sentence``), the participants with it (``participant``). The
same number is the code's ``count`` in the list of codes.

**Pairs once.** The matrix is symmetric; each unordered pair of codes is one cell, listed with
``code_a`` before ``code_b`` in codebook order. Every diagonal cell is listed; an off-diagonal
pair that never meets is left out (its count is 0). Excerpts of one code (or, at level
``theme``, of one theme) never meet themselves.

**Coefficient: the Jaccard index** of the two codes' units, in [0, 1]. For ``sentence`` and
``participant`` it is n12 / (n1 + n2 − n12), the c-coefficient ATLAS.ti reports. For ``overlap``
that formula on *pair* counts can exceed 1 (one long excerpt overlapping several), so the units
are excerpts: of the excerpts of A or B, the share that overlap an excerpt of the other code —
the Jaccard index of "excerpts touching A" and "excerpts touching B". Diagonal: 1 (0 units: null).

**Levels and filters** as in `coding.analysis`: at ``theme`` an excerpt counts for the top-level
code at the root of its code; archived codes give no rows (an archived child still counts for its
live theme). ``source`` and dates filter documents (`filtered_documents`), ``customer_speech``
keeps customer speech only, ``coders`` keeps those coders' excerpts. Coders are not matched:
coder X's excerpt of A overlapping coder Y's of B is a meeting; filter by coder to see one coder's.

**Computed by the database.** One SQL statement per matrix: a recursive CTE maps codes to rows,
the excerpts (an ORM query, compiled with its parameters) are joined to it, and the aggregate is a
self-join grouped by pair of rows. The same SQL runs on PostgreSQL and SQLite; no user input is
formatted into it (only fixed table and column names and the ORM's compiled SQL, whose values
stay bound parameters: hence the S608 waivers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, When
from django.db.models.functions import Coalesce

from coding.analysis import Filters, Level, annotated_excerpts, code_tree
from coding.models import Code
from observations.models import Document, FieldNote, Sentence
from research.models import Project

By = Literal["overlap", "sentence", "participant"]
BYS: tuple[str, ...] = ("overlap", "sentence", "participant")
COEFFICIENT = "jaccard"
CONTEXT_CHARS = 80


@dataclass(frozen=True)
class Options:
    """What to count and which evidence. Empty ``coders`` means every coder."""

    by: By = "overlap"
    level: Level = "code"
    filters: Filters = field(default_factory=Filters)
    coders: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CodeRow:
    id: int
    name: str
    path: str
    color: str
    count: int


@dataclass(frozen=True)
class Cell:
    code_a: int
    code_b: int
    count: int
    coefficient: float | None


@dataclass
class Matrix:
    options: Options
    codes: list[CodeRow]
    cells: list[Cell]

    def lookup(self) -> dict[tuple[int, int], Cell]:
        """{(a, b): cell} with both orders of every pair, for drawing the full matrix."""
        out: dict[tuple[int, int], Cell] = {}
        for cell in self.cells:
            out[(cell.code_a, cell.code_b)] = cell
            out[(cell.code_b, cell.code_a)] = cell
        return out


# --- SQL building --------------------------------------------------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _excerpts_sql(project: Project, options: Options) -> tuple[str, tuple[Any, ...]]:
    """The filtered excerpts as SQL with columns x_id, x_code, x_document, x_start, x_end,
    x_participant (by `coding.analysis.attribute_excerpt`'s rule, restated as SQL)."""
    excerpts = annotated_excerpts(project, options.filters)
    if options.coders:
        excerpts = excerpts.filter(coder_id__in=sorted(options.coders))
    if options.filters.customer_speech_only:
        excerpts = excerpts.filter(
            Q(turn_participant__isnull=False)
            | Q(document__kind=Document.Kind.SURVEY)
            | Q(document__kind=Document.Kind.FIELD_NOTES, note_kind=FieldNote.Kind.QUOTE)
        )
    excerpts = excerpts.annotate(
        x_id=F("id"),
        x_code=F("code_id"),
        x_document=F("document_id"),
        x_start=F("start"),
        x_end=F("end"),
        x_participant=Coalesce(
            "turn_participant",
            Case(When(document__kind=Document.Kind.FIELD_NOTES, then="note_participant")),
            "document__participant_id",
            output_field=IntegerField(),
        ),
    )
    values = excerpts.order_by().values(
        "x_id", "x_code", "x_document", "x_start", "x_end", "x_participant"
    )
    sql, params = values.query.sql_with_params()
    return sql, tuple(params)


def _with_sql(project: Project, options: Options) -> tuple[str, tuple[Any, ...]]:
    """``WITH RECURSIVE tree, ex[, u]``: ex is (eid, grp, doc, lo, hi, who), one row per
    counted excerpt with the row (code or theme) it counts for; u is (unit, grp), distinct."""
    code = _q(Code._meta.db_table)
    inner, params = _excerpts_sql(project, options)
    group = "t.root" if options.level == "theme" else "t.code"  # a fixed choice, not input
    sql = f"""
    WITH RECURSIVE tree (code, root) AS (
        SELECT id, id FROM {code} WHERE project_id = %s AND parent_id IS NULL
        UNION ALL
        SELECT c.id, t.root FROM {code} c JOIN tree t ON c.parent_id = t.code
    ),
    ex AS (
        SELECT b.x_id AS eid, {group} AS grp, b.x_document AS doc, b.x_start AS lo,
               b.x_end AS hi, b.x_participant AS who
        FROM ({inner}) b
        JOIN tree t ON t.code = b.x_code
        JOIN {code} g ON g.id = {group}
        WHERE g.is_archived = %s
    )"""  # noqa: S608
    all_params = (project.pk, *params, False)
    if options.by == "sentence":
        sentence = _q(Sentence._meta.db_table)
        sql += f""",
    u AS (
        SELECT DISTINCT s.id AS unit, ex.grp AS grp
        FROM ex JOIN {sentence} s ON s.document_id = ex.doc
             AND s.{_q("start")} < ex.hi AND ex.lo < s.{_q("end")}
    )"""  # noqa: S608
    elif options.by == "participant":
        sql += """,
    u AS (SELECT DISTINCT who AS unit, grp FROM ex WHERE who IS NOT NULL)"""
    return sql, all_params


def _matrix_sql(project: Project, options: Options) -> tuple[str, tuple[Any, ...]]:
    """(grp_a, grp_b, count, touched_a, touched_b) per meeting pair with grp_a < grp_b, and
    (grp, grp, count, count, count) per row: one aggregate self-join."""
    sql, params = _with_sql(project, options)
    if options.by == "overlap":
        sql += """
    SELECT e1.grp, e2.grp, COUNT(*), COUNT(DISTINCT e1.eid), COUNT(DISTINCT e2.eid)
    FROM ex e1 JOIN ex e2
      ON e1.doc = e2.doc AND e1.grp < e2.grp AND e1.lo < e2.hi AND e2.lo < e1.hi
    GROUP BY e1.grp, e2.grp
    UNION ALL
    SELECT grp, grp, COUNT(*), COUNT(*), COUNT(*) FROM ex GROUP BY grp"""
    else:
        sql += """
    SELECT u1.grp, u2.grp, COUNT(*), 0, 0
    FROM u u1 JOIN u u2 ON u1.unit = u2.unit AND u1.grp <= u2.grp
    GROUP BY u1.grp, u2.grp"""
    return sql, params


# --- the matrix ----------------------------------------------------------------------------------


def _rows(project: Project, level: Level) -> tuple[list[int], dict[int, str], dict[int, str]]:
    """(row ids in codebook order, {id: name}, {id: path}): the matrix's rows. One query."""
    order, parent, names, archived = code_tree(project)
    if level == "theme":
        rows = [pk for pk in order if parent[pk] is None and not archived[pk]]
    else:
        rows = [pk for pk in order if not archived[pk]]
    paths: dict[int, str] = {}
    for pk in order:
        up = parent.get(pk)
        paths[pk] = f"{paths[up]} > {names[pk]}" if up is not None and up in paths else names[pk]
    return rows, names, paths


def row_ids(*, project: Project, level: Level) -> list[int]:
    """The ids of the matrix's rows at `level`, in codebook order. One query."""
    return _rows(project, level)[0]


def jaccard(by: str, n_a: int, n_b: int, count: int, touched: int) -> float | None:
    """The cell's Jaccard index (see the module note); None when neither code has a unit."""
    if by == "overlap":
        return touched / (n_a + n_b) if n_a + n_b else None
    union = n_a + n_b - count
    return count / union if union else None


def cooccurrence(*, project: Project, options: Options) -> Matrix:
    """The code × code matrix of `project` under `options` (see the module note for what each
    cell holds). Three queries whatever the number of codes, excerpts or sentences."""
    rows, names, paths = _rows(project, options.level)
    colors = dict(Code.objects.filter(project=project).values_list("id", "color"))
    sql, params = _matrix_sql(project, options)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    position = {pk: i for i, pk in enumerate(rows)}
    own: dict[int, int] = {int(a): int(n) for a, b, n, _, _ in found if a == b}
    cells: list[Cell] = []
    for a, b, count, touched_a, touched_b in found:
        a, b = int(a), int(b)
        if a not in position or b not in position:
            continue
        if a == b:
            continue  # the diagonal is added below, for every row
        if position[a] > position[b]:
            a, b = b, a
        value = jaccard(options.by, own.get(a, 0), own.get(b, 0), int(count), touched_a + touched_b)
        cells.append(Cell(a, b, int(count), value))
    for pk in rows:
        n = own.get(pk, 0)
        cells.append(Cell(pk, pk, n, 1.0 if n else None))
    cells.sort(key=lambda c: (position[c.code_a], position[c.code_b]))
    codes = [CodeRow(pk, names[pk], paths[pk], colors.get(pk, ""), own.get(pk, 0)) for pk in rows]
    return Matrix(options=options, codes=codes, cells=cells)


# --- the passages behind a cell ------------------------------------------------------------------


def _substr(column: str, lo: str, hi: str) -> str:
    """SQL for ``text[lo:hi]`` (code points on both databases; SUBSTR counts from 1)."""
    return f"SUBSTR({column}, ({lo}) + 1, ({hi}) - ({lo}))"


def _passages_sql(
    project: Project, options: Options, a: int, b: int, limit: int
) -> tuple[str, tuple[Any, ...]]:
    sql, params = _with_sql(project, options)
    document = _q(Document._meta.db_table)
    if options.by == "overlap":
        lo = "CASE WHEN e1.lo < e2.lo THEN e1.lo ELSE e2.lo END"
        hi = "CASE WHEN e1.hi > e2.hi THEN e1.hi ELSE e2.hi END"
        pairs = f"""
        SELECT e1.doc AS doc, {lo} AS lo, {hi} AS hi, e1.eid AS ea, e2.eid AS eb,
               CASE WHEN e1.lo > e2.lo THEN e1.lo ELSE e2.lo END AS mlo,
               CASE WHEN e1.hi < e2.hi THEN e1.hi ELSE e2.hi END AS mhi
        FROM ex e1 JOIN ex e2 ON e1.doc = e2.doc AND e1.lo < e2.hi AND e2.lo < e1.hi
        WHERE e1.grp = %s AND e2.grp = %s"""  # noqa: S608
    else:  # sentence: every sentence touched by both, with one excerpt of each code in it
        sentence = _q(Sentence._meta.db_table)
        s_lo, s_hi = f"s.{_q('start')}", f"s.{_q('end')}"
        first = (
            "(SELECT MIN(x.eid) FROM ex x WHERE x.doc = s.document_id AND x.grp = %s"  # noqa: S608
            f" AND x.lo < {s_hi} AND {s_lo} < x.hi)"
        )
        pairs = f"""
        SELECT s.document_id AS doc, {s_lo} AS lo, {s_hi} AS hi, {first} AS ea, {first} AS eb,
               {s_lo} AS mlo, {s_hi} AS mhi
        FROM {sentence} s
        WHERE s.id IN (SELECT unit FROM u WHERE grp = %s)
          AND s.id IN (SELECT unit FROM u WHERE grp = %s)"""  # noqa: S608
    context_lo = f"CASE WHEN p.lo > {CONTEXT_CHARS} THEN p.lo - {CONTEXT_CHARS} ELSE 0 END"
    sql += f"""
    SELECT p.doc, d.title, d.kind, p.lo, p.hi, p.mlo, p.mhi, p.ea, p.eb, {context_lo},
           {_substr("d.text", context_lo, f"p.hi + {CONTEXT_CHARS}")}, COUNT(*) OVER ()
    FROM ({pairs}) p JOIN {document} d ON d.id = p.doc
    ORDER BY d.title, d.id, p.lo, p.ea, p.eb
    LIMIT %s"""  # noqa: S608
    if options.by == "overlap":
        return sql, (*params, a, b, limit)
    return sql, (*params, a, b, a, b, limit)


def passages(
    *, project: Project, options: Options, code_a: int, code_b: int, limit: int = 50
) -> dict[str, Any]:
    """Where rows `code_a` and `code_b` meet (``by`` overlap or sentence), in document order:
    ``{"total", "passages": [...]}``, each passage with its document, ``[start, end)`` (the two
    excerpts' union, or the sentence), the stretch where they meet (``meet_start``,
    ``meet_end``), one excerpt of each code (``excerpt_a``, ``excerpt_b``) and the text cut into
    ``before``, ``lead``, ``meet``, ``tail``, ``after``. One query; ``participant`` has no
    passages (ValueError)."""
    if options.by not in ("overlap", "sentence"):
        raise ValueError("Only overlap and sentence meetings have passages.")
    sql, params = _passages_sql(project, options, code_a, code_b, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    out = []
    for doc, title, kind, lo, hi, mlo, mhi, ea, eb, clo, text, _ in found:
        text = text or ""

        def cut(x: int, y: int, text: str = text, clo: int = clo) -> str:
            return text[x - clo : y - clo]

        out.append(
            {
                "document": doc,
                "document_title": title,
                "source": kind,
                "start": lo,
                "end": hi,
                "meet_start": mlo,
                "meet_end": mhi,
                "excerpt_a": ea,
                "excerpt_b": eb,
                "before": cut(clo, lo),
                "lead": cut(lo, mlo),
                "meet": cut(mlo, mhi),
                "tail": cut(mhi, hi),
                "after": cut(hi, hi + CONTEXT_CHARS),
                "cut_before": clo > 0,
                "cut_after": hi + CONTEXT_CHARS - clo <= len(text),
            }
        )
    return {"total": found[0][-1] if found else 0, "passages": out}
