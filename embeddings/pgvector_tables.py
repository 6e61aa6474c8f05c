"""The pgvector backend's tables and wire format (embeddings.pgvector_index searches and fills them): table
names, the store's psycopg connection, pgvector's binary and text forms of a vector, and the schema made at
first use."""

import re
import struct

import numpy as np

from embeddings.vector_index import VectorBackendError

META_TABLE = "cxy_vector_collections"


def table_name(collection: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", collection):
        raise ValueError(f"集合名 {collection!r} 不能用作表名")
    return f"cxy_vectors_{collection}"


def driver_connection(engine):
    """A pooled DB-API connection of the store and the psycopg connection inside it."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        raise VectorBackendError(
            f"pgvector 后端需要 PostgreSQL 与 psycopg 驱动（postgresql+psycopg://…），当前是 "
            f"{engine.dialect.name}+{engine.dialect.driver}"
        )
    import psycopg

    try:
        pooled = engine.raw_connection()
    except Exception as exc:  # noqa: BLE001 - whatever the pool says, the user needs the server named
        raise VectorBackendError(f"无法连接 PostgreSQL（{exc}）") from exc
    conn = pooled.driver_connection
    if not isinstance(conn, psycopg.Connection):  # pragma: no cover - the dialect check above holds
        pooled.close()
        raise VectorBackendError("pgvector 后端需要 psycopg 3 驱动")
    return pooled, conn


def vector_bytes(vector: np.ndarray) -> bytes:
    """pgvector's binary form (dimension, unused, big-endian float4s): COPY … (FORMAT BINARY) takes it as is."""
    return struct.pack(">HH", len(vector), 0) + np.asarray(vector, dtype=">f4").tobytes()


def vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def read_vectors(blobs: list[bytes], dimension: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dimension), dtype=np.float32)
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), 4 + 4 * dimension)
    return np.ascontiguousarray(raw[:, 4:]).view(">f4").astype(np.float32)


def ensure_schema(conn) -> None:
    import psycopg

    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise VectorBackendError(
            f"PostgreSQL 中无法启用 pgvector 扩展（{exc.diag.message_primary or exc}）；"
            "请由数据库管理员安装 pgvector 并执行：CREATE EXTENSION vector"
        ) from exc
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {META_TABLE} (collection text PRIMARY KEY, model_id text NOT NULL,"
        " dimension integer NOT NULL, generation bigint NOT NULL, kind text NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now())"
    )
