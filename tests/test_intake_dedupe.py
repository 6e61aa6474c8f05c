"""Issue 14, item 7: an enterprise, institution or team already stored under another id is matched, or
listed for a person to confirm; `cxy merge KEEP DROP` joins two records and everything that refers to them."""

import json

from matcher.ingest.dedupe import find_duplicates
from matcher.store.db import open_database, session_factory
from tests.conftest import write_csv


def seed(cli, tmp_path):
    cli("import", "institutions", write_csv(tmp_path / "i.csv", [["id", "name"], ["I1", "萍乡学院"]]))
    cli("import", "teams", write_csv(tmp_path / "t.csv", [["id", "institution_id", "name"], ["T1", "I1", "电瓷团队"]]))
    cli("import", "enterprises", write_csv(tmp_path / "e.csv", [
        ["id", "name", "county"], ["E101", "萍乡市某某陶瓷有限公司", "湘东区"],
        ["E102", "萍乡市合成企业0001有限公司", None], ["E103", "萍乡市合成企业0002有限公司", None]]))
    cli("import", "needs", write_csv(tmp_path / "n.csv", [["id", "enterprise_id", "title"],
                                                          ["N1", "E101", "填料粉化"]]))


def test_a_row_without_an_id_is_matched_to_the_stored_record_by_name(cli, tmp_path):
    seed(cli, tmp_path)
    result = cli("import", "needs", write_csv(tmp_path / "sheet.csv", [
        ["企业名称", "所属县区", "技术需求"], ["萍乡市某某陶瓷有限公司", "湘东区", "窑炉节能"],
        ["萍乡市某某陶瓷有限公司", None, "填料粉化"]]))

    assert "enterprises        1 行（新增 0，更新 1）" in result.output
    assert "needs              2 行（新增 1，更新 1）" in result.output  # 填料粉化 is N1, matched by enterprise + title
    assert cli.query("SELECT id, enterprise_id, title FROM needs ORDER BY title") == [
        ("N1", "E101", "填料粉化"),
        (cli.query("SELECT id FROM needs WHERE title='窑炉节能'")[0][0], "E101", "窑炉节能")]
    assert cli.query("SELECT count(*) FROM enterprises") == [(3,)]


def test_a_duplicate_under_another_id_is_caught_listed_and_merged(cli, tmp_path):
    seed(cli, tmp_path)
    result = cli("import", "enterprises", write_csv(tmp_path / "e2.csv", [
        ["id", "name"], ["E301", "萍乡市某某陶瓷有限公司"], ["E302", "萍乡某某陶瓷有限责任公司"]]))
    assert "E301 与已有的 E101 是同一名称（或信用代码），可能重复；确认后运行 cxy merge E101 E301" in result.output
    assert "「萍乡某某陶瓷有限责任公司」（E302）与已有的「萍乡市某某陶瓷有限公司」（E101）名称相近" in result.output
    cli("import", "needs", write_csv(tmp_path / "n2.csv", [["id", "enterprise_id", "title"], ["N2", "E301", "釉面"]]))

    listed = json.loads(cli("dedupe", "--format", "json").output)
    pairs = {(p["keep_id"], p["drop_id"]): p for p in listed}
    assert pairs[("E101", "E301")]["score"] == 100.0 and pairs[("E101", "E301")]["evidence"].startswith("名称相同")
    assert ("E101", "E302") in pairs and pairs[("E101", "E302")]["evidence"].startswith("名称相近")
    assert not any({"E102", "E103"} == {k, d} for k, d in pairs)  # numbers differ: two companies
    table = cli("dedupe").output
    assert "cxy merge E101 E301" in table and "疑似重复" in table

    result = cli("merge", "E101", "E301")
    assert "已把 E301（萍乡市某某陶瓷有限公司）合并到 E101：转移 needs 1 条" in result.output
    assert cli.query("SELECT id, enterprise_id FROM needs ORDER BY id") == [("N1", "E101"), ("N2", "E101")]
    assert cli.query("SELECT count(*) FROM enterprises WHERE id = 'E301'") == [(0,)]
    audit = cli.query("SELECT action, target, detail FROM audit_log WHERE action = 'merge'")
    assert [(a, t) for a, t, _ in audit] == [("merge", "enterprises:E101<-E301")]
    assert json.loads(audit[0][2])["moved"] == {"needs": 1}


def test_merging_teams_moves_achievements_and_outcomes(cli, tmp_path):
    seed(cli, tmp_path)
    cli("import", "teams", write_csv(tmp_path / "t2.csv", [["id", "institution_id", "name", "capacity"],
                                                          ["T9", "I1", "电瓷 团队", 4]]))
    cli("import", "achievements", write_csv(tmp_path / "a.csv", [["id", "team_id", "title"], ["A1", "T9", "电瓷配方"]]))
    cli("import", "outcomes", write_csv(tmp_path / "o.csv", [["need_id", "team_id", "stage", "date"],
                                                            ["N1", "T9", "已联系", "2026-10-01"]]))
    engine = open_database(cli.url)
    with session_factory(engine)() as session:
        pairs = find_duplicates(session)
    assert [(p.kind, p.keep_id, p.drop_id) for p in pairs if p.kind == "teams"] == [("teams", "T1", "T9")]

    cli("merge", "T1", "T9")
    assert cli.query("SELECT team_id FROM achievements") == [("T1",)]
    assert cli.query("SELECT team_id FROM outcome_events") == [("T1",)]
    assert cli.query("SELECT capacity FROM teams WHERE id = 'T1'") == [(4,)]  # filled from the merged record


def test_a_merge_that_cannot_be_made_says_why_and_writes_nothing(cli, tmp_path):
    seed(cli, tmp_path)
    before = cli.dump()
    result = cli("merge", "E101", "E999", ok=False)
    assert result.exit_code == 1 and "enterprises 中没有编号 E999" in result.output
    assert cli("merge", "X1", "E101", ok=False).exit_code == 1
    assert cli.dump() == before
