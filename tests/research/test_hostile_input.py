"""Hostile input through the API (issue 8.3): lookup injection through ordering and filter
parameters, formula injection in every CSV and XLSX export, and uploads that lie about what
they are. Each gets a clear 4xx or a neutralised value and leaves no trace.

Already covered elsewhere and not repeated here: bad create bodies (test_bad_input.py), hostile
REFI-QDA archives (tests/coding/test_refi_archive.py), decoding rules of text files
(tests/observations/test_importers_txt.py).
"""

import csv
import io

import pytest
from django.urls import resolve, reverse
from openpyxl import load_workbook

from coding.export_safety import FORMULA_STARTS
from observations.models import Document
from research.models import User
from tests.conftest import Team, client_for
from tests.research.test_list_queries import LIST_ROUTES, _add_rows
from tests.routes import all_routes

# --- lookup injection -------------------------------------------------------------------------
# Names a filter or ordering backend would turn into a join to the password or to another
# project if it trusted the query string.
INJECTIONS = [
    {"ordering": "coder__password"},
    {"ordering": "-coder__password"},
    {"ordering": "author__password"},
    {"ordering": "user__password"},
    {"coder__password__startswith": "md5"},
    {"author__password__startswith": "md5"},
    {"user__password__startswith": "md5"},
    {"document__project__slug": "other-study"},
    {"project__slug": "other-study"},
    {"project": "other-study"},
]
SEARCHABLE = ["api:search", "api:export-excerpts"]


# Lists that grow as they are read (the audit log records reads of the PII key): compared by
# their order only (newest first, so no ordering from the query string was applied).
VOLATILE = {"api:audit-list"}


def _listing(client, name: str, url: str, query: dict[str, str]) -> tuple[int, object]:
    response = client.get(url, query)
    if name not in VOLATILE or response.status_code != 200:
        return response.status_code, response.content
    ids = [row["id"] for row in response.json()["results"]]
    return response.status_code, ids == sorted(ids, reverse=True)


def _route_urls(team: Team) -> list[tuple[str, str]]:
    urls = []
    for route in LIST_ROUTES:
        extra = _add_rows(route.name.split(":")[1].removesuffix("-list"), team, 3)
        kwargs = {"slug": team.project.slug, **extra} if "slug" in route.kwargs else {}
        urls.append((route.name, reverse(route.name, kwargs=kwargs)))
    for name in SEARCHABLE:
        urls.append((name, reverse(name, kwargs={"slug": team.project.slug})))
    return urls


def test_lookup_injection_is_ignored_or_400_and_never_reveals_passwords_when_listed(team: Team):
    """Every list answers an injected lookup as if it were absent (or with a 400), and the
    answer is the same byte for byte after every password changes."""
    _add_rows("excerpt", team, 3)
    _add_rows("memo", team, 3)
    client = client_for(team.owner)
    urls = _route_urls(team)
    assert len(urls) >= 15
    before = {}
    for name, url in urls:
        plain = _listing(client, name, url, {"q": "activation"} if name == "api:search" else {})
        for query in INJECTIONS:
            full = {"q": "activation", **query} if name == "api:search" else query
            status, body = _listing(client, name, url, full)
            assert status in (200, 400), (name, query, status)
            if status == 200:
                assert body == plain[1], f"{name} honoured {query}"
            before[(name, tuple(query.items()))] = (status, body)
    for index, user in enumerate(User.objects.order_by("pk")):
        user.set_password(f"{'z' if index % 2 else 'a'}-changed-{index}")
        user.save()
    client = client_for(User.objects.get(pk=team.owner.pk))  # the new password's session
    for name, url in urls:
        for query in INJECTIONS:
            full = {"q": "activation", **query} if name == "api:search" else query
            assert _listing(client, name, url, full) == before[(name, tuple(query.items()))], name


