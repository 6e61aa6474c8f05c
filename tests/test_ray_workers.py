"""``--workers N`` on a local Ray cluster: `cxy index build` and `cxy report monthly` give exactly what the
serial commands give (vectors bit for bit, manifest checksums, proposals, digests, workbook); without Ray
installed they say what to install."""

import json
import logging
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import Cli, copy_sample_db, index_as_built, index_vectors

MONTH = "2026-11"


@pytest.fixture(scope="module")
def ray_cluster():
    """One small local cluster for the module (the commands join it instead of starting their own)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False,
             logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def _half_of_cache(shared: Path, target: Path) -> None:
    """The run's vector cache with every fourth vector dropped: the parallel build encodes those on the
    actors and takes the rest from the cache, so both paths of the merge are exercised (and it is quicker)."""
    target.mkdir()
    for path in shared.glob("*.sqlite"):
        with sqlite3.connect(path) as source, sqlite3.connect(target / path.name) as copy:
            source.backup(copy)
            copy.execute("DELETE FROM vectors WHERE rowid % 4 = 0")


def test_index_build_on_workers_gives_the_serial_index_bit_for_bit(ray_cluster, sample_db, shared_vector_cache,
                                                                   tmp_path, monkeypatch):
    cli = copy_sample_db(sample_db, tmp_path / "parallel")
    cache = tmp_path / "vectors"
    _half_of_cache(shared_vector_cache, cache)
    left = sum(sqlite3.connect(p).execute("SELECT count(*) FROM vectors").fetchone()[0] for p in cache.glob("*.sqlite"))
    monkeypatch.setenv("CXY_VECTOR_CACHE", str(cache))
    from matcher.cluster.encode import ClusterEncoder

    on_actors = []
    encode = ClusterEncoder._encode_fresh
    monkeypatch.setattr(ClusterEncoder, "_encode_fresh", lambda self, texts: on_actors.append(len(texts))
                        or encode(self, texts))
    output = cli("index", "build", "--rebuild", "--workers", "2").output
    assert "capabilities      576 个文档（编码 576" in output and "needs             221 个文档（编码 221" in output

    serial, parallel = Cli(sample_db), cli
    for collection in ("capabilities", "needs"):
        (ids, a), (parallel_ids, b) = index_vectors(serial, collection), index_vectors(parallel, collection)
        assert ids == parallel_ids and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    assert index_as_built(serial.index) == index_as_built(parallel.index)
    # the driver wrote what the actors encoded to the vector cache, as the serial build checkpoints it
    now = sum(sqlite3.connect(p).execute("SELECT count(*) FROM vectors").fetchone()[0] for p in cache.glob("*.sqlite"))
    assert now - left == sum(on_actors) >= (576 + 221) // 4 - 5


MASK = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def _report(cli, out, *extra) -> dict:
    result = cli("report", "monthly", "--month", MONTH, "--out", out, "--format", "json", *extra)
    return json.loads(result.stdout)


def _stored(cli, report_id: str) -> dict:
    (data, proposals, summary, params), = cli.query(
        "SELECT data_digest, proposals_digest, summary, params FROM report_runs WHERE id = ?", report_id)
    summary = json.loads(summary)
    summary.pop("timings")  # seconds spent, not results
    items = cli.query("""SELECT i.need_id, i.team_id, i.rank, i.score, i.explanation FROM recommendation_items i
                         JOIN report_lists l ON l.run_id = i.run_id WHERE l.report_id = ? ORDER BY 1, 3""", report_id)
    queries = sorted(q for (q,) in cli.query("""SELECT r.query FROM recommendation_runs r JOIN report_lists l
                                                ON l.run_id = r.id WHERE l.report_id = ?""", report_id))
    return {"data_digest": data, "proposals_digest": proposals, "summary": summary, "params": params,
            "items": items, "queries": queries}


def _cells(path) -> dict:
    book = load_workbook(path)
    return {sheet.title: [[MASK.sub("*", c.value) if isinstance(c.value, str) else c.value for c in row]
                          for row in sheet.iter_rows()] for sheet in book}


def test_monthly_report_on_workers_gives_the_serial_proposals_and_files(ray_cluster, sample_db, tmp_path,
                                                                       monkeypatch):
    from matcher.cluster.rank import NeedRanker

    serial_cli, parallel_cli = (copy_sample_db(sample_db, tmp_path / name) for name in ("serial", "parallel"))
    serial = _report(serial_cli, tmp_path / "serial-out")
    on_actors = []
    rank = NeedRanker.__call__
    monkeypatch.setattr(NeedRanker, "__call__", lambda self, service, need_ids: on_actors.extend(need_ids)
                        or rank(self, service, need_ids))
    parallel = _report(parallel_cli, tmp_path / "parallel-out", "--workers", "2")
    assert len(on_actors) == serial["meta"]["open_needs"] > 50
    assert not parallel["reused"] and parallel["coverage"] == serial["coverage"] and parallel["fit"] == serial["fit"]
    a, b = _stored(serial_cli, serial["report_id"]), _stored(parallel_cli, parallel["report_id"])
    assert len(a["items"]) > 50
    assert a == b
    name = f"monthly-report-{MONTH}"
    assert _cells(tmp_path / "serial-out" / f"{name}.xlsx") == _cells(tmp_path / "parallel-out" / f"{name}.xlsx")
    pages = [(tmp_path / d / f"{name}.html").read_text(encoding="utf-8") for d in ("serial-out", "parallel-out")]
    assert MASK.sub("*", pages[0]) == MASK.sub("*", pages[1])


def test_workers_without_ray_say_what_to_install(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    for command in (("index", "build", "--workers", "2"), ("report", "monthly", "--month", MONTH, "--workers", "2")):
        result = cli(*command, ok=False)
        assert result.exit_code == 1
        assert "--workers 大于 1 时需要 Ray" in result.output
        assert "pip install 'cxy-matcher[cluster]'" in result.output
