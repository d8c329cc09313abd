"""The pure segmentation file reader: formats, type inference, validation report."""

import io

import openpyxl
import pytest

from research import segmentation_files as files


def _rows(data: bytes, name: str = "s.csv") -> tuple[list[str], list[list[str]]]:
    table = files.read_table(name, data)
    return table.header, list(table.rows)


def test_read_csv_sniffs_semicolon_when_header_uses_it() -> None:
    header, rows = _rows(b"id;segment;spend\r\nc1;A;1,5\r\n")
    assert header == ["id", "segment", "spend"]
    assert rows == [["c1", "A", "1,5"]]


def test_read_csv_sniffs_tab_and_strips_bom_and_header_spaces() -> None:
    header, rows = _rows(b"\xef\xbb\xbf id \tsegment \n c1\tA\n")
    assert header == ["id", "segment"]
    assert rows == [[" c1", "A"]]


def test_read_csv_keeps_quoted_newline_when_cell_spans_lines() -> None:
    _header, rows = _rows(b'id,segment,note\r\nc1,A,"two\r\nlines"\r\nc2,B,x\r\n')
    assert rows == [["c1", "A", "two\r\nlines"], ["c2", "B", "x"]]


def test_read_xlsx_returns_strings_when_cells_are_numbers_and_dates() -> None:
    import datetime

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([" id", "segment", "spend", "joined"])
    sheet.append(["c1", "A", 12.0, datetime.datetime(2024, 3, 1)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    header, rows = _rows(buffer.getvalue(), "s.xlsx")
    assert header == ["id", "segment", "spend", "joined"]
    assert rows == [["c1", "A", "12", "2024-03-01"]]


def test_infer_types_ignores_blanks_when_typing_columns() -> None:
    header = ["id", "seg", "n", "d", "c", "dmy"]
    rows = [
        ["1", "A", "3.5", "2024-01-02", "yes", "31/12/2023"],
        ["2", "A", "", "", "no", ""],
        ["3", "B", "-2", "2024-02-29", "3", "01/02/2024"],
    ]
    types = files.infer_types(header, rows, [2, 3, 4, 5])
    assert types == {2: "numeric", 3: "date", 4: "categorical", 5: "date"}


def test_validate_rows_names_rows_and_columns_when_ids_repeat_or_cells_empty() -> None:
    header = ["id", "seg", "n"]
    rows = [["c1", "A", "1"], ["c1", "B", "x"], ["", "A", "2"], ["c3", " ", "3"], ["", "", ""]]
    report = files.Report()
    names: set[str] = set()
    count = files.validate_rows(header, rows, 0, 1, {2: "numeric"}, report, names)
    assert count == 4
    found = [(p.row, p.column) for p in report.problems]
    assert found == [(3, "id"), (3, "n"), (4, "id"), (5, "seg")]
    assert "first on row 2" in report.problems[0].message
    assert names == {"A", "B"}


def test_read_table_rejects_unknown_extension_when_file_is_pdf() -> None:
    with pytest.raises(files.FileFormatError, match="csv"):
        files.read_table("s.pdf", b"x")


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf id ; seg ;x\r\na;b;c\r\n",
        b"id\tseg\n1\t2\n",
        b'"id","multi\nline",x\n1,2,3\n',
        b"id,seg\rc1,A\r",
        b"id,seg",
        "kundennr;Stadt;Größe\n1;Köln;3\n".encode("cp1252"),
    ],
)
def test_read_header_matches_read_table_when_reading_only_the_first_line(data) -> None:
    assert files.read_header("s.csv", data) == files.read_table("s.csv", data).header
