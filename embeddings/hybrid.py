"""Hybrid retrieval: dense and lexical scores fused at score level.

Each retriever scores every document; each query's scores are z-scored against the mean and spread
of that query's top 100 documents, then summed with weights. Measured (bench/retrieval.py): z-scores
over the top candidates beat z-scores over all documents (a heavy tail of irrelevant documents says
little about the head), min-max, and reciprocal-rank fusion; the default weights (dense 1, char
TF-IDF 0.5, BM25 1) were the most robust across CSL and the labelled sample, not the best on either.
"""

from collections.abc import Sequence
from typing import Self

import numpy as np

from embeddings.encoder import Encoder
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever, LexicalRetriever

NORMALISATIONS = ("zscore-top", "zscore", "minmax", "rrf")
TOP_N = 100  # candidates whose mean and spread define a query's z-scores


def normalise(scores: np.ndarray, how: str = "zscore-top", rrf_k: int = 60, top_n: int = TOP_N) -> np.ndarray:
    """Make one query's scores comparable across retrievers (rows are queries)."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    if how == "zscore-top":
        n = min(top_n, scores.shape[1])
        head = -np.partition(-scores, n - 1, axis=1)[:, :n]
        std = head.std(axis=1, keepdims=True)
        return (scores - head.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    if how == "zscore":
        std = scores.std(axis=1, keepdims=True)
        return (scores - scores.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    if how == "minmax":
        low, high = scores.min(axis=1, keepdims=True), scores.max(axis=1, keepdims=True)
        return (scores - low) / np.where(high > low, high - low, 1.0)
    if how == "rrf":
        ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
        return 1.0 / (rrf_k + 1 + ranks)
    raise ValueError(f"unknown normalisation {how!r}; use one of {', '.join(NORMALISATIONS)}")


class HybridRetriever:
    """Fuse a dense encoder with lexical retrievers.

    Parameters
    ----------
    encoder: the sentence encoder (None: lexical only).
    lexical: (retriever, weight) pairs, e.g. [(CharTfidfRetriever(), 1.0), (Bm25Retriever(), 0.5)].
    dense_weight: weight of the dense scores.
    normalisation: "zscore-top" (default), "zscore", "minmax" or "rrf".
    """

    def __init__(self, encoder: Encoder | None, lexical: Sequence[tuple[LexicalRetriever, float]] = (),
                 dense_weight: float = 1.0, normalisation: str = "zscore-top"):
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {normalisation!r}")
        self.encoder, self.lexical = encoder, list(lexical)
        self.dense_weight, self.normalisation = dense_weight, normalisation
        self.ids: list[str] = []
        self.vectors: np.ndarray | None = None

    def fit(self, texts: Sequence[str], ids: Sequence[str] | None = None, vectors: np.ndarray | None = None) -> Self:
        """Index ``texts``; pass ``vectors`` when the passages are already encoded."""
        self.ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]
        for retriever, _ in self.lexical:
            retriever.fit(texts, self.ids)
        if self.encoder is not None:
            self.vectors = vectors if vectors is not None else self.encoder.encode(texts, kind="passage")
        return self

    def component_scores(self, queries: Sequence[str], query_vectors: np.ndarray | None = None
                         ) -> list[tuple[np.ndarray, float]]:
        """(raw scores of shape (n_queries, n_docs), weight) for each component."""
        parts = []
        if self.encoder is not None and self.dense_weight:
            if query_vectors is None:
                query_vectors = self.encoder.encode(queries, kind="query")
            parts.append((query_vectors @ self.vectors.T, self.dense_weight))
        for retriever, weight in self.lexical:
            if weight:
                parts.append((np.vstack([retriever.scores(q) for q in queries]), weight))
        return parts

    def scores(self, queries: Sequence[str], query_vectors: np.ndarray | None = None) -> np.ndarray:
        fused = np.zeros((len(queries), len(self.ids)), dtype=np.float32)
        for raw, weight in self.component_scores(queries, query_vectors):
            fused += weight * normalise(raw, self.normalisation)
        return fused

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        fused = self.scores(queries)
        top = np.argsort(-fused, axis=1, kind="stable")[:, :k]
        return [[(self.ids[j], float(row[j])) for j in order] for row, order in zip(fused, top, strict=True)]


def default_hybrid(encoder: Encoder | None, user_terms: Sequence[str] = ()) -> HybridRetriever:
    """The measured default: dense 1, char TF-IDF 0.5, BM25 (jieba + domain terms) 1, z-scores over the top 100."""
    return HybridRetriever(encoder, [(CharTfidfRetriever(), 0.5), (Bm25Retriever(user_terms=user_terms), 1.0)],
                           dense_weight=1.0)
