"""Property: a project exported as .qdpx (coding.refi.export + writer), read back (reader) and
imported into a new project (importer) has the same codes, sources, excerpts, memos and
participants.

What "the same" means, field by field: codes by path, with colour (case aside), description,
inclusion notes and example; documents by title, with text, kind and participant; excerpts by
document, code path, start, end, quoted text, coder's username and own memo; memos by title,
text, author and what they are about (an excerpt named by document and span: REFI-QDA keeps
one selection per span, so two excerpts sharing a span are one place for a memo); participants
by pseudonym, with customer_ref and attributes.
"""

import io
import string
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coding.models import Code, Excerpt, Memo
from coding.refi.export import project_to_qda
from coding.refi.importer import import_qda
from coding.refi.reader import read_qdpx
from coding.refi.writer import write_qdpx
from coding.services.codes import code_create
from coding.services.excerpts import excerpt_create
from coding.services.memos import memo_create
from observations.models import Document
from observations.services.documents import document_create
from observations.text import normalise_text
from research.models import Participant, Project, User
from research.roles import Role
from research.services import participant_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

# Letters, accents (some decomposed: normalisation composes them), other scripts, emoji (two
# UTF-16 units; skin tones and ZWJ sequences), punctuation; and line breaks between words.
WORDS = st.lists(
    st.sampled_from(
        [
            *string.ascii_letters,
            *"éüßçøÆ",
            "e\u0301",
            "\u212b",
            *"дом漢字ㄱ",
            *["😀", "👍🏽", "👩\u200d💻", "🇬🇧", "—", "’", "?", "!", ",", "."],
        ]
    ),
    min_size=1,
    max_size=8,
).map("".join)
TEXT = st.lists(
    st.tuples(WORDS, st.sampled_from([" ", " ", "\n", "\r\n"])), min_size=1, max_size=30
)
NAME = st.text(alphabet=string.ascii_letters + "éü😀", min_size=1, max_size=10)
LINE = st.lists(NAME, min_size=1, max_size=4).map(" ".join)
COLOR = st.text(alphabet="0123456789abcdefABCDEF", min_size=6, max_size=6).map(lambda s: "#" + s)
ATTRIBUTE_VALUES: dict[str, Any] = {
    "int": st.integers(-(10**6), 10**6),
    "float": st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: not f.is_integer()),
    "bool": st.booleans(),
    "text": st.text(alphabet=string.ascii_letters + " é😀", min_size=1, max_size=12).filter(
        str.strip
    ),
    "date": st.dates().map(lambda d: d.isoformat()),
}


@dataclass
class Spec:
    codes: list[tuple[int | None, str, str, str, str]]  # parent index, name, colour, desc, example
    documents: list[tuple[str, str, str, int | None]]  # title, text, kind, participant index
    participants: list[tuple[str, str, dict[str, Any]]]
    excerpts: list[tuple[int, int, int, int, int, str]]  # doc, code, start, end, coder, memo
    memos: list[tuple[str, str, int, dict[str, int]]]  # title, text, author, links by index
    coders: int = 2


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    codes: list[tuple[int | None, str, str, str, str]] = []
    for _ in range(draw(st.integers(1, 5))):
        parent = draw(st.none() | st.integers(0, len(codes) - 1)) if codes else None
        taken = {name.casefold() for p, name, *_ in codes if p == parent}
        name = draw(LINE.filter(lambda n: n.casefold() not in taken))  # noqa: B023 (drawn here)
        described = draw(st.booleans())
        codes.append(
            (
                parent,
                name,
                draw(COLOR),
                draw(LINE) if described else "",
                draw(LINE) if draw(st.booleans()) else "",
            )
        )
    attribute_types = draw(
        st.dictionaries(NAME, st.sampled_from(sorted(ATTRIBUTE_VALUES)), max_size=3)
    )
    participants = []
    for number in range(draw(st.integers(0, 3))):
        chosen = (
            draw(st.lists(st.sampled_from(sorted(attribute_types)), unique=True))
            if attribute_types
            else []
        )
        attributes = {key: draw(ATTRIBUTE_VALUES[attribute_types[key]]) for key in chosen}
        ref = draw(st.sampled_from(["", f"CUST-{number:04d}"]))
        participants.append((f"P{number:02d}", ref, attributes))
    documents = []
    for number in range(draw(st.integers(1, 3))):
        text = normalise_text("".join(word + gap for word, gap in draw(TEXT))).strip()
        owner = draw(st.none() | st.integers(0, len(participants) - 1)) if participants else None
        kind = draw(st.sampled_from(["transcript", "survey", "other"]))
        documents.append((f"{draw(LINE)} {number}", text, kind, owner))
    coders = draw(st.integers(2, 3))
    excerpts = []
    for _ in range(draw(st.integers(0, 8))):
        doc = draw(st.integers(0, len(documents) - 1))
        length = len(documents[doc][1])
        start = draw(st.integers(0, length - 1))
        end = draw(st.integers(start + 1, min(length, start + 40)))
        if not documents[doc][1][start:end].strip():
            continue
        memo = draw(st.sampled_from(["", "", "Check this"]) | LINE)
        excerpts.append(
            (
                doc,
                draw(st.integers(0, len(codes) - 1)),
                start,
                end,
                draw(st.integers(0, coders - 1)),
                memo,
            )
        )
    memos = []
    for _ in range(draw(st.integers(0, 4))):
        links: dict[str, int] = {}
        if draw(st.booleans()):
            links["code"] = draw(st.integers(0, len(codes) - 1))
        if draw(st.booleans()):
            links["document"] = draw(st.integers(0, len(documents) - 1))
        if len(excerpts) > 0 and draw(st.booleans()):
            links["excerpt"] = draw(st.integers(0, len(excerpts) - 1))
        title = draw(st.just("") | LINE)
        memos.append((title, draw(LINE), draw(st.integers(0, coders - 1)), links))
    return Spec(codes, documents, participants, excerpts, memos, coders)


