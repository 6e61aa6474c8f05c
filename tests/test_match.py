"""`cxy match …` and `cxy firms …` on the indexed sample, with the real model, index and database."""

import csv
import io
import json

import pytest

from tests.conftest import Cli, copy_sample_db, new_db


@pytest.fixture(scope="module")
def cli(sample_db) -> Cli:
    return Cli(sample_db)


def as_json(cli: Cli, *args) -> dict:
    return json.loads(cli(*args, "--format", "json").output)


def test_a_need_gets_ranked_explained_teams_in_the_contract_shape(cli):
    out = as_json(cli, "match", "need", "N101", "--top", "5")
    assert out["query"] == {"kind": "need", "need_id": "N101", "enterprise_id": "E101",
                            "title": "陶瓷填料在硫酸干吸塔里碎环、掉渣"}
    results = out["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(0 < r["score"] < 1 for r in results)
    # the labelled "call first" teams for this need: packing formulation, tower packing, packing failure analysis
    assert {r["team_id"] for r in results[:3]} == {"T301", "T107", "T109"}
    top = results[0]
    assert set(top) == {"rank", "team_id", "institution_id", "score", "explanation"}
    assert top["institution_id"] == cli.query("SELECT institution_id FROM teams WHERE id=?", top["team_id"])[0][0]
    evidence = top["explanation"]["evidence"][0]
    assert evidence["document"].startswith("ach:") and "【" in evidence["sentence"]
    assert cli.query("SELECT team_id FROM achievements WHERE id=?", evidence["achievement_id"])[0][0] == top["team_id"]
    contributions = {c["feature"]: c["contribution"] for c in top["explanation"]["contributions"]}
    assert contributions["semantic"] > 0 and "region" in contributions  # 江西 institution for a 江西 enterprise
    assert top["explanation"]["summary"].startswith(top["explanation"]["team"]["team_name"])


def test_every_list_is_stored_as_a_recommendation_run_with_its_items(cli):
    before = cli.query("SELECT count(*) FROM recommendation_runs")[0][0]
    out = as_json(cli, "match", "need", "N203", "--top", "4")
    runs = cli.query("SELECT id, kind, model_version, ranker_version FROM recommendation_runs WHERE id=?",
                     out["run_id"])
    assert cli.query("SELECT count(*) FROM recommendation_runs")[0][0] == before + 1
    assert runs[0][1] == "match_need" and runs[0][2] == out["model"] and runs[0][3].startswith("weighted:")
    items = cli.query("SELECT rank, team_id, need_id, score FROM recommendation_items WHERE run_id=? ORDER BY rank",
                      out["run_id"])
    assert items == [(r["rank"], r["team_id"], "N203", r["score"]) for r in out["results"]]


def test_an_enterprise_list_merges_its_open_needs_and_says_which_need_each_team_serves(cli):
    out = as_json(cli, "match", "enterprise", "E101", "--top", "6")
    assert out["query"]["open_needs"] == ["N101", "N102"]
    served = {r["explanation"]["need_id"] for r in out["results"]}
    assert served == {"N101", "N102"}
    assert len({r["team_id"] for r in out["results"]}) == 6
    assert all(r["explanation"]["need_title"] for r in out["results"])


def test_institution_level_lists_each_institution_once_with_its_best_teams(cli):
    out = as_json(cli, "match", "need", "N101", "--level", "institution", "--top", "5")
    institutions = [r["institution_id"] for r in out["results"]]
    assert len(set(institutions)) == 5
    for r in out["results"]:
        assert r["explanation"]["teams"][0]["team_id"] == r["team_id"]
        assert r["explanation"]["institution_name"]


def test_diversity_caps_teams_per_institution(cli):
    free = as_json(cli, "match", "text", "陶瓷", "--top", "10", "--diversity", "none")["results"]
    capped = as_json(cli, "match", "text", "陶瓷", "--top", "10", "--diversity", "cap:1")["results"]
    assert len({r["institution_id"] for r in free}) < 10  # without a cap, some institution appears twice
    assert len({r["institution_id"] for r in capped}) == 10


def test_filters_keep_only_matching_teams_and_why_names_the_rule(cli):
    out = as_json(cli, "match", "need", "N101", "--province", "江西", "--min-trl", "7", "--why", "T301",
                  "--why", "T410")
    assert out["results"]
    for r in out["results"]:
        assert r["explanation"]["team"]["province"] == "江西"
        assert max(e.get("trl") or 0 for e in r["explanation"]["evidence"]) >= 7
    t301, t410 = out["why"]
    assert t301["position_before_filters"] == 1 and not t301["in_list"]  # the best team, but its evidence is TRL 6
    assert t301["reasons"][0] == "相关成果最高 TRL 6，低于要求的 7"
    assert t410["reasons"][0] == "单位在湖北，不在筛选的省份 江西"


def test_why_explains_a_lower_ranked_team_by_its_feature_gap(cli):
    out = as_json(cli, "match", "need", "N101", "--top", "3", "--why", "T102", "--why", "T999")
    t102, missing = out["why"]
    assert t102["found"] and not t102["in_list"] and t102["position_before_filters"] > 3
    assert t102["gap_to_last_listed"][0]["feature"] == "semantic"
    assert "得分低于列表末位" in t102["reasons"][0]
    assert missing == {"team_id": "T999", "found": False, "reasons": ["没有编号为 T999 的团队"]}


def test_exclude_proposed_drops_pairs_with_outcomes(cli):
    recorded = {t for (t,) in cli.query("SELECT DISTINCT team_id FROM outcome_events WHERE need_id='N101'")}
    assert recorded
    out = as_json(cli, "match", "need", "N101", "--top", "20", "--exclude-proposed")
    assert recorded.isdisjoint(r["team_id"] for r in out["results"])


def test_a_rejection_for_technical_mismatch_counts_against_the_pair(cli):
    # outcomes.csv: N402-T219 rejected 技术不对口
    out = as_json(cli, "match", "need", "N402", "--top", "30", "--diversity", "none", "--why", "T219")
    why = out["why"][0]
    contributions = {c["feature"]: c["contribution"] for c in why["explanation"]["contributions"]}
    assert contributions["history_pair"] == -1.0
    assert why["explanation"]["history"][-1]["stage"] == "rejected"


def test_traditional_characters_rank_like_their_simplified_twin(cli):
    simplified = as_json(cli, "match", "text", "电瓷绝缘子釉面缺陷的自动检测", "--top", "5")
    traditional = as_json(cli, "match", "text", "電瓷絕緣子釉面缺陷的自動檢測", "--top", "5")
    assert [r["team_id"] for r in traditional["results"]] == [r["team_id"] for r in simplified["results"]]


def test_english_abbreviations_in_free_text_find_the_right_team(cli):
    out = as_json(cli, "match", "text", "PCB 产线 AOI 误报太多，VRS 复判要很多人", "--top", "3")
    assert out["results"][0]["team_id"] == "T411"  # AOI re-judging software for PCB lines
    assert "aoi" in out["results"][0]["explanation"]["matched_terms"]


def test_several_queries_print_json_lines_one_object_each(cli, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "text": "窑炉余热回收"}\n\n锂电池 BMS SOC 估算\n', encoding="utf-8")
    lines = cli("match", "text", "--queries", queries, "--top", "2", "--format", "json").output.strip().splitlines()
    objects = [json.loads(line) for line in lines]
    assert [o["query"].get("id") for o in objects] == ["a", None]
    assert [o["query"]["text"] for o in objects] == ["窑炉余热回收", "锂电池 BMS SOC 估算"]
    assert all(len(o["results"]) == 2 for o in objects)

    several = cli("match", "need", "N101", "N102", "--top", "1", "--format", "json").output.strip().splitlines()
    assert [json.loads(line)["query"]["need_id"] for line in several] == ["N101", "N102"]


def test_csv_output_has_one_row_per_result_with_the_query(cli):
    text = cli("match", "need", "N101", "N203", "--top", "3", "--format", "csv").output
    assert text.startswith("\ufeff查询,排名,团队编号,团队,院所编号,所属院所,")  # Excel/WPS open it as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(r["查询"], r["排名"]) for r in rows] == [("N101", "1"), ("N101", "2"), ("N101", "3"),
                                                    ("N203", "1"), ("N203", "2"), ("N203", "3")]
    assert all(r["团队"] and r["所属院所"] and r["推荐理由"] for r in rows)


