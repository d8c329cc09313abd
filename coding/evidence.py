"""Reading the evidence back (issue 5): coverage per segment, and the quotes behind a cell, a
theme card or a hypothesis. What counts as evidence is `coding.analysis`'s, unchanged: these
functions gather through it or apply its rules to the excerpts they list.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Case, Count, F, Q, Value, When, Window
from django.db.models.functions import Length, RowNumber, Substr

from coding.analysis import (
    Dataset,
    Filters,
    Level,
    annotated_excerpts,
    attribute_excerpt,
    code_tree,
    filtered_documents,
    gather,
    min_participants,
    observed_participants,
)
from coding.models import Code, Excerpt
from research.models import CustomerSegment, Participant, Project, Segmentation
from research.services_segmentation import participant_segments

CONTEXT_CHARS = 160


# --- coverage ----------------------------------------------------------------------------------


def coverage(
    *,
    project: Project,
    segmentation: Segmentation,
    filters: Filters | None = None,
    recruit: int = 20,
    dataset: Dataset | None = None,
) -> list[dict[str, Any]]:
    """Per segment of the snapshot: observed participants, their sessions and excerpts, whether
    the segment has too few participants to support a claim, and up to `recruit` customers of the
    segment not yet interviewed (by customer_ref, in order), with their total count.

    "Not yet interviewed": in the segment but matching no observed participant. Pass the
    `dataset` already gathered for the same snapshot and filters to save gathering it again; the
    rest takes five queries whatever the number of segments, customers or participants.
    """
    if dataset is None:
        dataset = gather(project=project, segmentation=segmentation, filters=filters)
    filters = dataset.filters
    people: Counter[str] = Counter(dataset.segment_of.values())
    excerpts: Counter[str] = Counter()
    for e in dataset.evidence:
        if e.participant is not None and e.participant in dataset.segment_of:
            excerpts[dataset.segment_of[e.participant]] += 1
    sessions_of: dict[int, set[int]] = defaultdict(set)
    session_links = Participant.objects.filter(
        pk__in=dataset.segment_of, sessions__isnull=False
    ).values_list("pk", "sessions")
    for pk, session in session_links:
        sessions_of[pk].add(session)
    for pk, session in (
        filtered_documents(project, filters)
        .filter(participant__in=dataset.segment_of, session__isnull=False)
        .values_list("participant_id", "session_id")
    ):
        sessions_of[pk].add(session)
    sessions: dict[str, set[int]] = defaultdict(set)
    for pk, seg in dataset.segment_of.items():
        sessions[seg] |= sessions_of[pk]
    interviewed = Participant.objects.filter(pk__in=dataset.segment_of).exclude(customer_ref="")
    not_yet = CustomerSegment.objects.filter(segmentation=segmentation).exclude(
        customer_ref__in=interviewed.values("customer_ref")
    )
    waiting = dict(
        not_yet.values("segment_id").annotate(n=Count("id")).values_list("segment_id", "n")
    )
    # The first `recruit` customers of each segment in one query: ROW_NUMBER() per segment.
    ranked = not_yet.annotate(
        rank=Window(RowNumber(), partition_by=[F("segment_id")], order_by=F("customer_ref").asc())
    ).filter(rank__lte=recruit)
    next_up: dict[int, list[str]] = defaultdict(list)
    for segment_id, ref in ranked.order_by("segment_id", "customer_ref").values_list(
        "segment_id", "customer_ref"
    ):
        next_up[segment_id].append(ref)
    minimum = min_participants()
    out = []
    segments = segmentation.segments.annotate(size=Count("customers")).order_by("name")
    for segment in segments:
        members = people[segment.name]
        out.append(
            {
                "segment": segment.name,
                "customers": segment.size,
                "participants": members,
                "sessions": len(sessions[segment.name]),
                "excerpts": excerpts[segment.name],
                "enough_participants": members >= minimum,
                "min_participants": minimum,
                "not_interviewed_count": waiting.get(segment.pk, 0),
                "recruit_next": next_up[segment.pk] if recruit > 0 else [],
            }
        )
    return out


# --- the quotes behind a cell ------------------------------------------------------------------


def _descendants(row: int, parent: dict[int, int | None]) -> set[int]:
    out = {row}
    changed = True
    while changed:
        changed = False
        for pk, up in parent.items():
            if up in out and pk not in out:
                out.add(pk)
                changed = True
    return out


def quotes(
    *,
    project: Project,
    segmentation: Segmentation,
    code: int,
    segment: str | None = None,
    level: Level = "theme",
    filters: Filters | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The excerpts behind one cell (or a whole row when `segment` is None): quote, speaker,
    participant, document, offsets and up to CONTEXT_CHARS of text either side, customer speech
    first, then by document and position. ``total`` counts them all; at most `limit` are listed.

    Raises Code.DoesNotExist when `code` is not a row of this project at `level`.
    """
    filters = filters or Filters()
    _order, parent, names, _archived = code_tree(project)
    if code not in names or (level == "theme" and parent[code] is not None):
        raise Code.DoesNotExist(code)
    codes = _descendants(code, parent) if level == "theme" else {code}
    dataset_segments = participant_segments(project=project, segmentation=segmentation)
    observed = observed_participants(project, filters)
    near_start = Q(start__lt=CONTEXT_CHARS)
    rows = (
        annotated_excerpts(project, filters)
        .filter(code__in=codes)
        .annotate(
            # Up to CONTEXT_CHARS before the quote: SQL substrings count from 1.
            before=Substr(
                "document__text",
                Case(When(near_start, then=Value(1)), default=F("start") - CONTEXT_CHARS + 1),
                Case(When(near_start, then=F("start")), default=Value(CONTEXT_CHARS)),
            ),
            after=Substr("document__text", F("end") + 1, CONTEXT_CHARS),
        )
        .values(
            "id",
            "code_id",
            "code__name",
            "document_id",
            "document__title",
            "document__kind",
            "document__participant_id",
            "turn_participant",
            "turn_speaker",
            "note_participant",
            "note_kind",
            "start",
            "end",
            "text",
            "before",
            "after",
            "coder__username",
        )
    )
    pseudonyms = dict(Participant.objects.filter(project=project).values_list("pk", "pseudonym"))
    found = []
    for row in rows.iterator(chunk_size=2000):
        participant, speech = attribute_excerpt(row)
        if filters.customer_speech_only and not speech:
            continue
        if participant not in observed or participant not in dataset_segments:
            continue
        if segment is not None and dataset_segments[participant] != segment:
            continue
        found.append(
            {
                "excerpt": row["id"],
                "code": row["code_id"],
                "code_name": row["code__name"],
                "document": row["document_id"],
                "document_title": row["document__title"],
                "source": row["document__kind"],
                "participant": participant,
                "pseudonym": pseudonyms.get(participant),
                "segment": dataset_segments[participant],
                "speaker": row["turn_speaker"] or pseudonyms.get(participant) or "",
                "customer_speech": speech,
                "start": row["start"],
                "end": row["end"],
                "text": row["text"],
                "before": _trim_before(row["before"] or "", cut=row["start"] > CONTEXT_CHARS),
                "after": _trim_after(row["after"] or ""),
                # Whether text was left out before / after the context (for an ellipsis).
                "cut_before": row["start"] > CONTEXT_CHARS,
                "cut_after": len(row["after"] or "") >= CONTEXT_CHARS,
                "coder": row["coder__username"],
            }
        )
    found.sort(key=lambda q: (not q["customer_speech"], q["document_title"], q["start"]))
    return {"total": len(found), "quotes": found[:limit]}


