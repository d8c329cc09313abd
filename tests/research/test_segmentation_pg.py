"""The PostgreSQL fast path of the segmentation import against the Python path.

Every test imports through the default path (the SQL fast path on PostgreSQL, Python on SQLite)
and, with SEGMENTATION_PG_FAST_PATH off, through the Python path, and compares everything
stored — or the report rows. The expected values are spelled out too, so the SQLite run checks
the Python path against them; on PostgreSQL the log shows which path ran.
"""

import logging
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from research import segmentation_pg
from research.models import CustomerSegment, Segment, Segmentation
from research.services_segmentation import segmentation_import

POSTGRES = connection.vendor == "postgresql"
PYTHON_PATH = "Segmentation import: Python path"


def _run(team, settings, data: bytes, fast: bool, **kwargs: Any) -> Segmentation:
    settings.SEGMENTATION_PG_FAST_PATH = fast
    params: dict[str, Any] = {
        "project": team.project,
        "user": team.researcher,
        "name": f"Snapshot {'fast' if fast else 'python'}",
        "file_name": "seg.csv",
        "data": data,
        "customer_column": "customer_ref",
        "segment_column": "segment",
    }
    params.update(kwargs)
    return segmentation_import(**params)


def _stored(seg: Segmentation) -> dict[str, Any]:
    customers = {
        c.customer_ref: (c.segment.name, c.metrics)
        for c in CustomerSegment.objects.filter(segmentation=seg).select_related("segment")
    }
    return {
        "metric_types": seg.metric_types,
        "count": seg.customer_count,
        "customer_column": seg.customer_column,
        "segment_column": seg.segment_column,
        "segments": sorted(Segment.objects.filter(segmentation=seg).values_list("name", flat=True)),
        "customers": customers,
    }


def _both(team, settings, caplog, data: bytes, *, fast_path: bool, **kwargs: Any) -> dict:
    """Import through both paths; assert the same result and which path the default took."""
    caplog.set_level(logging.INFO, logger="research.services_segmentation")
    fast = _stored(_run(team, settings, data, True, **kwargs))
    took_fast = POSTGRES and not any(PYTHON_PATH in r.message for r in caplog.records)
    assert took_fast == (POSTGRES and fast_path)
    python = _stored(_run(team, settings, data, False, **kwargs))
    assert fast == python
    return fast


def _report(team, settings, data: bytes, fast: bool, **kwargs: Any) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        _run(team, settings, data, fast, **kwargs)
    assert Segmentation.objects.count() == 0
    assert CustomerSegment.objects.count() == 0
    rows = caught.value.errors  # type: ignore[attr-defined]
    return [(e.get("row"), e.get("column"), e["message"]) for e in rows] + [
        ("total", caught.value.messages[0])
    ]


TRICKY = (
    "\ufeff customer_ref ,segment , spend ,visits,joined,plan,note, ,ratio\r\n"
    "c1,Digital natives,100,3,2024-01-02,Gold,plain,,1e-05\r\n"
    '" c2 ", Store loyalists ,-12.50, ,03/02/2024, Silver ,"say ""hi""",x,0.1\r\n'
    'c3,Digital natives,0.1,+7,2024-2-5,,"two\r\nlines",,1.0\r\n'
    'c4,Zoë & co,,,29/02/2024,Gold,"back\\slash\ttab",,\r\n'
    ",,,,,,,,\r\n"
    'c5,"Price, hunters",9007199254740993,-0,1/1/2000,gold,"ünï cödé ✓",,.5\r\n'
    "c6,Digital natives,1.5e3,42,2024-12-31, , ,,-3\r\n"
)


@pytest.mark.django_db
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_paths_store_same_rows_when_csv_is_tricky(team, settings, caplog, delimiter) -> None:
    # The same cells with each delimiter; "Price, hunters" keeps its comma inside quotes.
    text = TRICKY.replace(",", delimiter).replace(f"Price{delimiter} hunters", "Price, hunters")
    data = text.encode()
    result = _both(team, settings, caplog, data, fast_path=True)
    assert result["metric_types"] == {
        "spend": "numeric",
        "visits": "numeric",
        "joined": "categorical",  # 2024-2-5 is neither accepted date form
        "plan": "categorical",
        "note": "categorical",
        "ratio": "numeric",
    }
    assert result["count"] == 6
    customers = result["customers"]
    assert customers["c1"] == (
        "Digital natives",
        {"spend": 100, "visits": 3, "joined": "2024-01-02", "plan": "Gold", "note": "plain",
         "ratio": 1e-05},
    )  # fmt: skip
    assert customers["c2"] == (
        "Store loyalists",
        {"spend": -12.5, "joined": "03/02/2024", "plan": "Silver", "note": 'say "hi"',
         "ratio": 0.1},
    )  # fmt: skip
    assert customers["c3"][1]["note"] == "two\r\nlines"
    assert customers["c3"][1]["visits"] == 7
    assert customers["c4"] == (
        "Zoë & co",
        {"joined": "29/02/2024", "plan": "Gold", "note": "back\\slash\ttab"},
    )
    assert customers["c5"][0] == "Price, hunters"
    assert customers["c5"][1]["spend"] == 9007199254740992
    assert customers["c5"][1]["visits"] == 0
    assert customers["c5"][1]["note"] == "ünï cödé ✓"
    assert customers["c6"][1] == {"spend": 1500, "visits": 42, "joined": "2024-12-31", "ratio": -3}


