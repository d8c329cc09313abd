"""REFI-QDA export: a project as `.qdpx` / `.qdc`, valid against the spec's schemas, mapped as
coding/refi/export.py says, deterministic, and with positions that slice the source text."""

import io
import itertools
import zipfile
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from coding.models import Code
from coding.refi.export import (
    CUSTOMER_REF_VARIABLE,
    KIND_VARIABLE,
    SESSION_VARIABLE,
    code_description,
    project_to_qda,
    split_code_description,
    stable_guid,
)
from coding.refi.model import QdaProject
from coding.refi.writer import (
    CODEBOOK_NS,
    PROJECT_NS,
    write_codebook_xml,
    write_project_xml,
    write_qdpx,
)
from observations.models import Document
from research.models import CustomerSegment, ParticipantSegment, Segment, Segmentation
from research.services_segmentation import participant_segments
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    MemoFactory,
    ParticipantFactory,
    ProjectFactory,
    SessionFactory,
    SpeakerTurnFactory,
    UserFactory,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT_XSD = ROOT.parent / "shared" / "data" / "refi-qda" / "Project.xsd"
CODEBOOK_XSD = ROOT / "tests" / "fixtures" / "refi" / "Codebook.xsd"
P = f"{{{PROJECT_NS}}}"


def _schema(path: Path) -> etree.XMLSchema:
    assert path.is_file(), f"missing schema file {path}"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def project_schema() -> etree.XMLSchema:
    return _schema(PROJECT_XSD)


@pytest.fixture(scope="module")
def codebook_schema() -> etree.XMLSchema:
    return _schema(CODEBOOK_XSD)


def valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    """The parsed document, after asserting it validates (the schema's errors as the message)."""
    root = etree.fromstring(xml)
    assert schema.validate(root), "\n".join(str(e) for e in schema.error_log)
    return root


def qdpx(qda: QdaProject) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    write_qdpx(qda, buffer)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def check_positions(root: etree._Element, archive: zipfile.ZipFile, quotes: dict[str, str]):
    """Every selection's positions slice its source file to the quote of each of its codings."""
    for source in root.iter(f"{P}TextSource"):
        path = source.get("plainTextPath").removeprefix("internal://")
        raw = archive.read(f"sources/{path}")
        assert not raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8")
        for selection in source.iter(f"{P}PlainTextSelection"):
            piece = text[int(selection.get("startPosition")) : int(selection.get("endPosition"))]
            for coding in selection.iter(f"{P}Coding"):
                assert piece == quotes[coding.get("guid")]


@pytest.fixture
def rich(team):
    """The team's project with one of everything the export maps."""
    project = team.project
    project.description = "Why activation fails."
    project.save()
    theme = CodeFactory.create(project=project, name="Activation", color="#aa0000")
    child = CodeFactory.create(
        project=project,
        parent=theme,
        name="Waiting ⏳",
        description="Delays before the line works.",
        inclusion_notes="Days, not minutes.",
        example="took three days",
    )
    archived = CodeFactory.create(project=project, parent=theme, name="Old", is_archived=True)
    person = ParticipantFactory.create(
        project=project,
        pseudonym="P07",
        customer_ref="CUST-1",
        attributes={"age": 41, "spend": 12.5, "vip": True, "joined": "2024-03-01", "city": "Leeds"},
    )
    ParticipantFactory.create(project=project, pseudonym="P08", customer_ref="", attributes={})
    snapshot = Segmentation.objects.create(project=project, name="Value", version=2)
    gold = Segment.objects.create(segmentation=snapshot, name="Gold")
    CustomerSegment.objects.create(segmentation=snapshot, customer_ref="CUST-1", segment=gold)
    session = SessionFactory.create(project=project, title="Store visit")
    document = DocumentFactory.create(
        project=project, participant=person, session=session, created_by=team.researcher
    )
    SpeakerTurnFactory.create(document=document, start=0, end=12)
    first = ExcerptFactory.create(
        document=document, code=child, coder=team.coder, start=70, end=96, memo="Key quote."
    )
    ExcerptFactory.create(document=document, code=theme, coder=team.researcher, start=70, end=96)
    ExcerptFactory.create(document=document, code=archived, coder=team.coder, start=0, end=11)
    MemoFactory.create(project=project, author=team.owner, code=theme, title="On activation")
    MemoFactory.create(project=project, author=team.coder, document=document, title="Doc memo")
    MemoFactory.create(project=project, author=team.coder, excerpt=first, title="Excerpt memo")
    return team


