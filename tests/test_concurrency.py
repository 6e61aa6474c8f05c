"""Concurrent requests never fail: 50 match, firm and feedback requests at once on a real server all
answer 200/201. Each request used to hold a pooled connection for its whole life (the key check) and
take a second one to store its run, so past ~15 in flight they waited on each other until the pool
timed out (500s). Past the admission limit a heavy request is refused at once (503, Retry-After)."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.keys import create_key
from api.limits import Admission
from matcher.settings import database_url
from matcher.store.db import open_database, write_session


@contextmanager
def serving(app):
    """``app`` under uvicorn on a free loopback port; yields its base URL."""
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def wait_until(condition, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def live(console_app):
    app, cli = console_app
    with write_session(open_database(database_url(str(cli.db)))) as session:
        key = create_key(session, "bureau", "concurrency test")[1]
    with serving(app) as base:
        yield base, key, cli


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


def test_a_full_queue_answers_503_with_retry_after_at_once_while_admitted_requests_answer_200(
        live, console_app, monkeypatch):
    _, key, cli = live
    service = console_app[0].state.service  # loaded by the live server's start-up
    gate, original = threading.Event(), service.match_need
    monkeypatch.setattr(service, "match_need", lambda *a, **k: gate.wait(60) and original(*a, **k))
    admission = Admission(active=1, waiting=2)
    headers = {"X-API-Key": key}

    def call(path: str) -> httpx.Response:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            return client.get(path, params={"top": 3})

    with serving(create_app(str(cli.db), service=service, admission=admission)) as base, ThreadPoolExecutor(8) as pool:
        running = pool.submit(call, "/match/need/N101")
        wait_until(lambda: admission.running == 1)
        waiting = [pool.submit(call, "/match/need/N101") for _ in range(2)]
        wait_until(lambda: admission.queued == 2)
        refused = [call("/match/need/N102"), call("/firms/team/T101")]
        assert all(r.status_code == 503 and r.headers["Retry-After"] == "5" for r in refused), refused
        assert "服务繁忙" in refused[0].json()["detail"] and "CXY_MAX_WAITING" in refused[0].json()["detail"]
        assert call("/enterprises/E101").status_code == 200  # light requests are not queued
        gate.set()
        assert [f.result().status_code for f in (running, *waiting)] == [200, 200, 200]
    assert admission.running == admission.queued == 0
