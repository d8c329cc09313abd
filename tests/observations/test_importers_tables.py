"""The survey .csv and .xlsx parsers: one document per respondent row, columns as chosen."""

import io
from pathlib import Path

import openpyxl
import pytest

from observations.importers import ParseError, ParseOptions, parse_file, survey_columns

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
WELL = "What went well during setup?"
IMPROVE = "What should we improve?"
BOTH = ParseOptions(
    text_columns=(WELL, IMPROVE),
    respondent_column="Respondent ID",
    customer_ref_column="Customer ref",
)


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name", ["survey.csv", "survey.xlsx"])
def test_each_row_with_an_answer_becomes_a_survey_document_when_columns_are_chosen(
    name: str,
) -> None:
    docs = parse_file(name, _fixture(name), BOTH)
    assert [doc.respondent for doc in docs] == [
        "R-1001",
        "R-1002",
        "R-1003",
        "R-1004",
        "R-1006",
        "R-1007",
    ]  # R-1005 answered neither question
    assert {doc.kind for doc in docs} == {"survey"}
    assert all(doc.turns == [] for doc in docs)
    assert docs[0].customer_ref == "C-58213"
    assert docs[0].title == "survey – R-1001"
    assert (
        docs[0].text == f"{WELL}: Ordering online took ten minutes.\n\n{IMPROVE}: Nothing really."
    )


@pytest.mark.parametrize("name", ["survey.csv", "survey.xlsx"])
def test_answers_keep_newlines_and_delimiters_when_quoted(name: str) -> None:
    docs = parse_file(name, _fixture(name), BOTH)
    assert docs[1].text == (
        f"{IMPROVE}: The router sat on a red light all weekend.\n"
        "Nobody said the line goes live on Monday."
    )
    assert docs[2].text == f"{WELL}: Keeping my number was easy; the PAC code came by text."
    assert "The “set password” link expired." in docs[-1].text
    assert "Café-quality" in docs[-1].text


def test_csv_other_columns_become_string_attributes_when_imported() -> None:
    docs = parse_file("survey.csv", _fixture("survey.csv"), BOTH)
    assert docs[0].attributes == {"Plan": "SIM only 30GB", "Tenure (months)": "1", "NPS": "9"}


def test_xlsx_other_columns_keep_their_numbers_when_imported() -> None:
    docs = parse_file("survey.xlsx", _fixture("survey.xlsx"), BOTH)
    assert docs[0].attributes == {"Plan": "SIM only 30GB", "Tenure (months)": 1, "NPS": 9}


def test_one_text_column_gives_the_bare_answer_when_chosen_alone() -> None:
    options = ParseOptions(text_columns=(IMPROVE,))
    docs = parse_file("survey.csv", _fixture("survey.csv"), options)
    assert [doc.text for doc in docs][:2] == [
        "Nothing really.",
        "The router sat on a red light all weekend.\nNobody said the line goes live on Monday.",
    ]
    assert docs[0].respondent is None
    assert docs[0].title == "survey – row 2"
    assert docs[0].attributes["Respondent ID"] == "R-1001"


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"id,comment\n1,Slow activation\n2,Great\n", ","),
        (b"id\tcomment\n1\tSlow activation\n2\tGreat\n", "tab"),
        (b"id;comment\r\n1;Slow activation\r\n2;Great\r\n", ";"),
    ],
)
def test_csv_delimiter_is_sniffed_when_comma_tab_or_semicolon(data: bytes, delimiter: str) -> None:
    docs = parse_file(
        "s.csv", data, ParseOptions(text_columns=("comment",), respondent_column="id")
    )
    assert [(doc.respondent, doc.text) for doc in docs] == [
        ("1", "Slow activation"),
        ("2", "Great"),
    ], delimiter


def test_csv_in_cp1252_decodes_when_saved_by_excel_on_windows() -> None:
    data = "id;comment\r\n1;Le café était “fermé”\r\n".encode("cp1252")
    [doc] = parse_file("s.csv", data, ParseOptions(text_columns=("comment",)))
    assert doc.text == "Le café était “fermé”"


def test_no_text_column_chosen_is_refused_listing_the_columns_when_parsed() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("survey.csv", _fixture("survey.csv"))
    message = caught.value.message
    assert "choose the column" in message
    assert "Respondent ID, Customer ref, Plan, Tenure (months), NPS" in message
    assert "\ufeff" not in message


