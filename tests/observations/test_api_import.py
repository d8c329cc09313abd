"""File import through `POST /api/v1/projects/{slug}/documents/` (multipart)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from observations.models import Document
from research.models import Job, Participant
from tests.conftest import client_for
from tests.factories import ParticipantFactory

CALL = (
    "Interviewer: Thanks for joining. How did the first week go?\n"
    "Anna: The SIM took three days to arrive.\n"
    "Interviewer: What did you do meanwhile?\n"
    "Anna: I called support twice and nobody knew where it was.\n"
)


def _url(team) -> str:
    return f"/api/v1/projects/{team.project.slug}/documents/"


def _upload(name: str, text: str | bytes) -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/plain")


def test_two_files_import_as_documents_with_turns_when_uploaded_together(
    team, django_capture_on_commit_callbacks
):
    p07 = ParticipantFactory.create(project=team.project, pseudonym="P07")
    body: dict[str, object] = {
        "file": [_upload("call-01.txt", CALL), _upload("call-02.txt", CALL)],
        "speakers": json.dumps({"call-02.txt": {"Anna": {"pseudonym": "P08"}}}),
        "participant": str(p07.pk),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team.researcher).post(_url(team), body, format="multipart")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [(d["title"], d["turn_count"]) for d in data["documents"]] == [
        ("call-01", 4),
        ("call-02", 4),
    ]
    assert len(data["jobs"]) == 2
    assert all(job["url"] for job in data["jobs"])
    ran = Job.objects.filter(pk__in=[job["id"] for job in data["jobs"]], status="succeeded")
    assert ran.count() == 2
    second = Document.objects.get(pk=data["documents"][1]["id"])
    assert second.participant == p07  # the document's participant is the one given
    speakers = list(second.turns.values_list("speaker", "participant__pseudonym", "interviewer"))
    assert speakers[:2] == [("Interviewer", None, team.researcher.pk), ("Anna", "P08", None)]


def test_bad_file_gets_400_naming_it_and_creates_nothing_when_batch_has_one(team):
    body = {"file": [_upload("good.txt", CALL), _upload("blob.txt", b"\x00\x01\x02binary\x00")]}
    response = client_for(team.owner).post(_url(team), body, format="multipart")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["file"] for error in errors] == ["blob.txt"]
    assert "binary" in errors[0]["message"]
    assert not Document.objects.filter(project=team.project).exists()
    assert not Job.objects.filter(project=team.project).exists()


def test_unsupported_type_gets_400_listing_supported_types_when_uploaded(team):
    body = {"file": [_upload("deck.pptx", b"PK\x03\x04")]}
    response = client_for(team.researcher).post(_url(team), body, format="multipart")
    assert response.status_code == 400
    assert ".docx" in response.json()["errors"][0]["message"]


def test_missing_file_part_gets_400_naming_the_field_when_form_has_none(team):
    response = client_for(team.researcher).post(_url(team), {"title": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


def test_unknown_interviewer_gets_400_and_creates_nothing_when_speakers_name_outsider(team):
    body = {
        "file": [_upload("call.txt", CALL)],
        "speakers": json.dumps({"Interviewer": {"interviewer": "outsider"}}),
    }
    response = client_for(team.researcher).post(_url(team), body, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "speakers"
    assert not Document.objects.filter(project=team.project).exists()
    assert not Participant.objects.filter(project=team.project).exists()


@pytest.mark.parametrize("role", ["coder", "manager"])
def test_upload_is_forbidden_when_role_cannot_import(team, role):
    body = {"file": [_upload("call.txt", CALL)]}
    response = client_for(team.user(role)).post(_url(team), body, format="multipart")
    assert response.status_code == 403
    assert not Document.objects.exists()


def test_upload_is_404_when_user_is_not_a_member(team):
    body = {"file": [_upload("call.txt", CALL)]}
    response = client_for(team.outsider).post(_url(team), body, format="multipart")
    assert response.status_code == 404
    assert not Document.objects.exists()


def test_json_create_still_answers_document_and_job_when_body_is_json(team):
    body = {"title": "Typed", "text": "Anna: hello there"}
    response = client_for(team.researcher).post(_url(team), body, format="json")
    assert response.status_code == 201
    assert response.json()["title"] == "Typed"
    assert "job" in response.json()


def test_survey_csv_becomes_one_document_per_answer_when_columns_are_chosen(team):
    csv = (
        "respondent,customer,plan,What almost stopped you?\n"
        "R1,CUST-1,prepaid,The activation fee was never mentioned\n"
        "R2,CUST-2,contract,\n"
        "R3,CUST-3,contract,Porting my number took a week\n"
    )
    body = {
        "file": [_upload("wave1.csv", csv)],
        "text_columns": "What almost stopped you?",
        "respondent_column": "respondent",
        "customer_ref_column": "customer",
    }
    response = client_for(team.researcher).post(_url(team), body, format="multipart")
    assert response.status_code == 201, response.json()
    titles = [d["title"] for d in response.json()["documents"]]
    assert titles == ["wave1 — R1", "wave1 — R3"]  # R2 left the question blank
    r3 = Participant.objects.get(project=team.project, pseudonym="R3")
    assert r3.customer_ref == "CUST-3"
    assert r3.attributes == {"plan": "contract"}
    assert Document.objects.get(participant=r3).kind == "survey"


def test_survey_without_answer_column_gets_400_listing_columns_when_none_chosen(team):
    body = {"file": [_upload("wave1.csv", "respondent,answer\nR1,Fine\n")]}
    response = client_for(team.researcher).post(_url(team), body, format="multipart")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["file"] == "wave1.csv"
    assert "respondent, answer" in error["message"]


def test_title_gets_400_naming_the_field_when_several_files_are_sent(team):
    body = {"file": [_upload("a.txt", CALL), _upload("b.txt", CALL)], "title": "One title"}
    response = client_for(team.researcher).post(_url(team), body, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "title",
            "message": "A title applies to one file; leave it empty when importing several.",
        }
    ]
    assert not Document.objects.exists()
