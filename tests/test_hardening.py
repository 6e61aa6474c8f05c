"""Hostile or broken input over HTTP gets a 4xx with a Chinese message, never a 500: numbers past the
database's range, infinite diversity, a megabyte of query text, upload names with NUL or 300
characters, oversized uploads; exported spreadsheets never carry a live formula."""

import pytest
from fastapi.testclient import TestClient

from api.keys import create_key
from matcher.cli.render import csv_text
from matcher.reports.cells import safe_cell
from matcher.settings import database_url
from matcher.store.db import open_database, write_session


@pytest.fixture(scope="module")
def api(console_app):
    app, cli = console_app
    with write_session(open_database(database_url(str(cli.db)))) as session:
        keys = {role: create_key(session, role, f"hardening {role}")[1] for role in ("bureau", "admin")}
    with TestClient(app, client=("10.7.0.1", 1)) as client:
        yield client, keys, cli


def test_list_offsets_beyond_the_databases_integer_range_are_refused_in_chinese(api):
    client, keys, _ = api
    response = client.get("/enterprises", params={"offset": 10**19}, headers={"X-API-Key": keys["bureau"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "查询参数 offset：不能大于 1000000000"


@pytest.mark.parametrize("diversity", ["cap:inf", "mmr:nan", "mmr:1e309", "cap:0"])
def test_impossible_diversity_settings_are_a_422_that_says_what_is_allowed(api, diversity):
    client, keys, _ = api
    response = client.get("/match/need/N101", params={"diversity": diversity}, headers={"X-API-Key": keys["bureau"]})
    assert response.status_code == 422 and "可用 cap:N" in response.json()["detail"]


def test_a_megabyte_of_query_text_is_refused_before_any_work_and_nothing_is_stored(api):
    client, keys, cli = api
    runs = cli.query("SELECT count(*) FROM recommendation_runs")[0][0]
    response = client.post("/match/text", json={"text": "陶瓷" * 3000}, headers={"X-API-Key": keys["bureau"]})
    assert response.status_code == 422 and "最多 5000 个字符" in response.json()["detail"][0]["msg"]
    huge = client.post("/match/text", json={"text": "陶瓷" * 500_000}, headers={"X-API-Key": keys["bureau"]})
    assert huge.status_code == 413
    assert cli.query("SELECT count(*) FROM recommendation_runs")[0][0] == runs


@pytest.mark.parametrize(("filename", "said"), [("a\x00b.csv", None), ("x" * 300 + ".csv", "文件名过长"),
                                                ("teams.exe", "只能导入"), ("", "缺少文件名")])
def test_upload_names_are_checked_before_anything_is_read(api, filename, said):
    client, keys, cli = api
    before = cli.query("SELECT count(*) FROM teams")[0][0]
    response = client.post("/admin/import/teams", params={"filename": filename},
                           content=b"id,institution_id,name\nT990,INS003,x\n", headers={"X-API-Key": keys["admin"]})
    if said is None:  # NUL is stripped from the name: the file itself is fine and imports
        assert response.status_code == 200
    else:
        assert response.status_code == 422 and said in response.json()["detail"]
        assert cli.query("SELECT count(*) FROM teams")[0][0] == before


def test_an_upload_over_the_size_limit_is_refused_with_413(api):
    client, keys, _ = api
    response = client.post("/admin/import/teams", params={"filename": "teams.csv"}, content=b"x",
                           headers={"X-API-Key": keys["admin"], "Content-Length": str(60 * 1024 * 1024)})
    assert response.status_code == 413 and "MB" in response.json()["detail"]


def test_text_that_looks_like_a_formula_is_exported_as_text():
    assert safe_cell("=HYPERLINK(\"http://x\",A1)") == "'=HYPERLINK(\"http://x\",A1)"
    assert [safe_cell(v) for v in ("+1", "-2", "@SUM(A1)", "\tx", "普通名称", 3.5, None)] == [
        "'+1", "'-2", "'@SUM(A1)", "'\tx", "普通名称", 3.5, None]
    result = {"query": {"need_id": "N1"}, "run_id": "r", "results": [{
        "rank": 1, "team_id": "T1", "score": 0.9, "explanation": {
            "summary": "=cmd|' /C calc'!A0", "team": {"team_name": "@团队", "institution": "单位"}}}]}
    row = csv_text([result]).splitlines()[1]
    assert "'=cmd" in row and "'@团队" in row


def test_a_json_body_over_a_megabyte_is_refused_before_it_is_read(api):
    client, keys, _ = api
    response = client.post("/feedback", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                           headers={"X-API-Key": keys["bureau"], "Content-Type": "application/json"})
    assert response.status_code == 413 and "请求体过大" in response.json()["detail"]


@pytest.mark.parametrize("amount", ["1e309", 1e300, "1e300万元", "Infinity"])
def test_infinite_or_absurd_amounts_are_refused_and_nothing_is_stored(api, amount):
    client, keys, cli = api
    before = cli.query("SELECT count(*) FROM outcome_events")[0][0]
    response = client.post("/feedback", json={"need_id": "N101", "team_id": "T102", "stage": "contract_signed",
                                              "amount_wan": amount}, headers={"X-API-Key": keys["bureau"]})
    assert response.status_code == 422 and response.json()["detail"].startswith("amount_wan：")
    assert cli.query("SELECT count(*) FROM outcome_events")[0][0] == before


@pytest.mark.parametrize(("body", "said"), [
    ("id,enterprise_id,title,budget_wan\nN777,E101,某需求,1e309\n".encode(), "有限的数字"),
    ("id,enterprise_id,title\n".encode("utf-16")[:-1], "UTF-16 文本"),
])
def test_broken_numbers_and_truncated_text_in_an_upload_are_a_422_naming_the_file(api, body, said):
    client, keys, cli = api
    before = cli.dump()
    response = client.post("/admin/import/needs", params={"filename": "needs.csv"}, content=body,
                           headers={"X-API-Key": keys["admin"]})
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert problems[0].startswith("needs.csv") and said in problems[0]
    assert cli.dump() == before
