"""Passages that read like a given text: TF-IDF (words and in-word characters), cosine.

Built from a project's passages on demand; a query is one sparse matrix-vector product, so an
index of 50,000 passages answers in milliseconds (docs/benchmarks.md, "Suggester quality").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

MAX_BLOCK = 4_000_000  # numbers in one dense block of best_matches (32 MB of float64)


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

    def similarities(self, text: str) -> NDArray[np.float64]:
        """The cosine similarity of `text` to every indexed passage, in index order."""
        if self.matrix.shape[1] == 0 or not len(self.ids):
            return np.zeros(len(self.ids))
        scores = self.matrix @ self._vector(text).toarray().ravel()
        return np.minimum(np.asarray(scores, dtype=np.float64), 1.0)

    def best_matches(
        self, rows: Sequence[int], groups: Mapping[int, Sequence[int]]
    ) -> tuple[list[int], NDArray[np.float64]]:
        """(group keys, matrix): entry [i, j] is the highest cosine similarity of indexed row
        `rows[i]` to any row of the j-th non-empty group (rows are positions in the index).

        Candidates go through in batches so the dense block stays near MAX_BLOCK numbers
        however many rows the groups hold.
        """
        keys = [key for key, members in groups.items() if len(members)]
        out = np.zeros((len(rows), len(keys)))
        if not keys or not len(rows) or self.matrix.shape[1] == 0:
            return keys, out
        columns = np.concatenate([np.asarray(groups[key], dtype=np.int64) for key in keys])
        sizes = np.array([len(groups[key]) for key in keys])
        bounds = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        grouped = self.matrix[columns].T.tocsc()
        wanted = np.asarray(rows, dtype=np.int64)
        batch = max(1, MAX_BLOCK // len(columns))
        for first in range(0, len(wanted), batch):
            block = (self.matrix[wanted[first : first + batch]] @ grouped).toarray()
            out[first : first + batch] = np.maximum.reduceat(block, bounds, axis=1)
        return keys, np.minimum(out, 1.0)

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
