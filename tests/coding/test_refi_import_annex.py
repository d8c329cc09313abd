"""The spec's Annex A examples imported into a project: what the database holds afterwards.

The archives are the ones tests/coding/test_refi_annex.py builds (the spec gives no source
files, so some text is supplied and some left out); the counts follow from the printed XML.
"""

import io

from coding.models import Code, Excerpt, Memo
from coding.refi.importer import import_qda
from coding.refi.reader import read_qdc, read_qdpx
from observations.models import Document
from research.models import User
from tests.coding.refi_data import fixture, qdpx, text_with
from tests.coding.test_refi_annex import A2_TEXTS, A3_TEXT_SOURCES


def test_annex_a1_codebook_imports_six_codes(team):
    report = import_qda(team.project, read_qdc(fixture("annex_a1.qdc")), user=team.researcher)

    codes = {code.name: code for code in Code.objects.filter(project=team.project)}
    assert set(codes) == {"Topics", "Economy", "Health care", "Values", "Conservatives", "Liberals"}
    assert codes["Economy"].color == "#ffff00"
    assert codes["Economy"].description == "Anything about jobs or taxes or business"
    assert report.created["codes"] == 6
    assert "2 code(s) marked not codable" in "\n".join(report.not_carried)


def test_annex_a2_simple_project_imports_its_sources_codings_and_notes(team):
    entries = {"Project.QDE": fixture("annex_a2.qde")}
    entries |= {f"Sources/{name}": text.encode() for name, text in A2_TEXTS.items()}
    qda = read_qdpx(qdpx(entries))

    report = import_qda(team.project, qda, user=team.researcher)

    assert Code.objects.filter(project=team.project).count() == 14
    assert Document.objects.filter(project=team.project).count() == 6
    assert Excerpt.objects.filter(project=team.project).count() == 9
    simon = Document.objects.get(project=team.project, title="Simon.docx")
    soggy = Excerpt.objects.get(document=simon, start=215)
    assert soggy.text == "I did try the gluten free bread, but it was always so soggy,"
    assert Excerpt.objects.get(document=simon, start=688).memo == (
        "why does Simon feel the need to do this?"
    )
    # The two Notes, and a selection with a description but no coding: a memo on its document.
    memos = Memo.objects.filter(project=team.project)
    assert sorted(memo.document is not None for memo in memos) == [False, False, True]
    # ATLAS.ti's three users are unknown here: inactive placeholders who coded their own work.
    coders = set(Excerpt.objects.filter(project=team.project).values_list("coder", flat=True))
    assert all(not user.is_active for user in User.objects.filter(pk__in=coders))
    assert len(report.placeholder_users) == len(coders) <= 3
    assert report.not_carried[: len(qda.not_carried)] == qda.not_carried


def test_annex_a3_complex_project_imports_with_its_counts(team):
    entries = {"project.qde": fixture("annex_a3.qde")}
    entries |= {f"sources/{g}.txt": text_with(n, {}).encode() for g, n in A3_TEXT_SOURCES.items()}
    entries["sources/07569629-7c9b-4417-aa62-988d78e9a0bc.txt"] = b"Library note 1"
    qda = read_qdpx(io.BytesIO(qdpx(entries).getvalue()))

    report = import_qda(team.project, qda, user=team.researcher)

    assert Code.objects.filter(project=team.project).count() == 19
    assert Document.objects.filter(project=team.project).count() == 6
    # 30 codings of 15 selections, 6 codings of whole sources (Transana names no coder: the
    # importing user's), one note with text (the others' files are not in the archive).
    assert Excerpt.objects.filter(project=team.project, coder=team.researcher).count() == 36
    memo = Memo.objects.get(project=team.project)
    assert memo.text == "Library note 1"
    assert report.placeholder_users == [memo.author.username]
    assert report.created == {
        "codes": 19,
        "documents": 6,
        "excerpts": 36,
        "memos": 1,
        "participants": 0,
        "users": 1,
        "members": 1,
    }
    lines = report.not_carried
    # Each note whose file is missing is said once, in one line, not also counted as empty.
    missing = [line for line in lines if "note" in line.lower()]
    assert len(missing) == 1
    assert missing[0].startswith(
        "39 note(s) were not imported: their text file is not in the archive (internal://"
    )
    assert missing[0].endswith(" and 36 more).")
    assert "62 user(s) of the file did no imported work and were not added." in lines
    assert sum(line.startswith(("PictureSource", "VideoSource")) for line in lines) == 10
