"""Reading REFI-QDA XML: quirks of real tools read to the same project; attacks are refused."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from coding.refi.archive import RefiError
from coding.refi.model import QdaProject
from coding.refi.reader import read_project_xml, read_qdc, read_qdpx
from tests.coding.refi_data import docx_bytes, qdpx, tool_position

USER = "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B001"
FOOD, COFFEE = "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B002", "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B003"
AGE, CHANNEL = "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B004", "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B005"
CASE, DOC_CASE = "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B006", "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B007"
SOURCE, NOTE = "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B008", "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B009"
PLAIN, RICH = "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B00A", "6F0E35D1-7A1B-4C3B-9C51-0A8E54E1B00B"
SELECTIONS = [f"6F0E35D1-7A1B-4C3B-9C51-0A8E54E1C00{i}" for i in range(3)]
TEXT = "Ana: I drink coffee ☕ every morning 😀\nBob: Café au lait for me 👍🏽.\nAna: Same here."
QUOTES = ["coffee", "Café au lait", "Same here."]


@dataclass
class Variant:
    ns: str = 'xmlns="urn:QDA-XML:project:1.0"'
    origin: str = "Verbatim"
    folder: str = "sources"
    path: str = "internal://{guid}.txt"
    file_name: str = "{guid}.txt"
    bom: bool = False
    crlf: bool = False
    decomposed: bool = False
    unit: str = "codepoint"
    crlf_as_one: bool = False
    quote_names: bool = False
    docx: bool = False
    guid_style: str = "upper"


VARIANTS = {
    "spec": Variant(),
    "namespace 1.5": Variant(ns='xmlns="urn:QDA-XML:project:1.5"'),
    "codebook namespace": Variant(ns='xmlns="urn:QDA-XML:codebook:1.0"'),
    "no namespace": Variant(ns=""),
    "prefixed namespace": Variant(ns='xmlns:qda="urn:QDA-XML:project:1.0"'),
    "Sources folder, upper-case file": Variant(folder="Sources", file_name="{guid}.TXT"),
    "bare file names": Variant(path="{guid}.txt"),
    "BOM": Variant(bom=True),
    "CRLF and NFD": Variant(crlf=True, decomposed=True),
    "NVivo UTF-16 with emoji": Variant(origin="NVivo 14", unit="utf16"),
    "NVivo UTF-16, CRLF as one": Variant(
        origin="NVivo 14", unit="utf16", crlf=True, crlf_as_one=True
    ),
    "CRLF as one, quoted names": Variant(
        origin="SomeTool", crlf=True, crlf_as_one=True, quote_names=True
    ),
    "UTF-16 quoted, ATLAS.ti": Variant(origin="ATLAS.ti 9", unit="utf16", quote_names=True),
    "empty plain text, docx": Variant(docx=True),
    "braced lower-case GUIDs": Variant(guid_style="braced"),
}


def _guid(variant: Variant, value: str) -> str:
    return "{" + value.lower() + "}" if variant.guid_style == "braced" else value


def _raw(variant: Variant) -> str:
    raw = TEXT.replace("é", "e\u0301") if variant.decomposed else TEXT
    return raw.replace("\n", "\r\n") if variant.crlf else raw


def build(variant: Variant) -> bytes:
    """A one-source project written the way `variant` says, as a .qdpx."""
    g = lambda value: _guid(variant, value)  # noqa: E731
    raw = _raw(variant)
    selections = []
    for index, quote in enumerate(QUOTES):
        quote_raw = quote.replace("é", "e\u0301") if variant.decomposed else quote
        begin = raw.index(quote_raw)
        start = tool_position(raw, begin, variant.unit, variant.crlf_as_one)
        end = tool_position(raw, begin + len(quote_raw), variant.unit, variant.crlf_as_one)
        name = quote if variant.quote_names else f"Quote {index + 1}"
        note = f'<NoteRef targetGUID="{g(NOTE)}"/>' if index == 0 else ""
        selections.append(
            f'<PlainTextSelection guid="{g(SELECTIONS[index])}" name="{name}" '
            f'startPosition="{start}" endPosition="{end}" creatingUser="{g(USER)}">'
            f"<Description>annotation {index}</Description>"
            f'<Coding guid="{g(SELECTIONS[index][:-4] + "D00" + str(index))}" '
            f'creatingUser="{g(USER)}"><CodeRef targetGUID="{g(COFFEE)}"/></Coding>{note}'
            "</PlainTextSelection>"
        )
    path = variant.path.format(guid=PLAIN)
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project {variant.ns} name="Quirks" origin="{variant.origin}">
  <Users><User guid="{g(USER)}" name="Ana Lyst" id="ana"/></Users>
  <CodeBook><Codes>
    <Code guid="{g(FOOD)}" name="Food" isCodable="false" color="#0a0">
      <Description>What people eat</Description>
      <Code guid="{g(COFFEE)}" name="Coffee" isCodable="true" color="#AA3300"/>
    </Code>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="{g(AGE)}" name="Age" typeOfVariable="Integer"/>
    <Variable guid="{g(CHANNEL)}" name="Channel" typeOfVariable="Text"/>
  </Variables>
  <Cases>
    <Case guid="{g(CASE)}" name="P01"><VariableValue><VariableRef targetGUID="{g(AGE)}"/>
      <IntegerValue>34</IntegerValue></VariableValue><SourceRef targetGUID="{g(SOURCE)}"/></Case>
    <Case guid="{g(DOC_CASE)}"><VariableValue><VariableRef targetGUID="{g(CHANNEL)}"/>
      <TextValue>phone</TextValue></VariableValue><SourceRef targetGUID="{g(SOURCE)}"/></Case>
  </Cases>
  <Sources>
    <TextSource guid="{g(SOURCE)}" name="Interview 1" plainTextPath="{path}"
        richTextPath="internal://{RICH}.docx" creatingUser="{g(USER)}"
        creationDateTime="2024-05-01T10:00:00Z">{"".join(selections)}</TextSource>
  </Sources>
  <Notes><Note guid="{g(NOTE)}" name="Annotation" creatingUser="{g(USER)}">
    <PlainTextContent>Said twice</PlainTextContent></Note></Notes>
</Project>"""
    if variant.ns.startswith("xmlns:qda"):
        xml = xml.replace("<", "<qda:").replace("<qda:/", "</qda:").replace("<qda:?", "<?")
    data = ("\ufeff" if variant.bom else "").encode() + raw.encode("utf-8")
    entries = {"project.qde": xml.encode("utf-8")}
    entries[f"{variant.folder}/{variant.file_name.format(guid=PLAIN)}"] = (
        b"" if variant.docx else data
    )
    if variant.docx:
        entries[f"{variant.folder}/{RICH}.docx"] = docx_bytes(TEXT.split("\n"))
    return qdpx(entries).getvalue()


