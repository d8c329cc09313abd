"""The analysis API (issue 5): every number of theme × segment and theme × metric recomputed
independently with pandas and scipy from what the test data was built to mean; coverage; quotes;
downloads read back with pandas and a token; formula safety; access per format; query counts."""

import io
import itertools
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token
from scipy import stats as sps
from scipy.stats.contingency import expected_freq

from coding.models import Code
from research.models import CustomerSegment, Segment, Segmentation
from tests.coding.analysis_data import Study, build_study
from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory, ParticipantFactory

BASE = "/api/v1/projects/onboarding-calls/analysis"
TOL = 1e-9
MIN_CELL = 5  # settings.VERBATIM_MIN_SEGMENT_PARTICIPANTS default


def _body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


# --- the independent computation -----------------------------------------------------------------


def _kept_documents(study: Study, params: dict[str, str]) -> set[int]:
    docs = study.documents
    if "source" in params:
        docs = docs[docs["source"].isin(params["source"].split(","))]
    dates = pd.to_datetime(docs["date"], utc=True)
    if "date_from" in params:
        start = datetime.combine(date.fromisoformat(params["date_from"]), time.min, tzinfo=UTC)
        docs = docs[dates >= start]
        dates = dates[dates >= start]
    if "date_to" in params:
        end = datetime.combine(date.fromisoformat(params["date_to"]), time.min, tzinfo=UTC)
        docs = docs[dates < end + timedelta(days=1)]
    return set(docs["document"])


def _universe(study: Study, params: dict[str, str]) -> tuple[pd.Series, pd.DataFrame]:
    """(segment of each observed participant, the excerpts that count, with row columns)."""
    kept = _kept_documents(study, params)
    seen = set(study.appearances[study.appearances["document"].isin(kept)]["participant"])
    people = study.participants.dropna(subset=["segment"])
    people = people[people["participant"].isin(seen)]
    segment_of = people.set_index("participant")["segment"]
    ex = study.excerpts[study.excerpts["document"].isin(kept)]
    if params.get("customer_speech") == "1":
        ex = ex[ex["speech"]]
    ex = ex[ex["participant"].isin(segment_of.index)].copy()
    ex["segment"] = ex["participant"].map(segment_of)
    codes = study.codes.set_index("code")
    ex["theme"] = ex["code"].map(codes["root"])
    return segment_of, ex


def _rows(study: Study, level: str) -> list[int]:
    codes = study.codes.set_index("code")
    live = [pk for pk in study.order if not codes.loc[pk, "archived"]]
    return [pk for pk in live if pd.isna(codes.loc[pk, "parent"])] if level == "theme" else live


