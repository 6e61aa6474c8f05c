"""A persistent faiss inner-product index over string ids, with incremental add / update / delete.

Small collections use an exact flat index; from ``hnsw_from`` vectors on, an HNSW graph (its
recall@10 against exact is measured in bench/retrieval.py). Rows are never moved in place: an update
or delete marks the old row dead and searches skip dead rows; when a quarter of the rows are dead
the index is compacted. The vectors are kept beside the faiss index so it can always be rebuilt.
"""

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from embeddings.array_files import npy_array
from embeddings.folder_build import read_bytearray
from embeddings.vector_rows import IndexModelMismatch, VectorRows, parameters, refuse_other_model

__all__ = ["DenseIndex", "IndexModelMismatch"]


class DenseIndex(VectorRows):
    """The faiss backend; parameters as VectorRows'."""

    def __init__(self, dimension: int, model_id: str, **params):
        super().__init__(dimension, model_id, **params)
        self._faiss: faiss.Index | None = None

    # ---- building -------------------------------------------------------------------------
    def _new_faiss(self) -> faiss.Index:
        if self.kind == "flat":
            return faiss.IndexFlatIP(self.dimension)
        index = faiss.IndexHNSWFlat(self.dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self.ef_search
        return index

    def _rebuild(self) -> None:
        keep = np.flatnonzero(self.alive)
        self.vectors = np.ascontiguousarray(self.vectors[keep])
        self.ids = [self.ids[i] for i in keep]
        self.alive = np.ones(len(self.ids), dtype=bool)
        self.row_of = {id_: row for row, id_ in enumerate(self.ids)}
        self._faiss = self._new_faiss()
        if len(self.ids):
            self._faiss.add(self.vectors)

    def add(self, ids: Sequence[str], vectors: np.ndarray, owners: Sequence[str] | None = None) -> None:
        """Add new ids; ids already present are updated (old row marked dead). ``owners`` is for the
        pgvector backend's filter column (embeddings.vector_index); faiss filters by ids instead."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        self.remove([i for i in ids if i in self.row_of], compact=False)
        start = len(self.ids)
        self.vectors = np.vstack([self.vectors, vectors])
        self.ids.extend(ids)
        self.alive = np.concatenate([self.alive, np.ones(len(ids), dtype=bool)])
        self.row_of.update({id_: start + i for i, id_ in enumerate(ids)})
        wrong_kind = self._faiss is not None and (self.kind == "hnsw") != isinstance(self._faiss, faiss.IndexHNSWFlat)
        if self._faiss is None or wrong_kind or self._dead_share() > 0.25:
            self._rebuild()
        else:
            self._faiss.add(vectors)

    def remove(self, ids: Sequence[str], compact: bool = True) -> int:
        rows = [self.row_of.pop(i) for i in ids if i in self.row_of]
        self.alive[rows] = False
        if compact and self._dead_share() > 0.25:
            self._rebuild()
        return len(rows)

    def set_owners(self, owners: dict[str, str]) -> None:
        """Nothing to do: the faiss files hold no owners (the interface's pgvector backend does)."""

    def _dead_share(self) -> float:
        return 0.0 if not len(self.alive) else 1.0 - self.alive.mean()

    # ---- searching ------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int = 10, where=None) -> list[list[tuple[str, float]]]:
        """For each query row, up to k (id, inner product) best first, dead rows skipped; ``where`` (a
        vector_index.DenseFilter) keeps only its ids, scanned exactly."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        if not len(self.row_of) or k <= 0:
            return [[] for _ in range(len(queries))]
        if where is not None:
            from embeddings.vector_index import exact_top, filter_rows

            return exact_top(self, queries, filter_rows(self, where), k)
        dead = len(self.alive) - len(self.row_of)
        if dead and isinstance(self._faiss, faiss.IndexHNSWFlat):
            # The graph skips dead rows itself: fetching k + dead would widen every search by the dead count.
            bits = np.packbits(self.alive, bitorder="little")
            params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBitmap(len(self.alive), faiss.swig_ptr(bits)))
            params.efSearch = self.ef_search
            scores, rows = self._faiss.search(queries, min(len(self.row_of), k), params=params)
        else:
            scores, rows = self._faiss.search(queries, min(len(self.ids), k + dead))
        results = []
        for score_row, index_row in zip(scores, rows, strict=True):
            hits = [
                (self.ids[r], float(s)) for s, r in zip(score_row, index_row, strict=True) if r >= 0 and self.alive[r]
            ]
            results.append(hits[:k])
        return results

    def scores_all(self, query: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Exact inner products of one query with every live row (for score-level fusion)."""
        live = np.flatnonzero(self.alive)
        return [self.ids[i] for i in live], self.vectors[live] @ np.asarray(query, dtype=np.float32)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write atomically: a sibling temp folder is filled, then swapped in. An HNSW graph is saved with its
        dead rows (``alive.npy`` says which): rebuilding it for a few changed documents would cost ~1 minute
        at 100k; it is compacted once a quarter of the rows are dead."""
        if self._dead_share() > 0 and (self.kind == "flat" or self._faiss is None):
            self._rebuild()
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "vectors.npy", self.vectors)
        np.save(tmp / "alive.npy", self.alive)
        (tmp / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
        if self._faiss is not None and self.kind == "hnsw":
            faiss.write_index(self._faiss, str(tmp / "hnsw.faiss"))  # the graph is costly to rebuild
        meta = {
            "model_id": self.model_id,
            "dimension": self.dimension,
            "count": len(self.ids),
            "kind": self.kind,
            "hnsw_from": self.hnsw_from,
            "hnsw_m": self.hnsw_m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(
        cls,
        folder: Path,
        model_id: str | None = None,
        rebuild_hint: str = "cxy index build --rebuild",
        read: Callable[[str], bytes] | None = None,
    ) -> "DenseIndex":
        """The index saved in ``folder``; ``read(file name)`` fetches each file once (the search index passes
        one that checks it against the manifest first). Arrays load with ``allow_pickle=False``. ValueError
        when the files do not fit together; IndexModelMismatch when they come from another model."""
        read = read or (lambda name: read_bytearray(folder / name))  # writable: deletes mark rows in place
        meta = json.loads(read("meta.json").decode("utf-8"))
        refuse_other_model(meta, model_id, f"{folder} 中的索引", rebuild_hint)
        index = cls(meta["dimension"], meta["model_id"], **parameters(meta))
        index.vectors = npy_array(read("vectors.npy"))
        index.ids = json.loads(read("ids.json").decode("utf-8"))
        if not (isinstance(index.ids, list) and all(isinstance(i, str) for i in index.ids)):
            raise ValueError("ids.json 不是字符串列表")
        if index.vectors.dtype != np.float32 or index.vectors.shape != (len(index.ids), index.dimension):
            raise ValueError(
                f"vectors.npy 的形状 {index.vectors.shape} 与 {len(index.ids)} 个编号、{index.dimension} 维不符"
            )
        index.alive = _alive(read, folder, len(index.ids))
        live = np.flatnonzero(index.alive).tolist()
        index.row_of = {index.ids[row]: row for row in live}
        if len(index.row_of) != len(live):
            raise ValueError("ids.json 中有重复的编号")
        if len(live) < len(index.ids) and meta.get("kind") != "hnsw":
            raise ValueError("alive.npy 标记了已删除的行，但索引不是 HNSW")
        if meta.get("kind") == "hnsw" and index.kind == "hnsw":
            graph = np.frombuffer(read("hnsw.faiss"), dtype=np.uint8)
            index._faiss = faiss.deserialize_index(graph)  # faiss's own format: no code in it
            if index._faiss.ntotal != len(index.ids) or index._faiss.d != index.dimension:
                raise ValueError("hnsw.faiss 与 vectors.npy 不符")
            index._faiss.hnsw.efSearch = index.ef_search
        else:
            index._rebuild()
        return index


def _alive(read: Callable[[str], bytes], folder: Path, rows: int) -> np.ndarray:
    """Which rows are live: ``alive.npy`` (all live when a folder written by hand lacks it)."""
    if not (folder / "alive.npy").exists():
        return np.ones(rows, dtype=bool)
    alive = npy_array(read("alive.npy"))
    if alive.dtype != bool or alive.shape != (rows,):
        raise ValueError(f"alive.npy 的形状 {alive.shape} 与 {rows} 个编号不符")
    return alive
