"""Erasing a participant (issue 8.6): a canary name planted everywhere the participant appears
is found nowhere afterwards — not in a dump of the whole database, not in any export — while
other people's words and the offsets coded on them stay exactly as they were."""

import io
import subprocess
import zipfile
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from coding.models import AgreementDecision, CodebookChange, Excerpt, Memo
from observations.models import Document, FieldNote, PiiKeyEntry, PiiKnownName, SpeakerTurn
from research.models import AuditEvent, Job, Participant, ParticipantSegment, Segmentation
from tests.conftest import Team, client_for
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    MemoFactory,
    ParticipantFactory,
    SessionFactory,
    SpeakerTurnFactory,
)

CANARY = "Qxzyvanth"
OTHER_WORDS = "I like the app a lot."


def _database_text() -> str:
    """Every row of every table as text: pg_dump on PostgreSQL, SELECT * on SQLite."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        env = {"PGPASSWORD": settings.get("PASSWORD") or ""}
        command = ["pg_dump", "--data-only", "-h", settings.get("HOST") or "127.0.0.1"]
        command += ["-p", str(settings.get("PORT") or 5432), "-U", settings["USER"]]
        command.append(settings["NAME"])
        # A separate client sees committed rows only: the test runs with transaction=True.
        dump = subprocess.run(command, env=env, capture_output=True, check=True, text=True)  # noqa: S603
        return dump.stdout
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            chunks.append(f"{table}: " + repr(cursor.fetchall()))
    return "\n".join(chunks)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _unzipped(payload: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
        )


def _plant(team: Team) -> dict[str, Any]:
    project = team.project
    person = ParticipantFactory.create(
        project=project,
        pseudonym=CANARY,
        customer_ref=f"ref-{CANARY}",
        attributes={"city": f"{CANARY}ville"},
        consent={"note": f"signed by {CANARY}"},
    )
    other = ParticipantFactory.create(project=project, pseudonym="P-other")
    code = CodeFactory.create(project=project, name="Fees")
    own_text = f"{CANARY}: My name is {CANARY} and the fees made me leave."
    own = DocumentFactory.create(
        project=project, participant=person, title=f"Interview {CANARY}", text=own_text
    )
    SpeakerTurnFactory.create(
        document=own, index=0, speaker=CANARY, participant=person, start=11, end=len(own_text)
    )
    excerpt = ExcerptFactory.create(
        document=own, code=code, coder=team.coder, start=11, end=len(own_text)
    )
    excerpt.memo = f"{CANARY} was angry"
    excerpt.save()
    MemoFactory.create(project=project, author=team.coder, excerpt=excerpt, text=f"{CANARY}!")
    MemoFactory.create(project=project, author=team.coder, document=own, text=f"On {CANARY}.")
    MemoFactory.create(project=project, author=team.coder, text=f"Compare {CANARY} with P-other.")
    # A group interview: the canary's words sit between two other speakers'.
    lines = ["Interviewer: Hello everyone.", f"{CANARY}: I am {CANARY} and fees hurt.", ""]
    lines[2] = f"P-other: {OTHER_WORDS}"
    group_text = "\n".join(lines)
    group = DocumentFactory.create(project=project, title="Group", text=group_text)
    canary_start = group_text.index("I am")
    other_start = group_text.index(OTHER_WORDS)
    SpeakerTurnFactory.create(document=group, index=0, speaker="Interviewer", start=13, end=28)
    SpeakerTurnFactory.create(
        document=group,
        index=1,
        speaker=CANARY,
        participant=person,
        start=canary_start,
        end=group_text.index("\nP-other"),
    )
    SpeakerTurnFactory.create(
        document=group,
        index=2,
        speaker="P-other",
        participant=other,
        start=other_start,
        end=len(group_text),
    )
    theirs_in_group = ExcerptFactory.create(
        document=group, code=code, coder=team.coder, start=canary_start, end=canary_start + 14
    )
    survivor = ExcerptFactory.create(
        document=group, code=code, coder=team.coder, start=other_start, end=len(group_text)
    )
    AgreementDecision.objects.create(
        project=project,
        document=group,
        code=code,
        start=canary_start,
        end=canary_start + 14,
        action="keep_both",
        version="v",
        before=[{"id": theirs_in_group.pk, "text": theirs_in_group.text}],
        after=[{"id": theirs_in_group.pk, "text": theirs_in_group.text}],
    )
    CodebookChange.objects.create(
        project=project,
        action="update",
        summary="Recoded",
        before={"excerpts": [{"id": excerpt.pk, "document_id": own.pk, "text": excerpt.text}]},
        after={"excerpts": [{"id": survivor.pk, "document_id": group.pk, "text": OTHER_WORDS}]},
    )
    Job.objects.create(project=project, kind="import", params={"file_name": f"{CANARY}.txt"})
    session = SessionFactory.create(project=project)
    FieldNoteFactory.create(session=session, participant=person, text=f"{CANARY} paced.")
    FieldNoteFactory.create(session=session, text=f"Staff greeted {CANARY} by name.")
    kept_note = FieldNoteFactory.create(session=session, text="The queue was long.")
    PiiKeyEntry.objects.create(
        project=project, kind="person", real_value=f"{CANARY.lower()} realname", pseudonym=CANARY
    )
    PiiKnownName.objects.create(project=project, name=f"{CANARY} Realname", pseudonym=CANARY)
    snapshot = Segmentation.objects.create(
        project=project, name="Value", version=1, source_name="s.csv"
    )
    segment = snapshot.segments.create(name="Loyal")
    ParticipantSegment.objects.create(participant=person, segmentation=snapshot, segment=segment)
    return {
        "person": person,
        "group": group,
        "group_text": group_text,
        "survivor": survivor,
        "kept_note": kept_note,
    }


def _exports(team: Team) -> list[str]:
    client = client_for(team.owner)
    slug = team.project.slug
    texts = []
    for name, query in (
        ("api:export-excerpts", {"format": "csv"}),
        ("api:export-theme-features", {"format": "csv"}),
        ("api:analysis-cooccurrence", {"format": "csv"}),
    ):
        response = client.get(reverse(name, kwargs={"slug": slug}), query)
        assert response.status_code == 200, (name, response.content[:300])
        texts.append(_body(response).decode("utf-8"))
    xlsx = client.get(reverse("api:export-excerpts", kwargs={"slug": slug}), {"format": "xlsx"})
    assert xlsx.status_code == 200
    texts.append(_unzipped(xlsx.content))
    qdpx = client.get(reverse("api:refi", kwargs={"slug": slug}))
    assert qdpx.status_code == 200
    texts.append(_unzipped(_body(qdpx)))
    return texts


@pytest.mark.django_db(transaction=True)
def test_canary_is_nowhere_when_participant_is_erased(team: Team):
    planted = _plant(team)
    person = planted["person"]
    assert CANARY in _database_text()
    assert any(CANARY in text for text in _exports(team)), "the canary must be visible before"

    url = reverse("api:participant-erase", kwargs={"slug": team.project.slug, "pk": person.pk})
    response = client_for(team.owner).post(url, {"pseudonym": CANARY}, format="json")
    assert response.status_code == 200, response.content
    erased = response.json()["erased"]
    assert erased["documents"] == 1
    assert erased["shared_turns"] == 1

    dump = _database_text()
    assert CANARY.lower() not in dump.lower()
    for text in _exports(team):
        assert CANARY.lower() not in text.lower()

    # Everyone else's words and coding are untouched, at the same offsets.
    group = Document.objects.get(pk=planted["group"].pk)
    assert len(group.text) == len(planted["group_text"])
    survivor = Excerpt.objects.get(pk=planted["survivor"].pk)
    assert group.text[survivor.start : survivor.end] == OTHER_WORDS == survivor.text
    assert "[erased]" in group.text
    assert SpeakerTurn.objects.filter(document=group).count() == 3
    assert not Participant.objects.filter(pk=person.pk).exists()
    assert Memo.objects.filter(text__contains="P-other").count() == 1
    assert FieldNote.objects.filter(text="The queue was long.").count() == 1
    event = AuditEvent.objects.get(action="erase_participant")
    assert event.user_id == team.owner.pk
    assert event.detail["documents"] == 1
