"""The spec's Annex A examples, retyped as fixtures, read with the counts the printed XML has.

Counts were taken by reading the printed examples (REFI-QDA 1.5, pages 27-50). The spec gives
no source files, so the archives built here hold plausible text for some sources (with each
selection's quoted name at its position) and leave the others out, which the report must name.
"""

from __future__ import annotations

import io

from coding.refi.reader import read_qdc, read_qdpx
from tests.coding.refi_data import fixture, qdpx, text_with


def test_annex_a1_codebook_has_six_codes_two_of_them_folders() -> None:
    codebook = read_qdc(fixture("annex_a1.qdc"))
    assert [code.name for code in codebook.all_codes()] == [
        "Topics",
        "Economy",
        "Health care",
        "Values",
        "Conservatives",
        "Liberals",
    ]
    assert [code.is_codable for code in codebook.codes] == [False, True, True, False, True, True]
    assert codebook.codes[1].color == "#ffff00"
    assert codebook.codes[1].description == "Anything about jobs or taxes or business"
    # Braced and bare GUIDs both come out canonical.
    assert codebook.codes[0].guid == "5215CC69-B628-4E02-AFB9-9BEEAEE55808"
    assert codebook.codes[3].guid == "9FA9BCB7-5B59-47A9-8C3E-F65CFFDC7520"
    assert codebook.not_carried == []


# Example 2's text files that this test supplies: upper-case names in `Sources/`, as printed.
A2_TEXTS = {
    "230B768E-5A3D-42B7-BE92-2A3721177944.TXT": text_with(
        220, {139: "Oh, that was great. See you tomorrow? Eleven thirty. Mm."}
    ),
    "88293C71-CB70-4AB7-8413-C24110A19C2E.TXT": text_with(
        430,
        {
            250: "For some reason babies aren't supposed to have cow's milk that is low fat. "
            "However, I am really bad"
        },
    ),
    "B2F54555-0D2D-43B2-B40C-2A1C048F5F1C.TXT": text_with(
        420,
        {
            0: "I'm a single mum with an 8 month old and a toddler and breakfast is mayhem. "
            "The baby has porridge, I"
        },
    ),
    "C1C745F7-8E4D-48B2-9710-655AFE7E54FA.TXT": text_with(
        950,
        {
            215: "I did try the gluten free bread, but it was always so soggy,",
            513: "But to be honest, I used to have a much bigger breakfast, and these days "
            "I find myself snacking abou",
        },
    ),
    "B09E8D25-66A6-4D7E-A884-3E1A11A40E7C.TXT": text_with(300, {}),
    "142EB46D-612E-4593-A385-D0E5D04D1288.TXT": text_with(520, {62: "granola"}),
}


def test_annex_a2_simple_project_reads_with_the_printed_counts() -> None:
    entries = {"Project.QDE": fixture("annex_a2.qde")}
    entries |= {f"Sources/{name}": text.encode() for name, text in A2_TEXTS.items()}
    project = read_qdpx(qdpx(entries))

    assert project.name == "ATLAS.ti standard project"
    assert len(project.users) == 3
    assert len(project.all_codes()) == 14  # flat: "Coke::diet Coke" is a name, not a path
    assert project.variables == []
    assert project.cases == []
    assert len(project.notes) == 2
    assert project.notes[0].text.startswith("day to day log about this amazing project\n\n")
    # 6 TextSources + 2 PDF text representations, less the 2 whose text is not supplied.
    assert [source.name for source in project.sources] == [
        "1994 Diet Coke-Diet Coke Break.docx",
        "Mabêl 2ième.txt",
        "Mabel.txt",
        "Simon.docx",
        "Kellogg's Passion for Nutrition.pdf",
        "Pay de Limón con Base de Granola | Kellogg's ®.pdf",
    ]
    selections = [s for source in project.sources for s in source.selections]
    assert len(selections) == 8  # 6 in TextSources + 2 in a PDF's Representation
    assert sum(len(s.codings) for s in selections) == 9
    simon = project.sources[3]
    assert [(s.start, s.end) for s in simon.selections] == [(688, 907), (215, 275), (513, 907)]
    assert simon.text[215:275] == "I did try the gluten free bread, but it was always so soggy,"
    assert simon.selections[0].description == "why does Simon feel the need to do this?"

    report = "\n".join(project.not_carried)
    assert "'1960s Coca Cola commercial - Audio.docx'" in report
    assert "'1960s Coca Cola commercial - Visual.docx'" in report
    assert "PictureSource 'cornflakes-n-milk.jpg'" in report
    assert "1 PictureSelection(s)" in report
    # 4 page areas, 2 of which ATLAS.ti also wrote as text selections (those were carried).
    assert "2 PDFSelection(s) (page areas) in PDFSource 'Pay de Limón" in report
    assert "AudioSource 'Jeanine's Breakfast.m4a'" in report
    assert "2 VideoSelection(s)" in report
    assert "16 Set(s)" in report
    assert "1 Link(s)" in report
    assert "1 Graph(s) ('Netzwerk')" in report
    assert len(project.not_carried) == 10


A3_TEXT_SOURCES = {
    "acd630d1-1dde-4661-ac92-79d8bf18ff86": 40,
    "8e7fddfe-db36-48dc-b464-80c3a4decd90": 60,
    "58c9e1d8-8b52-4bda-8d04-d435de94882c": 80,
    "24816584-dbdd-4bf4-98be-04dc6429fce3": 90,
    "b45eacda-a0ef-4e58-ad5e-4604e9893429": 100,
    "9e2c581d-720d-42ca-a0f2-cce78e2e2ab0": 700,
}


def test_annex_a3_complex_project_reads_with_the_printed_counts() -> None:
    entries = {"project.qde": fixture("annex_a3.qde")}
    entries |= {f"sources/{g}.txt": text_with(n, {}).encode() for g, n in A3_TEXT_SOURCES.items()}
    entries["sources/07569629-7c9b-4417-aa62-988d78e9a0bc.txt"] = b"Library note 1"
    project = read_qdpx(io.BytesIO(qdpx(entries).getvalue()))

    assert project.origin == "Transana 3.22b2-QDE-Win"
    assert len(project.users) == 63
    assert len(project.codes) == 7
    assert len(project.all_codes()) == 19  # 7 groups, 12 codes inside them
    assert sum(1 for code in project.all_codes() if not code.is_codable) == 7
    assert sum(len(code.note_guids) for code in project.all_codes()) == 5
    assert len(project.sources) == 6
    selections = [s for source in project.sources for s in source.selections]
    assert len(selections) == 15
    assert sum(len(s.codings) for s in selections) == 30
    assert sum(len(source.codings) for source in project.sources) == 6
    assert sum(len(s.note_guids) for s in selections) == 5
    assert sum(len(source.note_guids) for source in project.sources) == 5
    testing = project.sources[5]
    assert [(s.start, s.end) for s in testing.selections][-1] == (645, 649)
    assert len(project.notes) == 40
    assert project.notes[0].text == "Library note 1"

    report = project.not_carried
    assert sum(line.startswith("PictureSource") for line in report) == 5
    assert sum(line.startswith("VideoSource") for line in report) == 5
    # Their files not supplied: kept on the note, reported once by import (what became of it).
    assert sum(1 for note in project.notes if note.missing_path) == 39
    assert not any(line.startswith("Note ") for line in report)
    assert any(line.startswith("6 Set(s)") for line in report)
    assert len(report) == 5 + 5 + 1
