"""Objects the schema fuzzer puts into URL paths: two projects, each with one owner and one object
of every kind a path names, so fuzzing reaches real objects of the caller's project and of a
project the caller is not a member of."""

import itertools
from dataclasses import dataclass, field

from rest_framework.authtoken.models import Token

from coding.models import CodebookChange, Hypothesis, Suggester, Suggestion
from observations.models import PiiCandidate, PiiKnownName
from research.models import Job, Project, Segmentation, User
from research.roles import Role
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    MembershipFactory,
    MemoFactory,
    ParticipantFactory,
    ProjectFactory,
    SessionFactory,
    UserFactory,
)

# The URL segment before `{id}` -> the kind of object the id names.
ID_AFTER_SEGMENT = {
    "jobs": "job",
    "members": "member",
    "participants": "participant",
    "sessions": "session",
    "notes": "note",
    "documents": "document",
    "codes": "code",
    "excerpts": "excerpt",
    "memos": "memo",
    "history": "codebook-change",
    "candidates": "pii-candidate",
    "known-names": "pii-known-name",
    "segmentations": "segmentation",
    "hypotheses": "hypothesis",
    "suggestions": "suggestion",
    "suggesters": "suggester",
}


@dataclass
class Side:
    """One project, its owner's API token and the ids of its objects by kind."""

    project: Project
    owner: User
    token: str
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        # X-Forwarded-Proto: as production's TLS proxy sends it, so SSL redirect lets it through.
        return {"Authorization": f"Token {self.token}", "X-Forwarded-Proto": "https"}


def _side(slug: str, username: str) -> Side:
    project = ProjectFactory.create(slug=slug, name=f"Fuzz {slug}")
    owner = UserFactory.create(username=username)
    MembershipFactory.create(project=project, user=owner, role=Role.OWNER)
    coder = UserFactory.create(username=f"{username}-coder")
    member = MembershipFactory.create(project=project, user=coder, role=Role.CODER)
    session = SessionFactory.create(project=project)
    document = DocumentFactory.create(project=project)
    code = CodeFactory.create(project=project)
    segmentation = Segmentation.objects.create(
        project=project, name="Value", version=1, source_name="s.csv"
    )
    objects: dict[str, object] = {
        "job": Job.objects.create(project=project, kind="fuzz"),
        "member": member,
        "participant": ParticipantFactory.create(project=project),
        "session": session,
        "note": FieldNoteFactory.create(session=session),
        "document": document,
        "code": code,
        "excerpt": ExcerptFactory.create(document=document, code=code, coder=coder),
        "memo": MemoFactory.create(project=project, author=owner),
        "codebook-change": CodebookChange.objects.create(
            project=project, action="update", summary="A change.", before={}, after={}
        ),
        "pii-candidate": PiiCandidate.objects.create(
            document=document, text_version=1, kind="email", start=0, end=5, source="regex"
        ),
        "pii-known-name": PiiKnownName.objects.create(project=project, name="Zoë Müller"),
        "segmentation": segmentation,
        "hypothesis": Hypothesis.objects.create(
            project=project,
            statement="Callers spend more.",
            code_id=code.pk,
            kind="segment",
            segmentation=segmentation,
            segment="A",
            direction="more",
        ),
        "suggestion": Suggestion.objects.create(
            project=project,
            document=document,
            code_id=code.pk,
            start=0,
            end=5,
            text=document.text[:5],
            method="pattern",
            pattern=0,
            score=0.5,
        ),
        "suggester": Suggester.objects.create(project=project, version=1, status="failed"),
    }
    token = Token.objects.create(user=owner).key
    ids = {kind: str(obj.pk) for kind, obj in objects.items()}  # type: ignore[attr-defined]
    return Side(project=project, owner=owner, token=token, ids=ids)


def build_sides() -> tuple[Side, Side]:
    """Two projects with disjoint members: each side's owner is an outsider to the other."""
    return _side("fuzz-north", "north"), _side("fuzz-south", "south")


def path_kinds(path: str) -> dict[str, str]:
    """For an OpenAPI path like `/api/v1/projects/{slug}/sessions/{session_pk}/notes/{id}/`,
    the kind of object each non-slug parameter names."""
    parts = [part for part in path.split("/") if part]
    kinds: dict[str, str] = {}
    for before, part in itertools.pairwise(parts):
        if part.startswith("{") and part != "{slug}":
            name = part.strip("{}")
            kinds[name] = "session" if name == "session_pk" else ID_AFTER_SEGMENT[before]
    return kinds
