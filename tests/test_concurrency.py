"""Concurrent requests never fail: 50 match, firm and feedback requests at once on a real server all
answer 200/201. Each request used to hold a pooled connection for its whole life (the key check) and
take a second one to store its run, so past ~15 in flight they waited on each other until the pool
timed out (500s)."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from api.keys import create_key
from matcher.settings import database_url
from matcher.store.db import open_database, write_session


@pytest.fixture(scope="module")
def live(console_app):
    app, cli = console_app
    with write_session(open_database(database_url(str(cli.db)))) as session:
        key = create_key(session, "bureau", "concurrency test")[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        assert time.time() < deadline
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", key, cli
    server.should_exit = True
    thread.join(10)


def test_fifty_concurrent_match_firm_and_feedback_requests_all_succeed(live):
    base, key, cli = live
    headers = {"X-API-Key": key}
    runs_before = cli.query("SELECT count(*) FROM recommendation_runs")[0][0]

    def call(i: int) -> int:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            if i % 3 == 0:
                return client.get("/match/need/N101", params={"top": 5}).status_code
            if i % 3 == 1:
                return client.post("/firms/text", json={"text": "陶瓷 烧成", "top": 5}).status_code
            return client.post("/feedback", json={"need_id": "N102", "team_id": "T101", "stage": "contacted",
                                                  "idempotency_key": f"concurrency-{i}"}).status_code

    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(call, range(50)))
    assert sorted(set(codes)) in ([200, 201], [200]) and len(codes) == 50, codes
    lists = sum(1 for i in range(50) if i % 3 != 2)
    assert cli.query("SELECT count(*) FROM recommendation_runs")[0][0] == runs_before + lists
    assert cli.query("SELECT count(*) FROM outcome_events WHERE idempotency_key LIKE 'concurrency-%'")[0][0] == 16
