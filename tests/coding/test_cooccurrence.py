"""Code co-occurrence counted by the database, checked against a brute-force Python count over
every pair of excerpts, sentence and participant of a seeded random study."""

import itertools
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coding import analysis
from coding.cooccurrence import Options, cooccurrence, passages
from coding.models import Code, Excerpt
from observations.models import Document, Sentence, SpeakerTurn
from research.models import Project, User
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    FieldNoteFactory,
    ParticipantFactory,
    ProjectFactory,
    SessionFactory,
    UserFactory,
)

WORDS = ["slow", "price", "app", "card", "queue", "staff", "odd", "fine", "late", "refund"]
DAY0 = datetime(2026, 2, 2, 9, tzinfo=UTC)


@dataclass
class World:
    project: Project
    coders: list[User]
    themes: list[Code]


def _sentences(rng: random.Random, count: int) -> str:
    return "".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize() + ". "
        for _ in range(count)
    )


def _split(document: Document) -> None:
    """Sentences at every '. ' (what the ingest would store)."""
    start, index = 0, 0
    for i, ch in enumerate(document.text):
        if ch == "." and (i + 1 == len(document.text) or document.text[i + 1] == " "):
            Sentence.objects.create(document=document, index=index, start=start, end=i + 1)
            index, start = index + 1, i + 2


def build_world(seed: int, project: Project | None = None) -> World:
    """Codes with children, a grandchild, an archived child and an archived theme with a live
    child; transcripts with participant and interviewer turns, field notes naming someone or
    nobody (quote or not), surveys; sentences; two coders; random overlapping excerpts."""
    rng = random.Random(seed)
    project = project or ProjectFactory.create()
    coders = [UserFactory.create(), UserFactory.create()]
    themes, leaves = [], []
    for t in range(4):
        theme = CodeFactory.create(
            project=project, name=f"Theme {t}", position=t, is_archived=t == 3
        )
        themes.append(theme)
        leaves.append(theme)
        for c in range(2):
            child = CodeFactory.create(
                project=project,
                parent=theme,
                name=f"Code {t}.{c}",
                position=c,
                is_archived=t == 1 and c == 1,
            )
            leaves.append(child)
            if t == 0 and c == 0:
                leaves.append(CodeFactory.create(project=project, parent=child, name="Detail"))
    people = [ParticipantFactory.create(project=project) for _ in range(6)]
    documents: list[Document] = []
    for k in range(5):
        owner = rng.choice(people)
        parts = [
            (
                _sentences(rng, rng.randint(1, 3)),
                rng.choice([None, owner, owner, rng.choice(people)]),
            )
            for _ in range(4)
        ]
        document = DocumentFactory.create(
            project=project,
            participant=owner if k else None,
            kind="transcript",
            text="".join(p for p, _ in parts),
            recorded_at=DAY0 + timedelta(days=10 * k),
        )
        offset = 0
        for index, (part, who) in enumerate(parts):
            if index != 2:  # one stretch is in no turn at all
                SpeakerTurn.objects.create(
                    document=document,
                    index=index,
                    speaker="P" if who else "Interviewer",
                    participant=who,
                    start=offset,
                    end=offset + len(part),
                )
            offset += len(part)
        documents.append(document)
    for k in range(3):
        session = SessionFactory.create(project=project, started_at=DAY0 + timedelta(days=7 * k))
        notes = [
            (
                _sentences(rng, rng.randint(1, 2)),
                rng.choice([None, *people]),
                rng.choice(["quote", "observation"]),
            )
            for _ in range(3)
        ]
        document = DocumentFactory.create(
            project=project,
            kind="field_notes",
            session=session,
            participant=rng.choice([None, *people]),
            text="".join(n for n, _, _ in notes),
        )
        offset = 0
        for index, (text, who, kind) in enumerate(notes):
            FieldNoteFactory.create(
                session=session,
                participant=who,
                kind=kind,
                text=text,
                observed_at=session.started_at + timedelta(minutes=index),
                document_start=offset,
                document_end=offset + len(text),
            )
            offset += len(text)
        documents.append(document)
    for person in people[:3]:
        documents.append(
            DocumentFactory.create(
                project=project,
                kind="survey",
                participant=person,
                text=_sentences(rng, 2),
                recorded_at=DAY0 + timedelta(days=45),
            )
        )
    excerpts = []
    for document in documents:
        if rng.random() < 0.85:
            _split(document)
        n = len(document.text)
        for _ in range(rng.randint(3, 14)):
            a = rng.randrange(0, n - 1)
            b = rng.randint(a + 1, min(n, a + rng.choice([5, 20, 60, 200])))
            excerpts.append(
                Excerpt(
                    project=project,
                    document=document,
                    code=rng.choice(leaves),
                    coder=rng.choice(coders),
                    start=a,
                    end=b,
                    text=document.text[a:b],
                )
            )
    Excerpt.objects.bulk_create(excerpts)
    return World(project, coders, themes)