def _trim_before(text: str, *, cut: bool) -> str:
    """Context cut mid-document starts at the next word, not inside one."""
    if not cut:
        return text
    space = next((i for i, ch in enumerate(text) if ch.isspace()), -1)
    return text[space + 1 :] if 0 <= space < len(text) // 2 else text


def _trim_after(text: str) -> str:
    """Context that fills CONTEXT_CHARS ends after the last whole word."""
    if len(text) < CONTEXT_CHARS:
        return text
    space = max((i for i, ch in enumerate(text) if ch.isspace()), default=-1)
    return text[:space] if space >= len(text) // 2 else text


def best_quotes(found: Sequence[dict[str, Any]], k: int = 3) -> list[dict[str, Any]]:
    """Up to `k` quotes for a theme card: customer speech from different participants first,
    preferring quotes of a readable length (about 60–240 characters). A quote's length is its
    ``length`` key when present, else the length of its ``text``."""

    def score(q: dict[str, Any]) -> tuple[int, float, int]:
        length = q["length"] if "length" in q else len(q["text"])
        return (0 if q["customer_speech"] else 1, abs(math.log(max(length, 1) / 120)), q["excerpt"])

    picked: list[dict[str, Any]] = []
    seen: set[int | None] = set()
    for q in sorted(found, key=score):
        if q["participant"] in seen:
            continue
        picked.append(q)
        seen.add(q["participant"])
        if len(picked) == k:
            break
    return picked


def best_quotes_by_row(dataset: Dataset, k: int = 3) -> dict[int, list[dict[str, Any]]]:
    """{row: up to `k` quotes chosen by `best_quotes`} among each row's evidence from participants
    with a segment, each quote with excerpt, text, document, document_title, source, participant,
    pseudonym, segment and customer_speech. Three queries whatever the rows: excerpt lengths,
    then the texts of the chosen quotes only, then pseudonyms."""
    lengths = dict(
        Excerpt.objects.filter(project=dataset.project)
        .annotate(length=Length("text"))
        .values_list("id", "length")
    )
    candidates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in dataset.evidence:
        if e.row != -1 and e.participant in dataset.segment_of and e.excerpt in lengths:
            candidates[e.row].append(
                {
                    "excerpt": e.excerpt,
                    "length": lengths[e.excerpt],
                    "document": e.document,
                    "participant": e.participant,
                    "segment": dataset.segment_of[e.participant],
                    "customer_speech": e.customer_speech,
                }
            )
    chosen = {row: best_quotes(found, k=k) for row, found in candidates.items()}
    wanted = {q["excerpt"] for found in chosen.values() for q in found}
    if not wanted:
        return {}
    texts = {
        row["id"]: row
        for row in Excerpt.objects.filter(pk__in=wanted).values(
            "id", "text", "document__title", "document__kind"
        )
    }
    pseudonyms = dict(dataset.project.participants.values_list("pk", "pseudonym"))
    for found in chosen.values():
        for q in found:
            row = texts[q["excerpt"]]
            q.update(
                text=row["text"],
                document_title=row["document__title"],
                source=row["document__kind"],
                pseudonym=pseudonyms.get(q["participant"], ""),
            )
    return chosen