# --- formula injection ------------------------------------------------------------------------
EXPORTS: dict[str, tuple[str, ...]] = {
    "api:export-excerpts": ("csv", "xlsx"),
    "api:export-theme-features": ("csv", "xlsx"),
    "api:analysis-theme-segment": ("csv", "xlsx"),
    "api:analysis-theme-metric": ("csv", "xlsx"),
    "api:analysis-cooccurrence": ("csv", "xlsx"),
    "api:codebook-export": ("csv",),
}
PAGE_EXPORTS = ["frontend:codebook-export"]


def _download_formats(route_name: str) -> set[str]:
    """The spreadsheet formats a route's view can render (its DRF renderers)."""
    route = next(r for r in all_routes() if r.name == route_name)
    kwargs = {name: "x" if name == "slug" else "1" for name in route.kwargs}
    view = resolve(reverse(route_name, kwargs=kwargs)).func
    cls = getattr(view, "cls", None)
    renderers = getattr(cls, "renderer_classes", ())
    return {r.format for r in renderers} & {"csv", "xlsx"}


def test_every_spreadsheet_export_is_in_the_formula_table():
    found = {r.name: _download_formats(r.name) for r in all_routes() if r.name.startswith("api:")}
    found = {name: formats for name, formats in found.items() if formats}
    assert found == {name: set(formats) for name, formats in EXPORTS.items()}


def _plant(team: Team) -> dict[str, str]:
    """A small study where every user-written text that reaches an export starts like a formula;
    returns the query each analysis export needs."""
    from research.models import CustomerSegment, Segment, Segmentation
    from tests.factories import (
        CodeFactory,
        DocumentFactory,
        ExcerptFactory,
        ParticipantFactory,
    )

    project = team.project
    coder = User.objects.create(username="@coder")  # a valid Django username
    project.memberships.create(user=coder, role="coder")
    theme = CodeFactory.create(
        project=project,
        name='=HYPERLINK("http://evil")',
        description="+description",
        inclusion_notes="-inclusion",
        exclusion_notes="@exclusion",
        example="\texample",
    )
    child = CodeFactory.create(project=project, name="\rchild", parent=theme)
    segmentation = Segmentation.objects.create(
        project=project,
        name="=segmentation",
        version=1,
        source_name="=file.csv",
        customer_column="id",
        segment_column="seg",
        metric_types={"spend": "numeric"},
    )
    segments = [
        Segment.objects.create(segmentation=segmentation, name=name) for name in ("=A", "+B")
    ]
    text = "=SUM(A1) said the customer.\n-1+2 is what we paid.\n@here they called.\n"
    for index in range(8):
        participant = ParticipantFactory.create(
            project=project,
            pseudonym=f"=P{index}",
            customer_ref=f"+{index}",
            attributes={"=plan": f"-{index}", "region": "@north"},
        )
        CustomerSegment.objects.create(
            segmentation=segmentation,
            customer_ref=participant.customer_ref,
            segment=segments[index % 2],
            metrics={"spend": 10 + index},
        )
        document = DocumentFactory.create(
            project=project, participant=participant, title=f"=Doc {index}", text=text
        )
        for code, (start, end) in ((theme, (0, 27)), (child, (28, 49))):
            ExcerptFactory.create(
                document=document, code=code, coder=coder, start=start, end=end, memo="=memo"
            )
    return {"segmentation": str(segmentation.pk), "metric": "spend"}


