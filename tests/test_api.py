"""The HTTP service on the indexed sample: the same lists as the CLI, API keys with roles, hidden
contact fields for researchers, admin imports, and errors that say what to fix."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import create_key
from matcher.settings import database_url
from matcher.store.db import open_database, write_session
from tests.conftest import copy_sample_db


@pytest.fixture(scope="module")
def served(sample_db, tmp_path_factory):
    cli = copy_sample_db(sample_db, tmp_path_factory.mktemp("api"))
    engine = open_database(database_url(str(cli.db)))
    keys = {}
    with write_session(engine) as session:
        for role, team in (("bureau", None), ("researcher", "T301"), ("admin", None)):
            keys[role] = create_key(session, role, f"test {role}", team)[1]
    with TestClient(create_app(str(cli.db))) as client:
        yield client, keys, cli


def get(client, key, path, **params):
    return client.get(path, params=params, headers={"X-API-Key": key} if key else {})


def test_requests_without_a_valid_key_are_refused_with_how_to_get_one(served):
    client, _, _ = served
    missing = get(client, None, "/match/need/N101")
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    assert "cxy key create" in missing.json()["detail"]
    assert get(client, "cxy_not-a-key", "/match/need/N101").status_code == 401


def test_a_bureau_gets_the_same_list_as_the_command_line_and_it_is_stored(served):
    client, keys, cli = served
    response = get(client, keys["bureau"], "/match/need/N101", top=5)
    assert response.status_code == 200
    body = response.json()
    on_cli = cli("match", "need", "N101", "--top", "5", "--format", "json").output
    assert [r["team_id"] for r in body["results"]] == [r["team_id"] for r in json.loads(on_cli)["results"]]
    assert body["query"]["need_id"] == "N101" and body["results"][0]["explanation"]["evidence"]
    run = get(client, keys["bureau"], f"/runs/{body['run_id']}").json()
    assert run["kind"] == "match_need" and [i["team_id"] for i in run["items"]] == [
        r["team_id"] for r in body["results"]]


def test_options_travel_as_query_parameters_and_bodies(served):
    client, keys, _ = served
    by_institution = get(client, keys["bureau"], "/match/enterprise/E101", level="institution", top=3).json()
    assert len({r["institution_id"] for r in by_institution["results"]}) == 3
    text = client.post("/match/text", json={"text": "AOI 误报太多 想做深度学习复判", "top": 3, "why": ["T101"]},
                       headers={"X-API-Key": keys["bureau"]}).json()
    assert text["results"][0]["team_id"] == "T411" and text["why"][0]["team_id"] == "T101"
    firms = client.post("/firms/text", json={"text": "碳化硅窑具", "county": "莲花县", "top": 3},
                        headers={"X-API-Key": keys["bureau"]}).json()
    assert firms["results"] and all(r["explanation"]["need"]["county"] == "莲花县" for r in firms["results"])


def test_errors_are_4xx_with_a_detail_that_says_what_to_fix(served):
    client, keys, _ = served
    assert get(client, keys["bureau"], "/match/need/N999").json() == {"detail": "没有编号为 N999 的需求"}
    bad_level = get(client, keys["bureau"], "/match/need/N101", level="county")
    assert bad_level.status_code == 422 and "层级 county 无效，可选：team、institution" in bad_level.text
    empty = client.post("/match/text", json={"text": ""}, headers={"X-API-Key": keys["bureau"]})
    assert empty.status_code == 422
    assert get(client, keys["bureau"], "/teams", field="name", value="x").status_code == 422


def test_a_researcher_may_search_firms_for_their_own_team_only(served):
    client, keys, _ = served
    key = keys["researcher"]
    assert get(client, key, "/match/need/N101").status_code == 403
    own = get(client, key, "/firms/team/T301", top=3)
    ids = {r["need_id"] for r in own.json()["results"]}  # packing and tower needs (a survey's packing need among them)
    assert own.status_code == 200 and {"N101", "N302"} <= ids
    assert all(n in {"N101", "N102", "N302"} or n.startswith("SV-") for n in ids)
    other = get(client, key, "/firms/team/T107")
    assert other.status_code == 403 and "本团队（T301）" in other.json()["detail"]
    assert client.post("/firms/text", json={"text": "陶瓷填料"}, headers={"X-API-Key": key}).status_code == 200
    assert get(client, key, "/teams/T301").status_code == 200
    assert get(client, key, "/teams/T107").status_code == 403
    assert [t["id"] for t in get(client, key, "/teams").json()] == ["T301"]
    assert get(client, key, "/runs/whatever").status_code == 403
    assert get(client, key, "/admin/index/status").status_code == 403


def test_researchers_never_see_contacts_or_budget_unless_the_enterprise_made_them_public(served):
    client, keys, _ = served
    private = get(client, keys["researcher"], "/enterprises/E101").json()
    assert private["name"] and not {"contact_person", "contact_phone"} & set(private)
    assert "budget_wan" not in get(client, keys["researcher"], "/needs/N101").json()
    listed = get(client, keys["researcher"], "/needs", field="enterprise_id", value="E101").json()
    assert listed and all("budget_wan" not in n for n in listed)

    public = get(client, keys["researcher"], "/enterprises/E107").json()
    assert public["contact_person"] and public["contact_phone"]
    assert "budget_wan" in get(client, keys["researcher"], "/needs", field="enterprise_id", value="E107").json()[0]

    bureau = get(client, keys["bureau"], "/enterprises/E101").json()
    assert bureau["contact_person"] == "刘国平" and bureau["contact_phone"] == "0799-3412876"
    assert get(client, keys["bureau"], "/needs/N101").json()["budget_wan"] == 20


SURVEY_ANSWERS = {"rd_conditions", "cooperation", "wished_institutions", "innovation_plan"}


def test_survey_answers_are_for_the_bureau_only_even_where_contacts_are_public(served):
    client, keys, cli = served
    surveyed = cli.query("SELECT id FROM enterprises WHERE rd_conditions IS NOT NULL ORDER BY id LIMIT 1")[0][0]
    bureau = get(client, keys["bureau"], f"/enterprises/{surveyed}").json()
    assert set(bureau) >= SURVEY_ANSWERS and bureau["rd_conditions"]
    before = cli.query("SELECT contacts_public FROM enterprises WHERE id = ?", surveyed)[0][0]
    try:
        for public in (0, 1):
            cli.query("UPDATE enterprises SET contacts_public = ? WHERE id = ?", bool(public), surveyed)
            seen = get(client, keys["researcher"], f"/enterprises/{surveyed}").json()
            assert seen["name"] and not SURVEY_ANSWERS & set(seen), public
            assert ("contact_person" in seen) == bool(public)
            listed = get(client, keys["researcher"], "/enterprises", field="county", value=seen["county"]).json()
            assert listed and not any(SURVEY_ANSWERS & set(e) for e in listed)
    finally:
        cli.query("UPDATE enterprises SET contacts_public = ? WHERE id = ?", before, surveyed)


def test_an_admin_imports_a_file_and_a_bad_one_writes_nothing(served, tmp_path):
    client, keys, cli = served
    headers = {"X-API-Key": keys["admin"]}
    bad = "id,enterprise_id,title,budget_wan\nN950,E101,新需求,很多\n".encode()
    refused = client.post("/admin/import/needs", params={"filename": "needs.csv"}, content=bad, headers=headers)
    assert refused.status_code == 422
    problem = refused.json()["detail"]["problems"][0]
    assert "needs.csv" in problem and "第 2 行" in problem and "budget_wan" in problem
    assert cli.query("SELECT count(*) FROM needs WHERE id='N950'") == [(0,)]

    good = "id,enterprise_id,title,description\nN950,E101,钕铁硼晶界扩散,减少镝铽用量\n".encode()
    done = client.post("/admin/import/needs", params={"filename": "needs.csv"}, content=good, headers=headers)
    assert done.status_code == 200 and done.json()[0]["inserted"] == 1
    assert client.post("/admin/import/needs", params={"filename": "needs.csv"}, content=good,
                       headers={"X-API-Key": keys["bureau"]}).status_code == 403
    built = client.post("/admin/index/build", headers=headers).json()
    assert [(r["collection"], r["encoded"]) for r in built] == [("capabilities", 0), ("needs", 1)]
    listed = get(client, keys["bureau"], "/match/need/N950", top=3).json()
    assert {r["team_id"] for r in listed["results"]} & {"T516", "T517"}


def test_openapi_documents_every_operation(served):
    client, _, _ = served
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/match/need/{need_id}", "/match/enterprise/{enterprise_id}", "/match/text", "/firms/team/{team_id}",
                 "/firms/text", "/teams/{item_id}", "/enterprises", "/challenges/{item_id}", "/runs/{run_id}",
                 "/admin/import/{kind}", "/admin/index/build"):
        assert path in paths


def test_key_commands_create_list_and_revoke(served):
    _, _, cli = served
    assert "科研人员的密钥属于一个团队" in cli("key", "create", "--role", "researcher", "--name", "x",
                                                        ok=False).output
    created = cli("key", "create", "--role", "bureau", "--name", "县科技局").output
    key = created.splitlines()[1]
    assert key.startswith("cxy_") and cli.query("SELECT count(*) FROM api_keys WHERE key_hash=?", key) == [(0,)]
    key_id = created.split()[1]
    cli("key", "revoke", key_id)
    assert "已停用" in [line for line in cli("key", "list").output.splitlines() if "县科技局" in line][0]



def test_health_says_when_the_caches_behind_the_first_requests_have_filled(served, encoder):
    from matcher.matching.service import MatchService

    _, _, cli = served
    service = MatchService(open_database(database_url(str(cli.db))), encoder, store_runs=False)
    with TestClient(create_app(str(cli.db), service=service)) as client:  # the app warms it on start
        assert client.get("/health").json()["warming"] is True  # every team's text and every need's query to go
        deadline = time.monotonic() + 120
        while client.get("/health").json()["warming"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.get("/health").json()["status"] == "ok"
        assert len(service._team_texts) == len(service.catalog.teams)  # what the warm-up filled
