"""factory_boy factories. Each keeps its graph inside one project: a factory given `project`
builds every related row in that same project."""

from datetime import UTC, datetime
from typing import TypeVar

import factory
from factory.django import DjangoModelFactory

from coding.models import Code, Excerpt, Memo
from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from research.models import Membership, Participant, Project, User
from research.roles import Role

DEFAULT_PASSWORD = "correct-horse-battery"
T = TypeVar("T")


class ModelFactory(DjangoModelFactory[T]):
    """Base of our factories. Call `XFactory.create(...)` in tests: factory_boy types `create` as
    returning the model, while a bare `XFactory(...)` call is untyped."""

    class Meta:
        abstract = True


TEXT = (
    "Interviewer: How did the first week with your new plan go?\n"
    "Customer: Honestly the activation took three days and nobody told me why.\n"
    "Interviewer: What did you do then?\n"
    "Customer: I went back to the store, and the staff there were lovely.\n"
)


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(DEFAULT_PASSWORD)


class ProjectFactory(ModelFactory[Project]):
    class Meta:
        model = Project

    slug = factory.Sequence(lambda n: f"study-{n}")
    name = factory.Sequence(lambda n: f"Study {n}")
    journey_stages = factory.LazyFunction(lambda: ["onboarding", "usage", "support"])


class MembershipFactory(ModelFactory[Membership]):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CODER


class ParticipantFactory(ModelFactory[Participant]):
    class Meta:
        model = Participant

    project = factory.SubFactory(ProjectFactory)
    pseudonym = factory.Sequence(lambda n: f"P{n:02d}")
    customer_ref = factory.Sequence(lambda n: f"CUST-{n:05d}")


class SessionFactory(ModelFactory[ObservationSession]):
    class Meta:
        model = ObservationSession

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Store visit {n}")
    site = "High Street store"
    channel = "store"
    journey_stage = "onboarding"
    started_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class FieldNoteFactory(ModelFactory[FieldNote]):
    class Meta:
        model = FieldNote

    session = factory.SubFactory(SessionFactory)
    observed_at = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    kind = FieldNote.Kind.OBSERVATION
    text = "Customer waits at the counter holding the SIM pack."


class DocumentFactory(ModelFactory[Document]):
    class Meta:
        model = Document

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Interview {n}")
    kind = Document.Kind.TRANSCRIPT
    text = TEXT
    char_count = factory.LazyAttribute(lambda d: len(d.text))
    status = Document.Status.READY


class SpeakerTurnFactory(ModelFactory[SpeakerTurn]):
    class Meta:
        model = SpeakerTurn

    document = factory.SubFactory(DocumentFactory)
    index = factory.Sequence(lambda n: n)
    speaker = "Customer"
    start = 0
    end = 10


class CodeFactory(ModelFactory[Code]):
    class Meta:
        model = Code

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Code {n}")
    color = "#4c78a8"


class ExcerptFactory(ModelFactory[Excerpt]):
    class Meta:
        model = Excerpt

    document = factory.SubFactory(DocumentFactory)
    project = factory.SelfAttribute("document.project")
    code = factory.SubFactory(CodeFactory, project=factory.SelfAttribute("..project"))
    coder = factory.SubFactory(UserFactory)
    start = 0
    end = 11
    text = factory.LazyAttribute(lambda e: e.document.text[e.start : e.end])


class MemoFactory(ModelFactory[Memo]):
    class Meta:
        model = Memo

    project = factory.SubFactory(ProjectFactory)
    author = factory.SubFactory(UserFactory)
    title = "Activation delays"
    text = "Three participants mention waiting days for activation."
