"""揭榜挂帅: targets split from the indicators text, eligibility traps, per-target coverage, consortium
proposals, on the indexed sample through the CLI and HTTP (real model, index and database)."""

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import create_key
from matcher.challenges.consortium import best_consortium
from matcher.challenges.targets import split_targets
from matcher.settings import database_url
from matcher.store.db import open_database, write_session
from tests.conftest import Cli, copy_sample_db


# ---- targets --------------------------------------------------------------------------------------
def test_indicators_split_on_semicolons_lines_and_numbering_keeping_signs_and_units():
    targets = split_targets("1、介电损耗≤0.0003 2、抗弯强度≥300MPa\n3.良率提升至95%以上；"
                            "（4）耐温不低于200℃;⑤寿命≥5000h")
    assert [t.text for t in targets] == ["介电损耗≤0.0003", "抗弯强度≥300MPa", "良率提升至95%以上", "耐温不低于200℃",
                                         "寿命≥5000h"]
    assert [t.index for t in targets] == [0, 1, 2, 3, 4]
    conditions = [(c.op, c.value, c.unit) for t in targets for c in t.conditions]
    assert conditions == [("≤", "0.0003", ""), ("≥", "300", "MPa"), ("≥", "95", "%"), ("≥", "200", "℃"),
                          ("≥", "5000", "h")]
    assert targets[1].words == "抗弯强度 MPa"


def test_decimals_ranges_and_chemical_formulas_are_not_split_or_read_as_numbers():
    targets = split_targets("介电常数εr为5.5~7.0；SO2/SO3转化率≤1%；锂渣含Li2O≤0.30%；断裂韧性≥6.5MPa·m1/2")
    assert len(targets) == 4
    assert [(c.op, c.value) for c in targets[0].conditions] == [("~", "5.5~7.0")]
    assert [(c.op, c.value, c.unit) for c in targets[1].conditions] == [("≤", "1", "%")]
    assert "SO2/SO3" in targets[1].words and "Li2O" in targets[2].words
    assert targets[3].conditions[0].unit == "MPa·m1/2"
    assert split_targets("") == [] and split_targets(None) == []


# ---- consortium solver ----------------------------------------------------------------------------
def test_the_consortium_covers_every_target_with_as_few_strong_members_as_it_takes():
    scores = {"A": {0: 6, 1: 6, 2: 1}, "B": {0: 1, 1: 1, 2: 6}, "C": {0: 5, 1: 5, 2: 5}, "D": {2: 5.5}}
    covers = {"A": frozenset({0, 1}), "B": frozenset({2}), "C": frozenset({0, 1, 2}), "D": frozenset({2})}
    fit = {"A": 3, "B": 2, "C": 2.5, "D": 1}
    one = best_consortium([0, 1, 2], scores, covers, fit, k=1)
    assert one.members == ("C",) and not one.uncovered
    # A+B: 6+6+6 - 2 (second member) = 16 beats C alone (15) and every other pair or triple
    three = best_consortium([0, 1, 2], scores, covers, fit, k=3)
    assert three.members == ("A", "B") and three.assignment == {0: "A", 1: "A", 2: "B"} and three.fit == 16
    partial = best_consortium([0, 1, 2, 3], scores, covers, fit, k=3)
    assert partial.uncovered == (3,)
    assert best_consortium([0], {"A": {0: 1}}, {"A": frozenset()}, {"A": 1}, k=3) is None


# ---- on the sample --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli(sample_db) -> Cli:
    return Cli(sample_db)


def as_json(cli: Cli, *args) -> dict:
    return json.loads(cli(*args, "--format", "json").output)


def test_candidates_are_eligible_and_the_traps_are_listed_with_the_rule_that_excluded_them(cli):
    out = as_json(cli, "challenge", "candidates", "C11", "--top", "10", "--show-ineligible")
    assert out["query"]["challenge_id"] == "C11" and len(out["query"]["targets"]) == 5
    allowed = set(out["query"]["rules"]["provinces"])
    for r in out["results"]:
        team = r["explanation"]["team"]
        assert team["province"] in allowed and team["institution_type"] in out["query"]["rules"]["types"]
        assert r["explanation"]["readiness"] >= 5 and r["explanation"]["eligibility"] == "符合"
    listed = {r["team_id"] for r in out["results"]}
    excluded = {x["team_id"]: x for x in out["ineligible"]}
    # T106 (上海) covers every target but the challenge is open to five other provinces only
    assert "T106" not in listed and excluded["T106"]["covered_targets"] == [0, 1, 2, 3, 4]
    assert excluded["T106"]["reasons"][0].startswith("地域不符")
    # T118's achievements stop at TRL3; the challenge asks for TRL5
    assert "T118" not in listed and any(r.startswith("成熟度不足") for r in excluded["T118"]["reasons"])
    without = as_json(cli, "challenge", "candidates", "C11", "--top", "10")
    assert "ineligible" not in without and [r["team_id"] for r in without["results"]] == [
        r["team_id"] for r in out["results"]]