def test_table_output_reads_for_a_clerk(cli):
    text = cli("match", "need", "N101", "--top", "2").output
    assert text.splitlines()[0] == "需求 N101：陶瓷填料在硫酸干吸塔里碎环、掉渣（企业 E101）"
    assert "依据：" in text and "加分：语义相关度" in text and "推荐记录" in text


def test_firms_for_a_team_are_open_needs_with_the_teams_evidence(cli):
    out = as_json(cli, "firms", "team", "T301", "--top", "3")
    assert out["query"]["team_id"] == "T301"
    ids = {r["need_id"] for r in out["results"]}  # packing and tower needs (a survey's packing need among them)
    assert {"N101", "N302"} <= ids and all(n in {"N101", "N102", "N302"} or n.startswith("SV-") for n in ids)
    for r in out["results"]:
        assert set(r) == {"rank", "need_id", "enterprise_id", "score", "explanation"}
        assert r["explanation"]["evidence"][0]["document"] in {"team:T301"} | {
            f"ach:{a}" for (a,) in cli.query("SELECT id FROM achievements WHERE team_id='T301'")}
        assert r["explanation"]["need"]["enterprise_name"]
        assert "contact_phone" not in json.dumps(r, ensure_ascii=False)


def test_firms_filters_by_county_and_levels_by_enterprise(cli):
    out = as_json(cli, "firms", "text", "陶瓷", "--county", "湘东区", "--top", "5")
    assert out["results"] and all(r["explanation"]["need"]["county"] == "湘东区" for r in out["results"])
    by_enterprise = as_json(cli, "firms", "text", "陶瓷", "--level", "enterprise", "--top", "5")
    assert len({r["enterprise_id"] for r in by_enterprise["results"]}) == 5


