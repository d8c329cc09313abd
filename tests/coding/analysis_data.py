"""A random-but-seeded study for the analysis tests, built through factories, that also records
what every excerpt *should* count as (participant, customer speech, source, date) straight from
how it was built — so the tests can recompute every number with pandas and scipy without asking
`coding.analysis` anything.

The study has themes with child codes and a grandchild, an archived child, an archived theme
with a live child; transcripts with interviewer and customer turns (some turns spoken by another
participant than the document's), surveys, field-note documents whose notes name a participant
or nobody, unattributed documents; dates from recorded_at, from the session, or from created_at;
participants missing from the snapshot, one placed by hand, and recruited customers with no
documents at all.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from coding.models import Code, Excerpt
from observations.models import Document, FieldNote, SpeakerTurn
from research.models import (
    CustomerSegment,
    Participant,
    ParticipantSegment,
    Project,
    Segment,
    Segmentation,
    User,
)
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    FieldNoteFactory,
    ParticipantFactory,
    SessionFactory,
)

DAY0 = datetime(2026, 1, 5, tzinfo=UTC)
METRICS = {"spend": "numeric", "tenure": "numeric", "plan": "categorical", "joined": "date"}


@dataclass
class Study:
    segmentation: Segmentation
    segments: list[str]
    order: list[int]  # code ids in tree order
    codes: pd.DataFrame  # code, parent, root, archived, name
    participants: pd.DataFrame  # participant, customer_ref, segment (None: none), metrics...
    documents: pd.DataFrame  # document, source, date (UTC datetime)
    appearances: pd.DataFrame  # document, participant
    excerpts: pd.DataFrame  # excerpt, code, document, participant (or None), speech
    sessions: pd.DataFrame  # session, participant, document (or None): who is linked where


def build_study(
    project: Project,
    coder: User,
    *,
    seed: int,
    participants: int = 60,
    segments: tuple[str, ...] = ("Bronze", "Gold", "Silver", "Platinum"),
    themes: int = 4,
    extra_customers: int = 15,
) -> Study:
    rng = random.Random(seed)
    # --- codebook ---
    order: list[int] = []
    code_rows: list[dict[str, Any]] = []

    def add_code(name: str, parent: Code | None, position: int, archived: bool = False) -> Code:
        code = CodeFactory.create(
            project=project, name=name, parent=parent, position=position, is_archived=archived
        )
        root = parent.pk if parent is not None else code.pk
        if parent is not None:
            root = next(r["root"] for r in code_rows if r["code"] == parent.pk)
        code_rows.append(
            {
                "code": code.pk,
                "parent": parent.pk if parent else None,
                "root": root,
                "archived": archived,
                "name": name,
            }
        )
        order.append(code.pk)
        return code

    leaves: list[Code] = []
    for t in range(themes + 1):
        archived_theme = t == themes  # the last theme is archived, its child is not
        theme = add_code(f"S{seed} theme {t}", None, t, archived=archived_theme)
        leaves.append(theme)
        for c in range(2 if not archived_theme else 1):
            archived_child = t == 1 and c == 1
            child = add_code(f"Code {t}.{c}", theme, c, archived=archived_child)
            leaves.append(child)
            if t == 0 and c == 0:
                leaves.append(add_code("Detail 0.0.0", child, 0))

    # --- snapshot ---
    segmentation = Segmentation.objects.create(
        project=project,
        name=f"Value {seed}",
        version=1,
        source_name="value.csv",
        metric_types=METRICS,
    )
    segment_objs = {
        name: Segment.objects.create(segmentation=segmentation, name=name) for name in segments
    }
    people: list[Participant] = []
    people_rows: list[dict[str, Any]] = []
    customers: list[CustomerSegment] = []
    weights = [rng.uniform(0.5, 2) for _ in segments]

    def metrics() -> dict[str, Any]:
        out: dict[str, Any] = {
            "spend": round(rng.lognormvariate(5, 1), 2),
            "tenure": rng.randint(1, 60),
            "plan": rng.choice(["basic", "family", "pro"]),
            "joined": (date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))).isoformat(),
        }
        for key in list(out):
            if rng.random() < 0.1:
                del out[key]  # blanks are missing values
        return out

    for i in range(participants):
        ref = f"S{seed}-C{i:04d}"
        person = ParticipantFactory.create(
            project=project, pseudonym=f"S{seed}-P{i:03d}", customer_ref=ref
        )
        people.append(person)
        segment: str | None = rng.choices(list(segments), weights)[0]
        values: dict[str, Any] = {}
        if i % 17 == 5:  # not in the snapshot
            segment = None
            if i % 34 == 5:  # ... but placed by hand (no metrics: not in the snapshot)
                segment = segments[0]
                ParticipantSegment.objects.create(
                    participant=person, segmentation=segmentation, segment=segment_objs[segment]
                )
        else:
            values = metrics()
            assert segment is not None
            customers.append(
                CustomerSegment(
                    segmentation=segmentation,
                    customer_ref=ref,
                    segment=segment_objs[segment],
                    metrics=values,
                )
            )
        people_rows.append(
            {"participant": person.pk, "customer_ref": ref, "segment": segment, **values}
        )
    for j in range(extra_customers):  # customers never recruited
        customers.append(
            CustomerSegment(
                segmentation=segmentation,
                customer_ref=f"S{seed}-X{j:04d}",
                segment=segment_objs[rng.choice(list(segments))],
                metrics=metrics(),
            )
        )
    CustomerSegment.objects.bulk_create(customers)
    segmentation.customer_count = len(customers)
    segmentation.save(update_fields=["customer_count"])

    # --- theme propensity per segment, so some rows differ between segments ---
    leaf_ids = [c.pk for c in leaves]
    propensity = {
        seg: [rng.uniform(0.2, 3) if rng.random() < 0.7 else 0.05 for _ in leaf_ids]
        for seg in [*segments, None]
    }

    docs: list[dict[str, Any]] = []
    appearances: list[dict[str, Any]] = []
    excerpts: list[dict[str, Any]] = []
    session_links: list[dict[str, Any]] = []
    turns: list[SpeakerTurn] = []
    pending: list[Excerpt] = []

    def pick_code(owner: int | None) -> int:
        seg = people_rows[owner]["segment"] if owner is not None else None
        return rng.choices(leaf_ids, propensity[seg])[0]

    def excerpt_in(
        document: Document, start: int, end: int, who: int | None, owner: int | None, speech: bool
    ) -> None:
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            a = rng.randint(start, max(start, end - 6))
            b = rng.randint(a + 1, end)
            code = pick_code(owner)
            pending.append(
                Excerpt(
                    project=project,
                    document=document,
                    code_id=code,
                    coder=coder,
                    start=a,
                    end=b,
                    text=document.text[a:b],
                )
            )
            excerpts.append(
                {"code": code, "document": document.pk, "participant": who, "speech": speech}
            )

    def when() -> datetime:
        return DAY0 + timedelta(days=rng.randint(0, 170), minutes=rng.randint(0, 24 * 60 - 1))

    def index_of(pk: int | None) -> int | None:
        return None if pk is None else next(i for i, p in enumerate(people) if p.pk == pk)

    interviewed = [i for i in range(participants) if i % 11 != 3]  # the others: no documents
    for i in interviewed:
        person = people[i]
        for k in range(rng.choice([1, 1, 2])):
            # A transcript: interviewer and customer turns; now and then a turn by someone else.
            session = None
            recorded: datetime | None = when()
            if k == 1 and rng.random() < 0.5:
                session = SessionFactory.create(project=project, started_at=when())
                recorded = None
            parts: list[tuple[str, Participant | None]] = []
            for _ in range(rng.randint(2, 4)):
                parts.append(("Interviewer: what happened next, and why?\n", None))
                speaker = person
                if rng.random() < 0.12:
                    speaker = people[rng.choice(interviewed)]
                words = " ".join(rng.choice(["it", "was", "slow", "kind", "odd"]) for _ in range(9))
                parts.append((f"{speaker.pseudonym}: {words}.\n", speaker))
            text = "".join(p for p, _ in parts)
            document = DocumentFactory.create(
                project=project,
                participant=person,
                kind=Document.Kind.TRANSCRIPT,
                text=text,
                recorded_at=recorded,
                session=session,
            )
            docs.append(
                {
                    "document": document.pk,
                    "source": "transcript",
                    "date": recorded or (session.started_at if session else None),
                }
            )
            appearances.append({"document": document.pk, "participant": person.pk})
            if session is not None:
                session_links.append(
                    {"session": session.pk, "participant": person.pk, "document": document.pk}
                )
            offset = 0
            for index, (part, turn_by) in enumerate(parts):
                start, end = offset, offset + len(part) - 1
                offset += len(part)
                turns.append(
                    SpeakerTurn(
                        document=document,
                        index=index,
                        speaker=turn_by.pseudonym if turn_by else "Interviewer",
                        participant=turn_by,
                        start=start,
                        end=end + 1,
                    )
                )
                if turn_by is not None:
                    appearances.append({"document": document.pk, "participant": turn_by.pk})
                who = turn_by.pk if turn_by else person.pk
                excerpt_in(document, start, end, who, index_of(who), speech=turn_by is not None)
        if rng.random() < 0.4:  # a survey answer
            text = "How likely are you to recommend us? Not very: billing is confusing.\n"
            recorded = when()
            document = DocumentFactory.create(
                project=project,
                participant=person,
                kind=Document.Kind.SURVEY,
                text=text,
                recorded_at=recorded,
            )
            docs.append({"document": document.pk, "source": "survey", "date": recorded})
            appearances.append({"document": document.pk, "participant": person.pk})
            excerpt_in(document, 0, len(text) - 1, person.pk, i, speech=True)

    # Field-note documents: a store visit each, notes naming a participant or nobody.
    for _ in range(max(3, participants // 8)):
        session = SessionFactory.create(project=project, started_at=when())
        owner = people[rng.choice(interviewed)] if rng.random() < 0.5 else None
        notes: list[tuple[str, Participant | None, str]] = []
        for _ in range(rng.randint(2, 5)):
            named = people[rng.choice(interviewed)] if rng.random() < 0.7 else None
            kind: str = rng.choice([FieldNote.Kind.QUOTE, FieldNote.Kind.OBSERVATION])
            notes.append((f"[{kind}] the customer looks at the price list again.\n", named, kind))
        text = "".join(t for t, _, _ in notes)
        document = DocumentFactory.create(
            project=project,
            participant=owner,
            kind=Document.Kind.FIELD_NOTES,
            text=text,
            session=session,
        )
        docs.append({"document": document.pk, "source": "field_notes", "date": session.started_at})
        if owner is not None:
            appearances.append({"document": document.pk, "participant": owner.pk})
            session_links.append(
                {"session": session.pk, "participant": owner.pk, "document": document.pk}
            )
        offset = 0
        for index, (note_text, named, kind) in enumerate(notes):
            start, end = offset, offset + len(note_text) - 1
            offset += len(note_text)
            FieldNoteFactory.create(
                session=session,
                participant=named,
                kind=kind,
                text=note_text,
                observed_at=session.started_at + timedelta(minutes=index),
                document_start=start,
                document_end=end + 1,
            )
            if named is not None:
                appearances.append({"document": document.pk, "participant": named.pk})
            author = named.pk if named is not None else (owner.pk if owner else None)
            excerpt_in(
                document, start, end, author, index_of(author), speech=kind == FieldNote.Kind.QUOTE
            )

    # A document nobody is attributed in (no participant, no turns): its excerpts count nowhere.
    loose = DocumentFactory.create(project=project, kind=Document.Kind.OTHER, text="x" * 80)
    loose.refresh_from_db()
    docs.append({"document": loose.pk, "source": "other", "date": loose.created_at})
    excerpt_in(loose, 0, 79, None, None, speech=False)

    SpeakerTurn.objects.bulk_create(turns)
    created = Excerpt.objects.bulk_create(pending)
    ids = [e.pk for e in created]
    if any(pk is None for pk in ids):  # backends without RETURNING: read them back in order
        ids = list(
            Excerpt.objects.filter(project=project).order_by("id").values_list("id", flat=True)
        )
    for row, pk in zip(excerpts, ids, strict=True):
        row["excerpt"] = pk

    codes = pd.DataFrame(code_rows)
    return Study(
        segmentation=segmentation,
        segments=sorted(segments),
        order=order,
        codes=codes,
        participants=pd.DataFrame(people_rows),
        documents=pd.DataFrame(docs),
        appearances=pd.DataFrame(appearances).drop_duplicates(),
        excerpts=pd.DataFrame(excerpts),
        sessions=pd.DataFrame(session_links, columns=["session", "participant", "document"]),
    )
