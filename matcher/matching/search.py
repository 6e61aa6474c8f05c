"""One collection's searchable parts, loaded once per process: the faiss index, the lexical
retrievers (fitted at ``cxy index build``, stored as JSON and arrays by ``embeddings.lexical_store``, never
pickled) and document owners, all in the collection's folder of the index and each file checked against
the index manifest as it is read (``matcher.index_location``).

A query's per-document evidence is fused exactly as ``embeddings.hybrid`` does it (measured there):
each component's scores are z-scored against that query's own top 100 documents, then summed with
weights (dense 1, char TF-IDF 0.5, BM25 1). Only the dense top ``depth`` comes from faiss; the few
hundred other documents a ranking needs are scored from their stored vectors.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import lexical_store
from embeddings.dense_index import IndexModelMismatch
from embeddings.hybrid import TOP_N
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever
from embeddings.vector_index import DenseFilter, VectorBackendError, VectorIndex, load_dense
from matcher.index_location import IndexDamaged, IndexNotBuilt, IndexReader, verify_index

DENSE_WEIGHT = 1.0
LEXICAL_WEIGHTS = {"char": 0.5, "bm25": 1.0}


__all__ = ["CollectionSearch", "IndexDamaged", "IndexNotBuilt", "fit_lexical", "lexical_digest", "save_lexical"]


def ids_digest(ids: Sequence[str], digests: dict[str, str]) -> str:
    return hashlib.sha1("\n".join(f"{i}\t{digests.get(i, '')}" for i in ids).encode()).hexdigest()


def fit_lexical(texts: Sequence[str], ids: Sequence[str], user_terms: Sequence[str]) -> dict:
    """The lexical retrievers of one collection, fitted on its documents in ``ids`` order."""
    return {"char": CharTfidfRetriever().fit(texts, ids), "bm25": Bm25Retriever(user_terms=user_terms).fit(texts, ids)}


def save_lexical(folder: Path, retrievers: dict, digest: str) -> None:
    """Store a collection's fitted retrievers in its folder, with the digest of what they were fitted on."""
    lexical_store.save(folder, retrievers, digest=digest)


def lexical_digest(folder: Path) -> str | None:
    """The digest the lexical retrievers in a collection folder were fitted for (None: none readable)."""
    try:
        digest = json.loads((folder / "lexical.json").read_text(encoding="utf-8")).get("digest")
    except (OSError, ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) else None


