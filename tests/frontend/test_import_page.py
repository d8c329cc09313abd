"""The import page without JavaScript, and its review route."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from observations.models import Document
from tests.conftest import client_for

CALL = "Interviewer: How was setup?\nAnna: Slow.\nInterviewer: Why?\nAnna: The SIM was late.\n"


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/plain")


def test_plain_form_imports_and_lists_documents_when_files_are_good(team):
    client = client_for(team.researcher)
    url = reverse("frontend:import", args=[team.project.slug])
    response = client.post(url, {"file": [_upload("a.txt", CALL.encode())]}, follow=True)
    document = Document.objects.get(project=team.project)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == f"{url}?imported={document.pk}"
    assert b"Imported 1 document" in response.content
    detail = reverse("frontend:document-detail", args=[team.project.slug, document.pk])
    assert detail.encode() in response.content


def test_plain_form_shows_each_problem_and_imports_nothing_when_one_file_is_bad(team):
    client = client_for(team.owner)
    url = reverse("frontend:import", args=[team.project.slug])
    files = [_upload("a.txt", CALL.encode()), _upload("b.txt", b""), _upload("c.exe", b"MZ")]
    response = client.post(url, {"file": files})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Nothing was imported" in text
    assert "b.txt" in text
    assert "The file is empty" in text
    assert "c.exe" in text
    assert not Document.objects.exists()


def test_review_card_proposes_interviewer_mapping_when_file_has_interviewer_label(team):
    client = client_for(team.researcher)
    url = reverse("frontend:import-review", args=[team.project.slug])
    response = client.post(url, {"file": _upload("a.txt", CALL.encode())})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-ready="1"' in text
    assert '<option value="interviewer:researcher1" selected>' in text
    assert not Document.objects.exists()


def test_review_card_lists_survey_columns_when_no_answer_column_is_chosen(team):
    client = client_for(team.researcher)
    url = reverse("frontend:import-review", args=[team.project.slug])
    csv = b"respondent,plan,Why did you leave?\nR1,prepaid,Too slow\n"
    response = client.post(url, {"file": _upload("wave.csv", csv)})
    text = response.content.decode()
    assert 'data-ready="0"' in text
    assert 'value="Why did you leave?"' in text
    assert "Tick the column(s) holding the answers" in text