def test_export_maps_the_project_and_validates_when_it_has_everything(rich, project_schema):
    team = rich
    qda = project_to_qda(team.project)
    root = valid(project_schema, write_project_xml(qda))
    assert root.tag == f"{P}Project"
    assert root.get("origin").startswith("Verbatim ")
    users = {u.get("id"): u for u in root.iter(f"{P}User")}
    assert set(users) == {"owner1", "researcher1", "coder1", "manager1"}
    [activation] = list(root.find(f"{P}CodeBook/{P}Codes"))
    assert activation.get("name") == "Activation"
    assert activation.get("color") == "#aa0000"
    children = {c.get("name"): c for c in activation.findall(f"{P}Code")}
    assert set(children) == {"Waiting ⏳", "Old"}
    assert children["Waiting ⏳"].findtext(f"{P}Description") == (
        "Delays before the line works.\n\nInclusion notes: Days, not minutes.\n\n"
        "Example: took three days"
    )
    assert activation.find(f"{P}NoteRef") is not None  # the memo on the code
    [source] = root.iter(f"{P}TextSource")
    assert source.get("creatingUser") == users["researcher1"].get("guid")
    selections = source.findall(f"{P}PlainTextSelection")
    assert [(s.get("startPosition"), s.get("endPosition")) for s in selections] == [
        ("0", "11"),
        ("70", "96"),
    ]
    shared = selections[1]
    coders = [c.get("creatingUser") for c in shared.findall(f"{P}Coding")]
    assert coders == [users["coder1"].get("guid"), users["researcher1"].get("guid")]
    assert len(shared.findall(f"{P}NoteRef")) == 2  # the excerpt's memo and the memo on it
    assert shared.find(f"{P}Coding/{P}NoteRef") is not None
    assert shared.get("name") == Document.objects.get().text[70:96]
    notes = {n.get("name"): n for n in root.iter(f"{P}Note")}
    assert notes["Doc memo"].findtext(f"{P}PlainTextContent").startswith("Three participants")
    assert notes[f"Memo: {shared.get('name')}"].findtext(f"{P}PlainTextContent") == "Key quote."
    variables = {v.get("name"): v for v in root.iter(f"{P}Variable")}
    types = {name: v.get("typeOfVariable") for name, v in variables.items()}
    assert types == {
        CUSTOMER_REF_VARIABLE: "Text",
        "age": "Integer",
        "spend": "Float",
        "vip": "Boolean",
        "joined": "Date",
        "city": "Text",
        "Segment: Value": "Text",
        KIND_VARIABLE: "Text",
        SESSION_VARIABLE: "Text",
    }
    cases = {c.get("name"): c for c in root.iter(f"{P}Case")}
    values = {
        v.find(f"{P}VariableRef").get("targetGUID"): v[1].text
        for v in cases["P07"].findall(f"{P}VariableValue")
    }
    by_name = {name: values.get(v.get("guid")) for name, v in variables.items()}
    assert by_name["Segment: Value"] == "Gold"
    assert by_name["joined"] == "2024-03-01"
    assert by_name["vip"] == "true"
    assert by_name["spend"] == "12.5"
    assert [r.get("targetGUID") for r in cases["P07"].findall(f"{P}SourceRef")] == [
        source.get("guid")
    ]
    kinds = {v[0].get("targetGUID"): v[1].text for v in source.findall(f"{P}VariableValue")}
    assert kinds[variables[KIND_VARIABLE].get("guid")] == "transcript"
    assert kinds[variables[SESSION_VARIABLE].get("guid")] == "Store visit"
    assert root.findtext(f"{P}Description") == "Why activation fails."
    loss = " ".join(qda.not_carried)
    assert "1 archived code(s)" in loss
    assert "1 speaker turn(s)" in loss
    assert "Project roles of 4 member(s)" in loss


def test_qdpx_holds_project_and_sources_whose_positions_slice_the_quotes(rich, project_schema):
    qda = project_to_qda(rich.project)
    archive = qdpx(qda)
    names = archive.namelist()
    assert names[0] == "project.qde"
    assert names[1:] == [f"sources/{qda.sources[0].guid}.txt"]
    root = valid(project_schema, archive.read("project.qde"))
    quotes = {
        c.guid: qda.sources[0].text[s.start : s.end]
        for s in qda.sources[0].selections
        for c in s.codings
    }
    check_positions(root, archive, quotes)
    assert archive.read(names[1]).decode("utf-8") == Document.objects.get().text


