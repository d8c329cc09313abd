"""The REFI-QDA exchange page: export links with the data-loss list, the import form, the report."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding.models import Code
from coding.refi.upload import JOB_KIND
from coding.refi.writer import write_qdpx
from research.models import Job
from tests.coding.test_refi_import_api import small_project
from tests.conftest import client_for
from tests.factories import ProjectFactory, SpeakerTurnFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


def _url(team) -> str:
    return reverse("frontend:exchange", kwargs={"slug": team.project.slug})


def test_researcher_sees_export_links_what_is_lost_and_the_import_form(team):
    SpeakerTurnFactory.create(document__project=team.project)
    response = client_for(team.researcher).get(_url(team))

    html = response.content.decode()
    assert response.status_code == 200
    refi = reverse("api:refi", kwargs={"slug": team.project.slug})
    assert f'href="{refi}?format=qdpx"' in html
    assert f'href="{refi}?format=qdc"' in html
    assert "1 speaker turn(s) (speaker, participant, timestamps)" in html
    assert "Pattern rules of codes" in html
    assert 'id="refi-import-form"' in html


def test_manager_may_export_but_sees_no_import_form(team):
    html = client_for(team.manager).get(_url(team)).content.decode()
    assert "Download the project (.qdpx)" in html
    assert 'id="refi-import-form"' not in html


def test_coder_is_told_to_ask_someone(team):
    html = client_for(team.coder).get(_url(team)).content.decode()
    assert "Download the project" not in html
    assert "Your role may neither export nor import." in html


def test_upload_redirects_to_the_report_of_its_job(team, django_capture_on_commit_callbacks):
    buffer = io.BytesIO()
    write_qdpx(small_project(), buffer)
    upload = SimpleUploadedFile("router.qdpx", buffer.getvalue())
    client = client_for(team.researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(team), {"file": upload})

    job = Job.objects.get(kind=JOB_KIND)
    assert response.status_code == 302
    assert response["Location"] == f"{_url(team)}?job={job.pk}"
    html = client.get(response["Location"]).content.decode()
    assert "Imported router.qdpx" in html
    assert "Written by QualCoder 3.5." in html
    assert '<tr><td>Excerpts</td><td class="seg-num">1</td>' in html
    assert '<tr><td>Users</td><td class="seg-num">0</td><td class="seg-num">1</td></tr>' in html
    assert Code.objects.filter(project=team.project, name="Waiting").exists()


def test_upload_that_is_no_archive_is_refused_on_the_page(team):
    upload = SimpleUploadedFile("router.qdpx", b"hello")
    response = client_for(team.researcher).post(_url(team), {"file": upload})
    assert response.status_code == 400
    assert "router.qdpx is not a .qdpx (zip) archive" in response.content.decode()
    assert not Job.objects.filter(kind=JOB_KIND).exists()


def test_a_job_of_another_project_is_not_shown(team):
    other = Job.objects.create(
        kind=JOB_KIND,
        project=team.other_project,
        status="succeeded",
        result={"file_name": "theirs.qdpx", "created": {}, "reused": {}, "not_carried": []},
    )
    html = client_for(team.researcher).get(f"{_url(team)}?job={other.pk}").content.decode()
    assert "theirs.qdpx" not in html
    assert 'id="refi-job"' not in html


def test_running_job_shows_its_progress_for_the_script_to_follow(team):
    job = Job.objects.create(
        kind=JOB_KIND,
        project=team.project,
        progress=0.4,
        message="Importing documents",
        params={"file_name": "big.qdpx"},
    )
    html = client_for(team.researcher).get(f"{_url(team)}?job={job.pk}").content.decode()
    assert 'data-finished="0"' in html
    assert reverse("api:job-detail", kwargs={"pk": job.pk}) in html
    assert 'value="40"' in html
    assert "Importing big.qdpx" in html


def test_page_is_404_for_a_project_the_user_is_not_in(team):
    theirs = ProjectFactory.create()
    url = reverse("frontend:exchange", kwargs={"slug": theirs.slug})
    assert client_for(team.researcher).get(url).status_code == 404