def _test(counts: list[int], sizes: list[int]) -> tuple[str, float | None, float | None]:
    table = np.array([counts, [z - c for c, z in zip(counts, sizes, strict=True)]], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return "none", None, None
    if table.shape == (2, 2) and (expected_freq(table) < 5).any():
        res = sps.fisher_exact(table.astype(int))
        odds = float(res.statistic)
        return "fisher", odds if math.isfinite(odds) else None, float(res.pvalue)
    chi = sps.chi2_contingency(table, correction=False)
    return "chi2", float(chi.statistic), float(chi.pvalue)


def _bh(p_values: dict[int, float | None]) -> dict[int, float | None]:
    keys = [k for k, p in p_values.items() if p is not None]
    out: dict[int, float | None] = dict.fromkeys(p_values)
    if keys:
        q = sps.false_discovery_control([p_values[k] for k in keys], method="bh")
        out.update(zip(keys, (float(v) for v in q), strict=True))
    return out


def expected_theme_segment(
    study: Study, level: str, unit: str, params: dict[str, str]
) -> tuple[dict[int, dict[str, Any]], dict[tuple[int, str], dict[str, Any]]]:
    segment_of, ex = _universe(study, params)
    rows = _rows(study, level)
    key = "theme" if level == "theme" else "code"
    people = segment_of.value_counts().reindex(study.segments, fill_value=0)
    if unit == "participant":
        presence = pd.crosstab(ex["participant"], ex[key]).reindex(
            index=segment_of.index, columns=rows, fill_value=0
        )
        n_table = (presence > 0).groupby(segment_of).sum().T
        sizes = people
    else:
        n_table = pd.crosstab(ex[key], ex["segment"])
        sizes = ex.groupby("segment").size().reindex(study.segments, fill_value=0)
    n_table = n_table.reindex(index=rows, columns=study.segments, fill_value=0)
    row_out: dict[int, dict[str, Any]] = {}
    for row in rows:
        counts = [int(n_table.loc[row, s]) for s in study.segments]
        size_list = [int(sizes[s]) for s in study.segments]
        test, statistic, p = _test(counts, size_list)
        total = sum(size_list)
        row_out[row] = {
            "n": sum(counts),
            "size": total,
            "prevalence": sum(counts) / total if total else None,
            "test": test,
            "statistic": statistic,
            "p_value": p,
        }
    q = _bh({row: r["p_value"] for row, r in row_out.items()})
    cells: dict[tuple[int, str], dict[str, Any]] = {}
    for row, r in row_out.items():
        r["q_value"] = q[row]
        overall = r["prevalence"]
        for s in study.segments:
            n, size = int(n_table.loc[row, s]), int(sizes[s])
            prevalence = n / size if size else None
            low: float | None
            high: float | None
            if size:
                ci = sps.binomtest(n, size).proportion_ci(method="wilson")
                low, high = float(ci.low), float(ci.high)
            else:
                low = high = None
            expected = size * overall if overall is not None else 0.0
            # Haberman's adjusted residual from the margins (None where its variance is 0).
            total = r["size"]
            variance = expected * (1 - overall) * (1 - size / total) if overall is not None else 0.0
            residual = (n - expected) / math.sqrt(variance) if variance > 0 else None
            cells[(row, s)] = {
                "n": n,
                "size": size,
                "participants": int(people[s]),
                "prevalence": prevalence,
                "lift": prevalence / overall if prevalence is not None and overall else None,
                "ci_low": low,
                "ci_high": high,
                "expected": expected,
                "residual": residual,
                "enough_evidence": r["test"] != "none" and people[s] >= MIN_CELL and expected >= 1,
                "test": r["test"],
                "p_value": r["p_value"],
                "q_value": q[row],
            }
    return row_out, cells


def expected_theme_metric(
    study: Study, level: str, metric: str, kind: str, params: dict[str, str]
) -> dict[int, dict[str, Any]]:
    segment_of, ex = _universe(study, params)
    key = "theme" if level == "theme" else "code"
    people = study.participants.set_index("participant")
    shared = people["customer_ref"].duplicated(keep=False)
    values = people.loc[segment_of.index, metric] if metric in people else pd.Series(dtype=object)
    values = values[~shared.loc[values.index]].dropna()
    if kind == "date":
        values = values.map(lambda v: float((date.fromisoformat(v) - date(1970, 1, 1)).days))
    has = pd.crosstab(ex["participant"], ex[key]) > 0
    out: dict[int, dict[str, Any]] = {}
    for row in _rows(study, level):
        with_row = set(has.index[has[row]]) if row in has.columns else set()
        mask = values.index.isin(with_row)
        x, y = values[mask], values[~mask]
        result: dict[str, Any] = {"n_with": len(x), "n_without": len(y)}
        if kind == "categorical":
            cats = sorted(values.astype(str).unique())
            table = pd.crosstab(pd.Series(mask, index=values.index), values.astype(str))
            table = table.reindex(index=[True, False], columns=cats, fill_value=0)
            test, statistic, p = _test(
                list(table.loc[True]), list(table.loc[True] + table.loc[False])
            )
            result.update(
                median_with=None, median_without=None, effect_size=None, test=test, p_value=p
            )
            result["statistic"] = statistic
        else:
            x, y = x.astype(float).to_numpy(), y.astype(float).to_numpy()
            result["median_with"] = float(np.median(x)) if len(x) else None
            result["median_without"] = float(np.median(y)) if len(y) else None
            if len(x) < 2 or len(y) < 2:
                result.update(test="none", statistic=None, p_value=None, effect_size=None)
            else:
                mw = sps.mannwhitneyu(x, y)
                u1 = float(mw.statistic)
                result.update(
                    test="mann-whitney",
                    statistic=u1,
                    p_value=float(mw.pvalue),
                    effect_size=2 * u1 / (len(x) * len(y)) - 1,
                )
        out[row] = result
    q = _bh({row: r["p_value"] for row, r in out.items()})
    for row, r in out.items():
        r["q_value"] = q[row]
    return out


def _same(got: Any, want: Any, what: str) -> None:
    if want is None or got is None:
        assert got is None, f"{what}: got {got!r}, want {want!r}"
        assert want is None, f"{what}: got {got!r}, want {want!r}"
    elif isinstance(want, bool | str):
        assert got == want, f"{what}: got {got!r}, want {want!r}"
    else:
        assert got == pytest.approx(want, abs=TOL, rel=0), f"{what}: got {got!r}, want {want!r}"


# --- the statistics proof ----------------------------------------------------------------------

FILTERS = [
    {},
    {"source": "transcript,field_notes", "customer_speech": "1"},
    {"date_from": "2026-02-01", "date_to": "2026-05-15", "source": "transcript,survey"},
]


@pytest.mark.parametrize("seed", [7, 2026])
def test_theme_segment_equals_pandas_and_scipy_when_data_is_random(team: Team, seed: int):
    study = build_study(team.project, team.coder, seed=seed, participants=40 + seed % 40)
    client = client_for(team.manager)
    tests_seen: set[str] = set()
    for params in FILTERS:
        for level in ("theme", "code"):
            for unit in ("participant", "excerpt"):
                query = {
                    **params,
                    "segmentation": str(study.segmentation.pk),
                    "level": level,
                    "unit": unit,
                }
                body = client.get(f"{BASE}/theme-segment/", query).json()
                rows, cells = expected_theme_segment(study, level, unit, params)
                where = f"{level}/{unit}/{params}"
                assert [r["code"] for r in body["rows"]] == list(rows), where
                assert [s["name"] for s in body["segments"]] == study.segments
                for got in body["rows"]:
                    want = rows[got["code"]]
                    for name, value in want.items():
                        _same(got[name], value, f"{where} row {got['code_name']} {name}")
                    tests_seen.add(got["test"])
                assert len(body["cells"]) == len(cells)
                for got in body["cells"]:
                    want = cells[(got["code"], got["segment"])]
                    for name, value in want.items():
                        _same(
                            got[name], value, f"{where} {got['code_name']}×{got['segment']} {name}"
                        )
    assert "chi2" in tests_seen


def test_theme_segment_uses_fisher_when_two_segments_have_small_counts(team: Team):
    study = build_study(
        team.project, team.coder, seed=3, participants=14, segments=("A", "B"), themes=3
    )
    body = (
        client_for(team.owner)
        .get(f"{BASE}/theme-segment/", {"segmentation": str(study.segmentation.pk)})
        .json()
    )
    rows, cells = expected_theme_segment(study, "theme", "participant", {})
    assert "fisher" in {r["test"] for r in body["rows"]}
    for got in body["rows"]:
        for name, value in rows[got["code"]].items():
            _same(got[name], value, f"{got['code_name']} {name}")
    for got in body["cells"]:
        for name, value in cells[(got["code"], got["segment"])].items():
            _same(got[name], value, f"{got['code_name']}×{got['segment']} {name}")


def test_theme_metric_equals_scipy_when_data_is_random(team: Team):
    study = build_study(team.project, team.coder, seed=11, participants=70)
    client = client_for(team.researcher)
    for metric, params in itertools.product(["spend", "tenure", "joined", "plan"], FILTERS[:2]):
        for level in ("theme", "code"):
            query = {**params, "segmentation": str(study.segmentation.pk), "metric": metric}
            body = client.get(f"{BASE}/theme-metric/", {**query, "level": level}).json()
            assert body["metric"] == metric
            assert body["type"] == study.segmentation.metric_types[metric]
            want = expected_theme_metric(study, level, metric, body["type"], params)
            assert [r["code"] for r in body["results"]] == list(want)
            for got in body["results"]:
                for name, value in want[got["code"]].items():
                    _same(got[name], value, f"{metric}/{level}/{params} {got['code_name']} {name}")
            tested = [r for r in body["results"] if r["p_value"] is not None]
            assert len(tested) >= 2


# --- defaults, coverage, quotes -------------------------------------------------------------------


def test_theme_segment_uses_latest_snapshot_when_none_given(team: Team):
    older = build_study(team.project, team.coder, seed=5, participants=12)
    newer = Segmentation.objects.create(
        project=team.project, name="Later", version=1, source_name="later.csv"
    )
    Segment.objects.create(segmentation=newer, name="Only")
    body = client_for(team.coder).get(f"{BASE}/theme-segment/").json()
    assert body["segmentation"]["id"] == newer.pk
    assert [s["name"] for s in body["segments"]] == ["Only"]
    assert body["level"] == "theme"
    assert body["unit"] == "participant"
    assert body["filters"] == {
        "source": [],
        "customer_speech": False,
        "date_from": None,
        "date_to": None,
    }
    older_body = client_for(team.coder).get(
        f"{BASE}/theme-segment/", {"segmentation": str(older.segmentation.pk)}
    )
    assert older_body.json()["segmentation"]["id"] == older.segmentation.pk


def test_theme_segment_is_400_when_project_has_no_snapshot(team: Team):
    response = client_for(team.owner).get(f"{BASE}/theme-segment/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "segmentation"


def test_theme_metric_400_lists_the_snapshot_metrics_when_metric_unknown(team: Team):
    study = build_study(team.project, team.coder, seed=1, participants=8)
    response = client_for(team.owner).get(
        f"{BASE}/theme-metric/", {"segmentation": str(study.segmentation.pk), "metric": "nps"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "metric"
    for name in ("'nps'", "spend", "tenure", "plan", "joined"):
        assert name in error["message"]


def test_coverage_counts_observed_participants_and_lists_recruits(team: Team):
    study = build_study(team.project, team.coder, seed=21, participants=50)
    body = (
        client_for(team.manager)
        .get(f"{BASE}/coverage/", {"segmentation": str(study.segmentation.pk), "recruit": "500"})
        .json()
    )
    segment_of, ex = _universe(study, {})
    people = study.participants
    customers = pd.DataFrame(
        CustomerSegment.objects.filter(segmentation=study.segmentation).values(
            "customer_ref", "segment__name"
        )
    )
    refs_seen = set(people[people["participant"].isin(segment_of.index)]["customer_ref"])
    links = study.sessions.dropna(subset=["participant"])
    links = links[links["participant"].isin(segment_of.index)]
    links = links.assign(segment=links["participant"].map(segment_of))
    assert [s["segment"] for s in body["segments"]] == study.segments
    for got in body["segments"]:
        name = got["segment"]
        mine = customers[customers["segment__name"] == name]
        todo = sorted(set(mine["customer_ref"]) - refs_seen)
        assert got["participants"] == int((segment_of == name).sum())
        assert got["excerpts"] == int((ex["segment"] == name).sum())
        assert got["sessions"] == links[links["segment"] == name]["session"].nunique()
        assert got["customers"] == len(mine)
        assert got["not_interviewed_count"] == len(todo)
        assert got["recruit_next"] == todo
        assert got["enough_participants"] == (got["participants"] >= MIN_CELL)


def test_quotes_are_the_excerpts_behind_the_cell(team: Team):
    study = build_study(team.project, team.coder, seed=4, participants=30)
    _segment_of, ex = _universe(study, {"customer_speech": "1"})
    theme = _rows(study, "theme")[0]
    segment = study.segments[1]
    want = set(ex[(ex["theme"] == theme) & (ex["segment"] == segment)]["excerpt"])
    body = (
        client_for(team.coder)
        .get(
            f"{BASE}/quotes/",
            {
                "segmentation": str(study.segmentation.pk),
                "code": str(theme),
                "segment": segment,
                "customer_speech": "1",
                "limit": "500",
            },
        )
        .json()
    )
    assert body["total"] == len(want)
    assert {q["excerpt"] for q in body["quotes"]} == want
    assert all(q["customer_speech"] and q["segment"] == segment for q in body["quotes"])
    limited = client_for(team.coder).get(
        f"{BASE}/quotes/",
        {"segmentation": str(study.segmentation.pk), "code": str(theme), "limit": "2"},
    )
    assert len(limited.json()["quotes"]) == min(2, limited.json()["total"])


def test_quotes_is_404_when_code_is_another_projects(team: Team):
    build_study(team.project, team.coder, seed=2, participants=8)
    foreign = CodeFactory.create(project=team.other_project)
    response = client_for(team.owner).get(f"{BASE}/quotes/", {"code": foreign.pk})
    assert response.status_code == 404


# --- downloads ---------------------------------------------------------------------------------


def _formula_study(team: Team) -> tuple[Segmentation, Code]:
    """Two segments, one named like a command, a code named like a formula."""
    project = team.project
    snapshot = Segmentation.objects.create(
        project=project, name="Value", version=1, source_name="v.csv"
    )
    segs = {n: Segment.objects.create(segmentation=snapshot, name=n) for n in ("+cmd", "plain")}
    code = CodeFactory.create(project=project, name='=HYPERLINK("http://x","y")')
    for i in range(12):
        person = ParticipantFactory.create(project=project, customer_ref=f"F{i}")
        CustomerSegment.objects.create(
            segmentation=snapshot, customer_ref=f"F{i}", segment=segs["+cmd" if i % 2 else "plain"]
        )
        document = DocumentFactory.create(project=project, participant=person)
        if i % 3:
            ExcerptFactory.create(document=document, code=code, coder=team.coder)
    return snapshot, code


@pytest.mark.django_db(transaction=True)
def test_pandas_reads_the_matrix_csv_when_given_a_token(team: Team, live_server):
    snapshot, code = _formula_study(team)
    token = Token.objects.create(user=team.manager)
    url = f"{live_server.url}{BASE}/theme-segment/?format=csv&segmentation={snapshot.pk}"
    frame = pd.read_csv(url, storage_options={"Authorization": f"Token {token.key}"})
    assert list(frame.columns)[:4] == ["code", "code_name", "path", "segment"]
    assert len(frame) == 2
    assert set(frame["code_name"]) == {"'" + code.name}  # neutralised, not a formula
    assert set(frame["segment"]) == {"'+cmd", "plain"}
    assert frame["n"].tolist() == [4, 4]
    assert frame["prevalence"].tolist() == pytest.approx([4 / 6, 4 / 6])


def test_matrix_xlsx_and_csv_have_no_formulas_when_downloaded(team: Team):
    snapshot, code = _formula_study(team)
    client = client_for(team.researcher)
    response = client.get(
        f"{BASE}/theme-segment/", {"segmentation": str(snapshot.pk), "format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(_body(response))).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    texts = [v for v in values if isinstance(v, str)]
    assert not any(v.startswith(("=", "+", "-", "@")) for v in texts)
    assert "'" + code.name in texts
    assert "'+cmd" in texts
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    csv_text = _body(client.get(f"{BASE}/theme-segment/", {"format": "csv"})).decode()
    frame = pd.read_csv(io.StringIO(csv_text))
    assert (
        not frame.select_dtypes(["object", "string"])
        .apply(lambda c: c.str.match(r"^[=+\-@]"))
        .any()
        .any()
    )


def test_theme_metric_csv_has_one_row_per_code(team: Team):
    study = build_study(team.project, team.coder, seed=9, participants=20)
    response = client_for(team.owner).get(
        f"{BASE}/theme-metric/",
        {"segmentation": str(study.segmentation.pk), "metric": "spend", "format": "csv"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(_body(response).decode()))
    assert frame["code"].tolist() == _rows(study, "theme")
    assert {"median_with", "p_value", "q_value", "effect_size"} <= set(frame.columns)


@pytest.mark.parametrize("route", ["theme-segment", "theme-metric"])
def test_downloads_need_export_when_json_needs_read(team: Team, route: str):
    study = build_study(team.project, team.coder, seed=6, participants=8)
    query = {"segmentation": str(study.segmentation.pk), "metric": "spend"}
    coder = client_for(team.coder)
    assert coder.get(f"{BASE}/{route}/", query).status_code == 200
    for fmt in ("csv", "xlsx"):
        refused = coder.get(f"{BASE}/{route}/", {**query, "format": fmt})
        assert refused.status_code == 403
        assert refused["Content-Type"].startswith("application/json")
        assert refused.json()["detail"]
        assert (
            client_for(team.manager).get(f"{BASE}/{route}/", {**query, "format": fmt}).status_code
            == 200
        )


# --- query counts ------------------------------------------------------------------------------


def _count_queries(team: Team, participants: int, seed: int, django_assert_max_num_queries) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    study = build_study(team.project, team.coder, seed=seed, participants=participants)
    client = client_for(team.manager)
    url = f"{BASE}/theme-segment/"
    query = {"segmentation": str(study.segmentation.pk), "source": "transcript,field_notes"}
    client.get(url, query)  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, {**query, "unit": "excerpt"}).status_code == 200
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        client.get(url, {**query, "level": "code"})
    return len(ctx.captured_queries)


def test_theme_segment_query_count_is_constant_when_participants_grow(
    team: Team, django_assert_max_num_queries
):
    few = _count_queries(team, 10, 31, django_assert_max_num_queries)
    many = _count_queries(team, 40, 32, django_assert_max_num_queries)
    assert few == many
    assert many <= 14
