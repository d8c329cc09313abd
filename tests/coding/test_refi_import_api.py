"""REFI-QDA import through `POST projects/{slug}/refi/` (a job) and `manage.py import_qdpx`."""

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from coding.models import Code, Excerpt
from coding.refi.model import (
    QdaCode,
    QdaCoding,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaUser,
)
from coding.refi.upload import upload_path
from coding.refi.writer import write_codebook_xml, write_qdpx
from observations.models import Document
from research.models import Job
from tests.conftest import Team, client_for


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


def small_project() -> QdaProject:
    text = "We waited three days for the router.\n"
    return QdaProject(
        name="Router calls",
        origin="QualCoder 3.5",
        users=[QdaUser(guid="1A2B3C4D-0000-0000-0000-000000000001", name="Coder One", id="coder1")],
        codes=[
            QdaCode(
                guid="1A2B3C4D-0000-0000-0000-000000000002",
                name="Waiting",
                color="#FF8800",
            )
        ],
        sources=[
            QdaSource(
                guid="1A2B3C4D-0000-0000-0000-000000000003",
                name="Call 7",
                text=text,
                selections=[
                    QdaSelection(
                        guid="1A2B3C4D-0000-0000-0000-000000000004",
                        start=3,
                        end=24,
                        user_guid="1A2B3C4D-0000-0000-0000-000000000001",
                        codings=[
                            QdaCoding(
                                guid="1A2B3C4D-0000-0000-0000-000000000005",
                                code_guid="1A2B3C4D-0000-0000-0000-000000000002",
                                user_guid="1A2B3C4D-0000-0000-0000-000000000001",
                            )
                        ],
                    )
                ],
            )
        ],
    )


def qdpx_bytes(qda: QdaProject) -> bytes:
    buffer = io.BytesIO()
    write_qdpx(qda, buffer)
    return buffer.getvalue()


@pytest.fixture
def post(team: Team, django_capture_on_commit_callbacks):
    """POST a file to the import route; the job runs at commit, as with no broker."""

    def send(name: str, data: bytes, who: str = "researcher") -> tuple[Any, dict[str, Any]]:
        url = reverse("api:refi", kwargs={"slug": team.project.slug})
        upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(team.user(who)).post(url, {"file": upload}, format="multipart")
        if response.status_code != 202:
            return response, {}
        job = client_for(team.user(who)).get(response.json()["job"]["url"]).json()
        return response, job

    return send


def test_post_qdpx_imports_the_project_and_answers_202_with_the_report(team, post):
    response, job = post("router.qdpx", qdpx_bytes(small_project()))

    assert response.status_code == 202, response.content
    assert response.json()["job"]["id"] == job["id"]
    assert job["status"] == "succeeded", job
    assert job["result"]["created"]["excerpts"] == 1
    assert job["result"]["matched_users"] == ["coder1"]
    assert job["result"]["origin"] == "QualCoder 3.5"
    excerpt = Excerpt.objects.get(project=team.project)
    assert (excerpt.text, excerpt.coder, excerpt.code.color) == (
        "waited three days for",
        team.coder,
        "#ff8800",
    )
    assert Document.objects.get(project=team.project).source_name == "router.qdpx"
    assert not upload_path(job["id"]).exists()  # the stored upload is gone


def test_post_qdc_imports_the_codebook_only(team, post):
    response, job = post("codes.qdc", write_codebook_xml(small_project()))

    assert response.status_code == 202
    assert job["result"]["created"]["codes"] == 1
    assert list(Code.objects.filter(project=team.project).values_list("name", flat=True)) == [
        "Waiting"
    ]
    assert not Document.objects.filter(project=team.project).exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"hello", "Upload a REFI-QDA project (.qdpx) or codebook (.qdc)."),
        ("broken.qdpx", b"not a zip at all", "broken.qdpx is not a .qdpx (zip) archive"),
        ("empty.qdc", b"", "The submitted file is empty."),
    ],
)
def test_post_gives_400_naming_the_file_when_it_is_plainly_not_importable(
    team, post, name, data, message
):
    response, _ = post(name, data)

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors[0]["field"] == "file"
    assert errors[0]["message"].startswith(message)
    assert not Job.objects.filter(kind="refi_import").exists()


def test_post_gives_400_when_the_file_is_larger_than_allowed(team, post, settings):
    settings.VERBATIM_REFI_MAX_BYTES = 100
    response, _ = post("big.qdpx", qdpx_bytes(small_project()))
    assert response.status_code == 400
    assert "larger than the 100 bytes allowed" in response.json()["errors"][0]["message"]


def test_job_fails_with_the_readers_message_and_writes_nothing_when_the_archive_is_bad(team, post):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", b"<Project><Sources><TextSource")
    response, job = post("cut.qdpx", buffer.getvalue())

    assert response.status_code == 202
    assert job["status"] == "failed"
    assert job["error"].startswith("cut.qdpx: ")
    assert not Code.objects.filter(project=team.project).exists()
    assert not upload_path(job["id"]).exists()


def test_coder_may_not_import(team, post):
    response, _ = post("router.qdpx", qdpx_bytes(small_project()), who="coder")
    assert response.status_code == 403
    assert not Job.objects.filter(kind="refi_import").exists()


def test_command_imports_and_prints_the_report(team, tmp_path, capsys):
    path = tmp_path / "router.qdpx"
    path.write_bytes(qdpx_bytes(small_project()))

    call_command("import_qdpx", str(path), "--project", team.project.slug, "--user", "owner1")

    out = capsys.readouterr().out
    assert "Imported router.qdpx into onboarding-calls." in out
    assert "Created: 1 codes, 1 documents, 1 excerpts, 0 memos" in out
    assert Excerpt.objects.filter(project=team.project, coder=team.coder).count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x05\x06" + b"\0" * 18, "Nothing was imported: router.qdpx: "),
        (b"plain", "Nothing was imported: router.qdpx is not a .qdpx (zip) archive"),
    ],
)
def test_command_fails_with_a_message_and_writes_nothing_when_the_file_is_bad(
    team, tmp_path, content, message
):
    path = tmp_path / "router.qdpx"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_qdpx", str(path), "--project", team.project.slug)
    assert not Code.objects.filter(project=team.project).exists()


def test_command_refuses_a_member_who_may_not_import(team, tmp_path):
    path = tmp_path / "router.qdpx"
    path.write_bytes(qdpx_bytes(small_project()))
    with pytest.raises(CommandError, match="coder1 is a coder and may not import"):
        call_command("import_qdpx", str(path), "--project", team.project.slug, "--user", "coder1")
