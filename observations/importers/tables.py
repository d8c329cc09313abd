"""Survey `.csv` (csv + Sniffer) and `.xlsx` (openpyxl, read-only) files: a document per row. Pure.

The first row names the columns (stripped of spaces and BOM; blanks become "Column N", repeats
get " (2)"). Each row with text in a chosen text column becomes one `kind="survey"` document:
the answer itself, or with several text columns "Column: answer" paragraphs separated by a
blank line, and no turns. The respondent and customer-ref columns fill those fields; every
other non-empty cell goes to `attributes` (strings from CSV; numbers, booleans and ISO dates
from XLSX). Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from observations.importers.base import ParsedDocument, ParseError, ParseOptions
from observations.importers.decode import decode_text
from observations.importers.office import open_archive
from observations.importers.plaintext import title_from
from observations.text import BOM, normalise_text

_SNIFF_CHARS = 64 * 1024


def parse_csv(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """Survey documents from a CSV whose delimiter (`,` `;` or tab) is sniffed."""
    return _documents(filename, _csv_rows(filename, data, options.max_chars), options)


def parse_xlsx(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """Survey documents from the first worksheet of an Excel workbook."""
    return _documents(filename, _xlsx_rows(filename, data), options)


def table_columns(filename: str, data: bytes, max_chars: int) -> list[str]:
    """The column names a survey .csv/.xlsx offers, as `ParseOptions` must spell them.

    Raises ParseError for an unreadable table or one with no header row.
    """
    if filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(filename, data, header_only=True)
    else:
        rows = _csv_rows(filename, data, max_chars)
    if not rows or not any(_cell_text(cell) for cell in rows[0]):
        raise ParseError(filename, "the first row should name the columns", row=1)
    return _header(rows[0])


def _csv_rows(filename: str, data: bytes, max_chars: int) -> list[list[str]]:
    text = decode_text(filename, data, max_chars=max_chars)
    try:
        delimiter = csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","  # one column, or too little text to tell
    # Only the delimiter is taken from the sniffer: its quote guesses trip over apostrophes.
    try:
        return list(csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter))
    except csv.Error as error:
        raise ParseError(filename, f"not a valid CSV file: {error}") from None


def _xlsx_rows(filename: str, data: bytes, *, header_only: bool = False) -> list[list[Any]]:
    open_archive(filename, data, ".xlsx", "xl/workbook.xml")
    import openpyxl  # imported here: only uploads of this type pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            rows = sheet.iter_rows(max_row=1 if header_only else None, values_only=True)
            return [list(row) for row in rows]
        finally:
            workbook.close()
    except Exception:  # openpyxl raises many types for broken parts; all are bad input here
        raise ParseError(filename, "not a valid .xlsx file (it cannot be read)") from None


def _documents(
    filename: str, rows: Sequence[Sequence[Any]], options: ParseOptions
) -> list[ParsedDocument]:
    if not rows or not any(_cell_text(cell) for cell in rows[0]):
        raise ParseError(filename, "the first row should name the columns", row=1)
    header = _header(rows[0])
    found = ", ".join(header)
    if not options.text_columns:
        raise ParseError(filename, f"choose the column(s) holding the answers; columns: {found}")
    chosen = [*options.text_columns, options.respondent_column, options.customer_ref_column]
    for column in chosen:
        if column is not None and column not in header:
            raise ParseError(filename, f"no column named {column!r}; columns: {found}")
    index = {name: position for position, name in enumerate(header)}
    documents: list[ParsedDocument] = []
    total = 0
    for number, row in _numbered(rows[1:], start=2):
        if len(row) > len(header) and any(_cell_text(cell) for cell in row[len(header) :]):
            message = f"has {len(row)} cells but the header names {len(header)} columns"
            raise ParseError(filename, message, row=number)
        cells = {
            name: row[position] if position < len(row) else None for name, position in index.items()
        }
        document = _document(filename, number, cells, options)
        if document is not None:
            total += len(document.text)
            if total > options.max_chars:
                message = f"the answers pass the limit of {options.max_chars:,} characters"
                raise ParseError(filename, message, row=number)
            documents.append(document)
    if not documents:
        columns = ", ".join(options.text_columns)
        raise ParseError(filename, f"no row has an answer in {columns}")
    return documents


def _document(
    filename: str, number: int, cells: dict[str, Any], options: ParseOptions
) -> ParsedDocument | None:
    answers = [(name, _cell_text(cells[name])) for name in options.text_columns]
    answers = [(name, answer) for name, answer in answers if answer]
    if not answers:
        return None  # a respondent who skipped the open questions
    if len(options.text_columns) == 1:
        text = answers[0][1]
    else:
        text = "\n\n".join(f"{name}: {answer}" for name, answer in answers)
    respondent = _cell_text(cells[options.respondent_column]) if options.respondent_column else ""
    customer_ref = (
        _cell_text(cells[options.customer_ref_column]) if options.customer_ref_column else ""
    )
    used = {*options.text_columns, options.respondent_column, options.customer_ref_column}
    attributes = {
        name: _attribute(value)
        for name, value in cells.items()
        if name not in used and _cell_text(value)
    }
    return ParsedDocument(
        title=f"{title_from(filename)} – {respondent or f'row {number}'}",
        text=text,
        kind="survey",
        respondent=respondent or None,
        customer_ref=customer_ref or None,
        attributes=attributes,
    )


def _header(cells: Iterable[Any]) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(cells, start=1):
        name = " ".join(_cell_text(cell).replace(BOM, "").split()) or f"Column {position}"
        base, repeat = name, 2
        while name in names:
            name, repeat = f"{base} ({repeat})", repeat + 1
        names.append(name)
    return names


def _numbered(rows: Iterable[Sequence[Any]], start: int) -> Iterator[tuple[int, Sequence[Any]]]:
    for number, row in enumerate(rows, start=start):
        if any(_cell_text(cell) for cell in row):
            yield number, row


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return normalise_text(str(value)).strip()


def _attribute(value: Any) -> Any:
    """CSV cells stay strings; XLSX numbers and booleans stay as they are; dates become ISO."""
    if isinstance(value, bool | int | float):
        return value
    return _cell_text(value)