# --- the brute force ----------------------------------------------------------------------------


def brute_force(
    project: Project, options: Options
) -> dict[frozenset[int], tuple[int, float | None]]:
    """{frozenset({a, b}) (one element: diagonal): (count, Jaccard)} by looping over everything."""
    parent = dict(Code.objects.filter(project=project).values_list("id", "parent_id"))
    archived = dict(Code.objects.filter(project=project).values_list("id", "is_archived"))

    def row(code: int) -> int:
        if options.level == "code":
            return code
        while parent[code] is not None:
            code = parent[code]
        return code

    items = []
    values = analysis.annotated_excerpts(project, options.filters).values(
        "id",
        "code_id",
        "document_id",
        "start",
        "end",
        "coder_id",
        "document__kind",
        "document__participant_id",
        "turn_participant",
        "note_participant",
        "note_kind",
    )
    for e in values:
        who, speech = analysis.attribute_excerpt(e)
        if options.coders and e["coder_id"] not in options.coders:
            continue
        if options.filters.customer_speech_only and not speech:
            continue
        r = row(e["code_id"])
        if archived[r]:
            continue
        items.append((e["id"], r, e["document_id"], e["start"], e["end"], who))
    units: dict[int, set] = defaultdict(set)  # row -> its units
    pairs: Counter[frozenset[int]] = Counter()
    touched: dict[frozenset[int], set[int]] = defaultdict(set)
    if options.by == "overlap":
        for i, r, *_ in items:
            units[r].add(i)
        for x, y in itertools.combinations(items, 2):
            if x[2] == y[2] and x[1] != y[1] and x[3] < y[4] and y[3] < x[4]:
                pairs[frozenset((x[1], y[1]))] += 1
                touched[frozenset((x[1], y[1]))] |= {x[0], y[0]}
    else:
        if options.by == "sentence":
            for s in Sentence.objects.filter(document__project=project):
                for _, r, doc, lo, hi, _ in items:
                    if doc == s.document_id and lo < s.end and s.start < hi:
                        units[r].add(s.pk)
        else:
            for _, r, *_, who in items:
                if who is not None:
                    units[r].add(who)
        for a, b in itertools.combinations(list(units), 2):
            if units[a] & units[b]:
                pairs[frozenset((a, b))] = len(units[a] & units[b])
    out: dict[frozenset[int], tuple[int, float | None]] = {}
    for key, n in pairs.items():
        a, b = tuple(key)
        if options.by == "overlap":
            value = len(touched[key]) / (len(units[a]) + len(units[b]))
        else:
            value = n / len(units[a] | units[b])
        out[key] = (n, value)
    for r, found in units.items():
        out[frozenset((r,))] = (len(found), 1.0)
    return out


def computed(project: Project, options: Options) -> dict[frozenset[int], tuple[int, float | None]]:
    matrix = cooccurrence(project=project, options=options)
    return {
        frozenset((c.code_a, c.code_b)): (c.count, c.coefficient) for c in matrix.cells if c.count
    }


def _same(got, want) -> None:
    assert set(got) == set(want)
    for key, (n, value) in want.items():
        assert got[key][0] == n, key
        assert got[key][1] == pytest.approx(value, abs=1e-12), key


CASES = [
    Options(by=by, level=level)  # type: ignore[arg-type]
    for by in ("overlap", "sentence", "participant")
    for level in ("code", "theme")
]


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_equal_brute_force_when_data_are_random(seed):
    world = build_world(seed)
    for options in CASES:
        want = brute_force(world.project, options)
        assert any(len(k) == 2 for k in want), options  # the data do have meetings
        _same(computed(world.project, options), want)


@pytest.mark.django_db
@pytest.mark.parametrize("by", ["overlap", "sentence", "participant"])
def test_filters_equal_brute_force_when_coder_source_speech_and_dates_are_set(by):
    world = build_world(7)
    filtered = [
        Options(by=by, coders=frozenset({world.coders[0].pk})),
        Options(by=by, level="theme", filters=analysis.Filters(sources=frozenset({"transcript"}))),
        Options(by=by, filters=analysis.Filters(sources=frozenset({"field_notes", "survey"}))),
        Options(by=by, filters=analysis.Filters(customer_speech_only=True)),
        Options(
            by=by, filters=analysis.Filters(date_from=date(2026, 2, 10), date_to=date(2026, 3, 1))
        ),
    ]
    everything = computed(world.project, Options(by=by))
    for options in filtered:
        want = brute_force(world.project, options)
        _same(computed(world.project, options), want)
        assert want != everything, options  # the filter really filters


