"""The co-occurrence API: JSON shape, the three `by` modes and levels, the coder filter, CSV and
XLSX downloads (formula-safe, EXPORT only), 400s naming the parameter, a constant query count."""

import io

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from coding.models import Excerpt
from observations.models import Sentence
from tests.coding.test_cooccurrence import build_world
from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory, ParticipantFactory

URL = "/api/v1/projects/onboarding-calls/analysis/cooccurrence/"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _small(team: Team):
    """Two codes meeting once by overlap, in one sentence, for one participant; a formula name."""
    project = team.project
    a = CodeFactory.create(project=project, name='=HYPERLINK("http://x","y")', position=0)
    b = CodeFactory.create(project=project, name="+Staff", position=1)
    c = CodeFactory.create(project=project, name="Quiet", position=2)
    person = ParticipantFactory.create(project=project)
    text = "The app froze. I waited ages. Then it worked."
    document = DocumentFactory.create(project=project, text=text, participant=person)
    Sentence.objects.create(document=document, index=0, start=0, end=14)
    Sentence.objects.create(document=document, index=1, start=15, end=29)
    for code, start, end, coder in (
        (a, 0, 10, team.coder),
        (b, 4, 14, team.researcher),
        (b, 15, 29, team.coder),
        (c, 30, 45, team.coder),
    ):
        Excerpt.objects.create(
            project=project,
            document=document,
            code=code,
            coder=coder,
            start=start,
            end=end,
            text=text[start:end],
        )
    return a, b, c


def test_matrix_json_holds_codes_cells_and_diagonal(team: Team):
    a, b, c = _small(team)
    body = client_for(team.coder).get(URL).json()
    assert body["by"] == "overlap"
    assert body["level"] == "code"
    assert body["coefficient"] == "jaccard"
    assert [(x["id"], x["count"]) for x in body["codes"]] == [(a.pk, 1), (b.pk, 2), (c.pk, 1)]
    cells = {(x["code_a"], x["code_b"]): x for x in body["cells"]}
    assert set(cells) == {(a.pk, a.pk), (a.pk, b.pk), (b.pk, b.pk), (c.pk, c.pk)}
    assert cells[(a.pk, b.pk)]["count"] == 1
    assert cells[(a.pk, b.pk)]["coefficient"] == pytest.approx(2 / 3)
    assert cells[(b.pk, b.pk)] == {"code_a": b.pk, "code_b": b.pk, "count": 2, "coefficient": 1.0}


def test_by_sentence_and_participant_count_their_units(team: Team):
    a, b, c = _small(team)
    client = client_for(team.manager)
    sentence = client.get(URL, {"by": "sentence"}).json()
    cells = {(x["code_a"], x["code_b"]): x for x in sentence["cells"]}
    assert [x["count"] for x in sentence["codes"]] == [1, 2, 0]  # c is in no sentence
    assert cells[(a.pk, b.pk)]["count"] == 1
    assert cells[(a.pk, b.pk)]["coefficient"] == pytest.approx(1 / 2)
    assert cells[(c.pk, c.pk)]["coefficient"] is None
    people = client.get(URL, {"by": "participant"}).json()
    cells = {(x["code_a"], x["code_b"]): x["count"] for x in people["cells"]}
    assert cells == {
        (a.pk, a.pk): 1,
        (b.pk, b.pk): 1,
        (c.pk, c.pk): 1,
        (a.pk, b.pk): 1,
        (a.pk, c.pk): 1,
        (b.pk, c.pk): 1,
    }


def test_coder_filter_keeps_that_coders_excerpts(team: Team):
    _small(team)
    body = client_for(team.owner).get(URL, {"coder": team.coder.username}).json()
    assert body["filters"]["coder"] == [team.coder.username]
    assert [x["count"] for x in body["codes"]] == [1, 1, 1]
    assert all(x["code_a"] == x["code_b"] for x in body["cells"])  # the overlap was across coders
    both = client_for(team.owner).get(URL, {"coder": f"{team.coder},{team.researcher}"}).json()
    assert any(x["code_a"] != x["code_b"] for x in both["cells"])


@pytest.mark.django_db
def test_theme_level_and_source_filter_are_applied(team: Team):
    world = build_world(5, project=team.project)
    client = client_for(team.owner)
    themes = client.get(URL, {"level": "theme"}).json()
    live = [t.pk for t in world.themes if not t.is_archived]
    assert [x["id"] for x in themes["codes"]] == live
    only_surveys = client.get(URL, {"source": "survey", "by": "participant"}).json()
    everything = client.get(URL, {"by": "participant"}).json()
    assert sum(x["count"] for x in only_surveys["codes"]) < sum(
        x["count"] for x in everything["codes"]
    )
    assert only_surveys["filters"]["source"] == ["survey"]


def test_csv_and_xlsx_are_formula_safe_and_need_export(team: Team):
    a, _, _ = _small(team)
    coder = client_for(team.coder)
    assert coder.get(URL, {"format": "csv"}).status_code == 403
    response = client_for(team.manager).get(URL, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(_body(response).decode()))
    assert list(frame.columns) == [
        "code_a",
        "code_a_name",
        "code_b",
        "code_b_name",
        "count",
        "coefficient",
    ]
    assert len(frame) == 4
    assert "'" + a.name in set(frame["code_a_name"])
    assert "'+Staff" in set(frame["code_b_name"])
    texts = frame.select_dtypes(["object", "string"])
    assert not texts.apply(lambda col: col.str.match(r"^[=+\-@]")).any().any()
    xlsx = client_for(team.researcher).get(URL, {"format": "xlsx", "by": "sentence"})
    sheet = load_workbook(io.BytesIO(_body(xlsx))).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert "'" + a.name in [cell.value for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"by": "word"}, "by"), ({"level": "x"}, "level"), ({"coder": "outsider"}, "coder")],
)
def test_bad_parameter_is_a_400_naming_it(team: Team, query, field):
    response = client_for(team.owner).get(URL, query)
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert all(e["message"] for e in response.json()["errors"])


def test_another_projects_member_is_not_a_coder_here(team: Team):
    response = client_for(team.owner).get(URL, {"coder": team.outsider.username})
    assert response.status_code == 400
    assert client_for(team.outsider).get(URL).status_code == 404


def test_query_count_does_not_grow_with_codes(team: Team):
    client = client_for(team.owner)
    document = DocumentFactory.create(project=team.project, text="q" * 200)

    def count() -> int:
        client.get(URL)
        with CaptureQueriesContext(connection) as ctx:
            assert (
                client.get(URL, {"by": "sentence", "coder": team.coder.username}).status_code == 200
            )
        return len(ctx.captured_queries)

    few = count()
    for i in range(15):
        code = CodeFactory.create(project=team.project)
        Excerpt.objects.create(
            project=team.project,
            document=document,
            code=code,
            coder=team.coder,
            start=i,
            end=i + 9,
            text="q" * 9,
        )
    assert count() == few
