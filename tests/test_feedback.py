"""Outcome events one at a time: `cxy feedback`, POST /feedback, idempotency keys, pair history in
order, and no event lost or doubled under concurrent writers (threads, processes, parallel HTTP)."""

import csv
import io
import json
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import create_key
from matcher.settings import database_url
from matcher.store.db import open_database, write_session
from tests.conftest import copy_sample_db
from tests.feedback_writer import write_events as _write_events


@pytest.fixture()
def cli(sample_db, tmp_path):
    return copy_sample_db(sample_db, tmp_path)


def count(cli, where="1=1", *params) -> int:
    return cli.query(f"SELECT COUNT(*) FROM outcome_events WHERE {where}", *params)[0][0]


def test_an_event_is_recorded_once_per_key_and_the_pair_history_reads_in_order(cli):
    before = count(cli)
    cli("feedback", "record", "N101", "T301", "已联系", "--date", "2026-11-02", "--key", "visit-1")
    retry = cli("feedback", "record", "N101", "T301", "已联系", "--date", "2026-11-02", "--key", "visit-1")
    assert "此前已记录" in retry.output and count(cli) == before + 1
    cli("feedback", "record", "N101", "T301", "已签约", "--amount", "35万", "--date", "2026年11月20日")
    cli("feedback", "record", "N101", "T301", "negotiating", "--date", "2026-11-10")
    # a correction is a new event, never an edit: the signed amount was wrong
    cli("feedback", "record", "N101", "T301", "contract_signed", "--amount", "38", "--date", "2026-11-20")
    history = json.loads(cli("feedback", "history", "N101", "T301", "--format", "json").output)
    mine = [(e["stage"], e["date"], e["amount_wan"]) for e in history if e["source"] == "cli"]
    assert mine == [("contacted", "2026-11-02", None), ("negotiating", "2026-11-10", None),
                    ("contract_signed", "2026-11-20", 35.0), ("contract_signed", "2026-11-20", 38.0)]
    dates = [e["date"] for e in history]
    assert dates == sorted(dates)


def test_bad_events_say_which_field_and_write_nothing(cli):
    before = count(cli)
    cases = [
        (("N101", "T301", "maybe"), "stage"),
        (("N101", "T301", "rejected"), "reason：未成功需要原因"),
        (("N101", "T301", "已签约"), "amount_wan"),
        (("N999", "T301", "contacted"), "没有编号为 'N999' 的需求"),
        (("N101", "T301", "contacted", "--date", "last tuesday"), "date"),
    ]
    for args, message in cases:
        result = cli("feedback", "record", *args, ok=False)
        assert result.exit_code == 1 and message in result.output, result.output
    cli("feedback", "record", "N101", "T301", "rejected", "--reason", "报价过高：预算只有20万", "--key", "r1")
    clash = cli("feedback", "record", "N101", "T301", "rejected", "--reason", "技术不对口", "--key", "r1", ok=False)
    assert "已用于另一条记录" in clash.output
    assert count(cli) == before + 1
    stored = cli.query("SELECT reason_code, reason_text FROM outcome_events WHERE idempotency_key='r1'")
    assert stored == [("报价过高", "预算只有20万")]


def test_concurrent_threads_and_processes_lose_and_double_nothing(cli):
    before = count(cli)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda w: _write_events(str(cli.db), w, 40), range(8)))
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_write_events, args=(str(cli.db), 100 + w, 40)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    assert count(cli) == before + 12 * 40
    assert count(cli, "idempotency_key LIKE 'w%'") == 12 * 40
    assert cli.query("SELECT COUNT(DISTINCT idempotency_key) FROM outcome_events WHERE source='test'")[0][0] == 480


