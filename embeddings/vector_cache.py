"""On-disk cache of text vectors keyed by (model id, prompt + normalised text), so rebuilding an
index re-embeds only texts that are new or changed. One SQLite file per model; safe for several
processes (WAL, busy timeout); a failed write only costs a later re-encode, never a wrong vector.
"""

import hashlib
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def text_key(prompt: str, text: str) -> str:
    return hashlib.sha256(f"{prompt}\x00{text}".encode()).hexdigest()[:40]


class VectorCache:
    """get/put float32 vectors by key for one model, stored in ``folder/<model slug>.sqlite``."""

    def __init__(self, folder: Path, model_id: str, dimension: int):
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:80]
        self.path = folder / f"{slug}-{hashlib.sha1(model_id.encode()).hexdigest()[:8]}.sqlite"
        self.dimension = dimension
        # One connection shared by the server's worker threads, so every use holds the lock: two threads
        # interleaving BEGIN on it failed with "cannot start a transaction within a transaction".
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk).fetchall()
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[key] = vector
        return found

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        blobs = (np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors)
        rows = list(zip(keys, blobs, strict=True))
        try:
            with self._lock, self._conn:  # one transaction; rolled back on error
                self._conn.execute("BEGIN")
                self._conn.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)
        except sqlite3.OperationalError:
            pass  # a busy or read-only cache is not an error: the vectors are simply recomputed later

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def close(self) -> None:
        self._conn.close()
