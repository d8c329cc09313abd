"""Agreement reports read from the database: gather once, then hand plain arrays to `units` and
`metrics`. Query count is constant: it does not grow with documents, codes, coders or excerpts.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from django.db.models import Q, QuerySet
from django.db.models.functions import Length

from coding.agreement import metrics, units
from coding.analysis import code_tree
from coding.models import AgreementDecision, Excerpt
from observations.models import Document, Sentence
from research.models import Project, Segmentation, User
from research.services_segmentation import participant_segments

Unit = Literal["character", "sentence"]
UNITS: tuple[str, ...] = ("character", "sentence")
LEVELS: tuple[str, ...] = ("code", "theme")
NO_SEGMENT = "(no segment)"
MAX_DISAGREEMENTS = 500


@dataclass(frozen=True)
class AgreementQuery:
    """What to compare. ``documents`` None: every document each coder has coded (any code)."""

    coders: Sequence[User]
    unit: Unit = "character"
    level: str = "code"
    documents: frozenset[int] | None = None
    sources: frozenset[str] = frozenset()
    segmentation: Segmentation | None = None
    segment: str | None = None


@dataclass
class _Docs:
    ids: list[int]
    titles: dict[int, str]
    kinds: dict[int, str]
    lengths: dict[int, int]
    segment: dict[int, str] = field(default_factory=dict)


def coders_list(project: Project) -> QuerySet[User]:
    """Users who have coded at least one excerpt in the project, by username. One query."""
    return User.objects.filter(excerpts__project=project).distinct().order_by("username")


def comparable_coders(project: Project, usernames: list[str]) -> QuerySet[User]:
    """Of `usernames`, the users who coded in the project or are members of it. One query."""
    return (
        User.objects.filter(username__in=usernames)
        .filter(Q(excerpts__project=project) | Q(memberships__project=project))
        .distinct()
    )


def decision_list(*, project: Project, limit: int = 50) -> list[AgreementDecision]:
    """The project's latest reconciliations, newest first, with their document, code and user.
    One query."""
    return list(
        AgreementDecision.objects.filter(project=project)
        .select_related("document", "code", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def passage_version(rows: Iterable[tuple[int, int, int, int]]) -> str:
    """A fingerprint of a passage's excerpts, ``(id, coder, start, end)`` each: a reconcile
    request carrying an older one is stale."""
    text = ";".join(f"{e}:{c}:{s}:{t}" for e, c, s, t in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _excerpts(project: Project, query: AgreementQuery) -> list[dict[str, Any]]:
    rows = Excerpt.objects.filter(project=project, coder__in=[c.pk for c in query.coders])
    if query.documents is not None:
        rows = rows.filter(document_id__in=sorted(query.documents))
    if query.sources:
        rows = rows.filter(document__kind__in=sorted(query.sources))
    return [
        dict(r) for r in rows.values("id", "document_id", "code_id", "coder_id", "start", "end")
    ]


def _documents(project: Project, query: AgreementQuery, rows: list[dict[str, Any]]) -> _Docs:
    if query.documents is not None:
        wanted = set(query.documents)
    else:
        coded: dict[int, set[int]] = defaultdict(set)
        for row in rows:
            coded[row["document_id"]].add(row["coder_id"])
        wanted = {d for d, who in coded.items() if len(who) == len(query.coders)}
    found = (
        Document.objects.filter(project=project, id__in=sorted(wanted))
        .annotate(length=Length("text"))
        .values("id", "title", "kind", "participant_id", "length")
        .order_by("id")
    )
    if query.sources:
        found = found.filter(kind__in=sorted(query.sources))
    docs = list(found)
    segment: dict[int, str] = {}
    if query.segmentation is not None:
        of = participant_segments(project=project, segmentation=query.segmentation)
        segment = {d["id"]: of.get(d["participant_id"], NO_SEGMENT) for d in docs}
        if query.segment is not None:
            docs = [d for d in docs if segment[d["id"]] == query.segment]
    return _Docs(
        ids=[d["id"] for d in docs],
        titles={d["id"]: d["title"] for d in docs},
        kinds={d["id"]: d["kind"] for d in docs},
        lengths={d["id"]: d["length"] or 0 for d in docs},
        segment=segment,
    )


def _figures(values: units.BoolMatrix, weights: units.IntArray) -> dict[str, Any]:
    return metrics.agreement(values, weights).as_dict()


def _strata(
    per_code: dict[int, units.Units], groups: dict[str, set[int]], n: int
) -> list[dict[str, Any]]:
    """Figures of each group of documents (by index on the joined line)."""
    out = []
    for name in sorted(groups):
        members = np.array(sorted(groups[name]), np.int64)
        parts = []
        codes = []
        for code, u in per_code.items():
            mask = np.isin(u.document, members)
            part = units.Units(
                u.values[:, mask], u.weights[mask], u.starts[mask], u.ends[mask], u.document[mask]
            )
            parts.append(part)
            codes.append({"code": code, **_figures(part.values, part.weights)})
        values, weights = units.pool(parts, n)
        out.append(
            {
                "name": name,
                "documents": len(members),
                "overall": _figures(values, weights),
                "codes": codes,
            }
        )
    return out


def _sentences(
    docs: _Docs, index: dict[int, int], offsets: units.IntArray
) -> tuple[units.IntArray, units.IntArray, units.IntArray]:
    rows = Sentence.objects.filter(document_id__in=docs.ids).order_by("document_id", "start")
    starts, ends, where = [], [], []
    for doc_id, start, end in rows.values_list("document_id", "start", "end"):
        d = index[doc_id]
        end = min(end, docs.lengths[doc_id])
        if start < end:
            starts.append(int(offsets[d]) + start)
            ends.append(int(offsets[d]) + end)
            where.append(d)
    # Documents are laid out in id order and sentences sorted within each, so the line is sorted.
    order = np.argsort(np.array(starts, np.int64), kind="stable")
    return (
        np.array(starts, np.int64)[order],
        np.array(ends, np.int64)[order],
        np.array(where, np.int64)[order],
    )


def agreement_report(*, project: Project, query: AgreementQuery) -> dict[str, Any]:
    """Per code and overall: percent, kappa and alpha over the compared documents' units, the
    strata (by source, and by segment when a segmentation is given) and the disputed passages.
    At most eight queries, whatever the number of documents, codes or excerpts."""
    coder_ids = [c.pk for c in query.coders]
    position = {pk: i for i, pk in enumerate(coder_ids)}
    rows = _excerpts(project, query)
    docs = _documents(project, query, rows)
    index = {d: i for i, d in enumerate(docs.ids)}
    lengths = np.array([docs.lengths[d] for d in docs.ids], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)[: len(lengths)]
    order, parent, names, archived = code_tree(project)
    paths = _code_paths(order, parent, names)

    def row_of(code: int) -> int:
        while query.level == "theme" and parent.get(code) is not None:
            code = parent[code]  # type: ignore[assignment]
        return code

    spans: dict[int, list[list[tuple[int, int]]]] = {}
    by_passage: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        d = index.get(row["document_id"])
        if d is None:
            continue
        start, end = row["start"], min(row["end"], int(lengths[d]))
        if start >= end:
            continue
        code = row_of(row["code_id"])
        per_coder = spans.setdefault(code, [[] for _ in coder_ids])
        base = int(offsets[d])
        per_coder[position[row["coder_id"]]].append((base + start, base + end))
        by_passage[(row["document_id"], code)].append(row)
    codes = [c for c in order if c in spans]
    sentences = _sentences(docs, index, offsets) if query.unit == "sentence" else None
    per_code: dict[int, units.Units] = {}
    chars: dict[int, units.Units] = {}
    for code in codes:
        chars[code] = units.character_units(offsets, lengths, spans[code])
        per_code[code] = units.sentence_units(*sentences, spans[code]) if sentences else chars[code]
    values, weights = units.pool(list(per_code.values()), len(coder_ids))
    by_source: dict[str, set[int]] = defaultdict(set)
    by_segment: dict[str, set[int]] = defaultdict(set)
    for d, doc_id in enumerate(docs.ids):
        by_source[docs.kinds[doc_id]].add(d)
        if query.segmentation is not None:
            by_segment[docs.segment[doc_id]].add(d)
    strata: dict[str, Any] = {"source": _strata(per_code, by_source, len(coder_ids))}
    if query.segmentation is not None:
        strata["segment"] = _strata(per_code, by_segment, len(coder_ids))
    passages = _disagreements(project, query, docs, offsets, chars, spans, by_passage, names)
    return {
        "unit": query.unit,
        "level": query.level,
        "coders": [c.username for c in query.coders],
        "documents": [
            {"id": d, "title": docs.titles[d], "source": docs.kinds[d]} for d in docs.ids
        ],
        "codes": [
            {
                "code": code,
                "code_name": names[code],
                "path": paths[code],
                "archived": archived[code],
                **_figures(per_code[code].values, per_code[code].weights),
            }
            for code in codes
        ],
        "overall": _figures(values, weights),
        "strata": strata,
        "disagreement_count": len(passages),
        "disagreements": passages[:MAX_DISAGREEMENTS],
    }


def _code_paths(
    order: list[int], parent: dict[int, int | None], names: dict[int, str]
) -> dict[int, str]:
    paths: dict[int, str] = {}
    for pk in order:  # tree order: a parent's path is known before its children's
        up = parent.get(pk)
        paths[pk] = f"{paths[up]} > {names[pk]}" if up is not None and up in paths else names[pk]
    return paths


def _disagreements(
    project: Project,
    query: AgreementQuery,
    docs: _Docs,
    offsets: units.IntArray,
    chars: dict[int, units.Units],
    spans: dict[int, list[list[tuple[int, int]]]],
    by_passage: dict[tuple[int, int], list[dict[str, Any]]],
    code_names: dict[int, str],
) -> list[dict[str, Any]]:
    found: list[tuple[int, int, int, int, int]] = []  # (document, start, end, code, differing)
    for code, u in chars.items():
        for d, start, end, differing in units.disputed_passages(u, spans[code]):
            base = int(offsets[d])
            found.append((docs.ids[d], start - base, end - base, code, differing))
    if not found:
        return []
    # A reconciled passage stays hidden while its excerpts are exactly as the decision left them
    # (same version); any later change to them lists it again.
    settled = set(
        AgreementDecision.objects.filter(
            project=project, document_id__in=sorted({f[0] for f in found})
        ).values_list("document_id", "code_id", "version")
    )
    texts = dict(
        Document.objects.filter(project=project, id__in=sorted({f[0] for f in found})).values_list(
            "id", "text"
        )
    )
    names = {c.pk: c.username for c in query.coders}
    out = []
    for doc_id, start, end, code, differing in sorted(found):
        inside = [r for r in by_passage[(doc_id, code)] if r["start"] < end and r["end"] > start]
        version = passage_version((r["id"], r["coder_id"], r["start"], r["end"]) for r in inside)
        if (doc_id, code, version) in settled:
            continue
        text = texts[doc_id]
        out.append(
            {
                "document": doc_id,
                "title": docs.titles[doc_id],
                "source": docs.kinds[doc_id],
                "start": start,
                "end": end,
                "code": code,
                "code_name": code_names.get(code, ""),
                "text": text[start:end],
                "differing": differing,
                "version": version,
                "coders": [
                    {
                        "coder": names[coder.pk],
                        "excerpts": [
                            {
                                "id": r["id"],
                                "code": r["code_id"],
                                "start": r["start"],
                                "end": r["end"],
                                "text": text[r["start"] : r["end"]],
                            }
                            for r in inside
                            if r["coder_id"] == coder.pk
                        ],
                    }
                    for coder in query.coders
                ],
            }
        )
    return out
