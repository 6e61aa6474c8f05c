"""What a whole test run shares: its folder (every xdist worker's), the sample's vectors kept between runs on
one machine, and a consistent copy of a SQLite file.

The run's vector cache (tests/conftest.py ``shared_vector_cache``) starts from the vectors a previous run
encoded for the sample with the same model (the cache is keyed by model id and text): the sample build is
then the real build with its encoding found in the cache, as every sample index after the first in a run
already was. On a clean machine the first run encodes as before; CI's PostgreSQL pass reuses the default
pass's vectors.
"""

import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path


def run_root(tmp_path_factory) -> Path:
    """The folder this whole run shares: under pytest-xdist every worker has its own base temp folder,
    and their common parent is where the work done once per run (sample build, vector cache) lives."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def kept_sample_vectors() -> Path:
    from embeddings.encoder import cache_dir

    return cache_dir() / "test-sample-vectors"


def seed_vector_cache(run_cache: Path) -> None:
    """Copy the kept vectors into the run's cache (before the sample build)."""
    for kept in sorted(kept_sample_vectors().glob("*.sqlite")):
        if not (run_cache / kept.name).exists():
            sqlite_copy(kept, run_cache / kept.name)


def keep_sample_vectors(run_cache: Path) -> None:
    """Keep the run's cache after the sample build (replaced whole: a run reading the old copy goes on)."""
    kept = kept_sample_vectors()
    kept.mkdir(parents=True, exist_ok=True)
    for cache in run_cache.glob("*.sqlite"):
        partial = kept / f".{cache.name}.{uuid.uuid4().hex}"
        sqlite_copy(cache, partial)
        os.replace(partial, kept / cache.name)


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a WAL-mode SQLite file (the backup API: a file copy misses the WAL)."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)