@pytest.mark.parametrize(
    "options",
    [
        ParseOptions(text_columns=("Comments",)),
        ParseOptions(text_columns=(WELL,), respondent_column="Comments"),
        ParseOptions(text_columns=(WELL,), customer_ref_column="Comments"),
    ],
)
def test_missing_column_is_refused_naming_it_and_the_columns_found_when_chosen(
    options: ParseOptions,
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("survey.xlsx", _fixture("survey.xlsx"), options)
    assert "no column named 'Comments'" in caught.value.message
    assert "Respondent ID, Customer ref" in caught.value.message


def test_row_with_extra_cells_is_refused_naming_its_row_when_malformed() -> None:
    data = b"id,comment\n1,fine\n2,too,many\n"
    with pytest.raises(ParseError) as caught:
        parse_file("s.csv", data, ParseOptions(text_columns=("comment",)))
    assert caught.value.row == 3
    assert "s.csv row 3" in str(caught.value)


def test_survey_without_any_answer_is_refused_when_columns_are_empty() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("s.csv", b"id,comment\n1,\n2,  \n", ParseOptions(text_columns=("comment",)))
    assert "no row has an answer in comment" in caught.value.message


def test_csv_over_the_limit_is_refused_when_the_file_is_too_long() -> None:
    options = ParseOptions(text_columns=("comment",), max_chars=30)
    with pytest.raises(ParseError) as caught:
        parse_file("s.csv", b"id,comment\n1,short one\n2,a much longer answer here\n", options)
    assert "limit is 30" in caught.value.message


def test_xlsx_over_the_limit_is_refused_naming_the_row_when_answers_are_too_long() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["id", "comment"], [1, "short one"], [2, "a much longer answer here"]):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    options = ParseOptions(text_columns=("comment",), max_chars=30)
    with pytest.raises(ParseError) as caught:
        parse_file("s.xlsx", buffer.getvalue(), options)
    assert caught.value.row == 3
    assert "limit of 30" in caught.value.message


def test_headers_are_cleaned_when_blank_repeated_or_padded() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["  Comment ", None, "Comment"])
    sheet.append(["Too slow", "x", "Loved it"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    options = ParseOptions(text_columns=("Comment", "Comment (2)"))
    [doc] = parse_file("s.xlsx", buffer.getvalue(), options)
    assert doc.text == "Comment: Too slow\n\nComment (2): Loved it"
    assert doc.attributes == {"Column 2": "x"}


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("survey.xlsx", _fixture("survey.xlsx")[:2000], "not a valid .xlsx file"),
        ("survey.xlsx", b"id,comment\n1,hi\n", "not a valid .xlsx file"),
        ("survey.csv", b"", "empty"),
        ("survey.csv", b"\n\n,,\n", "the first row should name the columns"),
    ],
)
def test_bad_survey_file_is_refused_naming_the_file_when_uploaded(
    name: str, data: bytes, problem: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(name, data, ParseOptions(text_columns=("comment",)))
    assert caught.value.filename == name
    assert problem in caught.value.message


@pytest.mark.parametrize("name", ["survey.csv", "survey.xlsx"])
def test_survey_columns_lists_the_cleaned_header_when_asked(name: str) -> None:
    columns = survey_columns(name, _fixture(name))
    assert columns[0] == "Respondent ID"  # BOM (csv) and padding (xlsx) stripped
    assert columns[-2:] == [WELL, IMPROVE]
    assert len(columns) == 7


def test_survey_columns_is_empty_when_the_file_is_not_a_table() -> None:
    assert survey_columns("onboarding_otter.txt", _fixture("onboarding_otter.txt")) == []


def test_survey_columns_raises_when_the_table_is_damaged() -> None:
    with pytest.raises(ParseError) as caught:
        survey_columns("survey.xlsx", _fixture("survey.xlsx")[:1000])
    assert "not a valid .xlsx file" in caught.value.message


def test_apostrophes_do_not_change_quoting_when_the_delimiter_is_sniffed() -> None:
    data = b"id,comment\n1,'Fine' they said\n2,\"it's ok, 'mostly'\"\n3,'a','b'\n"
    with pytest.raises(ParseError) as caught:
        parse_file("s.csv", data, ParseOptions(text_columns=("comment",)))
    assert caught.value.row == 4  # 'a','b' is two cells: apostrophes never quote
    docs = parse_file("s.csv", data[: data.index(b"3,")], ParseOptions(text_columns=("comment",)))
    assert [doc.text for doc in docs] == ["'Fine' they said", "it's ok, 'mostly'"]