@pytest.mark.django_db
def test_paths_store_same_dates_when_both_forms_are_valid(team, settings, caplog) -> None:
    data = (
        b"customer_ref;segment;joined;amount\n"
        b"a;S;2024-01-02;1,5\n"
        b"b;S; 3/2/2024 ;-2,25\n"
        b"c;S;29/02/2000;\n"
        b"d;S;;7\n"
    )
    result = _both(team, settings, caplog, data, fast_path=True)
    assert result["metric_types"] == {"joined": "date", "amount": "numeric"}
    assert {ref: metrics for ref, (_, metrics) in result["customers"].items()} == {
        "a": {"joined": "2024-01-02", "amount": 1.5},
        "b": {"joined": "2024-02-03", "amount": -2.25},
        "c": {"joined": "2000-02-29"},
        "d": {"amount": 7},
    }


@pytest.mark.django_db
def test_paths_type_column_categorical_when_a_date_does_not_exist(team, settings, caplog) -> None:
    data = b"customer_ref,segment,joined,empty\na,S,2024-01-02,\nb,S,2023-02-29,\n"
    result = _both(team, settings, caplog, data, fast_path=True)
    assert result["metric_types"] == {"joined": "categorical", "empty": "categorical"}
    assert result["customers"]["b"][1] == {"joined": "2023-02-29"}


@pytest.mark.django_db
def test_paths_honour_forced_types_when_cells_fit(team, settings, caplog) -> None:
    data = b"customer_ref,segment,code,day\na,S,007,01/12/2024\nb,S,12,\n"
    result = _both(
        team,
        settings,
        caplog,
        data,
        fast_path=True,
        type_overrides={"code": "categorical", "day": "date"},
    )
    assert result["metric_types"] == {"code": "categorical", "day": "date"}
    assert result["customers"]["a"][1] == {"code": "007", "day": "2024-12-01"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"customer_ref,segment,spend\na,S,1\nb,S\n", "short row"),
        (b"customer_ref,segment,spend\na,S,1,extra\nb,S,2\n", "long row"),
        (b'customer_ref,segment,size\na,S,5" screen\nb,S,2\n', "quote inside a field"),
        (b"customer_ref,segment,spend\na,S,1 234\nb,S,2\n", "number only Python reads"),
        (b"customer_ref,segment,spend\na,S,1\n\nb,S,2\n", "blank line inside"),
        (b"customer_ref,segment,spend,spend\na,S,1,2\nb,S,2,\n", "duplicate metric names"),
        ("customer_ref,segment,city\na,S,Köln\nb,S,Zürich\n".encode("cp1252"), "cp1252"),
    ],
)
def test_paths_agree_when_fast_path_must_fall_back(team, settings, caplog, data, why) -> None:
    # cp1252 is transcoded for COPY, so it stays on the fast path.
    stored = _both(team, settings, caplog, data, fast_path=why == "cp1252")
    # Every file here is valid for the Python reader: both customers land in segment S.
    assert set(stored["customers"]) == {"a", "b"}
    assert stored["segments"] == ["S"]


BAD = (
    b"customer_ref,segment,spend,day\n"
    b"c1,A,1,2024-01-01\n"
    b'c2,"multi\nline",x,2024-13-01\n'
    b",,,\n"
    b"c1,B,2,\n"
    b",B,3,\n"
    b"c4,,4,01/02/2024\n"
    b" c2 ,A,1e999,\n" + b"x" * 129 + b",A,5,\n"
)


@pytest.mark.django_db
def test_paths_report_same_rows_when_file_is_bad(team, settings) -> None:
    overrides = {"spend": "numeric", "day": "date"}
    fast = _report(team, settings, BAD, True, type_overrides=overrides)
    python = _report(team, settings, BAD, False, type_overrides=overrides)
    assert fast == python
    assert fast == [
        (3, "spend", "'x' is not numeric (type set by hand)."),
        (3, "day", "'2024-13-01' is not date (type set by hand)."),
        (5, "customer_ref", "Duplicate customer id 'c1' (first on row 2)."),
        (6, "customer_ref", "Empty customer id."),
        (7, "segment", "Empty segment."),
        (8, "customer_ref", "Duplicate customer id 'c2' (first on row 3)."),
        (8, "spend", "'1e999' is not numeric (type set by hand)."),
        (9, "customer_ref", "Customer id longer than 128 characters."),
        ("total", "The file has 8 problem(s); nothing was imported."),
    ]