def test_codebook_validates_and_nests_when_exported(rich, codebook_schema):
    root = valid(codebook_schema, write_codebook_xml(project_to_qda(rich.project)))
    assert root.tag == f"{{{CODEBOOK_NS}}}CodeBook"
    names = [c.get("name") for c in root.iter(f"{{{CODEBOOK_NS}}}Code")]
    assert names == ["Activation", "Old", "Waiting ⏳"]


def test_codebook_is_refused_when_there_are_no_codes(db):
    with pytest.raises(ValueError, match="no codes"):
        write_codebook_xml(project_to_qda(ProjectFactory.create()))


def test_empty_project_exports_valid_xml_when_it_has_nothing(db, project_schema):
    root = valid(project_schema, write_project_xml(project_to_qda(ProjectFactory.create())))
    assert len(root) == 0


def test_two_exports_are_identical_when_data_is_unchanged(rich):
    def export() -> bytes:
        buffer = io.BytesIO()
        write_qdpx(project_to_qda(rich.project), buffer)
        return buffer.getvalue()

    assert export() == export()


def test_characters_xml_cannot_hold_are_removed_when_outside_sources(team, project_schema):
    project = team.project
    code = CodeFactory.create(project=project, name="Bell\x07 code", description="a\x02b\x1fc")
    document = DocumentFactory.create(project=project, title="Form\x0cfeed", text="ab\x0ccd\x01ef")
    ExcerptFactory.create(document=document, code=code, coder=team.coder, start=1, end=6)
    MemoFactory.create(project=project, author=team.coder, title="T\x0b", text="x\ufffey\r\nz")
    qda = project_to_qda(project)
    archive = qdpx(qda)
    root = valid(project_schema, archive.read("project.qde"))
    assert root.find(f".//{P}Code").get("name") == "Bell code"
    assert root.find(f".//{P}Code/{P}Description").text == "abc"
    assert root.find(f".//{P}TextSource").get("name") == "Formfeed"
    assert root.find(f".//{P}Note/{P}PlainTextContent").text == "xy\r\nz"
    # The source file is not XML: it keeps every character, so positions still match.
    assert archive.read(f"sources/{qda.sources[0].guid}.txt") == b"ab\x0ccd\x01ef"
    check_positions(
        root, archive, {c.guid: "b\x0ccd\x01" for c in qda.sources[0].selections[0].codings}
    )


def test_query_count_is_constant_when_rows_grow(team):
    snapshot = Segmentation.objects.create(project=team.project, name="Value", version=1)
    Segmentation.objects.create(project=team.project, name="Channel", version=1)
    segment = Segment.objects.create(segmentation=snapshot, name="Gold")

    def grow(n: int) -> int:
        for _ in range(n):
            person = ParticipantFactory.create(project=team.project, attributes={"n": n})
            CustomerSegment.objects.create(
                segmentation=snapshot, customer_ref=person.customer_ref, segment=segment
            )
            parent = CodeFactory.create(project=team.project)
            code = CodeFactory.create(project=team.project, parent=parent)
            document = DocumentFactory.create(project=team.project, participant=person)
            excerpt = ExcerptFactory.create(document=document, code=code, coder=team.coder)
            MemoFactory.create(project=team.project, author=team.coder, excerpt=excerpt)
        with CaptureQueriesContext(connection) as queries:
            project_to_qda(team.project)
        return len(queries.captured_queries)

    few, many = grow(2), grow(12)
    assert few == many
    assert many <= 12


def test_segments_follow_participant_segments_when_snapshots_have_versions(team):
    project = team.project
    old = Segmentation.objects.create(project=project, name="Value", version=1)
    new = Segmentation.objects.create(project=project, name="Value", version=2)
    for snapshot in (old, new):
        for name in ("Gold", "Silver"):
            Segment.objects.create(segmentation=snapshot, name=name)
    a = ParticipantFactory.create(project=project, customer_ref="A")
    ParticipantFactory.create(project=project, customer_ref="SHARED")
    ParticipantFactory.create(project=project, customer_ref="SHARED")
    manual = ParticipantFactory.create(project=project, customer_ref="M")
    for ref, name in (("A", "Gold"), ("SHARED", "Gold"), ("M", "Gold")):
        CustomerSegment.objects.create(
            segmentation=new, customer_ref=ref, segment=new.segments.get(name=name)
        )
    CustomerSegment.objects.create(
        segmentation=old, customer_ref="A", segment=old.segments.get(name="Silver")
    )
    ParticipantSegment.objects.create(
        participant=manual, segmentation=new, segment=new.segments.get(name="Silver")
    )
    qda = project_to_qda(project)
    [variable] = [v for v in qda.variables if v.name == "Segment: Value"]
    exported = {case.name: case.variables.get(variable.guid) for case in qda.cases}
    expected = participant_segments(project=project, segmentation=new)
    names = {p.pk: p.pseudonym for p in project.participants.all()}
    assert exported == {names[pk]: expected.get(pk) for pk in names}
    assert exported[a.pseudonym] == "Gold"
    assert exported[manual.pseudonym] == "Silver"


