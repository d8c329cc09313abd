"""Property: whatever mix of values two documents hold, applying every detection leaves none of
the real values in any text, and one value always gets one pseudonym."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observations.models import Document, PiiCandidate, PiiKeyEntry
from observations.services import pii as pii_services
from observations.services import pii_detect
from research.models import Project, User
from tests.factories import DocumentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAILS = ["ama@example.com", "b.okafor@mail.example.org", "chen_li@example.net"]
PHONES = ["07700 900123", "+44 7700 900124", "(020) 7946 0958", "+1 415-555-0132"]
CARDS = ["4539 1488 0343 6467", "5555-5555-5555-4444"]
WORDS = ["The", "bill", "was", "late", "again", "and", "I", "rang", "twice", "today."]
VALUES = EMAILS + PHONES + CARDS

piece = st.one_of(st.sampled_from(WORDS), st.sampled_from(VALUES))
texts = st.lists(piece, min_size=1, max_size=25).map(" ".join)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=texts, second=texts)
def test_no_real_value_remains_when_every_detection_is_applied(first: str, second: str) -> None:
    project: Project = ProjectFactory.create()
    owner: User = UserFactory.create()
    documents: list[Document] = []
    for text in (first, second):
        document = DocumentFactory.create(project=project, text=text)
        pii_detect(document=document, person_spans=[])
        documents.append(document)
    PiiCandidate.objects.filter(document__project=project).update(status="accepted")

    pii_services.pii_apply(project=project, user=owner)

    present = {v for v in VALUES if v in first or v in second}
    keys = {k.real_value: k.pseudonym for k in PiiKeyEntry.objects.filter(project=project)}
    assert len(keys) == len(set(keys.values()))  # one pseudonym per value, never shared
    for document in documents:
        document.refresh_from_db()
        for value in VALUES:
            assert value not in document.text
        # Everything left where a value stood is a pseudonym from the key table.
        for pseudonym in re.findall(r"\[(?:Email|Phone|Card) \d+\]", document.text):
            assert pseudonym in keys.values()
    assert len(keys) == len({pii_normalised(v) for v in present})


def pii_normalised(value: str) -> str:
    from observations import pii

    kind = "email" if "@" in value else "card" if value in CARDS else "phone"
    return pii.normalise_value(kind, value)
