"""Reading segmentation files as the data-science team hands them over (pure: no ORM).

`read_table` turns CSV or XLSX bytes into a header and an iterator of string rows. `infer_types`
types each metric column by inspection; `validate_rows` returns a report naming spreadsheet rows
(1-based, header = row 1) and columns. Blank cells are missing values, never errors.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

MetricType = Literal["numeric", "categorical", "date"]
METRIC_TYPES: tuple[str, ...] = ("numeric", "categorical", "date")

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FileFormatError(ValueError):
    """The file cannot be read as a table (unsupported type, no header, bad encoding)."""


@dataclass
class Table:
    """A header (stripped cells) and the data rows as lists of strings, row 2 onwards."""

    header: list[str]
    rows: Iterator[list[str]]


@dataclass
class Problem:
    """One validation problem: spreadsheet row (None for the whole file), column and message."""

    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"message": self.message}
        if self.row is not None:
            out["row"] = self.row
        if self.column is not None:
            out["column"] = self.column
        return out


@dataclass
class Report:
    """The outcome of validation: problems (capped) and the count of problems seen."""

    problems: list[Problem] = field(default_factory=list)
    total: int = 0
    limit: int = 200

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.problems) < self.limit:
            self.problems.append(Problem(row, column, message))

    @property
    def ok(self) -> bool:
        return self.total == 0


def decode_text(data: bytes) -> str:
    """The file's text: BOM dropped, UTF-8, else cp1252, else latin-1 (which never fails)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows still writes cp1252 CSVs; latin-1 never fails, cp1252 is closer.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def read_csv(data: bytes) -> Table:
    """Read CSV bytes; the delimiter (`,` `;` tab) is sniffed from the header line only."""
    text = decode_text(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [cell.strip() for cell in next(reader)]
    return Table(header=header, rows=(list(row) for row in reader))


def sniff_delimiter(text: str) -> str:
    """The delimiter (`,` `;` tab) sniffed from the header line only; `,` when unsure."""
    first_line = text[: text.find("\n")] if "\n" in text else text
    first_line = first_line.rstrip("\r")
    if not first_line.strip():
        raise FileFormatError("The file has no header row.")
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_xlsx(data: bytes) -> Table:
    """Read the first sheet of an XLSX workbook (read-only mode keeps memory flat)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a damaged file
        raise FileFormatError(f"The workbook cannot be read: {exc}") from exc
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [_cell_text(cell).strip() for cell in next(values)]
    except StopIteration:
        raise FileFormatError("The file has no header row.") from None
    return Table(header=header, rows=([_cell_text(cell) for cell in row] for row in values))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_header(file_name: str, data: bytes) -> list[str]:
    """`read_table(file_name, data).header`, without parsing the rest of a CSV file.

    A one-line header is read from the start of the text only: io.StringIO holds a whole file
    as four bytes a character, a large transient for a large file.
    """
    if not file_name.lower().endswith(CSV_SUFFIXES):
        return read_table(file_name, data).header
    text = decode_text(data)
    delimiter = sniff_delimiter(text)
    end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
    if end < 0 or '"' in text[:end]:  # one line only, or quotes that might span lines
        return read_csv(data).header
    return [cell.strip() for cell in next(csv.reader([text[:end]], delimiter=delimiter))]


def read_table(file_name: str, data: bytes) -> Table:
    """Dispatch on the file extension; raise FileFormatError for anything but .csv/.txt/.xlsx."""
    lower = file_name.lower()
    if lower.endswith(".xlsx"):
        return read_xlsx(data)
    if lower.endswith(CSV_SUFFIXES):
        return read_csv(data)
    raise FileFormatError("Unsupported file type: upload a .csv or .xlsx file.")


def parse_number(value: str) -> float | None:
    """A number, or None if `value` is not one (a lone decimal comma is accepted)."""
    try:  # fast path: plain numbers are nearly every cell of a large file
        number = float(value)
    except ValueError:
        pass
    else:
        if "_" not in value and number == number and number not in (float("inf"), float("-inf")):
            return number
        return None
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def parse_date(value: str) -> str | None:
    """The ISO date for YYYY-MM-DD or DD/MM/YYYY, else None."""
    text = value.strip()
    try:
        if _ISO.match(text):
            return date.fromisoformat(text).isoformat()
        match = _DMY.match(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day).isoformat()
    except ValueError:
        return None
    return None


def fits(metric_type: str, value: str) -> bool:
    """Whether a non-blank cell can be read as `metric_type`."""
    if metric_type == "numeric":
        return parse_number(value) is not None
    if metric_type == "date":
        return parse_date(value) is not None
    return True


def convert(metric_type: str, value: str) -> float | str | None:
    """The JSON value stored for a cell (None for blank or unfit)."""
    if not value.strip():
        return None
    if metric_type == "numeric":
        number = parse_number(value)
        if number is not None and number.is_integer() and abs(number) < 2**53:
            return int(number)
        return number
    if metric_type == "date":
        return parse_date(value)
    return value.strip()


def infer_types(
    header: list[str], rows: Iterable[list[str]], metric_columns: list[int]
) -> dict[int, MetricType]:
    """Type each metric column: numeric if every non-blank is a number, date if every non-blank
    is a date, else categorical. An all-blank column is categorical."""
    can_number = dict.fromkeys(metric_columns, True)
    can_date = dict.fromkeys(metric_columns, True)
    seen = dict.fromkeys(metric_columns, False)
    for row in rows:
        for index in metric_columns:
            value = row[index] if index < len(row) else ""
            if not value.strip():
                continue
            seen[index] = True
            if can_number[index] and parse_number(value) is None:
                can_number[index] = False
            if can_date[index] and parse_date(value) is None:
                can_date[index] = False
    types: dict[int, MetricType] = {}
    for index in metric_columns:
        if seen[index] and can_number[index]:
            types[index] = "numeric"
        elif seen[index] and can_date[index]:
            types[index] = "date"
        else:
            types[index] = "categorical"
    return types


def validate_rows(
    header: list[str],
    rows: Iterable[list[str]],
    customer_index: int,
    segment_index: int,
    forced: dict[int, str],
    report: Report,
    segment_names: set[str] | None = None,
) -> int:
    """Check every row; add problems to `report` and return the number of data rows.

    Forced types (overrides) are checked cell by cell; inferred types fit by construction.
    """
    seen: dict[str, int] = {}
    count = 0
    for offset, row in enumerate(rows):
        line = offset + 2
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        customer = row[customer_index].strip() if customer_index < len(row) else ""
        segment = row[segment_index].strip() if segment_index < len(row) else ""
        if not customer:
            report.add(line, header[customer_index], "Empty customer id.")
        elif customer in seen:
            report.add(
                line,
                header[customer_index],
                f"Duplicate customer id {customer!r} (first on row {seen[customer]}).",
            )
        else:
            seen[customer] = line
        if len(customer) > 128:
            report.add(line, header[customer_index], "Customer id longer than 128 characters.")
        if not segment:
            report.add(line, header[segment_index], "Empty segment.")
        elif segment_names is not None:
            segment_names.add(segment)
        for index, metric_type in forced.items():
            value = row[index] if index < len(row) else ""
            if value.strip() and not fits(metric_type, value):
                report.add(
                    line, header[index], f"{value!r} is not {metric_type} (type set by hand)."
                )
    return count
