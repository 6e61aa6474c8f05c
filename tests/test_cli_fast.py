"""The command line answers fast (issue 16 item 4): ids are checked with plain SQL before anything heavy
loads, and the ranking commands ask a running `cxy serve` on the same database, printing exactly what
their own process would print. Real processes throughout: `cxy` subprocesses, a real `cxy serve` on a
copy of the indexed sample, real sockets. Timings are in bench/cli.py, never asserted here."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from matcher.local_server import BATCH_PATH, db_key, discovery_file
from tests.conftest import ROOT, SAMPLE, Cli, copy_sample_db, new_db

HEAVY = ("torch", "sentence_transformers", "faiss", "sqlalchemy")
RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Runs the command line in a fresh interpreter and says, at exit, which heavy modules it imported.
PROBE = """
import atexit, sys
atexit.register(lambda: print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr))
sys.argv = ["cxy", *{args!r}]
from matcher.cli import main
main()
"""


def cxy(db: Path, *args: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matcher", "--db", str(db), *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout)


def probe(db: Path, *args: str, heavy: tuple[str, ...] = HEAVY) -> tuple[subprocess.CompletedProcess, set[str]]:
    code = PROBE.format(heavy=heavy, args=["--db", str(db), *args])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    heavy = re.search(r"HEAVY=(.*)", done.stderr).group(1)
    return done, set(filter(None, heavy.split(",")))


def runs(db: Path) -> set[str]:
    return {r[0] for r in Cli(db).query("SELECT id FROM recommendation_runs")}


# ---- a wrong id answers before anything heavy loads ------------------------------------------------
@pytest.fixture(scope="module")
def data_db(tmp_path_factory) -> Path:
    """The sample's data, no index: what the id checks read."""
    cli = new_db(tmp_path_factory.mktemp("fast-data"), "data.db")
    cli("import", "all", SAMPLE, "--no-index")
    return cli.db


WRONG = [
    (["match", "need", "N999"], "错误：没有编号为 N999 的需求"),
    (["match", "need", "NOPE"], "错误：没有找到与「NOPE」相符的需求"),
    (["match", "enterprise", "E999", "--top", "3"], "错误：没有编号为 E999 的企业"),
    (["firms", "team", "T999", "--format", "json"], "错误：没有编号为 T999 的团队"),
    (["firms", "team", "NOPE"], "错误：没有找到与「NOPE」相符的团队"),
    (["challenge", "candidates", "C999"], "错误：没有编号为 C999 的榜单"),
    (["challenge", "consortium", "NOPE"], "错误：没有找到与「NOPE」相符的榜单"),
    (["match", "need", "N101", "N999", "--local"], "错误：没有编号为 N999 的需求"),
]


@pytest.mark.parametrize("args, message", WRONG, ids=[" ".join(a) for a, _ in WRONG])
def test_a_wrong_id_answers_as_before_without_the_model_or_the_orm(data_db, args, message):
    done, heavy = probe(data_db, *args)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert not heavy, f"imported {heavy} to say that an id does not exist"


def test_an_option_the_service_refuses_is_refused_before_the_model_loads(data_db):
    done, heavy = probe(data_db, "match", "need", "N101", "--top", "0")
    assert done.returncode == 1 and "错误：列表长度 top 应在 1 到 500 之间，现为 0" in done.stderr
    assert not heavy & {"torch", "sentence_transformers", "faiss"}


