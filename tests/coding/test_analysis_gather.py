"""What counts as evidence (coding.analysis.gather): whose words an excerpt is, customer speech,
source and date filters, observed participants, archived codes and the roll-up of themes."""

from datetime import UTC, date, datetime

import pytest

from coding import analysis, evidence
from coding.analysis import Filters
from observations.models import Document, FieldNote
from research.models import CustomerSegment, Participant, Project, Segment, Segmentation
from tests.conftest import Team
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    ParticipantFactory,
    SessionFactory,
    SpeakerTurnFactory,
)

TEXT = "Interviewer: so, how was it?\nAna: slow activation, three days.\nBen: same for me.\n"
#       0           12              29  33                            63  67


def _snapshot(project: Project, people: dict[Participant, str]) -> Segmentation:
    snapshot = Segmentation.objects.create(
        project=project, name="Value", version=1, source_name="v.csv"
    )
    segments = {
        name: Segment.objects.create(segmentation=snapshot, name=name)
        for name in sorted(set(people.values()))
    }
    CustomerSegment.objects.bulk_create(
        CustomerSegment(segmentation=snapshot, customer_ref=p.customer_ref, segment=segments[s])
        for p, s in people.items()
    )
    return snapshot


@pytest.fixture
def world(team: Team):
    """Ana's interview (interviewer turn, Ana's turn, Ben's turn), a store visit's field notes,
    Cleo's survey, Dan recruited but never interviewed."""
    project = team.project
    ana, ben, cleo, dan, eve = (
        ParticipantFactory.create(project=project, pseudonym=n, customer_ref=f"C-{n}")
        for n in ("Ana", "Ben", "Cleo", "Dan", "Eve")
    )
    snapshot = _snapshot(
        project, {ana: "Gold", ben: "Gold", cleo: "Silver", dan: "Silver", eve: "Gold"}
    )
    theme = CodeFactory.create(project=project, name="Activation", position=0)
    child = CodeFactory.create(project=project, name="Delay", parent=theme, position=0)
    grandchild = CodeFactory.create(project=project, name="Three days", parent=child, position=0)
    archived = CodeFactory.create(project=project, name="Old", position=1, is_archived=True)
    archived_child = CodeFactory.create(
        project=project, name="Retired", parent=theme, position=1, is_archived=True
    )
    interview = DocumentFactory.create(
        project=project,
        participant=ana,
        text=TEXT,
        recorded_at=datetime(2026, 3, 10, 23, 59, tzinfo=UTC),
    )
    SpeakerTurnFactory.create(document=interview, index=0, speaker="Interviewer", start=0, end=29)
    SpeakerTurnFactory.create(
        document=interview, index=1, speaker="Ana", participant=ana, start=29, end=63
    )
    SpeakerTurnFactory.create(
        document=interview, index=2, speaker="Ben", participant=ben, start=63, end=len(TEXT)
    )
    visit = SessionFactory.create(project=project, started_at=datetime(2026, 4, 2, 9, tzinfo=UTC))
    notes_text = "Eve says: too slow.\nEve frowns at the screen.\nA queue forms.\n"
    notes = DocumentFactory.create(
        project=project, kind=Document.Kind.FIELD_NOTES, text=notes_text, session=visit
    )
    for start, end, kind, who in (
        (0, 20, FieldNote.Kind.QUOTE, eve),
        (20, 46, FieldNote.Kind.OBSERVATION, eve),
        (46, len(notes_text), FieldNote.Kind.OBSERVATION, None),
    ):
        FieldNoteFactory.create(
            session=visit,
            participant=who,
            kind=kind,
            text=notes_text[start:end],
            document_start=start,
            document_end=end,
        )
    survey = DocumentFactory.create(
        project=project,
        participant=cleo,
        kind=Document.Kind.SURVEY,
        text="Billing is confusing and activation slow.",
        recorded_at=datetime(2026, 3, 11, 0, 0, tzinfo=UTC),
    )
    e = {}

    def excerpt(name, document, start, end, code):
        e[name] = ExcerptFactory.create(
            document=document, code=code, coder=team.coder, start=start, end=end
        )

    excerpt("interviewer", interview, 0, 11, theme)  # interviewer turn -> Ana, not speech
    excerpt("ana", interview, 35, 45, grandchild)  # Ana's turn
    excerpt("ben", interview, 68, 72, child)  # Ben's turn in Ana's interview
    excerpt("eve_quote", notes, 0, 8, theme)  # a quote note naming Eve
    excerpt("eve_seen", notes, 20, 30, archived_child)  # an observation naming Eve
    excerpt("nobody", notes, 48, 55, theme)  # a note naming nobody, document of nobody
    excerpt("cleo", survey, 0, 7, archived)  # survey: Cleo's speech, an archived theme
    excerpt("cleo2", survey, 12, 21, child)
    return {
        "snapshot": snapshot,
        "people": {p.pseudonym: p.pk for p in (ana, ben, cleo, dan, eve)},
        "codes": {
            "theme": theme.pk,
            "child": child.pk,
            "grandchild": grandchild.pk,
            "archived": archived.pk,
            "archived_child": archived_child.pk,
        },
        "excerpts": {k: v.pk for k, v in e.items()},
        "project": project,
    }


