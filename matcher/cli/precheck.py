"""Ids and names of the command line checked with plain SQL before anything heavy loads: a SQLite file
is read with the standard library's sqlite3 and a PostgreSQL database with psycopg (no SQLAlchemy, no
migrations, no model), so a wrong id or an unknown name answers in a fraction of a second. Any other
database, a file that is not there yet or one whose tables cannot be read answers None, and the caller
takes the usual path (which creates and migrates the database as before)."""

import sqlite3
from urllib.parse import quote

from matcher.local_server import sqlite_file

KINDS = {"need": ("needs", "title", "需求"), "enterprise": ("enterprises", "name", "企业"),
         "team": ("teams", "name", "团队"), "challenge": ("challenges", "title", "榜单")}
POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def name_pairs(db_url: str, kind: str) -> list[tuple[str, str]] | None:
    """Every (id, name) of ``kind`` read-only, in id order (as matcher.lookup.records.name_pairs reads
    them); None when the database is not a readable SQLite file or PostgreSQL database with that table."""
    table, column, _ = KINDS[kind]
    sql = f"SELECT id, {column} FROM {table} ORDER BY id"
    if db_url.startswith(POSTGRES_SCHEMES):
        return _postgres_rows(db_url, sql)
    path = sqlite_file(db_url)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5)
        try:
            return [(str(i), n) for i, n in conn.execute(sql)]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _postgres_rows(db_url: str, sql: str) -> list[tuple[str, str]] | None:
    try:
        import psycopg
    except ImportError:
        return None
    # libpq reads the URL itself once the SQLAlchemy driver name is gone; ORDER BY id sorts as the ORM's
    # query on the same server does (the same collation).
    conninfo = "postgresql://" + db_url.split("://", 1)[1]
    try:
        with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as conn:
            return [(str(i), n) for i, n in conn.execute(sql)]
    except psycopg.Error:
        return None


def resolve(kind: str, arguments: list[str], pairs: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """matcher.lookup.records.resolve_arguments over pairs already read (that module imports the ORM)."""
    from matcher.lookup.resolve import resolve_pairs

    return resolve_pairs(KINDS[kind][2], arguments, pairs)


def missing(kind: str, ids: list[str], pairs: list[tuple[str, str]]) -> str | None:
    """The message the match service gives for the first id that is not stored (None: all are)."""
    known = {id_ for id_, _ in pairs}
    absent = next((i for i in ids if i not in known), None)
    return None if absent is None else f"没有编号为 {absent} 的{KINDS[kind][2]}"