def test_feedback_over_http_records_once_under_parallel_retries(cli):
    engine = open_database(database_url(str(cli.db)))
    with write_session(engine) as session:
        bureau = create_key(session, "bureau", "test bureau")[1]
        researcher = create_key(session, "researcher", "test researcher", "T301")[1]
    before = count(cli)
    with TestClient(create_app(str(cli.db), warm=False)) as client:
        def post(body, key=bureau, idem=None):
            headers = {"X-API-Key": key, **({"Idempotency-Key": idem} if idem else {})}
            return client.post("/feedback", json=body, headers=headers)

        event = {"need_id": "N102", "team_id": "T107", "stage": "洽谈中", "date": "2026-11-05"}
        with ThreadPoolExecutor(8) as pool:
            same = list(pool.map(lambda _: post(event, idem="call-42"), range(16)))
            distinct = list(pool.map(lambda i: post({**event, "idempotency_key": f"d{i}"}), range(40)))
        assert sorted(r.status_code for r in same) == [200] * 15 + [201]
        assert len({r.json()["id"] for r in same}) == 1
        assert all(r.status_code == 201 for r in distinct)
        bad = post({**event, "stage": "rejected"})
        assert bad.status_code == 422 and "reason" in bad.json()["detail"]
        assert post(event, key=researcher).status_code == 403
        history = client.get("/feedback/N102/T107", headers={"X-API-Key": bureau}).json()
        assert sum(1 for e in history if e["source"] == "api") == 41
        by_county = client.get("/funnel", params={"by": "county"}, headers={"X-API-Key": bureau}).json()
        assert by_county == funnel_rows(cli, "--by", "county")
        assert client.get("/funnel", params={"by": "x"}, headers={"X-API-Key": bureau}).status_code == 422
    assert count(cli) == before + 41


def funnel_rows(cli, *args) -> list[dict]:
    return json.loads(cli("funnel", *args, "--format", "json").output)


def test_the_funnel_as_csv_opens_in_excel_with_chinese_headers_and_the_same_figures(cli):
    text = cli("funnel", "--by", "county", "--format", "csv").output
    assert text.startswith("\ufeff县区,已推荐,已联系,洽谈中,已签约,未成功,团队婉拒,已推荐→已联系 转化率,")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    as_json = funnel_rows(cli, "--by", "county")
    assert [(r["县区"], int(r["已签约"]), float(r["签约金额（万元）"] or 0)) for r in rows] == [
        (r["county"], r["contract_signed"], r["signed_amount_wan"] or 0) for r in as_json]


def test_the_funnel_counts_pairs_by_furthest_stage_and_groups_add_up(cli):
    overall = funnel_rows(cli)[0]
    pairs = cli.query("SELECT COUNT(*) FROM (SELECT DISTINCT need_id, team_id FROM outcome_events)")[0][0]
    signed = cli.query("SELECT COUNT(*) FROM (SELECT DISTINCT need_id, team_id FROM outcome_events "
                       "WHERE stage='contract_signed')")[0][0]
    assert overall["proposed"] == pairs and overall["contract_signed"] == signed
    assert overall["proposed"] >= overall["contacted"] >= overall["negotiating"] >= overall["contract_signed"]
    assert overall["signed_rate"] == round(signed / pairs, 3)
    for by in ("month", "county", "industry", "institution"):
        rows = funnel_rows(cli, "--by", by)
        assert sum(r["proposed"] for r in rows) == pairs and sum(r["contract_signed"] for r in rows) == signed
    # a pair signed without a recorded 已联系 still counts as contacted and negotiating
    cli("feedback", "record", "N110", "T120", "已签约", "--amount", "12.5", "--date", "2026-11-21")
    after = funnel_rows(cli)[0]
    assert after["proposed"] == pairs + 1 and after["contacted"] == overall["contacted"] + 1
    assert after["contract_signed"] == signed + 1
    assert after["signed_amount_wan"] == overall["signed_amount_wan"] + 12.5


def test_the_funnel_by_run_rank_shows_which_positions_converted(cli):
    shown = json.loads(cli("match", "need", "N105", "--top", "5", "--format", "json").output)
    first, third = shown["results"][0]["team_id"], shown["results"][2]["team_id"]
    cli("feedback", "record", "N105", first, "已签约", "--amount", "20", "--run", shown["run_id"])
    cli("feedback", "record", "N105", third, "未成功", "--reason", "报价过高")
    rows = {r["run_rank"]: r for r in funnel_rows(cli, "--by", "run_rank")}
    assert rows[1]["contract_signed"] >= 1 and rows[3]["rejected"] >= 1
    bad = cli("funnel", "--by", "weather", ok=False)
    assert bad.exit_code == 2 and "run_rank" in bad.output
