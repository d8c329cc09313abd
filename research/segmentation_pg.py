"""PostgreSQL fast path of the segmentation import for CSV files.

The file's raw cells are COPYed into a temporary table of text columns; types are inferred, rows
validated and customers written by SQL, with one `INSERT ... SELECT jsonb_build_object(...)`.
Guarantees, relied on by `services_segmentation.segmentation_import`:

* Same result as the Python path: the SQL only decides what it provably decides the same way.
  Types are guessed from the first rows and every cell of a guessed numeric or date column is
  checked by casts as it is written (what the casts accept, Python reads to the same value); a
  cell that breaks the guess sends inference over the whole file, where the number and date
  patterns are a subset of what `parse_number` / `parse_date` accept and cells outside them are
  shown to Python. Whenever it cannot be sure — a file PostgreSQL's CSV parser would read
  differently (stray quotes, a `\\.` line, NUL bytes, ragged rows), a number format only Python
  understands, duplicate metric names, any database error — it raises `Fallback`, having
  written nothing, and the caller runs the Python path.
* All-or-nothing: one atomic block (a savepoint inside the caller's transaction), and the
  temporary table is dropped at the end (ON COMMIT DROP covers an aborted run).
* A bad file gives the same report (rows, columns, messages, order, total) as `validate_rows`.
* Referential integrity (research_customersegment has no foreign-key constraints, see
  `CustomerSegment`): the snapshot's segments are inserted in the same atomic block, and each
  customer row takes its segment id by joining on (this snapshot, segment name), so it can only
  point at one of its own snapshot's segments.

This module reads the file and runs the steps; the SQL they run is built in
research/segmentation_pg_sql.py.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import DatabaseError, DataError, connection, transaction

from research import segmentation_files as files
from research.models import Segmentation
from research.segmentation_pg_sql import _PY_WS, Fallback, Plan, _Sql

__all__ = ["Fallback", "Plan", "available", "import_csv"]

logger = logging.getLogger(__name__)

# A quoted section opening at a field start (after the delimiter, a line end, or the start).
_QUOTED = r'(?:^|(?<=[{d}\r\n]))"(?:[^"]|"")*"'
_QUOTED_PLAIN = r'(?:^|(?<=[{d}\r\n]))"(?:[^"\r\n\t]|"")*"'  # no line end or tab inside
# Whitespace other than space, line ends and tab, as UTF-8: when a file has none (and no tab
# or line end inside a cell), Python's strip() only ever strips spaces.
_ODD_SPACE = [c.encode() for c in _PY_WS if c not in " \r\n\t"]
_ODD_SPACE_MULTI = re.compile(b"|".join(re.escape(odd) for odd in _ODD_SPACE if len(odd) > 1))
_SAMPLE = 1000  # rows read to guess a column's type; `write` verifies the guess on every cell


def available(file_name: str) -> bool:
    """Whether the fast path may be tried: PostgreSQL (UTF-8) and a CSV-like file."""
    from django.conf import settings

    if not getattr(settings, "SEGMENTATION_PG_FAST_PATH", True):
        return False
    if connection.vendor != "postgresql" or not file_name.lower().endswith(files.CSV_SUFFIXES):
        return False
    connection.ensure_connection()
    return bool(connection.connection.info.parameter_status("server_encoding") == "UTF8")


def _copy_bytes(data: bytes) -> tuple[memoryview, bytes, str, bool]:
    """The bytes to COPY (UTF-8, no BOM; a view, not a copy) and the line end to close them
    with, the delimiter, and whether space is the only whitespace a cell can start or end with;
    Fallback if PostgreSQL would read the cells differently from Python's csv module."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:  # the same decoding as files.decode_text
        delimiter = files.sniff_delimiter(body.decode("utf-8"))
    except UnicodeDecodeError:
        text = files.decode_text(data)
        delimiter = files.sniff_delimiter(text)
        body = text.encode("utf-8")
    data = body
    if b"\x00" in data:
        raise Fallback("NUL byte")
    # CSV COPY ends at a line holding only \. ; Python reads it as a cell.
    if b"\\." in data and re.search(rb"(?:^|[\r\n])\\\.(?:\r?\n|\r|$)", data):
        raise Fallback("end-of-data marker line")
    # PostgreSQL opens a quote anywhere in a field, Python only at its start.
    # Only spaces to trim: no odd whitespace anywhere, no tab in a cell (one outside quotes
    # unless it is the delimiter), no line end or tab inside quotes.
    spaces_only = not _has_odd_space(data) and (delimiter == "\t" or b"\t" not in data)
    if b'"' in data:
        d = re.escape(delimiter)
        if b'"' in re.sub(_QUOTED_PLAIN.format(d=d).encode(), b"", data):
            spaces_only = False
            if b'"' in re.sub(_QUOTED.format(d=d).encode(), b"", data):
                raise Fallback("quote inside an unquoted field")
    # Trailing empty lines: Python skips them, COPY would call them short rows.
    # The file's own line end: COPY rejects a file that mixes them.
    newline = data.find(b"\n")
    if newline > 0 and data[newline - 1 : newline] == b"\r":
        eol = b"\r\n"
    else:
        eol = b"\n" if newline >= 0 or b"\r" not in data else b"\r"
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    return memoryview(data)[:end], eol, delimiter, spaces_only


