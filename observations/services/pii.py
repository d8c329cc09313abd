"""Writes for PII pseudonymisation: detection candidates, owners' decisions, the known-names
list, and applying replacements through the key table.

Real values are kept only in `PiiKeyEntry` (and the owner's `PiiKnownName` list): candidates
store offsets into a document version, never the text they point at.
"""

from django.db import transaction

from observations import pii
from observations.models import (
    Document,
    PiiCandidate,
    PiiKind,
)
from research.models import Project

PSEUDONYM_LABELS = {
    PiiKind.PERSON: "Person",
    PiiKind.EMAIL: "Email",
    PiiKind.PHONE: "Phone",
    PiiKind.CARD: "Card",
}


def _known_name_list(project: Project) -> list[str]:
    return list(project.pii_known_names.values_list("name", flat=True))


@transaction.atomic
def pii_detect(*, document: Document, person_spans: list[tuple[int, int]]) -> list[PiiCandidate]:
    """Replace the document's pending candidates for its current text version with fresh
    detections; decided candidates (accepted, rejected, applied) are kept and not duplicated.

    `person_spans` are the PERSON entities the NLP ingest found in `document.text`. Returns the
    new pending candidates, in text order.
    """
    version = document.text_version
    document.pii_candidates.filter(status=PiiCandidate.Status.PENDING).delete()
    decided = set(
        document.pii_candidates.filter(text_version=version).values_list("kind", "start", "end")
    )
    detections = pii.detect(
        document.text, person_spans=person_spans, known_names=_known_name_list(document.project)
    )
    fresh = [
        PiiCandidate(
            document=document,
            text_version=version,
            kind=d.kind,
            start=d.start,
            end=d.end,
            source=d.source,
        )
        for d in detections
        if (d.kind, d.start, d.end) not in decided
    ]
    return PiiCandidate.objects.bulk_create(fresh)
