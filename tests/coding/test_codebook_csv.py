"""Codebook CSV export and import: round trip, all-or-nothing errors, formula injection."""

import csv
import io

import pytest

from coding import services
from coding.models import Code, CodebookChange
from observations.services.imports import ImportValidationError
from tests.factories import DocumentFactory, ExcerptFactory, ProjectFactory


def tree(project) -> set[tuple]:
    paths = {}
    codes = list(Code.objects.filter(project=project))
    by_id = {c.pk: c for c in codes}

    def path(code):
        parent = by_id.get(code.parent_id)
        return (path(parent) + " > " if parent else "") + code.name

    for code in codes:
        paths[code.pk] = path(code)
    return {
        (
            paths[c.pk],
            c.description,
            c.inclusion_notes,
            c.exclusion_notes,
            c.example,
            c.color,
            c.is_archived,
        )
        for c in codes
    }


def test_export_then_import_gives_the_same_tree_when_target_project_is_empty(team):
    theme = services.code_create(
        project=team.project, name="Money", creator=team.researcher, color="#112233"
    )
    price = services.code_create(
        project=team.project,
        name='Price, "quoted"',
        parent=theme,
        creator=team.researcher,
        description="Line one\nline two",
        inclusion_notes="Mentions of cost",
        example="=SUM(A1) it said",
    )
    services.code_create(
        project=team.project, name="Café ☕", parent=price, creator=team.researcher
    )
    services.code_archive(code=price, user=team.researcher)
    ExcerptFactory.create(
        document=DocumentFactory.create(project=team.project), code=price, coder=team.coder
    )
    exported = services.codebook_export_csv(team.project)
    empty = ProjectFactory.create()
    result = services.codebook_import_csv(
        project=empty, user=team.researcher, data=exported.encode("utf-8")
    )
    assert len(result.created) == 3
    assert tree(empty) == tree(team.project)
    assert CodebookChange.objects.filter(project=empty, action="import").count() == 1
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert rows[1]["excerpt_count"] == "1"
    assert rows[1]["path"] == 'Money > Price, "quoted"'


def test_export_neutralises_formulas_when_cells_start_with_formula_characters(team):
    for name in ("=HYPERLINK(1)", "+1", "-2", "@cmd", "\tTab"):
        services.code_create(project=team.project, name=name, creator=team.researcher)
    rows = list(csv.reader(io.StringIO(services.codebook_export_csv(team.project))))[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert {row[1] for row in rows} >= {"'=HYPERLINK(1)", "'@cmd"}


def test_import_names_row_and_column_and_creates_nothing_when_a_row_is_bad(team):
    data = (
        b"path,description,color,archived\n"
        b"Money > Price,ok,#112233,no\n"
        b"Money > Fees,bad colour,red,no\n"
        b"Money >  > Gap,,,\n"
        b"Money > Tips,,,maybe\n"
    )
    with pytest.raises(ImportValidationError) as error:
        services.codebook_import_csv(project=team.project, user=team.researcher, data=data)
    where = {(e["row"], e["field"]) for e in error.value.errors}
    assert where == {(3, "color"), (4, "path"), (5, "archived")}
    assert not Code.objects.filter(project=team.project).exists()
    assert not CodebookChange.objects.filter(project=team.project).exists()


def test_import_updates_existing_codes_and_never_deletes_when_paths_match(team):
    theme = services.code_create(project=team.project, name="Money", creator=team.researcher)
    services.code_create(project=team.project, name="Kept", creator=team.researcher)
    data = "path,description\nmoney,Everything about money\nMoney > Fees,New\n".encode("cp1252")
    result = services.codebook_import_csv(project=team.project, user=team.researcher, data=data)
    theme.refresh_from_db()
    assert theme.description == "Everything about money"
    assert [c.name for c in result.created] == ["Fees"]
    assert Code.objects.filter(project=team.project, name="Kept").exists()


def test_import_reads_windows_1252_when_file_is_not_utf8(team):
    data = "path,description\nCafé,Déjà vu\n".encode("cp1252")
    services.codebook_import_csv(project=team.project, user=team.researcher, data=data)
    assert Code.objects.get(project=team.project).description == "Déjà vu"
