"""A killed ``cxy index build`` keeps what it encoded, and the re-run encodes only the rest and ends with the
very index an uninterrupted build writes (real processes, the real model, kill -9 once the vector cache grows).

The corpus is the sample's first 60 teams (real text, 40-200 tokens): small enough for three builds, and with
CXY_ENCODE_CHECKPOINT=8 the kill still lands with most of it unencoded.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.conftest import ROOT, SAMPLE, Cli, index_vectors, new_db

SCRIPT = "import sys; from matcher.cli import main; sys.argv = ['cxy'] + sys.argv[1:]; main()"


def _cache_rows(folder: Path) -> dict[str, tuple[int, bytes]]:
    """key -> (rowid, vector) of the vector cache in ``folder``: a row written again gets a new rowid."""
    files = list(folder.glob("*.sqlite"))
    if not files:
        return {}
    with sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True, timeout=30) as conn:
        try:
            return {key: (rowid, blob) for rowid, key, blob in conn.execute("SELECT rowid, key, vector FROM vectors")}
        except sqlite3.OperationalError:  # the table is not created yet
            return {}


def _build(db: Path, env: dict, kill_when_cached: bool = False) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "--db", str(db), "index", "build"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    if not kill_when_cached:
        output = proc.communicate(timeout=900)[0].decode()
        assert proc.returncode == 0, output
        return proc
    deadline = time.monotonic() + 900
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if _cache_rows(Path(env["CXY_VECTOR_CACHE"])):  # the first checkpoint reached the cache
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        output = proc.communicate(timeout=60)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, f"the build ended before its first checkpoint:\n{output}"
    return proc


def _index_files(index: Path) -> dict[str, dict]:
    return json.loads((index / "manifest.json").read_text(encoding="utf-8"))["files"]


def _small_corpus(folder: Path) -> Cli:
    cli = new_db(folder)
    teams = (SAMPLE / "teams.csv").read_text(encoding="utf-8").splitlines()[:61]
    (folder / "teams.csv").write_text("\n".join(teams) + "\n", encoding="utf-8")
    cli("import", "institutions", SAMPLE / "institutions.csv", "--no-index")
    cli("import", "teams", folder / "teams.csv", "--no-index")
    return cli


def test_a_killed_build_keeps_its_checkpoints_and_the_rerun_encodes_the_rest_into_the_same_index(
    tmp_path, monkeypatch
):
    cli = _small_corpus(tmp_path / "killed")
    index = cli.index
    cache = tmp_path / "vectors"
    env = {**os.environ, "CXY_VECTOR_CACHE": str(cache), "CXY_ENCODE_CHECKPOINT": "8"}
    env.pop("CXY_ENCODER_BACKEND", None)

    _build(cli.db, env, kill_when_cached=True)
    kept = _cache_rows(cache)
    assert kept and not index.exists()  # killed mid-encoding: checkpoints in the cache, no index swapped in

    _build(cli.db, env)
    after = _cache_rows(cache)
    assert all(after[key] == row for key, row in kept.items())  # nothing the killed build encoded was redone
    assert len(after) > len(kept)  # ... and the rest was encoded by the re-run

    # an uninterrupted build in this process: another cache, 256 texts per checkpoint, other batch mates
    reference = _small_corpus(tmp_path / "uninterrupted")
    monkeypatch.setenv("CXY_VECTOR_CACHE", str(tmp_path / "other-vectors"))
    monkeypatch.delenv("CXY_ENCODER_BACKEND", raising=False)
    reference("index", "build")
    theirs_index = reference.index
    assert _index_files(index) == _index_files(theirs_index)
    for collection in ("capabilities", "needs"):
        (ours, our_vectors), (theirs, vectors) = index_vectors(cli, collection), index_vectors(reference, collection)
        assert ours == theirs and np.array_equal(our_vectors, vectors)
