"""Retention (issue 8.6): the daily task deletes what is older than each project's period,
counted from when it entered Verbatim, and nothing else; the owner sets the period on a page."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from coding.models import Excerpt
from coding.privacy.retention import retention_run
from coding.tasks import retention_run as retention_task
from observations.models import Document
from research.models import AuditEvent
from tests.conftest import Team, client_for
from tests.factories import DocumentFactory, ExcerptFactory, ProjectFactory


def _age(document: Document, days: int) -> None:
    Document.objects.filter(pk=document.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_old_documents_go_when_task_runs_with_shifted_clock(team: Team):
    team.project.retention_days = 30
    team.project.save()
    old = DocumentFactory.create(project=team.project)
    ExcerptFactory.create(document=old, coder=team.coder)
    young = DocumentFactory.create(project=team.project)
    _age(old, 10)
    _age(young, 1)
    keep_forever = DocumentFactory.create(project=ProjectFactory.create())  # no period
    _age(keep_forever, 1000)

    assert retention_run() == {team.project.slug: {"documents": 0, "field_notes": 0}}
    later = timezone.now() + timedelta(days=25)  # old is now 35 days old, young 26
    assert retention_run(now=later)[team.project.slug]["documents"] == 1
    assert not Document.objects.filter(pk=old.pk).exists()
    assert not Excerpt.objects.filter(document_id=old.pk).exists()
    assert Document.objects.filter(pk__in=[young.pk, keep_forever.pk]).count() == 2
    event = AuditEvent.objects.get(action="retention_delete")
    assert event.detail == {"documents": 1, "field_notes": 0}
    assert event.user_id is None


def test_task_is_scheduled_daily_when_beat_reads_settings(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retention-daily"]
    assert entry["task"] == retention_task.name == "coding.retention_run"
    assert entry["schedule"] == 24 * 60 * 60


def test_owner_sets_period_when_privacy_page_is_posted(team: Team):
    url = reverse("frontend:privacy", kwargs={"slug": team.project.slug})
    client = client_for(team.owner)
    assert client.post(url, {"retention_days": "90"}).status_code == 302
    team.project.refresh_from_db()
    assert team.project.retention_days == 90
    bad = client.post(url, {"retention_days": "-3"})
    assert bad.status_code == 400
    team.project.refresh_from_db()
    assert team.project.retention_days == 90
    assert AuditEvent.objects.filter(action="retention_change").count() == 1