@dataclass
class QueryScores:
    """One query's evidence over a collection: z-scored component scores for any documents asked for."""

    search: "CollectionSearch"
    vector: np.ndarray
    lexical: dict[str, np.ndarray]  # component -> raw score of every document (fit order)
    stats: dict[str, tuple[float, float]]  # component -> (mean, std) of this query's top TOP_N
    head: np.ndarray  # document rows in some component's top ``depth``

    def components(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Component -> z-scores of the given document rows."""
        rows = np.asarray(rows, dtype=np.int64)
        raw = {"dense": self.search.dense.vectors[self.search.dense_rows[rows]] @ self.vector}
        raw.update({name: scores[rows] for name, scores in self.lexical.items()})
        return {name: (values - self.stats[name][0]) / self.stats[name][1] for name, values in raw.items()}

    def fused(self, rows: np.ndarray) -> np.ndarray:
        z = self.components(rows)
        return sum(self.search.weights[name] * values for name, values in z.items())


def _head_stats(values: np.ndarray) -> tuple[float, float]:
    if not len(values):
        return 0.0, 1.0
    std = float(values.std())
    return float(values.mean()), std if std > 0 else 1.0


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.argpartition(-scores, k - 1)[:k]


class CollectionSearch:
    """Parameters: the collection's dense index (faiss files or pgvector: embeddings.vector_index), its fitted
    lexical retrievers by name, document ids in the lexical fit order, and the owner (team or enterprise id)
    of each document."""

    def __init__(self, dense: VectorIndex, lexical: dict, doc_ids: Sequence[str], owners: dict[str, str]):
        self.dense, self.lexical = dense, lexical
        self.doc_ids = list(doc_ids)
        self.row_of = {doc_id: row for row, doc_id in enumerate(self.doc_ids)}
        self.owner = [owners[d] for d in self.doc_ids]
        missing = [d for d in self.doc_ids if d not in dense.row_of]
        if missing:
            raise IndexNotBuilt(f"有 {len(missing)} 篇文档尚未编码（如 {missing[0]}）；请运行：cxy index build")
        self.dense_rows = np.array([dense.row_of[d] for d in self.doc_ids], dtype=np.int64)
        grouped: dict[str, list[int]] = defaultdict(list)
        for row, owner in enumerate(self.owner):
            grouped[owner].append(row)
        self.rows_of_owner = {owner: np.array(rows, dtype=np.int64) for owner, rows in grouped.items()}
        self.weights = {"dense": DENSE_WEIGHT, **{name: LEXICAL_WEIGHTS[name] for name in lexical}}

    @classmethod
    def load(
        cls,
        index_dir: Path,
        collection: str,
        model_id: str,
        rebuild_hint: str,
        manifest: dict | None = None,
        engine=None,
    ) -> "CollectionSearch":
        """Load one collection; IndexNotBuilt when there is no index, IndexDamaged (naming the file) when a
        file is missing or differs from the manifest, IndexModelMismatch for another model's vectors.
        ``engine``: the store, where vectors in pgvector are read from (default: the CXY_DB database)."""
        manifest = manifest or verify_index(index_dir)
        read = IndexReader(index_dir, collection, manifest)
        try:
            store = (lambda: engine) if engine is not None else store_engine
            dense = load_dense(index_dir / collection, collection, model_id, rebuild_hint, read, store)
            owners = read.json("owners.json")
            _, lexical = lexical_store.load(read)
            doc_ids = next(iter(lexical.values())).ids_ if lexical else []
            if any(r.ids_ != doc_ids for r in lexical.values()) or not isinstance(owners, dict):
                raise ValueError("词法索引之间或与 owners.json 的文档不符")
            return cls(dense, lexical, doc_ids, owners)
        except (IndexNotBuilt, IndexModelMismatch):  # IndexDamaged from a read; another model's vectors
            raise
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:  # files that do not fit together
            raise read.damaged(exc) from exc

    def __len__(self) -> int:
        return len(self.doc_ids)

    def rows(self, doc_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.row_of[d] for d in doc_ids], dtype=np.int64)

    def query(self, text: str, vector: np.ndarray, depth: int = 200, owners=None) -> QueryScores:
        """Score one query: the dense index's top ``depth`` for the dense side, every document for the lexical
        side. ``owners``: only their documents enter the head (dense: the backend's filter, a WHERE clause in
        pgvector); the z statistics stay the unfiltered query's, so a kept document scores as without it."""
        vector = np.asarray(vector, dtype=np.float32).ravel()
        hits = self.dense.search(vector[None, :], max(depth, TOP_N) if owners is None else TOP_N)[0]
        dense_scores = np.array([s for _, s in hits], dtype=np.float32)
        stats = {"dense": _head_stats(dense_scores[:TOP_N])}
        keep = None
        if owners is not None:
            found = [self.rows_of_owner[o] for o in owners if o in self.rows_of_owner]
            keep = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
            where = DenseFilter(frozenset(owners), frozenset(self.doc_ids[r] for r in keep))
            hits = self.dense.search(vector[None, :], depth, where=where)[0]
        head = [self.row_of[d] for d, _ in hits[:depth] if d in self.row_of]
        lexical = {}
        for name, retriever in self.lexical.items():
            scores = retriever.scores(text)
            lexical[name] = scores
            stats[name] = _head_stats(scores[_top_rows(scores, TOP_N)])
            head.extend((_top_rows(scores, depth) if keep is None else keep[_top_rows(scores[keep], depth)]).tolist())
        return QueryScores(self, vector, lexical, stats, np.unique(np.array(head, dtype=np.int64)))


def store_engine():
    """The store's engine for vectors kept in pgvector when the caller passed none: the CXY_DB database."""
    from sqlalchemy.engine import make_url

    from matcher.settings import Settings, database_url
    from matcher.store.db import open_database

    url = database_url(Settings().db)
    if not url.startswith(("postgresql", "postgres")):
        shown = make_url(url).render_as_string(hide_password=True)
        raise VectorBackendError(
            f"索引的向量存放在 PostgreSQL（pgvector）中，但当前数据库 {shown} 不是 PostgreSQL；"
            "请用 CXY_DB 指明建立索引时的 PostgreSQL 数据库"
        )
    return open_database(url)
