"""The dense side of a collection, whichever backend holds it: faiss files in the index folder (the default,
``embeddings.dense_index``) or a pgvector table in the PostgreSQL store (``embeddings.pgvector_index``),
chosen by ``CXY_VECTOR_BACKEND`` when an index is built and read back from the collection's ``meta.json``.

Both keep the collection's vectors in memory as well: a ranking scores a few hundred candidate documents
per query, and per list many queries (a firm list ~150), so exact inner products come from
``vectors[row_of[id]]`` in-process, never one SQL round trip each; only the top-k search (and its
filter, a WHERE clause in PostgreSQL) goes to the backend.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.dense_index import DenseIndex, IndexModelMismatch

BACKENDS = ("faiss", "pgvector")


class VectorBackendError(IndexModelMismatch):
    """The configured vector backend cannot serve here (pgvector without PostgreSQL, no extension …).
    A kind of IndexModelMismatch so that every place that reports one (CLI exit 1, API 503) reports it."""


@dataclass(frozen=True)
class DenseFilter:
    """Restrict a search to some documents: ``owners`` (team or enterprise ids; pgvector: a WHERE clause on
    the owner column) and the same restriction as document ``ids`` (faiss: an exact scan of those rows)."""

    owners: frozenset[str]
    ids: frozenset[str]


@runtime_checkable
class VectorIndex(Protocol):
    """What CollectionSearch and the index build use of a dense index."""

    model_id: str
    dimension: int
    vectors: np.ndarray  # rows of row_of (some may be dead); exact scores are read from here
    row_of: dict[str, int]

    @property
    def kind(self) -> str: ...  # "flat" (exact) or "hnsw"

    def add(self, ids: Sequence[str], vectors: np.ndarray, owners: Sequence[str] | None = None) -> None: ...

    def remove(self, ids: Sequence[str]) -> int: ...

    def search(
        self, queries: np.ndarray, k: int = 10, where: DenseFilter | None = None
    ) -> list[list[tuple[str, float]]]: ...

    def vector(self, id_: str) -> np.ndarray: ...

    def save(self, folder: Path) -> None: ...

    def __len__(self) -> int: ...

    def __contains__(self, id_: str) -> bool: ...


def check_backend(name: str, db_url: str) -> str:
    """The backend ``name`` if it can serve the database at ``db_url``; VectorBackendError (in Chinese) if not."""
    name = (name or "faiss").strip().lower()
    if name not in BACKENDS:
        raise VectorBackendError(f"向量索引后端 CXY_VECTOR_BACKEND={name!r} 无效，可选：{'、'.join(BACKENDS)}")
    scheme = db_url.split("://", 1)[0].split("+", 1)[0]
    if name == "pgvector" and scheme not in ("postgresql", "postgres"):
        raise VectorBackendError(
            f"向量索引后端 pgvector 只能用于 PostgreSQL 数据库，当前数据库是 {scheme or db_url}；"
            "请设置 CXY_VECTOR_BACKEND=faiss（默认），或用 --db / CXY_DB 指向 PostgreSQL 数据库"
        )
    return name


def backend_of(meta: dict) -> str:
    """The backend a collection's ``meta.json`` was written by (faiss files carry no backend key)."""
    return meta.get("backend", "faiss") if isinstance(meta, dict) else "faiss"


def load_dense(
    folder: Path,
    collection: str,
    model_id: str | None,
    rebuild_hint: str,
    read: Callable[[str], bytes],
    engine: Callable[[], object],
) -> VectorIndex:
    """The dense index of a collection folder, from the backend its ``meta.json`` names; ``engine()`` gives the
    SQLAlchemy engine of the store (called only for pgvector)."""
    import json

    meta = json.loads(read("meta.json").decode("utf-8"))
    if backend_of(meta) == "faiss":
        return DenseIndex.load(folder, model_id, rebuild_hint, read)
    from embeddings.pgvector_index import PgVectorIndex

    return PgVectorIndex.load(engine(), collection, meta, model_id, rebuild_hint)


def filter_rows(index: VectorIndex, where: DenseFilter) -> np.ndarray:
    """The live rows a filter keeps (for an exact scan of just those)."""
    return np.array(sorted(index.row_of[i] for i in where.ids if i in index.row_of), dtype=np.int64)


def exact_top(index: VectorIndex, queries: np.ndarray, rows: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
    """Exact top k of each query among ``rows`` (ties by row, as a flat faiss index orders them)."""
    import faiss

    ids = _ids_by_row(index)
    if not len(rows):
        return [[] for _ in range(len(queries))]
    # faiss' kernel, as the unfiltered search and pgvector's rescoring use: the same bits for the same pair
    # fetched beyond k so that documents tied at the k-th score (duplicate texts) are ordered by row below
    fetch = min(len(rows), max(2 * k, k + 64))
    found, order = faiss.knn(np.ascontiguousarray(queries, dtype=np.float32), index.vectors[rows], fetch,
                             metric=faiss.METRIC_INNER_PRODUCT)
    out = []
    for row_found, row_order in zip(found, order, strict=True):
        best = np.lexsort((rows[row_order], -row_found))[:k]
        out.append([(ids[rows[row_order[i]]], float(row_found[i])) for i in best])
    return out


def _ids_by_row(index: VectorIndex) -> dict[int, str]:
    return {row: id_ for id_, row in index.row_of.items()}


def owners_filter(owners: Collection[str], owner_of: dict[str, str]) -> DenseFilter:
    """A filter to the documents of ``owners``, given each document's owner."""
    wanted = frozenset(owners)
    return DenseFilter(wanted, frozenset(d for d, o in owner_of.items() if o in wanted))


class FaissBuild:
    """The faiss backend's side of a build: everything is in the index folder, nothing to commit elsewhere."""

    name = "faiss"

    def new(self, collection: str, dimension: int, model_id: str) -> DenseIndex:
        return DenseIndex(dimension, model_id)

    def adopt(self, collection: str, index: VectorIndex, owners: dict[str, str]) -> DenseIndex:
        """``index`` (the old build's, of either backend) as faiss: itself, or a copy of its live vectors (a
        backend switch re-encodes nothing)."""
        if isinstance(index, DenseIndex):
            return index
        copy = DenseIndex(index.dimension, index.model_id)
        ids = list(index.row_of)
        copy.add(ids, index.vectors[[index.row_of[i] for i in ids]])
        return copy

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def open_build(name: str, engine):
    """The build side of the backend ``name`` for the store ``engine`` (VectorBackendError when it cannot be)."""
    if check_backend(name, engine.url.render_as_string(hide_password=False)) == "faiss":
        return FaissBuild()
    from embeddings.pgvector_index import PgVectorBuild

    return PgVectorBuild(engine)
