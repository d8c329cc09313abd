"""Job records: how long work reports progress, success and failure."""

import pytest
from django.core.exceptions import ValidationError

from research.jobs import job_create, job_progress, job_run
from research.models import Job
from tests.conftest import client_for


def test_job_run_records_result_when_work_succeeds(team):
    job = job_create(kind="test", project=team.project, user=team.owner)
    seen = []

    def work(running: Job) -> dict:
        seen.append(Job.objects.get(pk=running.pk).status)
        job_progress(job=running, progress=0.5, message="half way")
        assert Job.objects.get(pk=running.pk).progress == 0.5
        return {"rows": 3}

    job_run(job_id=str(job.pk), work=work)
    job.refresh_from_db()
    assert seen == [Job.Status.RUNNING]
    assert job.status == Job.Status.SUCCEEDED
    assert job.progress == 1.0
    assert job.result == {"rows": 3}
    assert job.finished_at is not None


def test_job_run_records_error_when_work_raises_validation_error(team):
    job = job_create(kind="test", project=team.project, user=team.owner)

    def work(running: Job) -> dict:
        raise ValidationError("Row 7: customer id is empty.")

    job_run(job_id=str(job.pk), work=work)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "Row 7: customer id is empty."


def test_job_run_records_and_reraises_when_work_crashes(team):
    job = job_create(kind="test", project=team.project, user=team.owner)

    def work(running: Job) -> dict:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        job_run(job_id=str(job.pk), work=work)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "KeyError" in job.error


def test_job_run_skips_work_when_job_already_finished(team):
    job = job_create(kind="test", project=team.project, user=team.owner)
    calls: list[str] = []

    def work(running: Job) -> dict:
        calls.append(str(running.pk))
        return {}

    job_run(job_id=str(job.pk), work=work)
    job_run(job_id=str(job.pk), work=work)  # a redelivery
    assert calls == [str(job.pk)]


def test_job_progress_is_clamped_when_out_of_range(team):
    job = job_create(kind="test", project=team.project, user=team.owner)
    job_progress(job=job, progress=7)
    assert Job.objects.get(pk=job.pk).progress == 1.0
    job_progress(job=job, progress=-1)
    assert Job.objects.get(pk=job.pk).progress == 0.0


def test_job_endpoint_reports_succeeded_when_document_processing_ran_inline(
    team, django_capture_on_commit_callbacks
):
    client = client_for(team.researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/projects/{team.project.slug}/documents/",
            {"title": "Store chat", "text": "Customer: my SIM never arrived."},
            format="json",
        )
    assert response.status_code == 201
    job = client.get(response.json()["job"]["url"]).json()
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    assert job["result"]["characters"] == len("Customer: my SIM never arrived.")
    document = client.get(
        f"/api/v1/projects/{team.project.slug}/documents/{response.json()['id']}/"
    )
    assert document.json()["status"] == "ready"


def test_job_endpoint_is_404_when_job_is_another_projects(team):
    job = job_create(kind="test", project=team.other_project, user=team.outsider)
    assert client_for(team.owner).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert client_for(team.outsider).get(f"/api/v1/jobs/{job.pk}/").status_code == 200
    assert client_for(None).get(f"/api/v1/jobs/{job.pk}/").status_code == 401