def _gather(world, level="theme", **filters):
    return analysis.gather(
        project=world["project"],
        segmentation=world["snapshot"],
        level=level,
        filters=Filters(**filters),
    )


def _by_excerpt(dataset):
    return {e.excerpt: (e.participant, e.customer_speech, e.row) for e in dataset.evidence}


def test_excerpt_belongs_to_the_speaker_turn_else_note_else_document(world):
    got = _by_excerpt(_gather(world))
    p, x, c = world["people"], world["excerpts"], world["codes"]
    assert got[x["interviewer"]][:2] == (p["Ana"], False)
    assert got[x["ana"]][:2] == (p["Ana"], True)
    assert got[x["ben"]][:2] == (p["Ben"], True)
    assert got[x["eve_quote"]][:2] == (p["Eve"], True)
    assert got[x["eve_seen"]][:2] == (p["Eve"], False)
    assert got[x["nobody"]][:2] == (None, False)
    assert got[x["cleo"]][:2] == (p["Cleo"], True)
    assert got[x["cleo"]][2] == -1  # an archived theme gives no row
    assert got[x["eve_seen"]][2] == c["theme"]  # an archived child still rolls up to its theme


def test_customer_speech_only_drops_interviewer_turns_and_observations(world):
    x = world["excerpts"]
    got = _by_excerpt(_gather(world, customer_speech_only=True))
    assert set(got) == {x["ana"], x["ben"], x["eve_quote"], x["cleo"], x["cleo2"]}


def test_theme_level_rolls_up_grandchildren_and_code_level_does_not(world):
    c, x = world["codes"], world["excerpts"]
    themes = _gather(world, "theme")
    assert themes.rows == [c["theme"]]
    assert _by_excerpt(themes)[x["ana"]][2] == c["theme"]
    codes = _gather(world, "code")
    assert codes.rows == [c["theme"], c["child"], c["grandchild"]]  # archived ones: no rows
    assert _by_excerpt(codes)[x["ana"]][2] == c["grandchild"]
    assert _by_excerpt(codes)[x["eve_seen"]][2] == -1
    cells = {
        (cell["code"], cell["segment"]): cell
        for cell in analysis.theme_segment_cells(codes, analysis.theme_segment(codes))
    }
    assert cells[(c["grandchild"], "Gold")]["n"] == 1
    assert cells[(c["child"], "Gold")]["n"] == 1  # Ben only: Ana's excerpt is the grandchild's


def test_observed_participants_exclude_recruited_but_not_interviewed(world):
    p = world["people"]
    dataset = _gather(world)
    assert set(dataset.segment_of) == {p["Ana"], p["Ben"], p["Cleo"], p["Eve"]}
    result = analysis.theme_segment(dataset)
    cells = {cell.segment: cell for cell in result.cells}
    assert cells["Silver"].size == 1  # Cleo; Dan has no documents
    assert cells["Gold"].size == 3
    assert cells["Gold"].n == 3  # Ana, Ben, Eve all speak about activation
    assert cells["Silver"].n == 1  # Cleo's "Delay" excerpt


