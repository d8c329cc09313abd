"""The audit log (issue 8.6): reads of raw transcripts and of the PII key are recorded, and no
one can change or delete an event — not through the ORM, and on PostgreSQL not even in SQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from research.audit import audit_record
from research.models import AuditEvent, AuditImmutableError
from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory


def test_document_read_is_audited_when_text_is_fetched_by_api_and_page(team: Team):
    document = DocumentFactory.create(project=team.project)
    client = client_for(team.coder)
    kwargs = {"slug": team.project.slug, "pk": document.pk}
    assert client.get(reverse("api:document-detail", kwargs=kwargs)).status_code == 200
    assert client.get(reverse("frontend:document-detail", kwargs=kwargs)).status_code == 200
    events = list(AuditEvent.objects.filter(action="read_transcript"))
    assert len(events) == 2
    assert {e.user_id for e in events} == {team.coder.pk}
    assert {e.object_id for e in events} == {str(document.pk)}
    assert all(e.ip == "127.0.0.1" and e.project_id == team.project.pk for e in events)


def test_document_read_is_audited_when_workspace_page_and_api_show_it(team: Team):
    document = DocumentFactory.create(project=team.project)
    other = DocumentFactory.create(project=team.project)
    client = client_for(team.coder)
    kwargs = {"slug": team.project.slug, "pk": document.pk}
    assert client.get(reverse("api:document-workspace", kwargs=kwargs)).status_code == 200
    assert client.get(reverse("frontend:document-code", kwargs=kwargs)).status_code == 200
    events = list(AuditEvent.objects.filter(action="read_transcript"))
    assert len(events) == 2
    assert {(e.user_id, e.object_type, e.object_id) for e in events} == {
        (team.coder.pk, "document", str(document.pk))
    }
    assert str(other.pk) not in {e.object_id for e in events}


def test_read_is_not_audited_when_workspace_is_refused(team: Team):
    document = DocumentFactory.create(project=team.other_project)
    kwargs = {"slug": team.project.slug, "pk": document.pk}
    client = client_for(team.coder)
    assert client.get(reverse("api:document-workspace", kwargs=kwargs)).status_code == 404
    assert client.get(reverse("frontend:document-code", kwargs=kwargs)).status_code == 404
    assert not AuditEvent.objects.exists()


def test_every_transcript_read_is_audited_once_when_project_is_exported_as_qdpx(team: Team):
    DocumentFactory.create_batch(3, project=team.project)
    CodeFactory.create(project=team.project)  # a codebook with no code cannot be written
    url = reverse("api:refi", kwargs={"slug": team.project.slug})
    client = client_for(team.researcher)
    assert client.get(url).status_code == 200
    assert client.get(url, {"format": "qdc"}).status_code == 200  # a codebook holds no text
    events = list(AuditEvent.objects.filter(action="read_transcript"))
    assert len(events) == 1
    assert events[0].user_id == team.researcher.pk
    assert (events[0].object_type, events[0].object_id) == ("project", str(team.project.pk))
    assert events[0].detail == {"documents": 3}


def test_pii_key_read_is_audited_when_owner_lists_it(team: Team):
    client = client_for(team.owner)
    assert (
        client.get(reverse("api:pii-key-list", kwargs={"slug": team.project.slug})).status_code
        == 200
    )
    assert (
        client.get(reverse("frontend:pii-review", kwargs={"slug": team.project.slug})).status_code
        == 200
    )
    assert AuditEvent.objects.filter(action="read_pii_key", user=team.owner).count() == 2


def test_audit_list_shows_only_this_projects_events_when_owner_reads(team: Team):
    audit_record(action="read_pii_key", project=team.project, user=team.owner)
    audit_record(action="read_pii_key", project=team.other_project, user=team.owner)
    url = reverse("api:audit-list", kwargs={"slug": team.project.slug})
    response = client_for(team.owner).get(url)
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert client_for(team.researcher).get(url).status_code == 403


def test_event_cannot_change_when_saved_updated_or_deleted_through_orm(team: Team):
    event = audit_record(action="read_pii_key", project=team.project, user=team.owner)
    event.action = "erase_participant"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "read_pii_key"


def test_event_survives_when_its_project_is_deleted(team: Team):
    audit_record(action="read_pii_key", project=team.project, user=team.owner)
    project_id = team.project.pk
    team.project.delete()
    assert AuditEvent.objects.filter(project_id=project_id).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
@pytest.mark.parametrize(
    "sql", ["UPDATE research_auditevent SET action = 'x'", "DELETE FROM research_auditevent"]
)
def test_database_refuses_sql_when_event_is_updated_or_deleted(team: Team, sql: str):
    audit_record(action="read_pii_key", project=team.project, user=team.owner)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.filter(action="read_pii_key").count() == 1
