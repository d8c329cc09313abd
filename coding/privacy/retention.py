"""Retention: each project's raw material is deleted `Project.retention_days` after it entered
Verbatim. Run daily by Celery beat (`coding.retention_run`, CELERY_BEAT_SCHEDULE).

The clock is `Document.created_at` (and `FieldNote.created_at`): the date Verbatim received the
material, which every row has. `recorded_at` is optional and, for an old recording imported
today, would delete it the night after import; a study's retention promise is normally counted
from collection into the tool, which is also what an owner can see on the document list.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from coding.hypotheses import data_changed
from observations.models import Document, FieldNote
from research.audit import OBJECT_PROJECT, audit_record
from research.models import AuditEvent, Project


@transaction.atomic
def project_retention_apply(*, project: Project, now: datetime | None = None) -> dict[str, int]:
    """Delete the project's documents and field notes created before `now - retention_days`
    (with their excerpts, memos, suggestions, turns, sentences and PII candidates, which
    cascade); a project without a period keeps everything. Records one audit event when
    something was deleted. Returns the counts."""
    if project.retention_days is None:
        return {"documents": 0, "field_notes": 0}
    from observations.services.notes import note_delete

    cutoff = (now or timezone.now()) - timedelta(days=project.retention_days)
    old_notes = list(
        FieldNote.objects.filter(session__project=project, created_at__lt=cutoff).order_by("-id")
    )
    # Notes first, one by one, so a field-notes document keeps the newer notes' text in step.
    for note in old_notes:
        note_delete(note=note)
    old = Document.objects.filter(project=project, created_at__lt=cutoff).exclude(
        kind=Document.Kind.FIELD_NOTES, session__notes__isnull=False
    )
    documents = old.count()
    Document.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()
    counts = {"documents": documents, "field_notes": len(old_notes)}
    if documents or old_notes:
        data_changed(project.pk)
        audit_record(
            action=AuditEvent.Action.RETENTION_DELETE,
            project=project,
            user=None,
            object_type=OBJECT_PROJECT,
            object_id=project.pk,
            detail=counts,
        )
    return counts


def retention_run(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Apply every project's retention period; one transaction per project, so one failure
    leaves the others done. Returns the counts by project slug (only projects with a period)."""
    results = {}
    for project in Project.objects.filter(retention_days__isnull=False).order_by("pk"):
        results[project.slug] = project_retention_apply(project=project, now=now)
    return results
