"""The audit log of reads of raw personal data and of privacy actions (research.AuditEvent).

`audit_record` is the only writer; it never fails the read it records for want of an address.
Events name objects by type and id, never by pseudonym or text, so erasing a participant never
has to touch the log (which it could not: the log is append-only).
"""

from typing import Any

from django.db import models
from django.http import HttpRequest

from research.models import AuditEvent, Project, User

OBJECT_DOCUMENT = "document"
OBJECT_PII_KEY = "pii_key"
OBJECT_PARTICIPANT = "participant"
OBJECT_PROJECT = "project"


def client_ip(request: HttpRequest | Any) -> str | None:
    """The address the request came from: REMOTE_ADDR, which behind reverse proxies holds the
    client's address as they reported it (config/wsgi.py, DJANGO_PROXY_COUNT) — the same
    address failed-login throttling counts by."""
    meta = getattr(request, "META", {})
    address = meta.get("REMOTE_ADDR") or None
    return str(address) if address else None


def audit_record(
    *,
    action: str,
    project: Project | None,
    user: User | Any | None,
    object_type: str = "",
    object_id: object = "",
    request: HttpRequest | Any | None = None,
    detail: dict[str, int] | None = None,
) -> AuditEvent:
    """Append one event. `user` may be anonymous or None (scheduled work); `detail` holds counts."""
    person = user if isinstance(user, User) else None
    return AuditEvent.objects.create(
        action=action,
        project_id=project.pk if project is not None else None,
        user_id=person.pk if person is not None else None,
        username=person.get_username() if person is not None else "",
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        ip=client_ip(request) if request is not None else None,
        detail=detail or {},
    )


def audit_transcript_read(
    *, project: Project, user: User | Any | None, document_id: object, request: HttpRequest | Any
) -> AuditEvent:
    """Record that `user` was shown the raw text of the document `document_id` (whole)."""
    return audit_record(
        action=AuditEvent.Action.READ_TRANSCRIPT,
        project=project,
        user=user,
        object_type=OBJECT_DOCUMENT,
        object_id=document_id,
        request=request,
    )


def audit_event_list(*, project: Project) -> models.QuerySet[AuditEvent]:
    """The project's events, newest first (one query; nothing is joined)."""
    return AuditEvent.objects.filter(project_id=project.pk).order_by("-at", "-id")