def test_each_candidate_says_which_targets_its_evidence_covers(cli):
    out = as_json(cli, "challenge", "candidates", "C12", "--top", "5")
    best = out["results"][0]
    assert best["team_id"] == "T104"  # silicon nitride balls: the labelled all-round team
    coverage = best["explanation"]["coverage"]
    assert [c["index"] for c in coverage] == [0, 1, 2, 3, 4]
    assert {c["index"] for c in coverage if c["covered"]} == set(best["explanation"]["covered_targets"])
    assert len(best["explanation"]["covered_targets"]) >= 3
    hardness = coverage[0]
    sentence = hardness["evidence"]["sentence"]
    assert hardness["covered"] and "硬度" in sentence and "【" in sentence
    assert best["explanation"]["summary"].startswith("覆盖指标 ")
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)


def test_a_team_at_full_load_is_not_proposed(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    capacity = cli.query("SELECT capacity FROM teams WHERE id='T104'")[0][0]
    before = as_json(cli, "challenge", "candidates", "C12", "--top", "5")
    assert before["results"][0]["team_id"] == "T104"
    rows = "\n".join(f"N{201 + i},T104,已推荐,,2026-11-20," for i in range(capacity))
    header = "需求编号,团队编号,阶段,合同金额（万元）,日期,原因"
    (tmp_path / "more.csv").write_text(f"{header}\n{rows}\n", encoding="utf-8")
    cli("import", "outcomes", str(tmp_path / "more.csv"))
    after = as_json(cli, "challenge", "candidates", "C12", "--top", "5", "--show-ineligible")
    assert "T104" not in {r["team_id"] for r in after["results"]}
    full = next(x for x in after["ineligible"] if x["team_id"] == "T104")
    [reason] = full["reasons"]  # the sample's own open proposals count too
    assert reason.startswith("团队满负荷：在办 ") and reason.endswith(f"项，容量 {capacity} 项")


def test_a_consortium_assigns_each_target_to_an_eligible_member_and_names_what_stays_uncovered(cli):
    out = as_json(cli, "challenge", "consortium", "C22", "--max-teams", "3")
    c = out["consortium"]
    members = [r["team_id"] for r in out["results"]]
    assert 1 <= len(members) <= 3 and c["members"] == members and c["lead"] == members[0]
    assert [r["explanation"]["role"] for r in out["results"]] == ["lead"] + ["member"] * (len(members) - 1)
    for a in c["assignment"]:
        if a["team_id"]:
            holder = next(r for r in out["results"] if r["team_id"] == a["team_id"])
            assert a["index"] in holder["explanation"]["covered_targets"]
    candidates = as_json(cli, "challenge", "candidates", "C22", "--top", "40", "--show-ineligible")
    assert set(members) <= {r["team_id"] for r in candidates["results"]}
    best_single = max(len(r["explanation"]["covered_targets"]) for r in candidates["results"])
    assert sum(1 for a in c["assignment"] if a["team_id"]) >= best_single
    assert [u["index"] for u in c["uncovered"]] == [a["index"] for a in c["assignment"] if not a["team_id"]]
    solo = as_json(cli, "challenge", "consortium", "C22", "--max-teams", "1")
    assert len(solo["results"]) == 1
    run = cli.query("SELECT kind FROM recommendation_runs WHERE id=?", out["run_id"])
    assert run == [("challenge_consortium",)]
    table = cli("challenge", "consortium", "C22").output
    assert "联合体指标分工" in table and "牵头" in table


def test_bad_challenge_requests_say_what_to_fix_and_store_nothing(cli):
    runs = cli.query("SELECT COUNT(*) FROM recommendation_runs")[0][0]
    missing = cli("challenge", "candidates", "C99", ok=False)
    assert missing.exit_code == 1 and "没有编号为 C99 的榜单" in missing.output
    too_big = cli("challenge", "consortium", "C11", "--max-teams", "9", ok=False)
    assert too_big.exit_code == 1 and "1 到 5 个团队" in too_big.output
    assert cli.query("SELECT COUNT(*) FROM recommendation_runs")[0][0] == runs


def test_challenges_over_http_for_bureau_keys_only(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    engine = open_database(database_url(str(cli.db)))
    with write_session(engine) as session:
        bureau = create_key(session, "bureau", "test bureau")[1]
        researcher = create_key(session, "researcher", "test researcher", "T301")[1]
    with TestClient(create_app(str(cli.db))) as client:
        def get(key, path, **params):
            return client.get(path, params=params, headers={"X-API-Key": key})

        body = get(bureau, "/challenges/C11/candidates", top=5, show_ineligible=True).json()
        on_cli = as_json(cli, "challenge", "candidates", "C11", "--top", "5")
        assert [r["team_id"] for r in body["results"]] == [r["team_id"] for r in on_cli["results"]]
        assert "T106" in {x["team_id"] for x in body["ineligible"]}
        team = get(bureau, "/challenges/C12/consortium", max_teams=2).json()
        assert 1 <= len(team["consortium"]["members"]) <= 2
        assert get(bureau, f"/runs/{team['run_id']}").json()["kind"] == "challenge_consortium"
        assert get(researcher, "/challenges/C11/candidates").status_code == 403
        assert get(bureau, "/challenges/C99/candidates").status_code == 404
        assert get(bureau, "/challenges/C11/consortium", max_teams=9).status_code == 422