def build(spec: Spec, project: Project, coders: list[User]) -> None:
    """The spec's project, made through the services."""
    codes: list[Code] = []
    for parent, name, color, description, example in spec.codes:
        codes.append(
            code_create(
                project=project,
                name=name,
                parent=codes[parent] if parent is not None else None,
                color=color,
                description=description,
                example=example,
            )
        )
    people = [
        participant_create(project=project, pseudonym=p, customer_ref=ref, attributes=attrs)
        for p, ref, attrs in spec.participants
    ]
    documents = [
        document_create(
            project=project,
            creator=coders[0],
            title=title,
            text=text,
            kind=kind,
            participant=people[owner] if owner is not None else None,
        )[0]
        for title, text, kind, owner in spec.documents
    ]
    excerpts = [
        excerpt_create(
            document=documents[doc],
            code=codes[code],
            start=start,
            end=end,
            coder=coders[coder],
            memo=memo,
        )
        for doc, code, start, end, coder, memo in spec.excerpts
    ]
    targets: dict[str, list[Any]] = {"code": codes, "document": documents, "excerpt": excerpts}
    for title, text, author, links in spec.memos:
        memo_create(
            project=project,
            author=coders[author],
            title=title,
            text=text,
            **{kind: targets[kind][index] for kind, index in links.items()},
        )


def path_of(code: Code | None) -> str | None:
    parts = []
    while code is not None:
        parts.append(code.name)
        code = code.parent
    return " > ".join(reversed(parts)) if parts else None


def contents(project: Project) -> dict[str, Any]:
    """Everything the round trip keeps, in terms that do not depend on ids (sorted by repr, as
    links may be None)."""
    codes = [
        (path_of(c), c.color.lower(), c.description, c.inclusion_notes, c.example)
        for c in Code.objects.filter(project=project)
    ]
    documents = [
        (d.title, d.text, d.kind, d.participant.pseudonym if d.participant else None)
        for d in Document.objects.filter(project=project).select_related("participant")
    ]
    excerpts = [
        (e.document.title, path_of(e.code), e.start, e.end, e.text, e.coder.username, e.memo)
        for e in Excerpt.objects.filter(project=project).select_related("document", "code", "coder")
    ]
    memos = [
        (
            m.title,
            m.text,
            m.author.username,
            path_of(m.code),
            m.document.title if m.document else None,
            (m.excerpt.document.title, m.excerpt.start, m.excerpt.end) if m.excerpt else None,
        )
        for m in Memo.objects.filter(project=project).select_related("author", "code", "document")
    ]
    participants = [
        (p.pseudonym, p.customer_ref, sorted(p.attributes.items()))
        for p in Participant.objects.filter(project=project)
    ]
    found: dict[str, list[Any]] = {
        "codes": codes,
        "documents": documents,
        "excerpts": excerpts,
        "memos": memos,
        "participants": participants,
    }
    return {kind: sorted(rows, key=repr) for kind, rows in found.items()}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs())
def test_export_then_import_into_a_new_project_keeps_the_work(spec: Spec) -> None:
    with transaction.atomic():
        source = ProjectFactory.create()
        coders = [
            UserFactory.create(username=f"coder.{i}", display_name=f"Coder {i} é")
            for i in range(spec.coders)
        ]
        for user in coders:
            MembershipFactory.create(project=source, user=user, role=Role.CODER)
        build(spec, source, coders)

        archive = io.BytesIO()
        write_qdpx(project_to_qda(source), archive)
        archive.seek(0)
        target = ProjectFactory.create()
        importer = UserFactory.create(username="importer")
        MembershipFactory.create(project=target, user=importer, role=Role.OWNER)
        report = import_qda(target, read_qdpx(archive), user=importer)

        assert contents(target) == contents(source)
        assert report.placeholder_users == []
        assert report.created["codes"] == len(spec.codes)
        assert report.created["documents"] == len(spec.documents)
        transaction.set_rollback(True)  # the next example starts from an empty database
