"""A collection's vectors in a pgvector table of the PostgreSQL store (``CXY_VECTOR_BACKEND=pgvector``).

One table per collection, ``cxy_vectors_<collection>`` (id, owner, embedding vector(d)), and a row per
collection in ``cxy_vector_collections``: the model, the dimension and a generation counted up by every build.
The index folder's ``meta.json`` records the generation it was built with; a load that finds another one in
the table refuses (the folder and the table are of different builds) instead of pairing the lexical files of one
build with the vectors of another. The tables are made at first use, not by a migration: their dimension is
the model's, and a PostgreSQL without pgvector must still take the store's migrations.

Searching: exact (pgvector without an index is exact) below ``hnsw_from`` documents, as the faiss backend;
from there on an HNSW index (inner product, ``vector_ip_ops``). A filter is a WHERE clause on the owner column:
the planner answers a selective one exactly through the owner index, a broad one through HNSW with
``hnsw.iterative_scan = relaxed_order`` so that it still fills k. PostgreSQL picks the ids; their scores are
computed from the vectors read into memory at load, which rankings need anyway: scoring 300 candidates costs
0.03 ms in memory against 1.3 ms by ``<#>`` in SQL (the sample, 384 dimensions), and a list scores many sets.

A build changes the tables in one transaction (``PgVectorBuild``), committed when the index folder is complete:
upserts (COPY into a temporary table, then INSERT … ON CONFLICT) and deletes; a new index or a rebuild refills
the table. Readers keep seeing the previous generation until the commit.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.dense_index import IndexModelMismatch
from embeddings.pgvector_tables import (
    META_TABLE,
    driver_connection,
    ensure_schema,
    read_vectors,
    table_name,
    vector_bytes,
    vector_text,
)
from embeddings.vector_index import DenseFilter, VectorBackendError
from embeddings.vector_rows import VectorRows, parameters, refuse_other_model

HNSW_BUILD_MEMORY_MB = (512, 8192)  # maintenance_work_mem bounds while an HNSW index is built (default 64MB spills)


def hnsw_build_memory_mb(rows: int, dimension: int, m: int) -> int:
    """maintenance_work_mem for building an HNSW graph of ``rows`` in memory: pgvector keeps each element's
    vector and its neighbour lists (2m on layer 0, about m/(m-1) more above) while it builds, and writes the
    graph out slowly, page by page, once it no longer fits (its NOTICE "hnsw graph no longer fits"). A bound,
    not an allocation: the server takes what the graph needs; at most the upper bound (a DBA may set more)."""
    element = dimension * 4 + 3 * m * 8 + 128  # vector, neighbour ids with distances, header and tuple id
    wanted = int(rows * element * 1.25 / 2**20) + 64
    low, high = HNSW_BUILD_MEMORY_MB
    return max(low, min(high, wanted))


class PgVectorBuild:
    """One build's transaction on the store: every collection's changes, committed together at the end."""

    name = "pgvector"

    def __init__(self, engine):
        self.engine = engine
        self._pooled = None
        self.conn = None

    def connection(self):
        if self.conn is None:
            self._pooled, self.conn = driver_connection(self.engine)
            self.conn.rollback()  # whatever the pool's ping began: the build's transaction starts here
            ensure_schema(self.conn)
        return self.conn

    def new(self, collection: str, dimension: int, model_id: str) -> "PgVectorIndex":
        return PgVectorIndex(self.engine, collection, dimension, model_id, build=self, replace=True)

    def adopt(self, collection: str, index, owners: dict[str, str]):
        """``index`` (the old build's, of either backend) as this backend's: itself, or a copy of its live vectors."""
        if isinstance(index, PgVectorIndex):
            index.build = self
            return index
        ids = list(index.row_of)  # documents deleted since are removed by the build as usual
        copy = self.new(collection, index.dimension, index.model_id)
        copy.add(ids, index.vectors[[index.row_of[i] for i in ids]], [owners.get(i, "") for i in ids])
        return copy

    def commit(self) -> None:
        self._finish("commit")

    def rollback(self) -> None:
        self._finish("rollback")

    def _finish(self, how: str) -> None:
        if self.conn is not None:
            try:
                getattr(self.conn, how)()
            finally:
                self._pooled.close()
                self._pooled = self.conn = None


class PgVectorIndex(VectorRows):
    """The VectorIndex of one collection in PostgreSQL. Parameters as DenseIndex's, plus the store's engine,
    the collection, and (while building) the build whose transaction its changes go into."""

    def __init__(
        self,
        engine,
        collection: str,
        dimension: int,
        model_id: str,
        *,
        generation: int = 0,
        build: PgVectorBuild | None = None,
        replace: bool = False,
        **params,
    ):
        super().__init__(dimension, model_id, **params)
        self.engine, self.collection, self.table = engine, collection, table_name(collection)
        self.generation, self.build, self.replace = generation, build, replace
        self.owners: list[str] = []  # the mirror of the table's owner column
        self._staged: dict[str, bool] = {}  # id -> True: upsert its mirror row, False: delete it

    # ---- changes (staged; written by save, inside the build's transaction) ------------------------
    def add(self, ids: Sequence[str], vectors: np.ndarray, owners: Sequence[str] | None = None) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        owners = list(owners) if owners is not None else [""] * len(ids)
        if not len(ids) == len(vectors) == len(owners):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors and {len(owners)} owners")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        self._drop_rows(ids)
        start = len(self.ids)
        self.vectors = np.vstack([self.vectors, vectors])
        self.ids.extend(ids)
        self.owners.extend(owners)
        self.alive = np.concatenate([self.alive, np.ones(len(ids), dtype=bool)])
        self.row_of.update({id_: start + i for i, id_ in enumerate(ids)})
        self._staged.update(dict.fromkeys(ids, True))

    def remove(self, ids: Sequence[str], compact: bool = True) -> int:
        removed = self._drop_rows(ids)
        self._staged.update(dict.fromkeys(removed, False))
        return len(removed)

    def set_owners(self, owners: dict[str, str]) -> None:
        """Documents that moved to another owner (their text, hence their vector, unchanged) are upserted."""
        for id_, row in self.row_of.items():
            if id_ in owners and self.owners[row] != owners[id_]:
                self.owners[row] = owners[id_]
                self._staged[id_] = True

    def _drop_rows(self, ids: Sequence[str]) -> list[str]:
        gone = [i for i in ids if i in self.row_of]
        self.alive[[self.row_of.pop(i) for i in gone]] = False
        return gone

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive)
        self.vectors = np.ascontiguousarray(self.vectors[keep])
        self.ids = [self.ids[i] for i in keep]
        self.owners = [self.owners[i] for i in keep]
        self.alive = np.ones(len(self.ids), dtype=bool)
        self.row_of = {id_: row for row, id_ in enumerate(self.ids)}

    def save(self, folder: Path) -> None:
        """Write the staged changes into the build's transaction and ``meta.json`` (with the generation the
        commit will make current) into ``folder``."""
        import json

        if self.build is None:
            raise RuntimeError("pgvector 索引只能在一次索引构建中保存")
        conn = self.build.connection()
        self._compact()
        row = conn.execute(
            f"SELECT dimension, generation FROM {META_TABLE} WHERE collection = %s FOR UPDATE", (self.collection,)
        ).fetchone()
        if row is None or row[0] != self.dimension:  # unrecorded, or another model's dimension: the table anew
            conn.execute(f"DROP TABLE IF EXISTS {self.table}")
            self.replace = True
        elif conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()[0] is None:  # dropped by hand
            self.replace = True
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (id text PRIMARY KEY, owner text NOT NULL,"
            f" embedding vector({self.dimension}) NOT NULL)"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS {self.table}_owner ON {self.table} (owner)")
        if self.replace:
            conn.execute(f"DROP INDEX IF EXISTS {self.table}_hnsw")  # built after the rows: much faster
            conn.execute(f"DELETE FROM {self.table}")
            self._copy(conn, self.ids, insert=True)
        else:
            gone = [i for i, upsert in self._staged.items() if not upsert]
            conn.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (gone,))
            self._copy(conn, [i for i, upsert in self._staged.items() if upsert], insert=False)
        self._hnsw(conn)
        self.generation = (row[1] if row else 0) + 1
        conn.execute(
            f"INSERT INTO {META_TABLE} (collection, model_id, dimension, generation, kind) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (collection) DO UPDATE SET model_id = EXCLUDED.model_id, dimension = EXCLUDED.dimension,"
            " generation = EXCLUDED.generation, kind = EXCLUDED.kind, updated_at = now()",
            (self.collection, self.model_id, self.dimension, self.generation, self.kind),
        )
        self._staged.clear()
        self.replace = False
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").write_text(json.dumps(self.meta(), ensure_ascii=False, indent=1), encoding="utf-8")

    def meta(self) -> dict:
        return {
            "backend": "pgvector",
            "table": self.table,
            "generation": self.generation,
            "model_id": self.model_id,
            "dimension": self.dimension,
            "count": len(self.row_of),
            "kind": self.kind,
            "hnsw_from": self.hnsw_from,
            "hnsw_m": self.hnsw_m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
        }

    def _copy(self, conn, ids: list[str], insert: bool) -> None:
        """Rows of ``ids`` from the mirror: COPY straight into the (emptied) table, or through a temporary table
        and INSERT … ON CONFLICT for upserts."""
        if not ids:
            return
        target = self.table
        if not insert:
            target = f"{self.table}_stage"
            conn.execute(f"CREATE TEMPORARY TABLE {target} (LIKE {self.table}) ON COMMIT DROP")
        with conn.cursor() as cur, cur.copy(f"COPY {target} (id, owner, embedding) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["text", "text", "bytea"])  # the bytes are vector_recv's input
            for id_ in ids:
                row = self.row_of[id_]
                cp.write_row((id_, self.owners[row], vector_bytes(self.vectors[row])))
        if not insert:
            conn.execute(
                f"INSERT INTO {self.table} SELECT id, owner, embedding FROM {target} ON CONFLICT (id) DO UPDATE"
                " SET owner = EXCLUDED.owner, embedding = EXCLUDED.embedding"
            )
            conn.execute(f"DROP TABLE {target}")

    def _hnsw(self, conn) -> None:
        """An HNSW index from ``hnsw_from`` documents on, none below it (an exact scan, as the faiss backend)."""
        if self.kind == "flat":
            conn.execute(f"DROP INDEX IF EXISTS {self.table}_hnsw")
            return
        if conn.execute("SELECT to_regclass(%s)", (f"{self.table}_hnsw",)).fetchone()[0] is not None:
            return  # kept through upserts and deletes (pgvector updates the graph row by row)
        rows = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]
        memory = hnsw_build_memory_mb(rows, self.dimension, int(self.hnsw_m))
        conn.execute(f"SET LOCAL maintenance_work_mem = '{memory}MB'")
        conn.execute(
            f"CREATE INDEX {self.table}_hnsw ON {self.table} USING hnsw (embedding vector_ip_ops)"
            f" WITH (m = {int(self.hnsw_m)}, ef_construction = {int(self.ef_construction)})"
        )

    # ---- searching ------------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray, k: int = 10, where: DenseFilter | None = None
    ) -> list[list[tuple[str, float]]]:
        """For each query row, up to k (id, inner product) best first, from PostgreSQL; ids that the loaded
        generation does not hold (a later build's) are left out."""
        import psycopg

        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        if not len(self.row_of) or k <= 0:
            return [[] for _ in range(len(queries))]
        clause, params = ("WHERE owner = ANY(%s)", [sorted(where.owners)]) if where is not None else ("", [])
        sql = f"SELECT id FROM {self.table} {clause} ORDER BY embedding <#> %s::vector LIMIT %s"

        pooled, conn = driver_connection(self.engine)
        try:
            # An HNSW scan stops at ef_search rows (at most 1000) where faiss widens to k itself; an iterative
            # scan goes on until k rows pass the filter (or hnsw.max_scan_tuples); the order is restored here.
            conn.execute(f"SET LOCAL hnsw.ef_search = {min(max(int(self.ef_search), k), 1000)}")
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            results = []
            for query in queries:
                found = conn.execute(sql, [*params, vector_text(query), k]).fetchall()
                results.append(self._rescored(query, [i for (i,) in found if i in self.row_of]))
            conn.rollback()
        except psycopg.Error as exc:
            raise VectorBackendError(f"PostgreSQL 向量检索失败（{exc}）") from exc
        finally:
            pooled.close()
        return results

    def _rescored(self, query: np.ndarray, ids: list[str]) -> list[tuple[str, float]]:
        """PostgreSQL chose the ids; their scores are the loaded vectors' inner products as faiss computes them
        (its kernel, not pgvector's or numpy's summation order), best first. A query's dense z statistics
        divide by a spread of ~0.02, so 1e-7 apart in a score is 1e-5 apart in a ranking score: this way both
        backends give the same numbers whenever they find the same documents."""
        if not ids:
            return []
        import faiss

        rows = np.array([self.row_of[i] for i in ids], dtype=np.int64)
        scores, order = faiss.knn(query[None, :], self.vectors[rows], len(rows), metric=faiss.METRIC_INNER_PRODUCT)
        return [(ids[j], float(s)) for s, j in zip(scores[0], order[0], strict=True) if j >= 0]

    # ---- loading --------------------------------------------------------------------------------
    @classmethod
    def load(cls, engine, collection: str, meta: dict, model_id: str | None, rebuild_hint: str) -> "PgVectorIndex":
        """The collection as the index folder's ``meta.json`` describes it, its vectors read into memory.
        IndexModelMismatch for another model's vectors; ValueError when the table is of another build."""
        refuse_other_model(meta, model_id, f"PostgreSQL 中的向量（{collection}）", rebuild_hint)
        index = cls(engine, collection, meta["dimension"], meta["model_id"], generation=meta["generation"],
                    **parameters(meta))
        if meta.get("table") != index.table:
            raise ValueError(f"meta.json 中的表名 {meta.get('table')!r} 不是 {index.table}")
        import psycopg

        pooled, conn = driver_connection(engine)
        try:
            conn.rollback()  # SET TRANSACTION must come first in its transaction
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # meta and rows of one moment
            if conn.execute("SELECT to_regclass(%s)", (META_TABLE,)).fetchone()[0] is None:
                raise ValueError(f"PostgreSQL 中没有向量表 {META_TABLE}（索引建在另一个数据库上？）")
            row = conn.execute(
                f"SELECT model_id, dimension, generation FROM {META_TABLE} WHERE collection = %s", (collection,)
            ).fetchone()
            if row is None:
                raise ValueError(f"PostgreSQL 中没有集合 {collection} 的向量")
            if row[0] != index.model_id:
                raise IndexModelMismatch(
                    f"PostgreSQL 中的向量表 {index.table} 是模型 {row[0]!r} 的，索引文件夹是模型 "
                    f"{index.model_id!r} 的；请运行：{rebuild_hint}"
                )
            if row[2] != index.generation:
                raise ValueError(
                    f"与 PostgreSQL 中的向量表 {index.table} 不是同一次构建（文件夹第 {index.generation} 版，"
                    f"表第 {row[2]} 版）"
                )
            with conn.cursor(binary=True) as cur:  # binary: the vectors as float4s, no text to parse
                rows = cur.execute(f"SELECT id, owner, embedding FROM {index.table} ORDER BY id").fetchall()
            conn.rollback()
        except psycopg.errors.UndefinedTable as exc:  # dropped by hand: a build refills it
            raise ValueError(f"PostgreSQL 中没有向量表 {index.table}") from exc
        except psycopg.Error as exc:
            raise VectorBackendError(f"读取 PostgreSQL 向量表 {index.table} 失败（{exc}）") from exc
        finally:
            pooled.close()
        index.ids = [r[0] for r in rows]
        index.owners = [r[1] for r in rows]
        index.vectors = read_vectors([r[2] for r in rows], index.dimension)
        index.alive = np.ones(len(rows), dtype=bool)
        index.row_of = {id_: row for row, id_ in enumerate(index.ids)}
        if len(index.ids) != meta["count"]:
            raise ValueError(f"向量表 {index.table} 有 {len(index.ids)} 行，meta.json 记录 {meta['count']} 行")
        return index