@given(
    description=st.text(max_size=30),
    notes=st.lists(st.text(min_size=0, max_size=30), min_size=3, max_size=3),
)
def test_code_description_splits_back_when_texts_hold_no_label(description, notes):
    labelled = ("Inclusion notes: ", "Exclusion notes: ", "Example: ")
    texts = [description, *notes]
    if any(label in text for text in texts for label in labelled):
        return
    folded = code_description(description, *notes)
    assert split_code_description(folded) == dict(
        zip(["description", "inclusion_notes", "exclusion_notes", "example"], texts, strict=True)
    )


# --- generated projects ----------------------------------------------------------------------

_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
# Emoji (one outside the BMP, one a ZWJ sequence), combining marks, whitespace, any code point.
_PIECES = st.sampled_from(["😀", "👩\u200d🔬", "e\u0301", "\u0308", " ", "\n", "\x0b"])
_WORDS = st.lists(st.one_of(_CHARS, _PIECES), max_size=20).map("".join)
_VALUES = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates().map(str),
    _WORDS,
    st.none(),
)
_SLUGS = itertools.count()


@st.composite
def projects(draw):
    texts = draw(st.lists(_WORDS.filter(lambda t: len(t) >= 2), min_size=1, max_size=3))
    codes = draw(st.lists(st.tuples(_WORDS, st.integers(0, 5)), min_size=1, max_size=6))
    excerpts = draw(
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 60), st.integers(1, 60)),
            max_size=10,
        )
    )
    people = draw(
        st.lists(
            st.dictionaries(
                st.text(_CHARS, min_size=1, max_size=10).filter(str.strip), _VALUES, max_size=3
            ),
            max_size=3,
        )
    )
    memos = draw(st.lists(st.tuples(_WORDS, _WORDS, st.integers(0, 3)), max_size=3))
    return texts, codes, excerpts, people, memos


def build(team, data):
    """Rows in a new project from generated data; returns it and the quote of each excerpt."""
    texts, codes, excerpts, people, memos = data
    project = ProjectFactory.create(slug=f"generated-{next(_SLUGS)}")
    coders = [team.coder, UserFactory.create(username="coder2", display_name="Zoë 🧪")]
    made: list[Code] = []
    for index, (name, parent) in enumerate(codes):
        above = made[parent] if parent < len(made) else None
        made.append(
            CodeFactory.create(
                project=project, parent=above, name=f"{index} {name}"[:120], description=name
            )
        )
    persons = [
        ParticipantFactory.create(project=project, pseudonym=f"P{i}", attributes=attributes)
        for i, attributes in enumerate(people)
    ]
    documents = [
        DocumentFactory.create(
            project=project, text=text, participant=persons[i % len(persons)] if persons else None
        )
        for i, text in enumerate(texts)
    ]
    quotes = {}
    for i, (doc, code, start, length) in enumerate(excerpts):
        document = documents[doc % len(documents)]
        start = start % (len(document.text) - 1)
        end = min(start + length, len(document.text))
        excerpt = ExcerptFactory.create(
            document=document,
            code=made[code % len(made)],
            coder=coders[i % 2],
            start=start,
            end=end,
            memo=texts[0] if i % 3 == 0 else "",
        )
        quotes[excerpt.pk] = document.text[start:end]
    for title, text, target in memos:
        MemoFactory.create(
            project=project,
            author=coders[target % 2],
            title=title[:200],
            text=text or "-",
            code=made[0] if target == 1 else None,
            document=documents[0] if target == 2 else None,
        )
    return project, quotes


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=projects())
def test_generated_projects_validate_and_keep_positions(
    team, project_schema, codebook_schema, data
):
    project, quotes = build(team, data)
    qda = project_to_qda(project)
    archive = qdpx(qda)
    root = valid(project_schema, archive.read("project.qde"))
    valid(codebook_schema, write_codebook_xml(qda))
    by_guid = {stable_guid(project, "excerpt", pk): quote for pk, quote in quotes.items()}
    assert len(list(root.iter(f"{P}Coding"))) == len(quotes)
    check_positions(root, archive, by_guid)
