"""A damaged index is caught and repaired, and a killed build leaves the old index or none.

Each kind of damage is done to a copy of the indexed sample: ``cxy index status`` exits 1 with a Chinese
message naming the file and the repair command; the first use (``cxy match`` and the HTTP service) says
the same, with no traceback; the command named repairs it (the index equals the undamaged one).
"""

import errno
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from embeddings.folder_build import file_entries
from tests.conftest import ROOT, Cli, copy_sample_db, index_as_built, index_vectors
from tests.pg_backend import ON_POSTGRES

REPAIR = re.compile(r"请运行：(cxy index build(?: --rebuild)?)")


def _truncate(path: Path, size: int | None = None) -> None:
    with path.open("r+b") as out:
        out.truncate(path.stat().st_size // 2 if size is None else size)


def _flip(path: Path) -> None:  # one bit, size unchanged: only the checksum can tell
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0x10
    path.write_bytes(bytes(data))


def _manifest(index: Path, **changes) -> None:
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    (index / "manifest.json").write_text(json.dumps(manifest | changes), encoding="utf-8")


def _replace_by_file(index: Path) -> None:
    shutil.rmtree(index)
    index.write_bytes(b"not an index\n")


def _symlink_loop(index: Path) -> None:
    shutil.rmtree(index)
    index.symlink_to(index.name)


def _unreadable(index: Path) -> None:
    index.chmod(0)


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _directory_instead(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _outside_entry(index: Path) -> None:
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["../outside.txt"] = {"size": 1, "sha256": "0" * 64}
    (index.parent / "outside.txt").write_text("x")
    (index / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _resealed_inconsistent(index: Path) -> None:
    """Files that pass their checksums but do not fit together: one id fewer than vectors, manifest redone."""
    ids = index / "capabilities" / "ids.json"
    ids.write_text(json.dumps(json.loads(ids.read_text(encoding="utf-8"))[:-1]), encoding="utf-8")
    _manifest(index, files=file_entries(index, skip=("manifest.json",)))


class _RunsCode:
    """A pickle that would create a file if anything unpickled it."""

    def __reduce__(self):
        return (Path.touch, (Path(os.environ["CXY_PICKLE_MARKER"]),))


def _legacy_pickled(index: Path) -> None:
    """The format-1 layout: no manifest, lexical retrievers pickled beside the collection folders."""
    (index / "manifest.json").unlink()
    (index / "capabilities.lexical.pkl").write_bytes(pickle.dumps({"retrievers": _RunsCode()}))
    (index / "capabilities.lexical.json").write_text('{"digest": "x", "documents": 576}')


# kind -> (damage done to the index folder, what the message must name)
DAMAGE = {
    "folder-is-a-file": (_replace_by_file, "{index} 不是文件夹"),
    "folder-is-a-symlink-loop": (_symlink_loop, "{index}"),
    "folder-unreadable": (_unreadable, "{index} 无法读取"),
    "meta-json-gone": (lambda ix: (ix / "capabilities" / "meta.json").unlink(), "capabilities/meta.json 缺失"),
    "manifest-gone": (lambda ix: (ix / "manifest.json").unlink(), "manifest.json 缺失"),
    "manifest-truncated": (lambda ix: _truncate(ix / "manifest.json"), "manifest.json 无法解析"),
    "manifest-not-an-object": (lambda ix: (ix / "manifest.json").write_text("[]"), "manifest.json 中没有文件列表"),
    "format-old": (lambda ix: _manifest(ix, format=1), "manifest.json 是旧格式"),
    "format-unknown": (lambda ix: _manifest(ix, format=99), "manifest.json 是本程序不认识的格式"),
    "vectors-truncated": (
        lambda ix: _truncate(ix / "capabilities" / "vectors.npy"),
        "capabilities/vectors.npy 大小不符",
    ),
    "vectors-garbage": (lambda ix: _garbage(ix / "capabilities" / "vectors.npy"), "capabilities/vectors.npy 内容"),
    "vectors-a-directory": (lambda ix: _directory_instead(ix / "needs" / "vectors.npy"), "needs/vectors.npy"),
    "bm25-deleted": (lambda ix: (ix / "capabilities" / "lexical-bm25.npz").unlink(), "lexical-bm25.npz 缺失"),
    "char-truncated": (lambda ix: _truncate(ix / "needs" / "lexical-char.npz"), "needs/lexical-char.npz 大小不符"),
    "lexical-json-bit-flip": (lambda ix: _flip(ix / "capabilities" / "lexical.json"), "capabilities/lexical.json 内容"),
    "bm25-bit-flip": (lambda ix: _flip(ix / "needs" / "lexical-bm25.npz"), "needs/lexical-bm25.npz 内容"),
    "documents-emptied": (lambda ix: (ix / "needs" / "documents.json").write_text(""), "needs/documents.json 大小"),
    "stray-file": (
        lambda ix: (ix / "capabilities" / "extra.pkl").write_bytes(b"x"),
        "capabilities/extra.pkl 不在清单中",
    ),
    "collection-missing": (lambda ix: shutil.rmtree(ix / "needs"), "needs/"),
    "entry-outside-folder": (_outside_entry, "outside.txt 在清单中的条目无效"),
    "resealed-inconsistent": (_resealed_inconsistent, "capabilities/ids.json 内容无效"),
    "legacy-pickled": (_legacy_pickled, "是旧格式（第 1 版，词法索引为 pickle"),
}
# Damage to the faiss files (vectors and ids): with the vectors in pgvector the folder holds none of them.
DENSE_DAMAGE = {"vectors-truncated", "vectors-garbage", "vectors-a-directory", "resealed-inconsistent"}


def kinds(chosen=None) -> list:
    return [pytest.param(k, marks=[pytest.mark.sqlite_only] if k in DENSE_DAMAGE else []) for k in chosen or DAMAGE]


@pytest.fixture(scope="module")
def pristine(sample_db):
    """The undamaged sample's manifest and the answer to ``cxy match need N101``."""
    cli = Cli(sample_db)
    return index_as_built(cli.index), _teams(cli)


def _teams(cli: Cli) -> list[str]:
    out = json.loads(cli("match", "need", "N101", "--top", "5", "--format", "json").output)
    return [r["team_id"] for r in out["results"]]


def _error(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("错误：")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("kind", kinds())
def test_damage_is_named_with_its_repair_the_same_everywhere_and_the_repair_works(
    kind, sample_db, pristine, tmp_path, monkeypatch
):
    cli = copy_sample_db(sample_db, tmp_path / "copy")
    index = cli.index
    damage, named = DAMAGE[kind][0], DAMAGE[kind][1].format(index=index.name)
    monkeypatch.setenv("CXY_PICKLE_MARKER", str(tmp_path / "unpickled"))
    damage(index)
    refused = pytest.MonkeyPatch()
    if kind == "folder-unreadable" and os.geteuid() == 0:  # root reads any folder: refuse its listing instead
        listdir = os.listdir

        def refuse(path="."):
            if Path(path) == index:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return listdir(path)

        refused.setattr(os, "listdir", refuse)
    try:
        # (a) status names the file and the command
        message = _error(cli("index", "status", ok=False))
        assert named in message and REPAIR.search(message), message
        # (b) the first use says the same: the command line and the HTTP service
        assert _error(cli("match", "need", "N101", ok=False)) == message
        assert _http_detail(cli) == message.removeprefix("错误：")
    finally:
        refused.undo()
        if index.exists() and not index.is_symlink():
            index.chmod(0o755)
    assert not (tmp_path / "unpickled").exists(), "a pickle in the index folder was loaded"
    # (c) the command named repairs it: a working index equal to the undamaged one
    command = REPAIR.search(message).group(1).split()[1:]
    cli(*command)
    assert "索引文件完好" in cli("index", "status").output
    manifest, teams = pristine
    assert index_as_built(index) == manifest
    assert _teams(cli) == teams


def _http_detail(cli: Cli) -> str:
    from api.app import create_app
    from api.keys import create_key
    from matcher.settings import database_url
    from matcher.store.db import open_database, write_session

    with write_session(open_database(database_url(str(cli.db)))) as session:
        key = create_key(session, "bureau", "damage test", None)[1]
    with TestClient(create_app(str(cli.db))) as client:
        response = client.get("/match/need/N101", headers={"X-API-Key": key})
    assert response.status_code == 503, response.text
    return response.json()["detail"]


@pytest.mark.parametrize("kind", kinds(["folder-is-a-file", "meta-json-gone", "vectors-garbage", "legacy-pickled"]))
def test_plain_index_build_repairs_too_and_says_so(kind, sample_db, pristine, tmp_path, monkeypatch):
    cli = copy_sample_db(sample_db, tmp_path / "copy")
    monkeypatch.setenv("CXY_PICKLE_MARKER", str(tmp_path / "unpickled"))
    DAMAGE[kind][0](cli.index)
    output = cli("index", "build").output
    assert "原有索引不能沿用" in output and "已从头重建" in output
    assert "索引文件完好" in cli("index", "status").output and _teams(cli) == pristine[1]
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.parametrize("kind", kinds(["folder-is-a-file", "manifest-truncated", "bm25-deleted", "stray-file"]))
def test_serve_refuses_a_damaged_index_with_the_file_and_the_repair(kind, sample_db, tmp_path, monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(a))
    monkeypatch.setenv("CXY_DB", "set by cxy serve")  # serve sets it for uvicorn's workers; undone after the test
    cli = copy_sample_db(sample_db, tmp_path / "copy")
    cli("serve")
    assert len(started) == 1  # an intact index: the server starts
    DAMAGE[kind][0](cli.index)
    message = _error(cli("serve", ok=False))
    assert DAMAGE[kind][1].format(index=cli.index.name) in message and "请运行：cxy index build --rebuild" in message
    assert len(started) == 1


# ---- kill -9 during a build -------------------------------------------------------------------------


def _arrays(cli: Cli) -> dict:
    return {c: index_vectors(cli, c) for c in ("capabilities", "needs")}


def _change_a_team(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "id,institution_id,name,description\nT101,INS003,改名后的团队,专注氮化硅轴承球的气压烧结与精密研磨\n",
        encoding="utf-8",
    )
    cli("import", "teams", tmp_path / "t.csv", "--no-index")


def _build_killed_at(cli: Cli, point: str, log) -> None:
    """Run ``cxy index build`` in a process and kill -9 it once the build reached ``point``: "started" (the new
    folder exists, encoding begins) or "encoded" (capabilities encoded and saved, its lexical fit running; on
    pgvector its rows written into the build's transaction, not committed)."""
    script = "import sys; from matcher.cli import main; sys.argv = ['cxy'] + sys.argv[1:]; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "--db", str(cli.db), "index", "build"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    saved = "capabilities/meta.json" if ON_POSTGRES else "capabilities/vectors.npy"  # what save() writes
    marker = "" if point == "started" else saved
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any((tmp / marker).exists() for tmp in _build_folders(cli)):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    log.seek(0)
    assert proc.returncode == -signal.SIGKILL, f"the build ended before {point}: {log.read()}"


def _build_folders(cli: Cli) -> list[Path]:
    return list(cli.index.parent.glob(f".{cli.index.name}.tmp-*"))


@pytest.mark.parametrize("before, point", [("old", "encoded"), ("none", "started")])
def test_a_build_killed_midway_leaves_the_old_index_or_none_and_a_rerun_equals_an_uninterrupted_build(
    before, point, sample_db, pristine, tmp_path
):
    cli = copy_sample_db(sample_db, tmp_path / "killed")
    index = cli.index
    if before == "old":
        _change_a_team(cli, tmp_path)  # the old index no longer matches the store: the build has work to do
    else:
        shutil.rmtree(index)

    with (tmp_path / "build.log").open("w+") as log:
        _build_killed_at(cli, point, log)

    status = cli("index", "status").output  # the truth: the old index (one change not indexed yet), or none
    if before == "old":
        assert index_as_built(index) == pristine[0]
        assert "索引文件完好" in status and "新增或改动 1" in status
        cli("match", "need", "N101", "--top", "3")  # and serves (on pgvector: the killed build's rows rolled back)
    else:
        assert not os.path.lexists(index) and "未建立" in status
    assert _build_folders(cli), "the kill left no build folder: not mid-way"

    cli("index", "build")
    assert not _build_folders(cli)  # the re-run removed the leftovers
    reference = copy_sample_db(sample_db, tmp_path / "uninterrupted")
    if before == "old":
        _change_a_team(reference, tmp_path)
        reference("index", "build")
    rerun, uninterrupted = _arrays(cli), _arrays(reference)
    for collection, (ids, vectors) in uninterrupted.items():
        assert rerun[collection][0] == ids and np.array_equal(rerun[collection][1], vectors)


def test_an_index_sealed_with_sha256_by_an_earlier_version_still_serves_and_is_checked(sample_db, pristine, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path / "copy")
    manifest = json.loads((cli.index / "manifest.json").read_text(encoding="utf-8"))
    assert all(set(e) == {"size", "xxh3_128"} for e in manifest["files"].values())  # what a build writes now
    _manifest(cli.index, files=file_entries(cli.index, skip=("manifest.json",)))  # sha256, as builds wrote before
    assert "索引文件完好" in cli("index", "status").output and _teams(cli) == pristine[1]
    _flip(cli.index / "needs" / "lexical-bm25.npz")
    message = _error(cli("index", "status", ok=False))
    assert "needs/lexical-bm25.npz 内容与清单中的 sha256 校验和不符" in message and REPAIR.search(message)