def test_source_filter_keeps_only_those_documents_and_their_people(world):
    p, x = world["people"], world["excerpts"]
    dataset = _gather(world, sources=frozenset({"field_notes"}))
    assert set(dataset.segment_of) == {p["Eve"]}
    assert set(_by_excerpt(dataset)) == {x["eve_quote"], x["eve_seen"], x["nobody"]}
    both = _gather(world, sources=frozenset({"transcript", "survey"}))
    assert set(both.segment_of) == {p["Ana"], p["Ben"], p["Cleo"]}


def test_date_range_is_inclusive_calendar_days(world):
    p = world["people"]
    day = date(2026, 3, 10)
    only_10th = _gather(world, date_from=day, date_to=day)
    assert set(only_10th.segment_of) == {p["Ana"], p["Ben"]}  # 23:59 on the 10th is in
    from_11th = _gather(world, date_from=date(2026, 3, 11), date_to=date(2026, 4, 2))
    # Cleo's survey at 00:00 on the 11th; the visit's notes dated by their session (2 April).
    assert set(from_11th.segment_of) == {p["Cleo"], p["Eve"]}
    assert set(_gather(world, date_to=date(2026, 3, 9)).segment_of) == set()


def test_quotes_follow_the_same_attribution_and_filters(world):
    c, x = world["codes"], world["excerpts"]
    found = evidence.quotes(
        project=world["project"],
        segmentation=world["snapshot"],
        code=c["theme"],
        segment="Gold",
        filters=Filters(customer_speech_only=True),
    )
    assert {q["excerpt"] for q in found["quotes"]} == {x["ana"], x["ben"], x["eve_quote"]}
    ben = next(q for q in found["quotes"] if q["excerpt"] == x["ben"])
    assert ben["speaker"] == "Ben"
    assert ben["pseudonym"] == "Ben"
    assert ben["before"].endswith("Ben: ")


def test_quote_context_is_cut_at_word_boundaries(team: Team):
    project = team.project
    ana = ParticipantFactory.create(project=project, pseudonym="Ana", customer_ref="C-Ana")
    snapshot = _snapshot(project, {ana: "Gold"})
    theme = CodeFactory.create(project=project, name="Wait")
    words = " ".join(f"word{i:03d}" for i in range(100))  # 8-character words, one space apart
    text = f"{words} THE QUOTE {words}"
    document = DocumentFactory.create(project=project, participant=ana, text=text)
    start = text.index("THE QUOTE")
    ExcerptFactory.create(
        project=project, document=document, code=theme, start=start, end=start + 9
    )
    (quote,) = evidence.quotes(project=project, segmentation=snapshot, code=theme.pk)["quotes"]
    assert quote["text"] == "THE QUOTE"
    assert quote["cut_before"]
    assert quote["cut_after"]
    assert quote["before"].startswith("word")
    assert quote["before"].endswith(" ")
    assert quote["after"].startswith(" ")
    assert quote["after"].rstrip().endswith(tuple("0123456789"))
    assert len(quote["before"]) <= evidence.CONTEXT_CHARS
    assert all(len(w) == 7 for w in quote["before"].split())  # no word cut in half
    assert all(len(w) == 7 for w in quote["after"].split())


def test_best_quotes_by_row_prefers_different_people_and_readable_length(world):
    dataset = _gather(world)
    best = evidence.best_quotes_by_row(dataset, k=2)
    assert best  # the world has coded customer speech
    for row, quotes in best.items():
        assert row in dataset.rows
        speech = [q["customer_speech"] for q in quotes]
        assert speech == sorted(speech, reverse=True)  # customer speech first
        assert len({q["participant"] for q in quotes}) == len(quotes) <= 2
        assert all(q["text"] and q["document_title"] for q in quotes)
