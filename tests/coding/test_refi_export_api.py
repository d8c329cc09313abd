"""`GET projects/{slug}/refi/` (.qdpx, ?format=qdc) and `manage.py export_qdpx`."""

import io
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from lxml import etree

from coding.management.commands import _demo_data as demo
from research.models import Project
from tests.coding.test_refi_export import CODEBOOK_XSD, PROJECT_XSD, _schema, valid
from tests.conftest import client_for
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory


@pytest.fixture
def coded(team):
    document = DocumentFactory.create(project=team.project)
    code = CodeFactory.create(project=team.project, name="Activation")
    ExcerptFactory.create(document=document, code=code, coder=team.coder)
    return team


def _url(team) -> str:
    return reverse("api:refi", kwargs={"slug": team.project.slug})


def test_qdpx_downloads_as_attachment_when_manager_asks(coded):
    response = client_for(coded.manager).get(_url(coded))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="onboarding-calls.qdpx"'
    assert "Project roles of 4 member(s)" in response["X-Data-Loss"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist()[0] == "project.qde"
    assert len(archive.namelist()) == 2
    valid(_schema(PROJECT_XSD), archive.read("project.qde"))


def test_qdc_downloads_the_codebook_when_format_is_qdc(coded):
    response = client_for(coded.researcher).get(_url(coded), {"format": "qdc"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == (
        'attachment; filename="onboarding-calls-codebook.qdc"'
    )
    root = valid(_schema(CODEBOOK_XSD), response.content)
    assert [c.get("name") for c in root.iter("{urn:QDA-XML:codebook:1.0}Code")] == ["Activation"]


def test_qdc_is_400_naming_format_when_there_are_no_codes(team):
    response = client_for(team.owner).get(_url(team), {"format": "qdc"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "format"
    assert "no codes" in response.json()["errors"][0]["message"]


def test_coder_is_refused_when_exporting(coded):
    assert client_for(coded.coder).get(_url(coded)).status_code == 403


def test_command_writes_qdpx_and_lists_losses_when_given_a_project(coded, tmp_path: Path):
    out = StringIO()
    target = tmp_path / "study.qdpx"
    call_command("export_qdpx", "--project", "onboarding-calls", str(target), stdout=out)
    archive = zipfile.ZipFile(target)
    valid(_schema(PROJECT_XSD), archive.read("project.qde"))
    assert "1 sources, 1 codings" in out.getvalue()
    assert "Not carried over" in out.getvalue()
    assert "Project roles of 4 member(s)" in out.getvalue()


def test_command_writes_qdc_when_codebook_is_asked(coded, tmp_path: Path):
    target = tmp_path / "codes.qdc"
    call_command(
        "export_qdpx", "--project", "onboarding-calls", "--codebook", str(target), stdout=StringIO()
    )
    root = valid(_schema(CODEBOOK_XSD), target.read_bytes())
    assert etree.QName(root).localname == "CodeBook"
    assert root.findall(".//{urn:QDA-XML:codebook:1.0}Code")  # the project's codes are in it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "no-such"], "No project"),
        (["--project", "onboarding-calls", "--codebook"], "no codes"),
    ],
)
def test_command_fails_clearly_and_writes_nothing_when_input_is_bad(
    team, tmp_path: Path, args, message
):
    target = tmp_path / "out.qdc"
    with pytest.raises(CommandError, match=message):
        call_command("export_qdpx", *args, str(target), stdout=StringIO())
    assert not target.exists()


@pytest.mark.django_db
def test_demo_project_exports_and_validates_when_loaded(
    settings, tmp_path: Path, django_capture_on_commit_callbacks
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    project = Project.objects.get(slug=demo.SLUG)
    target = tmp_path / "demo.qdpx"
    call_command("export_qdpx", "--project", project.slug, str(target), stdout=StringIO())
    archive = zipfile.ZipFile(target)
    root = valid(_schema(PROJECT_XSD), archive.read("project.qde"))
    ns = "{urn:QDA-XML:project:1.0}"
    assert len(root.findall(f"{ns}Sources/{ns}TextSource")) == project.documents.count()
    codings = len(list(root.iter(f"{ns}Coding")))
    assert codings == project.excerpts.count()
    assert len(root.findall(f"{ns}Cases/{ns}Case")) == project.participants.count()
    assert isinstance(root, etree._Element)
    target = tmp_path / "demo.qdc"
    call_command("export_qdpx", "--project", project.slug, "--codebook", str(target))
    valid(_schema(CODEBOOK_XSD), target.read_bytes())
