"""Engine and session set-up, and bringing a database to the current schema.

SQLite gets WAL (readers do not block the writer), foreign keys, a busy timeout, full fsync (an
accepted write survives a crash) and explicit BEGIN so that a write transaction can take its lock up
front (``write_session``) instead of failing half-way when another writer holds it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another to finish before giving up


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get the pragmas described in the module docstring."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if url not in ("sqlite://", "sqlite:///:memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        options = conn.get_execution_options()
        if not options.get("write"):
            conn.exec_driver_sql("BEGIN")
        elif options.get("on_wait") is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif not _begin_at_once(conn):
            options["on_wait"]()
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _begin_at_once(conn) -> bool:
    """Try to take SQLite's write lock without waiting; False when another writer holds it, so the
    caller can say that it waits before it does (the busy timeout is restored either way)."""
    try:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return True
    except OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return False
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run migrations up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


@cache
def open_database(url: str) -> Engine:
    """The engine for ``url``, with the schema brought up to date on first open."""
    engine = make_engine(url)
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One all-or-nothing write transaction holding the write lock from its first statement."""
    with Session(engine.execution_options(write=True), expire_on_commit=False) as session, session.begin():
        yield session
