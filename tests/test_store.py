"""The store: migrations, SQLite settings, database selection, the append-only event log."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from matcher.store.db import current_revision, head_revision, make_engine, upgrade
from matcher.store.models import Base
from tests.conftest import write_csv


def test_upgrade_creates_every_table_in_an_empty_database(cli):
    engine = make_engine(cli.url)
    upgrade(engine)

    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(cli.dump())
    engine.dispose()


def test_upgrade_from_the_previous_revision_keeps_the_data(tmp_path):
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0001")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO institutions (id, name) VALUES ('I1', '萍乡学院')")
        conn.execute("INSERT INTO teams (id, institution_id, name) VALUES ('T1', 'I1', '陶瓷团队')")
    assert current_revision(engine) == "0001"

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT t.name, i.name FROM teams t JOIN institutions i ON i.id = t.institution_id"
                            ).fetchall() == [("陶瓷团队", "萍乡学院")]
        assert conn.execute("SELECT count(*) FROM outcome_events").fetchone() == (0,)


def test_migrations_match_the_models(cli):
    engine = make_engine(cli.url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(Exception, match="FOREIGN KEY"):
            conn.exec_driver_sql("INSERT INTO teams (id, institution_id, name) VALUES ('T1', 'nowhere', 'x')")


def test_outcome_events_cannot_be_edited_or_deleted(cli, tmp_path):
    for kind, rows in (("institutions", [["id", "name"], ["I1", "甲"]]),
                       ("teams", [["id", "institution_id", "name"], ["T1", "I1", "乙"]]),
                       ("enterprises", [["id", "name"], ["E1", "丙"]]),
                       ("needs", [["id", "enterprise_id", "title"], ["N1", "E1", "丁"]]),
                       ("outcomes", [["need_id", "team_id", "stage"], ["N1", "T1", "contacted"]])):
        cli("import", kind, write_csv(tmp_path / f"{kind}.csv", rows))
    for statement in ("UPDATE outcome_events SET stage = 'contract_signed'", "DELETE FROM outcome_events"):
        with pytest.raises(Exception, match="append-only"):  # sqlite3.IntegrityError or psycopg's RaiseException
            cli.query(statement)
    assert cli.query("SELECT stage FROM outcome_events") == [("contacted",)]


@pytest.mark.sqlite_only  # a path given or not
def test_database_is_chosen_by_option_or_environment(cli, tmp_path, monkeypatch):
    rows = [["id", "name"], ["I1", "甲"]]
    monkeypatch.setenv("CXY_DB", str(tmp_path / "from_env.db"))
    result = cli.runner.invoke(__import__("matcher.cli", fromlist=["app"]).app,
                               ["import", "institutions", str(write_csv(tmp_path / "i.csv", rows))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from_env.db").exists()
    assert not cli.db.exists()

    cli("import", "institutions", tmp_path / "i.csv")  # --db wins over CXY_DB
    assert cli.query("SELECT id FROM institutions") == [("I1",)]


def test_db_commands_report_and_apply_revisions(cli):
    from matcher.store.db import head_revision

    head = head_revision()
    cli("db", "upgrade", "0001")
    assert f"当前版本 0001  最新版本 {head}" in cli("db", "revision").output
    assert f"数据库已在版本 {head}" in cli("db", "upgrade").output


def test_a_server_databases_index_folder_is_cxy_index_dir_with_its_name_for_the_placeholder(monkeypatch):
    from pathlib import Path

    from matcher.index_location import index_dir

    monkeypatch.setenv("CXY_INDEX_DIR", "/srv/cxy-index/{database}")  # one setting, several bureaus' databases
    assert index_dir("postgresql+psycopg://cxy@db.internal/jiangxi") == Path("/srv/cxy-index/jiangxi")
    assert index_dir("postgresql+psycopg://cxy@db.internal/pingxiang") == Path("/srv/cxy-index/pingxiang")
    monkeypatch.setenv("CXY_INDEX_DIR", "/srv/shared-index")
    assert index_dir("postgresql+psycopg://cxy@db.internal/jiangxi") == Path("/srv/shared-index")
    assert index_dir("sqlite:////data/a.db") == Path("/data/a.db.index")  # beside the file, whatever the setting
