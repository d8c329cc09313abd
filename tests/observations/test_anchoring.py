"""Property tests of re-anchoring: random texts, random excerpts, random edits.

Volume runs on the pure `OffsetMap`; a smaller number of examples go through `document_set_text`
and the database, one edit per call, the way people edit.
"""

from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coding.models import Excerpt
from observations.anchoring import OffsetMap
from observations.models import SpeakerTurn
from observations.services import document_set_text
from tests.factories import CodeFactory, DocumentFactory, ProjectFactory, UserFactory

# Pieces of text, several of them more than one `str` index long ("👍🏽" is two code points) or
# repeated ("the "), so that edits land inside characters people see as one and diffs are
# ambiguous. All are NFC-stable, so normalisation leaves the generated texts as they are.
PIECES = ["a", "b", " ", "é", "中", "😀", "👍🏽", "\n", "the ", ".", "Anna ", "ü"]
PURE = settings(max_examples=200, deadline=None, derandomize=True, database=None)
WITH_DB = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=30).map("".join)
insertions = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@dataclass(frozen=True)
class Edit:
    """`text[start:end]` replaced by `insert`."""

    start: int
    end: int
    insert: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.insert + text[self.end :]

    def spares(self, start: int, end: int) -> bool:
        """The span's characters are all outside the edit (an insertion at its edge included)."""
        return end <= self.start or start >= self.end

    def deletes(self, start: int, end: int) -> bool:
        return not self.insert and self.start <= start and end <= self.end


@st.composite
def spans(draw: st.DrawFn, text: str) -> list[tuple[int, int]]:
    result = []
    for _ in range(draw(st.integers(1, 5))):
        start = draw(st.integers(0, len(text) - 1))
        result.append((start, draw(st.integers(start + 1, len(text)))))
    return result


@st.composite
def edits(draw: st.DrawFn, text: str, boundaries: list[int]) -> Edit:
    # Half the positions are excerpt boundaries: edits at an excerpt's edge are the tricky ones.
    position = st.one_of(st.sampled_from(boundaries), st.integers(0, len(text)))
    a, b = sorted((draw(position), draw(position)))
    kind = draw(st.sampled_from(["insert", "delete", "replace"]))
    if kind == "insert":
        return Edit(a, a, draw(insertions.filter(bool)))
    if kind == "delete":
        return Edit(a, max(b, min(a + 1, len(text))), "")
    return Edit(a, b, draw(insertions))


def _deletion_could_spare(old: str, new: str, start: int, end: int) -> bool:
    """True when the new text is also what deleting elsewhere would give, leaving the span be:
    "abab" -> "ab" may have lost either "ab", and no diff can tell which."""
    prefix = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    prefix = min(len(old), len(new)) if prefix is None else prefix
    suffix = next(
        (i for i, (a, b) in enumerate(zip(old[::-1], new[::-1], strict=False)) if a != b), None
    )
    suffix = min(len(old), len(new)) if suffix is None else suffix
    return end <= prefix or start >= len(old) - suffix


def _check_exact(old: str, new: str, offset_map: OffsetMap, start: int, end: int) -> bool:
    span = offset_map.exact(start, end)
    assert 0 <= span.start < span.end <= len(new)
    if span.intact:
        assert new[span.start : span.end] == old[start:end]
    return span.intact


@st.composite
def single_edit_cases(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]], Edit]:
    text = draw(texts)
    excerpts = draw(spans(text))
    boundaries = sorted({0, len(text), *(p for span in excerpts for p in span)})
    edit = draw(edits(text, boundaries))
    return text, excerpts, edit


@PURE
@given(single_edit_cases())
def test_offset_map_keeps_spared_spans_and_flags_deleted_ones_when_one_edit(case):
    old, excerpts, edit = case
    new = edit.apply(old)
    if not new:
        new = "x"  # a document is never empty; keep the example instead of discarding it
        edit = Edit(0, len(old), "x")
    offset_map = OffsetMap.from_texts(old, new)
    for start, end in excerpts:
        intact = _check_exact(old, new, offset_map, start, end)
        if edit.spares(start, end):
            assert intact, (start, end)
        if edit.deletes(start, end) and not _deletion_could_spare(old, new, start, end):
            assert not intact, (start, end)


@st.composite
def several_edit_cases(draw: st.DrawFn) -> tuple[str, str, list[tuple[int, int]]]:
    old = draw(texts)
    excerpts = draw(spans(old))
    new = old
    for _ in range(draw(st.integers(1, 4))):
        new = draw(edits(new, [0, len(new)])).apply(new) or "x"
    return old, new, excerpts


