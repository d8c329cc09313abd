"""Live preview of a code's draft pattern rules over the project's ready documents.

The codebook page asks for a preview on every pause in typing, so the documents are parsed
once per process and kept (`_parsed`), re-parsed only when a document's text changes, and the
draft rules alone are compiled per request (a few rules: milliseconds). Parsed documents are
capped at VERBATIM_PATTERN_PREVIEW_CHARS characters per project (default 500,000, about
100,000 words, some 30 MB of parsed docs): beyond it the preview says it searched a part.
"""

import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from spacy.tokens import Doc

from coding.suggest.patterns import compile_patterns
from observations.models import Document
from observations.nlp import get_pipeline, ingest_docs, paragraphs
from research.models import Project

DEFAULT_CHAR_LIMIT = 500_000
CONTEXT_CHARS = 160  # of the sentence shown on each side of a match


@dataclass(frozen=True)
class PreviewHit:
    """One match, with its sentence cut into the parts before, of and after the match."""

    document_id: int
    document_title: str
    start: int
    end: int
    pattern: int
    before: str
    match: str
    after: str


@dataclass(frozen=True)
class Preview:
    """What the draft rules find: totals, hits per rule (by index) and the first hits."""

    total: int
    documents_with_hits: int
    documents_searched: int
    documents_skipped: int  # ready documents beyond the character cap
    per_pattern: dict[int, int]
    hits: list[PreviewHit]


@dataclass
class _Parsed:
    text_version: int
    title: str
    text: str
    chunks: list[tuple[int, Doc]]  # (offset of the chunk in the text, its parsed doc)


_lock = threading.Lock()
_cache: dict[int, tuple[str, dict[int, _Parsed]]] = {}  # project -> (language, docs by id)


def _char_limit() -> int:
    return int(getattr(settings, "VERBATIM_PATTERN_PREVIEW_CHARS", DEFAULT_CHAR_LIMIT))


def _parsed(project: Project) -> tuple[list[tuple[int, _Parsed]], int]:
    """The project's ready documents parsed (from the cache while unchanged), in id order,
    and how many were left out by the character cap."""
    rows = list(
        Document.objects.filter(project=project, status=Document.Status.READY)
        .order_by("id")
        .values_list("id", "text_version", "char_count", "title")
    )
    limit, used = _char_limit(), 0
    wanted: list[tuple[int, int]] = []
    titles = {pk: title for pk, _, _, title in rows}
    for pk, version, chars, _ in rows:
        if used + chars > limit and wanted:
            break
        used += chars
        wanted.append((pk, version))
    skipped = len(rows) - len(wanted)
    with _lock:
        language, known = _cache.get(project.pk, (project.language, {}))
        if language != project.language:
            known = {}
        stale = [
            pk for pk, version in wanted if getattr(known.get(pk), "text_version", -1) != version
        ]
        if stale:
            nlp = get_pipeline(project.language)
            for document in Document.objects.filter(pk__in=stale).only(
                "id", "title", "text", "text_version"
            ):
                ranges = paragraphs(document.text)
                docs = ingest_docs(nlp, (document.text[a:b] for a, b in ranges))
                chunks = []
                for (offset, _), doc in zip(ranges, docs, strict=True):
                    doc.tensor = np.zeros((0,), dtype="float32")  # the tok2vec output: not needed
                    chunks.append((offset, doc))
                known[document.pk] = _Parsed(
                    document.text_version, document.title, document.text, chunks
                )
        keep = {pk for pk, _ in wanted}
        known = {pk: parsed for pk, parsed in known.items() if pk in keep}
        _cache[project.pk] = (project.language, known)
        for pk, parsed in known.items():
            parsed.title = titles[pk]  # a renamed document keeps its parse
        return [(pk, known[pk]) for pk, _ in wanted], skipped


def _clip(text: str, *, left: bool) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    return "…" + text[-CONTEXT_CHARS:] if left else text[:CONTEXT_CHARS] + "…"


def preview(project: Project, patterns: list[object], *, limit: int = 10) -> Preview:
    """Run `patterns` (already validated) over the project's ready documents.

    Guarantees: counts cover every searched document; `hits` holds the first `limit` in
    document order; nothing is written.
    """
    documents, skipped = _parsed(project)
    compiled = compile_patterns([(0, patterns)], get_pipeline(project.language))
    total, with_hits = 0, 0
    per_pattern: Counter[int] = Counter()
    shown: list[PreviewHit] = []
    for pk, parsed in documents:
        found = 0
        for offset, doc in parsed.chunks:
            for hit in compiled.find(doc):
                found += 1
                per_pattern[hit.pattern] += 1
                if len(shown) < limit:
                    text = parsed.text
                    start, end = offset + hit.start, offset + hit.end
                    shown.append(
                        PreviewHit(
                            document_id=pk,
                            document_title=parsed.title,
                            start=start,
                            end=end,
                            pattern=hit.pattern,
                            before=_clip(text[offset + hit.sentence_start : start], left=True),
                            match=text[start:end],
                            after=_clip(text[end : offset + hit.sentence_end], left=False),
                        )
                    )
        total += found
        with_hits += 1 if found else 0
    return Preview(
        total=total,
        documents_with_hits=with_hits,
        documents_searched=len(documents),
        documents_skipped=skipped,
        per_pattern=dict(per_pattern),
        hits=shown,
    )


def cache_clear() -> None:
    """Forget every parsed document (tests)."""
    with _lock:
        _cache.clear()