def test_the_copies_the_fast_start_keeps_equal_their_sources(data_db):
    from matcher.cli import constants, precheck
    from matcher.feedback.events import REASON_HELP
    from matcher.ingest.loader import KINDS
    from matcher.lookup.records import resolve_arguments
    from matcher.matching import options
    from matcher.settings import database_url
    from matcher.store.db import open_database

    assert (*KINDS, "survey", "all") == constants.IMPORT_KINDS
    assert constants.REASON_HELP == REASON_HELP
    assert (constants.MAX_QUERIES, constants.MAX_QUERY_TEXT) == (options.MAX_QUERIES, options.MAX_QUERY_TEXT)
    for db in ("cxy.db", "~/x.db", "/tmp/a b.db", "postgresql+psycopg://u:p@h/db", "sqlite:///x.db"):
        assert constants.database_url(db) == database_url(db)
    from sqlalchemy.engine import make_url

    from matcher.index_location import url_parts

    for url in ("sqlite:///x.db", "sqlite:////tmp/a b.db", "sqlite://", "postgresql+psycopg://u:p@h/db",
                "postgresql://u:p%40x@h:5432/jiang%20xi?sslmode=require", "postgresql://h",
                "postgresql+psycopg://postgres:@/cxy_1?host=%2Ftmp%2Fpg"):
        assert url_parts(url) == (make_url(url).get_backend_name(), make_url(url).database), url
    url = database_url(str(data_db))
    engine = open_database(url)
    for kind, arguments in [("enterprise", ["E101", "鑫瑞", "E999"]), ("need", ["N101", "N999"]),
                            ("team", ["T101"]), ("enterprise", ["NOPE"]), ("team", ["化工"])]:
        try:
            expected = resolve_arguments(engine, kind, arguments)
        except LookupError as exc:
            expected = str(exc)
        try:
            got = precheck.resolve(kind, arguments, precheck.name_pairs(url, kind))
        except LookupError as exc:
            got = str(exc)
        assert got == expected, (kind, arguments)
    engine.dispose()