@pytest.mark.django_db
def test_paths_report_only_duplicates_when_ids_repeat(team, settings) -> None:
    data = b"customer_ref,segment\r\n" + b"".join(b"c%d,A\r\n" % (i % 300) for i in range(600))
    fast = _report(team, settings, data, True)
    assert fast == _report(team, settings, data, False)
    assert len(fast) == 201  # the report keeps the first 200 problems, and counts them all
    assert fast[0] == (302, "customer_ref", "Duplicate customer id 'c0' (first on row 2).")
    assert fast[-1] == ("total", "The file has 300 problem(s); nothing was imported.")


@pytest.mark.django_db
def test_paths_report_same_row_when_a_line_is_copy_end_marker(team, settings) -> None:
    data = b"customer_ref,segment\na,S\n\\.\nb,S\n"
    fast = _report(team, settings, data, True)
    assert fast == _report(team, settings, data, False)
    assert fast[0] == (3, "segment", "Empty segment.")


@pytest.mark.django_db
def test_paths_report_no_data_when_rows_are_blank(team, settings) -> None:
    data = b"customer_ref,segment\n,\n , \n"
    assert _report(team, settings, data, True) == _report(team, settings, data, False)
    assert _report(team, settings, data, True)[0] == (None, None, "The file has no data rows.")


@pytest.mark.django_db
def test_fast_path_offered_only_when_database_is_postgres_and_file_is_csv(settings) -> None:
    settings.SEGMENTATION_PG_FAST_PATH = True
    assert segmentation_pg.available("seg.csv") == POSTGRES
    assert segmentation_pg.available("seg.TSV") == POSTGRES
    assert not segmentation_pg.available("seg.xlsx")
    settings.SEGMENTATION_PG_FAST_PATH = False
    assert not segmentation_pg.available("seg.csv")


@pytest.mark.django_db
@pytest.mark.parametrize("pad", [" ", "\u00a0", "\u3000"])
def test_paths_strip_the_same_whitespace_when_cells_are_padded(team, settings, caplog, pad) -> None:
    # Spaces only: the SQL trims spaces. Other whitespace around a number is left to Python.
    data = f"customer_ref,segment,plan,n\n{pad}a{pad},{pad}S1{pad},{pad}Gold{pad},{pad}5{pad}\n"
    data += f"b,S1,{pad},{pad}\n"
    result = _both(team, settings, caplog, data.encode(), fast_path=pad == " ")
    assert result["metric_types"] == {"plan": "categorical", "n": "numeric"}
    assert result["customers"] == {"a": ("S1", {"plan": "Gold", "n": 5}), "b": ("S1", {})}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "later", "expected"),
    [
        ("1", "n/a", "categorical"),
        ("1", "NaN", "categorical"),
        ("1", "inf", "categorical"),
        ("1", "0x1A", "categorical"),
        ("1", "1e400", "categorical"),
        ("1", "1,000.5", "categorical"),
        ("1", "2,5", "numeric"),
        ("2024-01-01", "2024-02-30", "categorical"),
        ("2024-01-01", "31/12/2024", "date"),
        ("2024-01-01", "2024-1-01", "categorical"),
        ("", "7", "numeric"),  # a blank sample guesses nothing
    ],
)
def test_paths_agree_when_cells_after_the_sample_break_the_guess(
    team, settings, caplog, monkeypatch, first, later, expected
) -> None:
    # The fast path guesses numeric/date types from the first rows and verifies every cell as it
    # writes; a cell that breaks the guess sends it back to inference over the whole file.
    monkeypatch.setattr(segmentation_pg, "_SAMPLE", 2)
    rows = [f"c{i};S;{first}" for i in range(3)] + [f"c9;S;{later}"]
    data = ("customer_ref;segment;value\n" + "\n".join(rows) + "\n").encode()
    result = _both(team, settings, caplog, data, fast_path=True)
    assert result["metric_types"] == {"value": expected}
    assert result["count"] == 4


@pytest.mark.django_db
def test_paths_agree_when_a_number_only_python_reads_comes_after_the_sample(
    team, settings, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(segmentation_pg, "_SAMPLE", 2)
    data = b"customer_ref,segment,value\na,S,1\nb,S,2\nc,S,3\nd,S,1e-400\n"
    result = _both(team, settings, caplog, data, fast_path=False)
    assert result["metric_types"] == {"value": "numeric"}
    assert result["customers"]["d"][1] == {"value": 0}
