"""Passages that read like a given text: TF-IDF (words and in-word characters), cosine.

Built from a project's passages on demand; a query is one sparse matrix-vector product, so an
index of 50,000 passages answers in milliseconds (docs/benchmarks.md, "Suggester quality").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    # Words find shared phrasing; characters inside words catch inflections and typos.
    return (
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    )


@dataclass
class SimilarityIndex:
    """An in-memory index over `(passage id, text)` items; build with `SimilarityIndex.build`."""

    ids: NDArray[np.int64]
    matrix: sp.csr_matrix  # one L2-normalised row per passage
    word: TfidfVectorizer | None
    char: TfidfVectorizer | None

    @classmethod
    def build(cls, items: Sequence[tuple[int, str]]) -> SimilarityIndex:
        """Index `items`; an empty sequence (or only blank texts) gives an index finding nothing."""
        ids = np.array([item_id for item_id, _ in items], dtype=np.int64)
        texts = [text for _, text in items]
        if not any(text.strip() for text in texts):
            return cls(ids=ids, matrix=sp.csr_matrix((len(texts), 0)), word=None, char=None)
        word, char = _vectorizers()
        parts = []
        for vectorizer in (word, char):
            try:
                parts.append(vectorizer.fit_transform(texts))
            except ValueError:  # no usable term (e.g. only one-letter words): drop this view
                parts.append(sp.csr_matrix((len(texts), 0)))
        matrix = normalize(sp.hstack(parts).tocsr())
        fitted_word = word if parts[0].shape[1] else None
        fitted_char = char if parts[1].shape[1] else None
        return cls(ids=ids, matrix=matrix, word=fitted_word, char=fitted_char)

    def _vector(self, text: str) -> sp.csr_matrix:
        parts = [
            vectorizer.transform([text]) if vectorizer is not None else sp.csr_matrix((1, 0))
            for vectorizer in (self.word, self.char)
        ]
        return normalize(sp.hstack(parts).tocsr())

    def query(
        self, text: str, *, k: int = 10, exclude: Collection[int] = ()
    ) -> list[tuple[int, float]]:
        """Up to `k` `(passage id, cosine similarity)` pairs, most similar first (ties: lower
        position in the index first), leaving out ids in `exclude` and zero similarities."""
        if k <= 0 or self.matrix.shape[1] == 0 or not len(self.ids):
            return []
        # A dense query vector: one pass over the index's non-zeros, no sparse result to build.
        scores = self.matrix @ self._vector(text).toarray().ravel()
        if exclude:
            scores[np.isin(self.ids, np.fromiter(exclude, dtype=np.int64))] = 0.0
        candidates = np.flatnonzero(scores > 0)
        order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
        return [(int(self.ids[i]), float(min(scores[i], 1.0))) for i in order]
