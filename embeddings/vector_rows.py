"""What both dense backends keep in memory: the vectors by row, their ids, which rows are alive, and the
parameters that decide between an exact index and HNSW (embeddings.dense_index for faiss files,
embeddings.pgvector_index for PostgreSQL)."""

import numpy as np

PARAMETERS = ("hnsw_from", "hnsw_m", "ef_construction", "ef_search")  # kept in each collection's meta.json


class IndexModelMismatch(RuntimeError):
    pass


def refuse_other_model(meta: dict, model_id: str | None, where: str, rebuild_hint: str) -> None:
    """IndexModelMismatch (``where``: what holds the vectors, in Chinese) when ``meta`` is another model's."""
    if model_id is not None and meta["model_id"] != model_id:
        raise IndexModelMismatch(
            f"{where}是用模型 {meta['model_id']!r} 建立的，而现在的编码模型是 {model_id!r}；请运行：{rebuild_hint}"
        )


def parameters(meta: dict) -> dict:
    return {name: meta[name] for name in PARAMETERS}


class VectorRows:
    """Parameters: dimension; model_id (vectors from another model are refused on load); hnsw_from
    (collection size at which HNSW replaces the exact index); hnsw_m, ef_construction, ef_search."""

    def __init__(
        self,
        dimension: int,
        model_id: str,
        *,
        hnsw_from: int = 50_000,
        hnsw_m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
    ):
        self.dimension, self.model_id = dimension, model_id
        self.hnsw_from, self.hnsw_m = hnsw_from, hnsw_m
        self.ef_construction, self.ef_search = ef_construction, ef_search
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self.ids: list[str] = []
        self.alive = np.zeros(0, dtype=bool)
        self.row_of: dict[str, int] = {}

    @property
    def kind(self) -> str:
        return "hnsw" if len(self.row_of) >= self.hnsw_from else "flat"

    def __len__(self) -> int:
        return len(self.row_of)

    def __contains__(self, id_: str) -> bool:
        return id_ in self.row_of

    def vector(self, id_: str) -> np.ndarray:
        return self.vectors[self.row_of[id_]]
