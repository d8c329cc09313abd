"""The SQL text of the segmentation import's PostgreSQL fast path (research/segmentation_pg.py).

`_Sql` builds and runs the statements over the temporary table of raw cells: type inference,
the report of a bad file, and the one `INSERT ... SELECT` of customers. The helpers below turn
one cell into the SQL that reads it as Python's `parse_number` / `parse_date` would. The
guarantees are the fast path's, listed in segmentation_pg's docstring.
"""

import sys
from dataclasses import dataclass
from typing import Any

from research import segmentation_files as files
from research.models import CustomerSegment, Segment, Segmentation

# Python's str.strip() set: the SQL trims exactly what Python trims.
_PY_WS = "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())
_BLANK = "^[" + _PY_WS + "]*$"
# Subsets of parse_number / parse_date, with only space/tab around. Bounded length and exponent
# keep every match inside float8's range (no overflow or underflow error mid-INSERT).
_NUMBER = r"^[ \t]*[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9][0-9]?)?[ \t]*$"
_ISO = r"^[ \t]*[0-9]{4}-[0-9]{2}-[0-9]{2}[ \t]*$"
_DMY = r"^[ \t]*[0-9][0-9]?/[0-9][0-9]?/[0-9]{4}[ \t]*$"
_WITNESSES = 20
_FORCED_LIMIT = 1000
_KEYS_PER_CALL = 40  # jsonb_build_object takes at most 100 arguments


class Fallback(Exception):
    """The fast path cannot be sure to match the Python path; run that instead."""


@dataclass
class Plan:
    """What the caller has already worked out from the header."""

    header: list[str]
    customer_index: int
    segment_index: int
    metric_columns: list[int]
    forced: dict[int, str]


