"""Issue 14, item 9 (CLI side): after a successful import the index is brought up to date incrementally,
with a progress bar; `--no-index` skips it; a database without an index says how to build one."""

import json

from matcher.indexing import update_after_import
from matcher.store.db import open_database
from tests.conftest import copy_sample_db, write_csv


def test_an_import_updates_the_index_incrementally_unless_told_not_to(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path / "db")
    first = write_csv(tmp_path / "n1.csv", [["企业编号", "需求名称", "需求描述"],
                                            ["E101", "填料表面改性", "陶瓷填料耐酸涂层，延长使用寿命"]])
    result = cli("import", "needs", first)
    assert "索引已更新：capabilities 编码 0、删除 0，needs 编码 1、删除 0" in result.output
    assert "编码 needs" in result.output  # the progress bar's label
    status = json.loads(cli("index", "status", "--json").output)
    assert [s["new_or_changed"] for s in status] == [0, 0]

    second = write_csv(tmp_path / "n2.csv", [["企业编号", "需求名称"], ["E101", "窑炉余热回收"]])
    result = cli("import", "needs", second, "--no-index")
    assert "索引" not in result.output
    assert [s["new_or_changed"] for s in json.loads(cli("index", "status", "--json").output)] == [0, 1]

    calls = []
    reports = update_after_import(open_database(cli.url), progress=lambda *a: calls.append(a),
                                  folder=cli.index)
    assert [(r.collection, r.encoded) for r in reports] == [("capabilities", 0), ("needs", 1)]
    assert calls == [(1, 1, "needs")]
    assert update_after_import(open_database(cli.url),
                               folder=cli.index) == []  # nothing left: no model loaded


def test_without_an_index_the_import_says_how_to_build_one(cli, tmp_path):
    result = cli("import", "enterprises", write_csv(tmp_path / "e.csv", [["企业名称"], ["甲公司"]]))
    assert "还没有建立索引；运行 cxy index build" in result.output
