"""The segmentation API: import as a job, reads, compare, manual segment, access."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from research.models import Segmentation
from tests.conftest import client_for
from tests.factories import ParticipantFactory

URL = "/api/v1/projects/onboarding-calls/segmentations/"
CSV = b"id;segment;spend;churned\r\nc1;Digital natives;10;no\r\nc2;Price hunters;;yes\r\n"


def _post(client, data: bytes = CSV, name: str = "seg.csv", **extra):
    form = {
        "file": SimpleUploadedFile(name, data),
        "name": "Value",
        "customer_column": "id",
        "segment_column": "segment",
        **extra,
    }
    return client.post(URL, form, format="multipart")


@pytest.mark.django_db(transaction=True)
def test_import_answers_202_with_finished_job_when_researcher_uploads(team):
    response = _post(client_for(team.researcher), types='{"churned": "categorical"}')
    assert response.status_code == 202, response.content
    job = response.json()["job"]
    assert job["status"] == "succeeded", job
    assert job["result"]["customers"] == 2
    assert job["result"]["segments"] == 2
    listing = client_for(team.coder).get(URL).json()["results"]
    assert [(row["name"], row["version"], row["customer_count"]) for row in listing] == [
        ("Value", 1, 2)
    ]


@pytest.mark.django_db(transaction=True)
def test_import_job_fails_with_rows_when_file_has_duplicates(team):
    bad = b"id,segment\nc1,A\nc1,B\n"
    job = _post(client_for(team.researcher), data=bad).json()["job"]
    assert job["status"] == "failed"
    assert job["result"]["errors"][0]["row"] == 3
    assert job["result"]["errors"][0]["column"] == "id"
    assert Segmentation.objects.count() == 0


@pytest.mark.django_db
def test_import_answers_400_when_file_type_is_unsupported(team):
    response = _post(client_for(team.researcher), name="seg.pdf")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


@pytest.mark.django_db
def test_import_is_refused_when_role_or_membership_lacks_it(team):
    assert _post(client_for(team.coder)).status_code == 403
    assert _post(client_for(team.outsider)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_segments_match_compare_and_manual_segment_when_snapshots_exist(team):
    client = client_for(team.researcher)
    _post(client)
    _post(client, data=b"id,segment,spend\nc1,Price hunters,20\nc3,Price hunters,5\n")
    first, second = Segmentation.objects.order_by("version")
    segments = client.get(f"{URL}{first.pk}/segments/").json()
    natives = next(row for row in segments if row["name"] == "Digital natives")
    assert natives["size"] == 1
    assert natives["metrics"]["spend"]["median"] == 10
    assert natives["metrics"]["churned"]["counts"] == {"no": 1}
    compare = client.get(f"{URL}{first.pk}/compare/?with={second.pk}").json()
    assert compare["appeared"] == 1
    assert compare["disappeared"] == 1
    assert compare["moves"] == [{"from": "Digital natives", "to": "Price hunters", "customers": 1}]
    p1 = ParticipantFactory.create(project=team.project, pseudonym="P1", customer_ref="c1")
    p2 = ParticipantFactory.create(project=team.project, pseudonym="P2", customer_ref="")
    match = client.get(f"{URL}{first.pk}/match/").json()
    assert [row["id"] for row in match["matched"]] == [p1.pk]
    assert [row["id"] for row in match["unmatched"]] == [p2.pk]
    url = f"/api/v1/projects/onboarding-calls/participants/{p2.pk}/segment/"
    response = client.put(
        url, {"segmentation": first.pk, "segment": "Price hunters"}, format="json"
    )
    assert response.status_code == 200, response.content
    match = client.get(f"{URL}{first.pk}/match/").json()
    assert match["unmatched"][0]["manual_segment"] == "Price hunters"
    assert client_for(team.coder).put(url, {}, format="json").status_code == 403