class _Sql:
    """SQL over the temporary table `table` whose columns c0.. hold the file's raw cells.

    Identifiers in these statements are generated here (the table name, c0.., model tables) and
    every value from the file is a bound parameter: hence the S608 waivers.
    """

    def __init__(self, table: str, plan: Plan, spaces_only: bool) -> None:
        self.table = table
        self.plan = plan
        self.spaces_only = spaces_only
        self.misfits = False  # a forced-type cell that does not fit (found by infer)
        # Trimming a one-character set is several times cheaper than Python's whole set.
        self.params = {
            "ws": " " if spaces_only else _PY_WS,
            "blank": _BLANK,
            "num": _NUMBER,
            "iso": _ISO,
            "dmy": _DMY,
        }

    def blank(self, col: str) -> str:
        if self.spaces_only:
            return f"({col} IS NULL OR btrim({col}, %(ws)s) = '')"
        # Cheap test first: a first character that is not whitespace settles it.
        return f"({col} IS NULL OR (strpos(%(ws)s, left({col}, 1)) > 0 AND {col} ~ %(blank)s))"

    @staticmethod
    def trimmed(col: str) -> str:
        return f"NULLIF(btrim({col}, %(ws)s), '')"

    @staticmethod
    def fits(metric_type: str, col: str) -> str:
        """SQL true when a non-blank cell surely fits `metric_type` as Python reads it."""
        if metric_type == "numeric":
            return f"({col} ~ %(num)s AND length({col}) <= 200)"
        if metric_type == "date":
            s = f"btrim({col}, E' \\t')"
            iso = _valid_date(f"substr({s}, 1, 4)", f"substr({s}, 6, 2)", f"substr({s}, 9, 2)")
            dmy = _valid_date(
                f"split_part({s}, '/', 3)", f"split_part({s}, '/', 2)", f"split_part({s}, '/', 1)"
            )
            return (
                f"(CASE WHEN {col} ~ %(iso)s THEN {iso} WHEN {col} ~ %(dmy)s THEN {dmy}"
                " ELSE false END)"
            )
        return "true"

    def _witnesses(
        self, cursor: Any, index: int, metric_type: str, limit: int, source: str
    ) -> list[str]:
        col = f"c{index}"
        cursor.execute(
            # The pattern first: for most cells it settles the question alone.
            f"SELECT {col} FROM {source} WHERE NOT {self.fits(metric_type, col)}"  # noqa: S608
            f" AND NOT {self.blank(col)} LIMIT {limit}",
            self.params,
        )
        return [row[0] for row in cursor.fetchall()]

    def _any_value(self, cursor: Any, index: int, source: str) -> bool:
        col = f"c{index}"
        cursor.execute(
            f"SELECT EXISTS (SELECT FROM {source} WHERE NOT {self.blank(col)})",  # noqa: S608
            self.params,
        )
        return bool(cursor.fetchone()[0])

    def _infer_column(self, cursor: Any, index: int, source: str) -> str:
        """The column's type by `infer_types`' rules over `source` (rows of the table)."""
        for metric_type, accepts in (("numeric", files.parse_number), ("date", files.parse_date)):
            odd = self._witnesses(cursor, index, metric_type, _WITNESSES, source)
            if not odd:
                # An all-blank column has no witnesses for either type: Python calls it
                # categorical.
                return metric_type if self._any_value(cursor, index, source) else "categorical"
            # One cell Python rejects settles it; cells Python reads but SQL cannot: Python.
            if any(_python_blank(v) for v in odd) or all(accepts(v) is not None for v in odd):
                raise Fallback("a cell only Python can read")
        return "categorical"

    def infer(self, cursor: Any, sample: int | None) -> tuple[dict[int, str], set[int]]:
        """Types as `infer_types` gives them, and the columns whose type is only a guess.

        With `sample`, a numeric or date type read from the first `sample` rows is a guess that
        `write` verifies cell by cell (a misfit aborts it); categorical is certain from the
        sample. Forced types are checked over the whole column.
        """
        whole = self.table
        source = whole if sample is None else f"(SELECT * FROM {whole} LIMIT {sample}) s"  # noqa: S608
        types: dict[int, str] = {}
        guessed: set[int] = set()
        for index in self.plan.metric_columns:
            if index not in self.plan.forced:
                types[index] = self._infer_column(cursor, index, source)
                if source == whole:
                    continue
                if types[index] != "categorical":
                    guessed.add(index)
                # Categorical from a sample is certain unless the sample was all blank.
                elif not self._any_value(cursor, index, source):
                    types[index] = self._infer_column(cursor, index, whole)
                continue
            metric_type = types[index] = self.plan.forced[index]
            if metric_type != "categorical":
                odd = self._witnesses(cursor, index, metric_type, _FORCED_LIMIT + 1, self.table)
                # Each must be a real misfit (reported later by SQL), and few enough.
                if len(odd) > _FORCED_LIMIT:
                    raise Fallback("many cells outside the SQL patterns")
                if any(_python_blank(v) or files.fits(metric_type, v) for v in odd):
                    raise Fallback("a cell only Python can read")
                self.misfits = self.misfits or bool(odd)
        return types, guessed

    def _row_blank(self) -> str:
        return "(" + " AND ".join(self.blank(f"c{i}") for i in range(len(self.plan.header))) + ")"

    def _forced_misfit(self, index: int, metric_type: str) -> str:
        col = f"c{index}"
        return f"(NOT {self.blank(col)} AND NOT {self.fits(metric_type, col)})"

    def check(self, cursor: Any, report: files.Report) -> int:
        """Count data rows; fill `report` (via `report()`) if any row problem but duplicates."""
        cust, seg = f"c{self.plan.customer_index}", f"c{self.plan.segment_index}"
        # Each test once per row (OFFSET 0 keeps the subqueries); the whole-row blank test only
        # for rows without an id or a segment.
        cursor.execute(
            "SELECT count(*) FILTER (WHERE NOT no_id), count(*) FILTER (WHERE no_id AND NOT rb),"  # noqa: S608
            " count(*) FILTER (WHERE long), count(*) FILTER (WHERE no_seg AND NOT rb)"
            f" FROM (SELECT no_id, no_seg, long, (no_id OR no_seg) AND {self._row_blank()} AS rb"
            f" FROM (SELECT *, {self.blank(cust)} AS no_id, {self.blank(seg)} AS no_seg,"
            f" length({cust}) > 128 AND length(btrim({cust}, %(ws)s)) > 128 AS long"
            f" FROM {self.table} OFFSET 0) a OFFSET 0) b",
            self.params,
        )
        with_id, without_id, *problems = cursor.fetchone()
        total = with_id + without_id
        if without_id or any(problems) or self.misfits:
            self.report(cursor, report)
        elif total == 0:
            report.add(None, None, "The file has no data rows.")
        return int(total)

    def report(self, cursor: Any, report: files.Report) -> None:
        """Fill `report` exactly as `validate_rows` would: first rows in order, and the total."""
        header, plan = self.plan.header, self.plan
        ci, si = plan.customer_index, plan.segment_index
        checked = [(i, t) for i, t in plan.forced.items() if t != "categorical"]
        misfits = [self._forced_misfit(i, t) for i, t in checked]
        problems = " + ".join(
            [
                "(cust IS NULL)::int",
                "(cust IS NOT NULL AND line > first_line)::int",
                "(coalesce(length(cust), 0) > 128)::int",
                "seg_blank::int",
                *[f"m{k}::int" for k in range(len(checked))],
            ]
        )
        cursor.execute(
            f"WITH r AS (SELECT row_number() OVER (ORDER BY ctid) + 1 AS line,"  # noqa: S608
            f" {self.trimmed(f'c{ci}')} AS cust, {self.blank(f'c{si}')} AS seg_blank,"
            f" {self._row_blank()} AS row_blank"
            + "".join(
                f", {m} AS m{k}, c{i} AS v{k}"
                for k, (m, (i, _)) in enumerate(zip(misfits, checked, strict=True))
            )
            + f" FROM {self.table}),"  # noqa: S608
            " d AS (SELECT *, min(line) OVER (PARTITION BY cust) AS first_line FROM r"
            " WHERE NOT row_blank),"
            f" p AS (SELECT *, {problems} AS n FROM d)"
            " SELECT line, cust, first_line, seg_blank"
            + "".join(f", m{k}, v{k}" for k in range(len(checked)))
            + ", sum(n) OVER () FROM p WHERE n > 0 ORDER BY line LIMIT %(limit)s",
            {**self.params, "limit": report.limit},
        )
        rows = cursor.fetchall()
        for row in rows:
            line, customer, first_line, seg_blank = row[:4]
            if customer is None:
                report.add(line, header[ci], "Empty customer id.")
            elif first_line < line:
                report.add(
                    line,
                    header[ci],
                    f"Duplicate customer id {customer!r} (first on row {first_line}).",
                )
            if customer is not None and len(customer) > 128:
                report.add(line, header[ci], "Customer id longer than 128 characters.")
            if seg_blank:
                report.add(line, header[si], "Empty segment.")
            for k, (index, metric_type) in enumerate(checked):
                if row[4 + 2 * k]:
                    value = row[5 + 2 * k]
                    report.add(
                        line, header[index], f"{value!r} is not {metric_type} (type set by hand)."
                    )
        if rows:
            report.total = int(rows[0][-1])

    def write(
        self, cursor: Any, segmentation: Segmentation, types: dict[int, str], guessed: set[int]
    ) -> None:
        """Segments by SELECT DISTINCT, then every customer with one INSERT ... SELECT.

        Cells of `guessed` columns are checked as they are converted: one that Python would not
        read as the column's type raises DataError (and the caller's savepoint undoes this).
        """
        plan = self.plan
        cust, seg = f"c{plan.customer_index}", f"c{plan.segment_index}"
        params = {**self.params, "seg": segmentation.pk}
        # Ids in Python's sorted() order (code points), as the Python path assigns them.
        cursor.execute(
            f"INSERT INTO {Segment._meta.db_table} (segmentation_id, name)"  # noqa: S608
            f" SELECT %(seg)s, name FROM (SELECT DISTINCT btrim({seg}, %(ws)s) AS name"
            f' FROM {self.table} WHERE NOT {self.blank(seg)}) s ORDER BY name COLLATE "C"',
            params,
        )
        pairs: list[str] = []
        for k, index in enumerate(plan.metric_columns):
            params[f"k{k}"] = plan.header[index]
            value = _value(types[index], f"v{index}", verify=index in guessed)
            pairs.append(f"%(k{k})s::text, {value}")
        trimmed = ", ".join(
            f"{_cell(types[i], self.trimmed(f'c{i}'), verify=i in guessed)} AS v{i}"
            for i in plan.metric_columns
        )
        calls = [
            "jsonb_build_object(" + ", ".join(pairs[i : i + _KEYS_PER_CALL]) + ")"
            for i in range(0, len(pairs), _KEYS_PER_CALL)
        ] or ["'{}'::jsonb"]
        cursor.execute(
            f"INSERT INTO {CustomerSegment._meta.db_table}"  # noqa: S608
            " (segmentation_id, customer_ref, segment_id, metrics)"
            f" SELECT %(seg)s, t.cust, s.id, jsonb_strip_nulls({' || '.join(calls)})"
            # OFFSET 0 keeps the subquery: each cell is trimmed once, not once per use.
            f" FROM (SELECT btrim({cust}, %(ws)s) AS cust, btrim({seg}, %(ws)s) AS seg"
            + (f", {trimmed}" if trimmed else "")
            + f" FROM {self.table} OFFSET 0) t JOIN {Segment._meta.db_table} s"
            " ON s.segmentation_id = %(seg)s AND s.name = t.seg",
            params,
        )