def test_bad_requests_fail_with_what_to_fix_and_store_nothing(cli, tmp_path):
    before = cli.query("SELECT count(*) FROM recommendation_runs")[0][0]
    missing = cli("match", "need", "N101", "N999", ok=False)
    assert missing.exit_code == 1 and "没有编号为 N999 的需求" in missing.output
    kind = cli("match", "need", "N101", "--type", "lab", ok=False)
    assert "单位类型 lab 无效，可选：university、research_institute" in kind.output
    diversity = cli("match", "text", "陶瓷", "--diversity", "cap:0", ok=False)
    assert "可用 cap:N" in diversity.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{"id": 2}\n', encoding="utf-8")
    assert "bad.jsonl 第 2 行" in cli("match", "text", "--queries", bad, ok=False).output
    assert cli.query("SELECT count(*) FROM recommendation_runs")[0][0] == before


def test_matching_before_an_index_exists_says_how_to_build_it(tmp_path):
    cli = new_db(tmp_path, "empty.db")
    result = cli("match", "text", "陶瓷", ok=False)
    assert result.exit_code == 1 and "请运行：cxy index build" in result.output


def test_a_new_need_is_matched_after_import_and_index_build(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path / "copy")
    (tmp_path / "n.csv").write_text("id,enterprise_id,title,description\n"
                                    "N900,E101,钕铁硼磁体晶界扩散,想用晶界扩散减少镝铽用量，降低磁体成本\n",
                                    encoding="utf-8")
    cli("import", "needs", tmp_path / "n.csv", "--no-index")  # the update that follows an import: test_intake_index
    assert "新增或改动 1" in cli("index", "status").output
    cli("index", "build")
    out = as_json(cli, "match", "need", "N900", "--top", "2")
    assert {r["team_id"] for r in out["results"]} & {"T516", "T517"}  # the NdFeB grain-boundary diffusion teams


def test_marks_do_not_depend_on_the_processs_hash_seed():
    import subprocess
    import sys

    code = "from matcher.matching.explain import mark; print(mark('电瓷厂的电瓷', ['电瓷', '瓷厂']))"
    # All six at once: each spends its time importing, so they overlap instead of queueing.
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"PYTHONHASHSEED": str(seed), "PATH": ""}) for seed in range(6)]
    done = [(p.communicate(timeout=300), p.returncode) for p in procs]
    assert all(code == 0 for _, code in done), [err for (_, err), _ in done]
    assert {out.strip() for (out, _), _ in done} == {"电【瓷厂】的【电瓷】"}