def _cells(response, fmt: str) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
    sheet = load_workbook(io.BytesIO(body)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    return [str(c.value) for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


@pytest.mark.parametrize(
    ("route", "fmt"),
    [(route, fmt) for route, formats in EXPORTS.items() for fmt in formats]
    + [(route, "csv") for route in PAGE_EXPORTS],
    ids=str,
)
def test_no_exported_cell_starts_a_formula_when_user_text_does(team: Team, route, fmt):
    query = _plant(team)
    url = reverse(route, kwargs={"slug": team.project.slug})
    response = client_for(team.owner).get(url, {**query, "format": fmt})
    assert response.status_code == 200, response.content[:300]
    cells = _cells(response, fmt)
    unsafe = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert not unsafe, f"{route} {fmt}: {unsafe[:5]}"
    # The planted text did reach the export, neutralised by a leading apostrophe.
    neutralised = tuple("'" + start for start in FORMULA_STARTS)
    assert any(cell.startswith(neutralised) for cell in cells), cells[:20]


# --- uploads ----------------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script>Hi</body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def _upload(team: Team, name: str, data: bytes, **extra):
    url = reverse("api:document-list", kwargs={"slug": team.project.slug})
    upload = io.BytesIO(data)
    upload.name = name
    return client_for(team.owner).post(url, {"file": upload}, format="multipart", **extra)


@pytest.mark.parametrize(
    ("name", "data"),
    [("photo.txt", PNG), ("program.txt", ELF), ("page.html", HTML), ("logo.svg", SVG)],
    ids=["png-as-txt", "elf-as-txt", "html", "svg"],
)
def test_binary_html_and_svg_uploads_are_refused_naming_the_file_and_leave_nothing(
    team: Team, name, data
):
    response = _upload(team, name, data)
    assert response.status_code == 400, response.content
    assert name in response.content.decode()
    assert not Document.objects.filter(project=team.project).exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Customer: Zoë paid €5 for crème brûlée.\n".encode("cp1252"), "Zoë paid €5"),
        ("Customer: Zoë waited at the Café.\n".encode("utf-16-le"), "Zoë waited"),
        ("Customer: Zoë waited at the Café.\n".encode("utf-16-be"), "Zoë waited"),
    ],
    ids=["latin-1", "utf-16-le-no-bom", "utf-16-be-no-bom"],
)
def test_text_in_another_encoding_is_read_as_text_when_uploaded(team: Team, data, expected):
    response = _upload(team, "call.txt", data)
    assert response.status_code in (201, 202), response.content
    document = Document.objects.get(project=team.project)
    assert expected in document.text


def test_mixed_encodings_are_refused_or_decoded_without_mojibake_when_uploaded(team: Team):
    data = "Customer: Zoë said ".encode() + "crème".encode("cp1252") + b" was late.\n"
    response = _upload(team, "mixed.txt", data)
    if response.status_code == 400:
        assert "mixed.txt" in response.content.decode()
        assert not Document.objects.filter(project=team.project).exists()
    else:
        assert response.status_code in (201, 202), response.content
        text = Document.objects.get(project=team.project).text
        assert "\ufffd" not in text, text
        assert "Ã" not in text, text


def test_html_text_is_served_as_json_never_as_html_when_stored(team: Team):
    """HTML inside a .txt is kept as inert text: the API answers JSON with nosniff."""
    response = _upload(team, "notes.txt", b"Customer: " + HTML + b"\n")
    assert response.status_code in (201, 202), response.content
    document = Document.objects.get(project=team.project)
    url = reverse("api:document-detail", kwargs={"slug": team.project.slug, "pk": document.pk})
    detail = client_for(team.owner).get(url, HTTP_ACCEPT="application/json")
    assert detail["Content-Type"].startswith("application/json")
    assert detail["X-Content-Type-Options"] == "nosniff"
    assert "<script>" in detail.json()["text"]


def test_upload_declaring_a_huge_size_is_refused_and_leaves_nothing(team: Team, settings):
    """A Content-Length far above the upload limit is refused before the body is read."""
    response = _upload(team, "call.txt", b"Customer: hello.\n", CONTENT_LENGTH=str(50 * 1024**3))
    assert 400 <= response.status_code < 500, response.status_code
    assert not Document.objects.filter(project=team.project).exists()


def test_upload_over_the_byte_limit_is_refused_naming_the_file(team: Team, settings):
    settings.VERBATIM_MAX_UPLOAD_BYTES = 1024
    response = _upload(team, "long.txt", b"Customer: " + b"word " * 400 + b"\n")
    assert response.status_code in (400, 413), response.content
    assert "long.txt" in response.content.decode()
    assert not Document.objects.filter(project=team.project).exists()