def comparable(project: QdaProject) -> QdaProject:
    """The project without what legitimately differs between variants: origin, quote names."""
    project = copy.deepcopy(project)
    project.origin = ""
    for source in project.sources:
        for selection in source.selections:
            selection.name = ""
    return project


def read(variant: Variant) -> QdaProject:
    import io

    return read_qdpx(io.BytesIO(build(variant)))


def test_spec_variant_reads_every_part() -> None:
    project = read(VARIANTS["spec"])
    assert project.not_carried == []
    assert [(u.guid, u.name, u.id) for u in project.users] == [(USER, "Ana Lyst", "ana")]
    (food,) = project.codes
    assert (food.name, food.is_codable, food.color, food.description) == (
        "Food",
        False,
        "#00aa00",
        "What people eat",
    )
    assert [(c.guid, c.name, c.color) for c in food.children] == [(COFFEE, "Coffee", "#AA3300")]
    (source,) = project.sources
    assert source.text == TEXT
    assert [source.text[s.start : s.end] for s in source.selections] == QUOTES
    assert [s.description for s in source.selections] == [f"annotation {i}" for i in range(3)]
    assert source.selections[0].note_guids == [NOTE]
    assert {c.code_guid for s in source.selections for c in s.codings} == {COFFEE}
    assert {c.user_guid for s in source.selections for c in s.codings} == {USER}
    # The nameless case carried a document variable: it lands on the source, not as a case.
    assert source.variables == {CHANNEL: "phone"}
    assert [(c.name, c.variables, c.source_guids) for c in project.cases] == [
        ("P01", {AGE: 34}, [SOURCE])
    ]
    assert [(n.guid, n.text, n.user_guid) for n in project.notes] == [(NOTE, "Said twice", USER)]


@pytest.mark.parametrize("name", [name for name in VARIANTS if name != "spec"])
def test_quirk_variant_reads_to_the_same_project_when_tools_differ(name: str) -> None:
    expected = comparable(read(VARIANTS["spec"]))
    got = read(VARIANTS[name])
    assert got.not_carried == []
    assert comparable(got) == expected