def _has_odd_space(data: bytes) -> bool:
    """Whether `data` holds whitespace other than space, tab and line ends."""
    singles = [odd for odd in _ODD_SPACE if len(odd) == 1]
    if any(odd in data for odd in singles):  # memchr: fast
        return True
    if data.isascii() or not any(lead in data for lead in (b"\xc2", b"\xe1", b"\xe2", b"\xe3")):
        return False
    return _ODD_SPACE_MULTI.search(data) is not None


def import_csv(
    *,
    plan: Plan,
    data: bytes,
    report: files.Report,
    create_segmentation: Callable[[dict[int, str], int], Segmentation],
    phase: Callable[[float, str], None],
) -> Segmentation | None:
    """Run the import in SQL, in one atomic block.

    Returns the new segmentation, or None with `report` filled when the file is bad (nothing
    written). Raises Fallback (after rolling back its own work) when the Python path must decide.
    `create_segmentation(types, total)` makes the Segmentation row; `phase(progress, message)`
    reports progress.
    """
    header = plan.header
    names = [header[i] for i in plan.metric_columns]
    if len(set(names)) != len(names):
        raise Fallback("duplicate metric column names")
    timer = _Timer()
    payload, eol, delimiter, spaces_only = _copy_bytes(data)
    timer.lap("prepare")
    table = f"seg_import_{uuid.uuid4().hex}"
    columns = [f"c{i}" for i in range(len(header))]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _local_settings(cursor)
            cursor.execute(
                f"CREATE TEMP TABLE {table} ({', '.join(f'{c} text' for c in columns)})"
                " ON COMMIT DROP"
            )
            raw = cursor.cursor
            copy_sql = (
                f"COPY {table} FROM STDIN (FORMAT csv, HEADER true, DELIMITER"
                f" {_literal(delimiter)})"
            )
            try:
                with raw.copy(copy_sql) as copy:
                    copy.write(payload)
                    copy.write(eol)
            except psycopg.Error as exc:  # ragged rows, unterminated quotes, mixed line ends
                raise Fallback(f"COPY: {exc}") from exc
            timer.lap("copy")
            phase(0.3, "File loaded; checking rows")
            sql = _Sql(table, plan, spaces_only)
            types, guessed = sql.infer(cursor, sample=_SAMPLE)
            timer.lap("infer")
            total = sql.check(cursor, report)
            timer.lap("check")
            if not report.ok:
                cursor.execute(f"DROP TABLE {table}")
                return None
            phase(0.5, "File checked; writing customers")
            segmentation = create_segmentation(types, total)
            try:
                try:
                    with transaction.atomic():
                        sql.write(cursor, segmentation, types, guessed)
                except DataError:
                    if not guessed:
                        raise
                    # A guessed type did not hold for every cell: infer over the whole file.
                    timer.lap("write (type guess failed)")
                    types, guessed = sql.infer(cursor, sample=None)
                    segmentation.metric_types = {header[i]: types[i] for i in plan.metric_columns}
                    segmentation.save(update_fields=["metric_types"])
                    timer.lap("infer (whole file)")
                    with transaction.atomic():
                        sql.write(cursor, segmentation, types, guessed)
                timer.lap("write")
            except DatabaseError as exc:
                if not _is_duplicate(exc):
                    raise Fallback(f"INSERT: {exc}") from exc
                sql.report(cursor, report)
                if report.ok:  # a duplicate SQL cannot place: let Python look
                    raise Fallback("unplaced duplicate") from exc
                transaction.set_rollback(True)
                return None
            cursor.execute(f"DROP TABLE {table}")
            phase(1.0, f"{total} of {total} rows")
    except DatabaseError as exc:
        raise Fallback(f"database: {exc}") from exc
    timer.lap("commit")  # the WAL flush (no deferred foreign-key checks: see CustomerSegment)
    return segmentation


class _Timer:
    """Logs (DEBUG) the seconds each phase took: where a slow import spends its time."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        logger.debug("segmentation fast path: %s %.3f s", name, now - self.last)
        self.last = now


def _is_duplicate(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, psycopg.errors.UniqueViolation) and (
        getattr(cause.diag, "constraint_name", "") == "customer_segment_unique"
    )


def _local_settings(cursor: Any) -> None:
    """Memory for the temporary table and the duplicate check, for this transaction only."""
    cursor.execute("SET LOCAL work_mem = '64MB'")
    try:
        # Only allowed before the session's first temporary table; later runs keep the old size.
        with transaction.atomic():
            cursor.execute("SET LOCAL temp_buffers = '256MB'")
    except DatabaseError:
        pass


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
