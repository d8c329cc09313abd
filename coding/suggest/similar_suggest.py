"""Similar suggestions: the cold start of assisted coding, before any model is trained.

- **In generation** (`similar_spans`, called by coding.suggest.generate): a passage is proposed
  for code C when its highest cosine similarity (coding.suggest.similar: TF-IDF of words and
  in-word characters) to any passage already coded with C reaches `VERBATIM_SIMILAR_THRESHOLD`.
  Passages are the model's (`VERBATIM_SUGGEST_UNIT`, coding.suggest.training.passages); a
  passage is "coded with C" when an excerpt of C covers it (training.covers). Like the model,
  each passage keeps at most its best `VERBATIM_SUGGEST_TOP` codes, and the score is the
  similarity itself.
- **From "Find similar"** (`similar_suggestions_create`): the passages listed for an excerpt
  become pending suggestions of the excerpt's code, scored by their similarity to it.

Both write rows with method "similar"; the unique (document, code, span) constraint means a
span already suggested by any method keeps its first suggestion.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import Excerpt, Suggestion
from coding.suggest.selectors import (
    SIMILAR_MAX,
    Indexed,
    coded_positions,
    similar_index,
    similar_rows,
)
from coding.suggest.training import covers
from research.models import Project

# TF-IDF cosines between different sentences run low. On the demo (206 sentences, 89 excerpts)
# 0.25 and up proposed 5 passages, 4 of them right ("I tried the chatbot on the website." for
# Chatbot dead end; a login that wanted the account number for Locked out of account); 0.2 let in
# 30, half of them carried by shared small words ("my old number", "the first bill").
DEFAULT_SIMILAR_THRESHOLD = 0.25
DEFAULT_TOP = 3


def similar_threshold() -> float:
    return float(getattr(settings, "VERBATIM_SIMILAR_THRESHOLD", DEFAULT_SIMILAR_THRESHOLD))


def _top() -> int:
    return int(getattr(settings, "VERBATIM_SUGGEST_TOP", DEFAULT_TOP))


def _coded_by_code(indexed: Indexed, project: Project, active: set[int]) -> dict[int, list[int]]:
    """code -> positions of the passages an excerpt of it covers (one query)."""
    groups: dict[int, set[int]] = {}
    for document, code, start, end in Excerpt.objects.filter(
        project=project, code_id__in=active
    ).values_list("document_id", "code_id", "start", "end"):
        for at in indexed.overlapping(document, start, end):
            p = indexed.passages[at]
            if covers(p.start, p.end, start, end):
                groups.setdefault(code, set()).add(at)
    return {code: sorted(members) for code, members in groups.items()}


def similar_spans(
    project: Project, document_ids: Sequence[int], active: set[int]
) -> Iterator[tuple[int, int, float, int, int]]:
    """(document id, code, score, start, end) of each passage of `document_ids` whose best
    similarity to a passage coded with an active code reaches the threshold; at most the
    passage's best `VERBATIM_SUGGEST_TOP` codes, never a code that already covers it.

    Two to six queries whatever the number of codes, passages or excerpts.
    """
    indexed = similar_index(project)
    groups = _coded_by_code(indexed, project, active)
    wanted = set(document_ids)
    rows = [i for i, p in enumerate(indexed.passages) if p.document in wanted]
    if not groups or not rows:
        return
    codes, best = indexed.index.best_matches(rows, groups)
    for j, code in enumerate(codes):  # a passage coded with C resembles itself: not a match
        members = set(groups[code])
        for i, row in enumerate(rows):
            if row in members:
                best[i, j] = 0.0
    limit, keep = similar_threshold(), _top()
    for i, row in enumerate(rows):
        scores = best[i]
        order = np.argsort(-scores, kind="stable")[:keep]
        p = indexed.passages[row]
        for j in order:
            if scores[j] < limit or scores[j] <= 0.0:
                break
            yield p.document, codes[j], float(scores[j]), p.start, p.end


@dataclass(frozen=True)
class SimilarSuggested:
    """What `similar_suggestions_create` did: rows created, spans already suggested for the code
    (by any method, any status), and spans left out because they are coded with it already."""

    created: int
    already_suggested: int
    already_coded: int


def _listed(
    indexed: Indexed, excerpt: Excerpt, spans: Sequence[tuple[int, int, int]]
) -> list[tuple[int, float]]:
    """(position, similarity to the excerpt) of each listed span; ValidationError naming the
    item if one is not a passage of a ready document of the excerpt's project."""
    positions: list[int] = []
    for n, (document, start, end) in enumerate(spans):
        at = indexed.position(document, start, end)
        if at is None:
            raise ValidationError(
                {"passages": f"Item {n + 1}: not a passage of a ready document of this project."}
            )
        positions.append(at)
    scores = indexed.index.similarities(excerpt.text)
    return [(at, float(scores[at])) for at in dict.fromkeys(positions)]


@transaction.atomic
def similar_suggestions_create(
    *, excerpt: Excerpt, k: int | None = None, spans: Sequence[tuple[int, int, int]] = ()
) -> SimilarSuggested:
    """Pending "similar" suggestions of the excerpt's code for the `k` passages "Find similar"
    lists for it, or for the listed `(document, start, end)` passages (each must be a passage of
    the project's ready documents). Score: the passage's similarity to the excerpt.

    Passages overlapping the excerpt or an excerpt of its code are left out; a span already
    suggested for the code is kept as it is, so asking twice creates nothing new.
    """
    if (k is None) == (not spans):
        raise ValidationError({"k": "Send either k or a list of passages."})
    project = excerpt.project
    if k is not None:
        indexed, found = similar_rows(excerpt=excerpt, k=max(1, min(SIMILAR_MAX, k)))
        coded = 0
    else:
        indexed = similar_index(project)
        listed = _listed(indexed, excerpt, spans)
        skip = coded_positions(indexed, project=project, code=excerpt.code_id)
        skip.update(indexed.overlapping(excerpt.document_id, excerpt.start, excerpt.end))
        found = [(at, score) for at, score in listed if at not in skip]
        coded = len(listed) - len(found)
    rows = [
        Suggestion(
            project=project,
            document_id=indexed.passages[at].document,
            code_id=excerpt.code_id,
            start=indexed.passages[at].start,
            end=indexed.passages[at].end,
            text=indexed.passages[at].text,
            method=Suggestion.Method.SIMILAR,
            score=round(min(1.0, max(0.0, score)), 4),
        )
        for at, score in found
    ]
    scope = Suggestion.objects.filter(project=project, code_id=excerpt.code_id)
    before = scope.count()
    # The unique (document, code, start, end) constraint skips spans suggested already.
    Suggestion.objects.bulk_create(rows, ignore_conflicts=True)
    created = scope.count() - before
    return SimilarSuggested(
        created=created, already_suggested=len(rows) - created, already_coded=coded
    )