@PURE
@given(several_edit_cases())
def test_offset_map_stays_in_bounds_and_monotone_when_several_edits(case):
    old, new, excerpts = case
    offset_map = OffsetMap.from_texts(old, new)
    for start, end in excerpts:
        _check_exact(old, new, offset_map, start, end)
    mapped = [offset_map.position(p) for p in range(len(old) + 1)]
    assert mapped == sorted(mapped)
    assert mapped[-1] == len(new)
    # Adjacent containing spans (speaker turns) stay adjacent: no overlap, no gap.
    cuts = sorted({0, len(old), *(p for span in excerpts for p in span)})
    ranges = [offset_map.contain(a, b) for a, b in pairwise(cuts)]
    assert all(r1[1] == r2[0] for r1, r2 in pairwise(ranges))
    assert all(a <= b for a, b in ranges)


def test_offset_map_aligns_words_when_a_long_text_has_many_small_edits():
    paragraphs = [f"Customer {n}: Anna said the SIM card took {n} days.\n" for n in range(3000)]
    old = "".join(paragraphs)
    new = old.replace("Anna", "Person 1")
    offset_map = OffsetMap.from_texts(old, new)
    for n in (0, 1500, 2999):
        start = old.index(f"the SIM card took {n} days")
        span = offset_map.exact(start, start + len("the SIM card"))
        assert span.intact
        assert new[span.start : span.end] == "the SIM card"
    anna = old.index("Anna", len(old) // 2)
    assert not offset_map.exact(anna, anna + 4).intact


@st.composite
def document_cases(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]], list[int]]:
    text = draw(texts.filter(str.strip))
    # Seeds, not edits: each edit is drawn against the text as it is by then (see below).
    return text, draw(spans(text)), draw(st.lists(st.integers(0, 2**16), min_size=1, max_size=3))


@pytest.mark.django_db
@WITH_DB
@given(case=document_cases(), data=st.data())
def test_document_set_text_keeps_every_excerpt_sound_when_edited_repeatedly(case, data):
    text, excerpt_spans, steps = case
    project = ProjectFactory.create()
    code, coder = CodeFactory.create(project=project), UserFactory.create()
    document = DocumentFactory.create(project=project, text=text, char_count=len(text))
    common = {"project": project, "document": document, "code": code, "coder": coder}
    Excerpt.objects.bulk_create(
        Excerpt(start=s, end=e, text=text[s:e], **common) for s, e in excerpt_spans
    )
    # Speaker turns tiling the text, cut at the excerpts' boundaries.
    cuts = sorted({0, len(text), *(p for span in excerpt_spans for p in span)})
    SpeakerTurn.objects.bulk_create(
        SpeakerTurn(document=document, index=i, start=a, end=b)
        for i, (a, b) in enumerate(pairwise(cuts))
    )
    for _ in steps:
        before = {x.pk: x for x in Excerpt.objects.filter(document=document)}
        old = document.text
        boundaries = sorted({0, len(old), *(p for x in before.values() for p in (x.start, x.end))})
        edit = data.draw(edits(old, boundaries))
        new = edit.apply(old)
        if not new.strip():
            continue
        document_set_text(document=document, text=new)
        after = {x.pk: x for x in Excerpt.objects.filter(document=document)}
        turns = list(SpeakerTurn.objects.filter(document=document).order_by("index"))
        assert [t.index for t in turns] == list(range(len(turns)))
        assert all(0 <= t.start < t.end <= len(new) for t in turns)
        assert all(t1.end == t2.start for t1, t2 in pairwise(turns))
        assert turns[-1].end == len(new)  # text typed at the end joins the last turn
        assert after.keys() == before.keys()  # no excerpt is lost
        for pk, excerpt in after.items():
            was = before[pk]
            assert 0 <= excerpt.start < excerpt.end <= len(new)
            if not excerpt.needs_review:
                assert excerpt.text == new[excerpt.start : excerpt.end]
            if was.needs_review:
                assert excerpt.needs_review
                assert excerpt.text == was.text  # the quote before the first edit is kept
                continue
            if edit.spares(was.start, was.end):
                assert not excerpt.needs_review
                assert excerpt.text == was.text
            if edit.deletes(was.start, was.end) and not _deletion_could_spare(
                old, new, was.start, was.end
            ):
                assert excerpt.needs_review
                assert excerpt.review_reason
