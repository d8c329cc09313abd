"""Every write to observation sessions, field notes, documents and speaker turns.

One module per entity; this package re-exports their public services.
"""

from observations.services.documents import (
    TurnInput,
    document_create,
    document_delete,
    document_queue_processing,
    document_update,
)
from observations.services.editing import TextEdit, document_set_text
from observations.services.imports import documents_import
from observations.services.ingest import document_process
from observations.services.notes import note_create, note_delete, note_update
from observations.services.pii import pii_detect
from observations.services.sessions import session_create, session_delete, session_update

__all__ = [
    "TextEdit",
    "TurnInput",
    "document_create",
    "document_delete",
    "document_process",
    "document_queue_processing",
    "document_set_text",
    "document_update",
    "documents_import",
    "note_create",
    "note_delete",
    "note_update",
    "pii_detect",
    "session_create",
    "session_delete",
    "session_update",
]