@pytest.mark.django_db
def test_theme_level_rolls_children_up_when_they_overlap():
    project = ProjectFactory.create()
    coder = UserFactory.create()
    theme = CodeFactory.create(project=project, name="Billing")
    child = CodeFactory.create(project=project, parent=theme, name="Double charge")
    grandchild = CodeFactory.create(project=project, parent=child, name="Card")
    other = CodeFactory.create(project=project, name="Staff")
    document = DocumentFactory.create(project=project, text="x" * 100)
    for code, start, end in ((child, 0, 10), (grandchild, 5, 20), (other, 8, 30), (other, 40, 50)):
        Excerpt.objects.create(
            project=project,
            document=document,
            code=code,
            coder=coder,
            start=start,
            end=end,
            text=document.text[start:end],
        )
    by_code = cooccurrence(project=project, options=Options(level="code")).lookup()
    assert by_code[(child.pk, grandchild.pk)].count == 1
    assert by_code[(child.pk, other.pk)].count == 1
    themes = cooccurrence(project=project, options=Options(level="theme"))
    assert [c.id for c in themes.codes] == [theme.pk, other.pk]
    assert [c.count for c in themes.codes] == [2, 2]
    cells = themes.lookup()
    assert cells[(theme.pk, theme.pk)].count == 2  # the diagonal: the theme's own excerpts
    assert cells[(theme.pk, other.pk)].count == 2  # both of Billing's overlap Staff's first
    # Of the four excerpts, three touch the other theme.
    assert cells[(theme.pk, other.pk)].coefficient == pytest.approx(3 / 4)


@pytest.mark.django_db
def test_ranges_that_only_touch_do_not_meet():
    project = ProjectFactory.create()
    a, b = CodeFactory.create(project=project), CodeFactory.create(project=project)
    document = DocumentFactory.create(project=project, text="One two. Three four.")
    Sentence.objects.create(document=document, index=0, start=0, end=8)
    Sentence.objects.create(document=document, index=1, start=9, end=20)
    coder = UserFactory.create()
    for code, start, end in ((a, 0, 5), (b, 5, 8)):
        Excerpt.objects.create(
            project=project,
            document=document,
            code=code,
            coder=coder,
            start=start,
            end=end,
            text=document.text[start:end],
        )
    assert (a.pk, b.pk) not in cooccurrence(project=project, options=Options()).lookup()
    same_sentence = cooccurrence(project=project, options=Options(by="sentence")).lookup()
    assert same_sentence[(a.pk, b.pk)].count == 1
    assert same_sentence[(a.pk, b.pk)].coefficient == 1.0
    found = passages(project=project, options=Options(by="sentence"), code_a=a.pk, code_b=b.pk)
    assert found["total"] == 1
    assert found["passages"][0]["meet"] == "One two."


@pytest.mark.django_db
def test_passages_cut_the_text_where_two_excerpts_overlap():
    project = ProjectFactory.create()
    a, b = CodeFactory.create(project=project), CodeFactory.create(project=project)
    text = "Before. " * 20 + "The app froze when I paid by card." + " After." * 20
    document = DocumentFactory.create(project=project, text=text, title="Call 1")
    coder = UserFactory.create()
    s = 160
    ea = Excerpt.objects.create(
        project=project,
        document=document,
        code=a,
        coder=coder,
        start=s,
        end=s + 14,
        text=text[s : s + 14],
    )
    eb = Excerpt.objects.create(
        project=project,
        document=document,
        code=b,
        coder=coder,
        start=s + 8,
        end=s + 34,
        text=text[s + 8 : s + 34],
    )
    found = passages(project=project, options=Options(), code_a=a.pk, code_b=b.pk)
    assert found["total"] == 1
    p = found["passages"][0]
    assert (p["excerpt_a"], p["excerpt_b"]) == (ea.pk, eb.pk)
    assert (p["start"], p["end"], p["meet_start"], p["meet_end"]) == (s, s + 34, s + 8, s + 14)
    assert p["lead"] + p["meet"] + p["tail"] == text[s : s + 34]
    assert p["meet"] == "froze "
    assert p["before"] == text[s - 80 : s]
    assert p["cut_before"]
    assert p["after"] == text[s + 34 : s + 34 + 80]
    assert p["document_title"] == "Call 1"


@pytest.mark.django_db
def test_query_count_is_constant_when_codes_grow():
    def queries(n_codes: int) -> int:
        project = ProjectFactory.create()
        coder = UserFactory.create()
        document = DocumentFactory.create(project=project, text="y" * 400)
        Sentence.objects.create(document=document, index=0, start=0, end=400)
        for i in range(n_codes):
            code = CodeFactory.create(project=project)
            Excerpt.objects.create(
                project=project,
                document=document,
                code=code,
                coder=coder,
                start=i,
                end=i + 30,
                text="y" * 30,
            )
        counts = []
        for by in ("overlap", "sentence", "participant"):
            with CaptureQueriesContext(connection) as ctx:
                matrix = cooccurrence(project=project, options=Options(by=by))
            assert len(matrix.codes) == n_codes
            counts.append(len(ctx.captured_queries))
        assert len(set(counts)) == 1
        return counts[0]

    assert queries(3) == queries(25) == 3
