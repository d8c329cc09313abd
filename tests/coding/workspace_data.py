"""A long, realistic coded transcript for speed tests and benchmarks, built with bulk inserts.

`build_long_transcript(project)` makes a 50,000-word interview with ~1,200 speaker turns, a
40-code tree three levels deep, 5 coder members and 5,000 overlapping excerpts spread across the
turns. Everything is seeded, so two builds of the same size are alike; it takes a few seconds.
"""

import random
from dataclasses import dataclass

from coding.models import Code, Excerpt
from observations.models import Document, SpeakerTurn
from research.models import Membership, Participant, Project, User
from research.roles import Role

_PHRASES = (
    "the app asked me for my card again and I just gave up because the code never came "
    "when I called support they were kind but nobody knew why the account was locked so I "
    "tried the branch instead it took twenty minutes to open everything and the form "
    "wanted my address twice honestly it felt slow but the person helping me was great I "
    "would recommend it if the login worked first time the fees were clear enough though "
    "I did not expect a monthly charge for the paper statements my sister uses another bank "
    "and she says theirs is easier maybe we switch next year unless this gets better"
)
WORDS = _PHRASES.split()
THEMES = ("Onboarding", "Support", "Trust", "Fees", "Digital", "Branch", "Switching", "Delight")
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#9d755d")


@dataclass(frozen=True)
class LongTranscript:
    document: Document
    coders: list[User]
    codes: list[Code]
    turn_count: int
    excerpt_count: int


def _code_tree(project: Project, count: int) -> list[Code]:
    """`count` codes in three levels: a tenth roots, about a third children, the rest leaves."""
    n_roots = max(1, count // 10)
    n_mid = max(0, min(count - n_roots, count * 3 // 10))
    n_leaves = count - n_roots - n_mid
    roots = Code.objects.bulk_create(
        Code(
            project=project,
            name=f"{THEMES[i % len(THEMES)]} {i + 1}",
            color=PALETTE[i % len(PALETTE)],
            description=f"Theme {i + 1}: what customers say about {THEMES[i % len(THEMES)]}.",
            position=i,
        )
        for i in range(n_roots)
    )
    mids = Code.objects.bulk_create(
        Code(
            project=project,
            parent=roots[i % n_roots],
            name=f"Sub-code {i + 1}",
            color=PALETTE[(i + 3) % len(PALETTE)],
            position=i,
        )
        for i in range(n_mid)
    )
    parents = mids or roots
    leaves = Code.objects.bulk_create(
        Code(
            project=project,
            parent=parents[i % len(parents)],
            name=f"Detail {i + 1}",
            color=PALETTE[(i + 5) % len(PALETTE)],
            position=i,
        )
        for i in range(n_leaves)
    )
    return [*roots, *mids, *leaves]


def build_long_transcript(
    project: Project,
    *,
    words: int = 50_000,
    excerpts: int = 5_000,
    coders: int = 5,
    codes: int = 40,
    seed: int = 4,
) -> LongTranscript:
    """A transcript of `words` words in `project`, coded `excerpts` times by `coders` new coders.

    Turns alternate interviewer (the first coder) and a new participant and hold ~42 words on
    average; each excerpt covers 3-40 whole words inside one turn, so excerpts overlap, and its
    `text` equals the document's text at `[start, end)`.
    """
    rng = random.Random(seed)
    tag = f"{project.pk}-{Document.objects.count() + 1}"
    users = [User(username=f"longcoder{tag}-{i + 1}") for i in range(coders)]
    for user in users:
        user.set_unusable_password()
    users = User.objects.bulk_create(users)
    Membership.objects.bulk_create(
        Membership(project=project, user=user, role=Role.CODER) for user in users
    )
    participant = Participant.objects.create(project=project, pseudonym=f"P-long-{tag}")
    code_list = _code_tree(project, codes)

    # Text: turns of whole words separated by blank lines; word offsets kept per turn.
    parts: list[str] = []
    turn_spans: list[tuple[int, int]] = []
    turn_words: list[list[tuple[int, int]]] = []
    offset, remaining = 0, words
    while remaining > 0:
        n = min(remaining, rng.randint(8, 76))
        remaining -= n
        chosen = [rng.choice(WORDS) for _ in range(n)]
        chosen[0] = chosen[0].capitalize()
        spans, cursor = [], offset
        for word in chosen:
            spans.append((cursor, cursor + len(word)))
            cursor += len(word) + 1
        body = " ".join(chosen) + "."
        if parts:
            parts.append("\n\n")
            offset += 2
            spans = [(s + 2, e + 2) for s, e in spans]
        parts.append(body)
        turn_spans.append((offset, offset + len(body)))
        turn_words.append(spans)
        offset += len(body)
    text = "".join(parts)
    document = Document.objects.create(
        project=project,
        title=f"Long interview {tag}",
        kind=Document.Kind.TRANSCRIPT,
        text=text,
        char_count=len(text),
        participant=participant,
        status=Document.Status.READY,
    )
    interviewer = users[0] if users else None
    SpeakerTurn.objects.bulk_create(
        SpeakerTurn(
            document=document,
            index=i,
            speaker="Interviewer" if i % 2 == 0 else participant.pseudonym,
            interviewer=interviewer if i % 2 == 0 else None,
            participant=None if i % 2 == 0 else participant,
            start=start,
            end=end,
            started_at_ms=i * 4_500,
            ended_at_ms=i * 4_500 + 4_000,
        )
        for i, (start, end) in enumerate(turn_spans)
    )

    rows = []
    for _ in range(excerpts if users and code_list else 0):
        spans = turn_words[rng.randrange(len(turn_words))]
        first = rng.randrange(len(spans))
        last = min(len(spans) - 1, first + rng.randint(2, 39))
        start, end = spans[first][0], spans[last][1]
        rows.append(
            Excerpt(
                project=project,
                document=document,
                code=rng.choice(code_list),
                coder=rng.choice(users),
                start=start,
                end=end,
                text=text[start:end],
                memo="Strong quote for the deck." if rng.random() < 0.05 else "",
            )
        )
    Excerpt.objects.bulk_create(rows, batch_size=1_000)
    return LongTranscript(
        document=document,
        coders=users,
        codes=code_list,
        turn_count=len(turn_spans),
        excerpt_count=len(rows),
    )
