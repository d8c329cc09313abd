"""PII services: detection candidates, decisions, consistent application through the key table."""

import pytest

from observations.models import Document, PiiCandidate
from observations.services import pii_detect
from tests.conftest import Team
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def _document(team: Team, text: str, title: str = "Call") -> Document:
    return DocumentFactory.create(project=team.project, title=title, text=text, char_count=len(text))


def test_pii_detect_replaces_pending_and_keeps_decided_when_run_twice(team: Team) -> None:
    text = "Write to zoe@example.com or call 07700 900123. Zoë Müller said hi."
    document = _document(team, text)
    name = text.index("Zoë Müller")
    found = pii_detect(document=document, person_spans=[(name, name + len("Zoë Müller"))])
    assert {(c.kind, text[c.start : c.end]) for c in found} == {
        ("email", "zoe@example.com"),
        ("phone", "07700 900123"),
        ("person", "Zoë Müller"),
    }
    email = next(c for c in found if c.kind == "email")
    email.status = PiiCandidate.Status.REJECTED
    email.save()

    again = pii_detect(document=document, person_spans=[])
    assert {c.kind for c in again} == {"phone"}
    assert document.pii_candidates.filter(status=PiiCandidate.Status.REJECTED).count() == 1
    assert document.pii_candidates.count() == 2
