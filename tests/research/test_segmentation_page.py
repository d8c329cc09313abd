"""The segmentations page: upload runs the import job and shows its outcome; readers only read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import client_for

URL = "/p/onboarding-calls/segmentations/"


@pytest.mark.django_db(transaction=True)
def test_page_imports_and_lists_snapshot_when_researcher_uploads(team):
    client = client_for(team.researcher)
    form = {
        "file": SimpleUploadedFile("seg.csv", b"id,segment\nc1,Price hunters\nc2,Premium\n"),
        "name": "Value",
        "customer_column": "id",
        "segment_column": "segment",
    }
    response = client.post(URL, form, follow=True)
    body = response.content.decode()
    assert "Imported version 1:" in body
    assert "Price hunters" in body
    assert "seg.csv" in body


@pytest.mark.django_db(transaction=True)
def test_page_shows_rows_to_fix_when_file_is_bad(team):
    form = {
        "file": SimpleUploadedFile("seg.csv", b"id,segment\nc1,A\nc1,B\n"),
        "name": "Value",
        "customer_column": "id",
        "segment_column": "segment",
    }
    body = client_for(team.researcher).post(URL, form, follow=True).content.decode()
    assert "Nothing was imported." in body
    assert "Row 3, column “id”" in body


@pytest.mark.django_db
def test_page_hides_upload_form_when_role_cannot_import(team):
    body = client_for(team.coder).get(URL).content.decode()
    assert 'enctype="multipart/form-data"' not in body
    assert "No segmentation imported yet." in body