def test_project_without_sources_or_codebook_reads_empty() -> None:
    project = read_project_xml(b'<Project name="Bare" origin="x"/>', lambda _path: None)
    assert (project.name, project.codes, project.sources, project.not_carried) == (
        "Bare",
        [],
        [],
        [],
    )


def test_selection_out_of_range_is_reported_with_source_and_guid() -> None:
    xml = f"""<Project name="p"><Sources><TextSource guid="{SOURCE}" name="Short">
      <PlainTextContent>tiny</PlainTextContent>
      <PlainTextSelection guid="{SELECTIONS[0]}" startPosition="2" endPosition="40"/>
      <PlainTextSelection guid="{SELECTIONS[1]}" startPosition="3" endPosition="1"/>
      <PlainTextSelection guid="{SELECTIONS[2]}" startPosition="0" endPosition="4"/>
    </TextSource></Sources></Project>""".encode()
    project = read_project_xml(xml, lambda _path: None)
    assert [(s.start, s.end) for s in project.sources[0].selections] == [(0, 4)]
    assert len(project.not_carried) == 2
    for line, selection in zip(project.not_carried, SELECTIONS, strict=False):
        assert selection in line
        assert f"'Short' ({SOURCE})" in line


def test_variable_values_are_typed() -> None:
    kinds = [
        ("Boolean", "true", True),
        ("Float", "2.5", 2.5),
        ("Date", "2024-02-29", None),
        ("Integer", "x12", "x12"),
        ("Text", " padded ", " padded "),  # xsd:string: its spaces are the value's own
        ("Integer", " 7 ", 7),  # a typed value may be padded
    ]
    values = "".join(
        f'<Variable guid="{SELECTIONS[0][:-1]}{i}" name="v{i}" typeOfVariable="{kind}"/>'
        for i, (kind, _, _) in enumerate(kinds)
    )
    case_values = "".join(
        f'<VariableValue><VariableRef targetGUID="{SELECTIONS[0][:-1]}{i}"/>'
        f"<{kind}Value>{text}</{kind}Value></VariableValue>"
        for i, (kind, text, _) in enumerate(kinds)
    )
    xml = (
        f'<Project name="p"><Variables>{values}</Variables><Cases><Case guid="{CASE}" name="c">'
        f"{case_values}</Case></Cases></Project>"
    ).encode()
    project = read_project_xml(xml, lambda _path: None)
    got = list(project.cases[0].variables.values())
    assert got[0] is True
    assert got[1] == 2.5
    assert str(got[2]) == "2024-02-29"
    assert got[3] == "x12"
    assert got[4] == " padded "
    assert got[5] == 7
    assert [v.type for v in project.variables] == [
        "Boolean",
        "Float",
        "Date",
        "Integer",
        "Text",
        "Integer",
    ]
    assert any("'x12'" in line and "not a Integer" in line for line in project.not_carried)


ATTACKS = {
    "XXE": (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Project name="&x;"/>',
        "external entity",
    ),
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;">]><Project name="&c;"/>',
        "billion laughs",
    ),
    "external DTD": (
        b'<?xml version="1.0"?><!DOCTYPE Project SYSTEM "http://evil.example/p.dtd">'
        b'<Project name="p"/>',
        "document type",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_xml_attack_is_refused_naming_it(attack: str) -> None:
    import io

    xml, words = ATTACKS[attack]
    with pytest.raises(RefiError, match=f"project.qde: .*{words}"):
        read_qdpx(io.BytesIO(qdpx({"project.qde": xml}).getvalue()))
    with pytest.raises(RefiError, match=f"codebook.qdc: .*{words}"):
        read_qdc(xml.replace(b"Project", b"CodeBook"))


def test_broken_xml_is_refused_with_its_line() -> None:
    with pytest.raises(RefiError, match=r"project.qde: not well-formed XML \(line 3"):
        read_project_xml(b"<Project name='p'>\n<Users>\n</Project>", lambda _path: None)


def test_wrong_root_is_refused_naming_it() -> None:
    with pytest.raises(RefiError, match="root element is <Nope>, not <CodeBook>"):
        read_qdc(b"<Nope/>")
    with pytest.raises(RefiError, match="root element is <CodeBook>, not <Project>"):
        read_project_xml(b"<CodeBook/>", lambda _path: None)