def _valid_date(year: str, month: str, day: str) -> str:
    """SQL true when the digit strings make a real date (years 1..9999, as Python's date)."""
    y, m, d = f"({year})::int", f"({month})::int", f"({day})::int"
    leap = f"((mod({y}, 4) = 0 AND mod({y}, 100) <> 0) OR mod({y}, 400) = 0)"
    days = (
        f"CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END"
        f" WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    return f"({y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {days})"


def _cell(metric_type: str, trimmed: str, verify: bool) -> str:
    """The cell as the subquery hands it on: float8 for numbers (cast once), else trimmed text."""
    if metric_type != "numeric":
        return trimmed
    number = f"replace({trimmed}, ',', '.')"
    if verify:
        # float8 also reads hex (0x1A), which Python does not. The refusal depends on the
        # cell: a constant would be cast (and fail) when the statement is planned.
        number = (
            f"CASE WHEN strpos({trimmed}, 'x') + strpos({trimmed}, 'X') = 0 THEN {number}"
            f" ELSE 'not a number: ' || {trimmed} END"
        )
    return f"({number})::float8"


def _value(metric_type: str, v: str, verify: bool) -> str:
    """The JSON value of cell `v` from the subquery (NULL when blank) as `convert` makes it.

    With `verify`, a cell that is not of the type raises an error (a failing cast) instead:
    casts and shape tests stand in for the patterns, so checking a guess costs no regex.
    """
    if metric_type == "numeric":
        if not verify:
            # float8 prints the shortest round-trip digits, as Python's repr: same jsonb number.
            return v
        # Python refuses NaN and infinities (float8 reads "nan", "inf", "Infinity", ...).
        return (
            f"CASE WHEN {v} = 'NaN'::float8 OR {v} IN ('Infinity'::float8, '-Infinity'::float8)"
            f" THEN ('not a number: ' || {v})::float8 ELSE {v} END"
        )
    if metric_type == "date":
        dmy = (
            f"split_part({v}, '/', 3) || '-' || lpad(split_part({v}, '/', 2), 2, '0')"
            f" || '-' || lpad(split_part({v}, '/', 1), 2, '0')"
        )
        if not verify:
            return f"CASE WHEN substr({v}, 5, 1) = '-' THEN {v} ELSE {dmy} END"
        # Digits in the right places, then a cast to date: it fails on a day that does not
        # exist (and on year 0), as Python's date() does. ISO text is read alike whatever
        # DateStyle says; the stored text is the file's (or the rebuilt ISO), not the cast's.
        digits = f"translate({v}, '0123456789', '')"
        iso = f"length({v}) = 10 AND {digits} = '--' AND substr({v}, 5, 1) = '-'"
        dmy_shape = (
            f"{digits} = '//' AND length(split_part({v}, '/', 3)) = 4"
            f" AND length(split_part({v}, '/', 1)) IN (1, 2)"
            f" AND length(split_part({v}, '/', 2)) IN (1, 2)"
        )
        return (
            f"CASE WHEN {v} IS NULL THEN NULL"
            f" WHEN {iso} AND {v}::date IS NOT NULL THEN {v}"
            f" WHEN {dmy_shape} AND ({dmy})::date IS NOT NULL THEN {dmy}"
            f" ELSE ('not a date: ' || {v})::date::text END"
        )
    return v


def _python_blank(value: str) -> bool:
    return not value.strip()
