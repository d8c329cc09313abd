"""Exports: excerpts and theme features as JSON, CSV (read by pandas with a token) and XLSX,
with formula-safe cells and the EXPORT capability."""

import io
from typing import Any

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from coding.export_safety import safe_cell
from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory, ParticipantFactory

BASE = "/api/v1/projects/onboarding-calls/exports"


def _body(response: Any) -> bytes:
    """The bytes of a streamed or plain response."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _data(team: Team) -> dict[str, Any]:
    project = team.project
    ana = ParticipantFactory.create(
        project=project, pseudonym="Ana", customer_ref="C-1", attributes={"plan": "pro"}
    )
    ben = ParticipantFactory.create(
        project=project, pseudonym="Ben", customer_ref="C-2", attributes={"region": "north"}
    )
    ParticipantFactory.create(project=project, pseudonym="Cleo", customer_ref="C-3")
    theme = CodeFactory.create(project=project, name="Pricing", position=0)
    child = CodeFactory.create(project=project, name="Too expensive", parent=theme, position=0)
    other = CodeFactory.create(project=project, name="Support", position=1)
    doc_a = DocumentFactory.create(project=project, participant=ana, text="a" * 200)
    doc_b = DocumentFactory.create(project=project, participant=ben, text="b" * 200)
    for start in (0, 20, 40):
        ExcerptFactory.create(
            document=doc_a, code=child, coder=team.coder, start=start, end=start + 5
        )
    ExcerptFactory.create(document=doc_a, code=other, coder=team.coder, start=60, end=65)
    ExcerptFactory.create(document=doc_b, code=other, coder=team.researcher, start=0, end=5)
    ExcerptFactory.create(document=doc_b, code=theme, coder=team.researcher, start=10, end=15)
    return {"theme": theme, "child": child, "other": other}


def test_safe_cell_neutralises_formula_starts_when_text():
    for text in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(-3) == -3
    assert safe_cell(2.5) == 2.5
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) is None


@pytest.mark.django_db(transaction=True)
def test_pandas_reads_both_csv_exports_when_given_a_token(team: Team, live_server):
    _data(team)
    token = Token.objects.create(user=team.manager)
    opts = {"Authorization": f"Token {token.key}"}

    features = pd.read_csv(
        f"{live_server.url}{BASE}/theme-features/?format=csv", storage_options=opts
    )
    assert list(features.columns) == [
        "participant",
        "customer_ref",
        "Pricing",
        "Too expensive",
        "Support",
    ]
    by = features.set_index("participant")
    assert by.loc["Ana", ["Pricing", "Too expensive", "Support"]].tolist() == [0, 3, 1]
    assert by.loc["Ben", ["Pricing", "Too expensive", "Support"]].tolist() == [1, 0, 1]
    assert by.loc["Cleo", ["Pricing", "Too expensive", "Support"]].tolist() == [0, 0, 0]
    assert by.loc["Ana", "customer_ref"] == "C-1"

    excerpts = pd.read_csv(f"{live_server.url}{BASE}/excerpts/?format=csv", storage_options=opts)
    assert len(excerpts) == 6
    assert {"quote", "participant", "customer_ref", "attr:plan", "attr:region", "code_path"} <= set(
        excerpts.columns
    )
    child_rows = excerpts[excerpts["code_name"] == "Too expensive"]
    assert set(child_rows["code_path"]) == {"Pricing > Too expensive"}
    assert set(child_rows["attr:plan"]) == {"pro"}
    assert set(child_rows["participant"]) == {"Ana"}


def test_json_export_has_columns_and_results_when_manager(team: Team):
    _data(team)
    body = client_for(team.manager).get(f"{BASE}/theme-features/").json()
    assert body["columns"][:2] == ["participant", "customer_ref"]
    assert [r["participant"] for r in body["results"]] == ["Ana", "Ben", "Cleo"]
    excerpts = client_for(team.owner).get(f"{BASE}/excerpts/").json()
    assert len(excerpts["results"]) == 6
    assert excerpts["results"][0]["attr:plan"] == "pro"


def test_theme_feature_columns_use_paths_when_names_repeat(team: Team):
    a = CodeFactory.create(project=team.project, name="Onboarding", position=0)
    b = CodeFactory.create(project=team.project, name="Billing", position=1)
    CodeFactory.create(project=team.project, name="Confusion", parent=a)
    CodeFactory.create(project=team.project, name="Confusion", parent=b)
    columns = client_for(team.manager).get(f"{BASE}/theme-features/").json()["columns"]
    assert columns[2:] == [
        "Onboarding",
        "Onboarding > Confusion",
        "Billing",
        "Billing > Confusion",
    ]


def test_xlsx_round_trip_has_values_and_no_formulas_when_downloaded(team: Team):
    _data(team)
    for name in ("excerpts", "theme-features"):
        response = client_for(team.researcher).get(f"{BASE}/{name}/?format=xlsx")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert f"onboarding-calls-{name}.xlsx" in response["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(response.content), data_only=False).active
        rows = list(sheet.iter_rows())
        assert all(cell.data_type != "f" for row in rows for cell in row)
        if name == "theme-features":
            assert [c.value for c in rows[1][:5]] == ["Ana", "C-1", 0, 3, 1]
        else:
            assert len(rows) == 7


NASTY = ["+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_formula_starts_are_neutralised_when_exported_to_csv_and_xlsx(team: Team):
    person = ParticipantFactory.create(
        project=team.project, pseudonym="Dee", customer_ref="=1+1", attributes={"x": "=2"}
    )
    code = CodeFactory.create(project=team.project, name='=HYPERLINK("x")')
    text = "".join(f"{q}.........." for q in NASTY)
    doc = DocumentFactory.create(project=team.project, participant=person, text=text)
    pos = 0
    for q in NASTY:
        ExcerptFactory.create(
            document=doc, code=code, coder=team.owner, start=pos, end=pos + len(q)
        )
        pos += len(q) + 10
    client = client_for(team.owner)

    csv_text = _body(client.get(f"{BASE}/excerpts/?format=csv")).decode()
    frame = pd.read_csv(io.StringIO(csv_text), keep_default_na=False)
    assert sorted(frame["quote"]) == sorted("'" + q for q in NASTY)
    assert set(frame["code_name"]) == {'\'=HYPERLINK("x")'}
    assert set(frame["customer_ref"]) == {"'=1+1"}
    assert set(frame["attr:x"]) == {"'=2"}
    response = client.get(f"{BASE}/theme-features/?format=csv")
    features = _body(response).decode()
    assert "'=HYPERLINK" in features
    assert "\n=" not in features
    assert ",=" not in features

    for name in ("excerpts", "theme-features"):
        content = client.get(f"{BASE}/{name}/?format=xlsx").content
        sheet = load_workbook(io.BytesIO(content), data_only=False).active
        cells = [c for row in sheet.iter_rows() for c in row]
        assert all(c.data_type != "f" for c in cells)
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in texts)
        assert '\'=HYPERLINK("x")' in texts


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("researcher", 200), ("manager", 200), ("coder", 403), ("outsider", 404)],
)
def test_export_access_follows_the_export_capability_when_role_varies(
    team: Team, role: str, status: int
):
    for name in ("excerpts", "theme-features"):
        for suffix in ("", "?format=csv", "?format=xlsx"):
            response = client_for(team.user(role)).get(f"{BASE}/{name}/{suffix}")
            assert response.status_code == status, (name, suffix)


def test_export_query_count_is_constant_when_excerpts_grow(team: Team):
    data = _data(team)
    client = client_for(team.manager)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            _body(response)
        return len(ctx)

    urls = [f"{BASE}/excerpts/?format=csv", f"{BASE}/theme-features/", f"{BASE}/excerpts/"]
    before = [count(u) for u in urls]
    for i in range(15):
        person = ParticipantFactory.create(project=team.project, attributes={f"k{i}": i})
        doc = DocumentFactory.create(project=team.project, participant=person)
        ExcerptFactory.create(document=doc, code=data["other"], coder=team.coder)
        ExcerptFactory.create(document=doc, code=CodeFactory.create(project=team.project))
    assert [count(u) for u in urls] == before


@pytest.mark.parametrize(("role", "shown"), [("manager", True), ("coder", False)])
def test_project_home_links_the_exports_when_role_may_export(team: Team, role: str, shown: bool):
    page = client_for(team.user(role)).get("/p/onboarding-calls/").content.decode()
    assert (f"{BASE}/theme-features/?format=csv" in page) is shown
    assert (f"{BASE}/excerpts/?format=xlsx" in page) is shown


def test_theme_feature_code_column_is_prefixed_when_named_like_a_key_column(team: Team):
    ParticipantFactory.create(project=team.project, pseudonym="Ana")
    CodeFactory.create(project=team.project, name="participant")
    body = client_for(team.manager).get(f"{BASE}/theme-features/").json()
    assert body["columns"] == ["participant", "customer_ref", "code:participant"]
    assert body["results"][0]["participant"] == "Ana"