# ---- a discovery file that must not be used ---------------------------------------------------------
class Listener:
    """A loopback HTTP server that counts requests and answers each with ``status``."""

    def __init__(self, status: int = 500):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                outer.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.dumps({"detail": "测试服务出错"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def advertise_fake(db: Path, port: int, pid: int, mode: int = 0o600, db_url: str | None = None) -> Path:
    from matcher.cli.constants import database_url

    target = discovery_file(database_url(str(db)))
    record = {"pid": pid, "host": "127.0.0.1", "port": port, "token": "t" * 43, "protocol": 1,
              "db": db_key(db_url or database_url(str(db)))}
    target.write_text(json.dumps(record), encoding="utf-8")
    target.chmod(mode)
    return target


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_local_never_contacts_the_server_and_a_failing_server_falls_back(data_db, listener):
    target = advertise_fake(data_db, listener.port, os.getpid())
    try:
        local = cxy(data_db, "match", "need", "N999", "--local")
        assert local.returncode == 1 and "没有编号为 N999 的需求" in local.stderr and listener.hits == 0
        assert "提示" not in local.stderr
        asked = cxy(data_db, "match", "need", "N999")  # the server answers 500: computed here instead
        assert listener.hits == 1 and asked.returncode == 1
        assert "未能回答（HTTP 500：测试服务出错），改为在本进程内计算" in asked.stderr
        assert "没有编号为 N999 的需求" in asked.stderr
    finally:
        target.unlink()


@pytest.mark.parametrize("case", ["dead pid", "readable by others", "another database"])
def test_a_file_that_is_not_a_live_server_of_this_database_is_ignored(data_db, listener, case):
    pid = dead_pid() if case == "dead pid" else os.getpid()
    target = advertise_fake(data_db, listener.port, pid, mode=0o644 if case == "readable by others" else 0o600,
                            db_url="sqlite:////elsewhere.db" if case == "another database" else None)
    try:
        done = cxy(data_db, "match", "need", "N999")
        assert done.returncode == 1 and done.stderr.strip() == "错误：没有编号为 N999 的需求"
        assert listener.hits == 0
    finally:
        target.unlink()


def test_a_port_that_does_not_answer_is_ignored_quietly(data_db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    target = advertise_fake(data_db, port, os.getpid())
    try:
        done = cxy(data_db, "match", "need", "N999")
        assert done.returncode == 1 and done.stderr.strip() == "错误：没有编号为 N999 的需求"
    finally:
        target.unlink()


# ---- a real `cxy serve` -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(sample_db, tmp_path_factory):
    """`cxy serve` on a copy of the indexed sample, up and advertised; stopped (SIGTERM) afterwards, when
    its discovery file must be gone."""
    db = copy_sample_db(sample_db, tmp_path_factory.mktemp("served")).db
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "matcher", "--db", str(db), "serve", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    target = discovery_file(Cli(db).url)
    deadline = time.monotonic() + 900  # the model and indexes load before the first request
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
            break
        except OSError:
            assert process.poll() is None, process.stderr.read()
            time.sleep(1)
    assert target.exists() and target.stat().st_mode & 0o777 == 0o600
    yield db, port, process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    assert not target.exists(), "a cleanly stopped server leaves its discovery file behind"


# The working tree may be edited while these tests run (several people share it): a source file the server
# loaded can change under it, and then it rightly declines and the command computes itself, saying so.
STALE = "启动后程序或设置有变化，改为在本进程内计算"


def _quiet_or_declined(stderr: str) -> str:
    """stderr without the one line a server that declined adds."""
    return "".join(line for line in stderr.splitlines(keepends=True) if STALE not in line)


def _same(served_out: str, local_out: str) -> None:
    assert RUN_ID.sub("RUN", served_out) == RUN_ID.sub("RUN", local_out)


def test_match_need_from_the_server_equals_the_local_output_and_is_recorded_once(served):
    db, _, _ = served
    before = runs(db)
    asked = cxy(db, "--verbose", "match", "need", "陶瓷填料在硫酸干吸塔", "N102", "--top", "5")
    assert asked.returncode == 0, asked.stderr
    assert "由正在运行的 cxy serve" in asked.stderr and "在本进程内计算" not in asked.stderr
    added = runs(db) - before
    assert len(added) == 2 and set(RUN_ID.findall(asked.stdout)) == added  # each list stored once
    local, imported = probe(db, "--verbose", "match", "need", "陶瓷填料在硫酸干吸塔", "N102", "--top", "5", "--local",
                            heavy=("sklearn", "sentence_transformers"))
    assert local.returncode == 0 and "在本进程内计算" in local.stderr and "cxy serve" not in local.stderr
    assert not imported, f"ranking with the stored index imported {imported}"  # only fitting needs them
    assert len(runs(db) - before) == 4
    _same(asked.stdout, local.stdout)
    assert asked.stderr.splitlines()[0] == local.stderr.splitlines()[0]  # the name understood, said alike


def test_a_challenge_consortium_as_json_is_the_same_either_way(served):
    db, _, _ = served
    before = runs(db)
    asked = cxy(db, "challenge", "consortium", "C11", "--format", "json")
    local = cxy(db, "challenge", "consortium", "C11", "--format", "json", "--local")
    assert asked.returncode == local.returncode == 0, asked.stderr + local.stderr
    assert _quiet_or_declined(asked.stderr) == ""  # quiet by default (not so the model library, locally)
    _same(asked.stdout, local.stdout)
    assert len(runs(db) - before) == 2 and json.loads(asked.stdout)["run_id"] in runs(db)


def test_the_servers_refusal_is_printed_as_the_command_would(served):
    db, _, _ = served
    before = runs(db)
    done = cxy(db, "match", "need", "N999")
    assert done.returncode == 1 and _quiet_or_declined(done.stderr).strip() == "错误：没有编号为 N999 的需求"
    done = cxy(db, "match", "text", "陶瓷填料", "--top", "0")
    assert done.returncode == 1
    assert _quiet_or_declined(done.stderr).strip() == "错误：列表长度 top 应在 1 到 500 之间，现为 0"
    assert runs(db) == before


def test_a_server_with_other_settings_declines_and_the_command_computes_itself(served):
    db, _, _ = served
    done = cxy(db, "match", "need", "N999", env={"CXY_EXPLORE": "0"})
    assert done.returncode == 1 and STALE in done.stderr
    assert "错误：没有编号为 N999 的需求" in done.stderr


def test_only_the_token_holder_may_ask(served):
    _, port, _ = served
    body = json.dumps({"batch": {"direction": "match", "requests": [{"op": "match_need", "arg": "N101"}]}}).encode()
    for headers in ({}, {"X-CXY-Local-Token": "guess"}):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{BATCH_PATH}", body,
                                         {"Content-Type": "application/json", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
