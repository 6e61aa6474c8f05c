"""Imports share the database with a running service: a folder is written one file per transaction, so
SQLite's single writer lock is free between files, and a command that has to wait for another writer
says so instead of hanging silently."""

import shutil
import sqlite3
import threading
import time

import pytest

from matcher.ingest import folder as folder_import
from matcher.store.db import open_database
from tests.conftest import SAMPLE, Cli, new_db


def lock_is_free(db) -> bool:
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@pytest.mark.sqlite_only  # SQLite's one writer lock
def test_the_writer_lock_is_free_between_the_files_of_a_folder(tmp_path, monkeypatch):
    db = tmp_path / "shared.db"
    engine = open_database(f"sqlite:///{db}")
    seen: list[tuple[str, bool]] = []
    real_import_file = folder_import.import_file

    def watching(session, kind, path, *args):
        seen.append((kind, lock_is_free(db)))  # before this file's first statement: nobody holds the lock
        return real_import_file(session, kind, path, *args)

    monkeypatch.setattr(folder_import, "import_file", watching)
    folder_import.import_folder_by_file(engine, SAMPLE)
    assert [kind for kind, _ in seen][:3] == ["institutions", "teams", "achievements"]
    assert all(free for _, free in seen), seen


@pytest.fixture
def broken_folder(tmp_path):
    folder = tmp_path / "folder"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("labels"))
    lines = (folder / "needs.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[3] = lines[3].replace("E1", "E9", 1)  # a need of an enterprise that does not exist
    (folder / "needs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return folder


def test_a_refused_file_stops_the_folder_and_keeps_the_files_before_it(tmp_path, broken_folder):
    cli = new_db(tmp_path, "t.db")
    result = cli("import", "all", broken_folder, ok=False)
    assert result.exit_code == 1
    assert "needs.csv 导入失败" in result.output and "这个文件没有写入任何数据" in result.output
    assert "其后的文件未导入：challenges.jsonl" in result.output
    assert cli.query("SELECT count(*) FROM enterprises")[0][0] > 0  # before needs: kept
    assert cli.query("SELECT count(*) FROM needs")[0][0] == 0
    assert cli.query("SELECT count(*) FROM challenges")[0][0] == 0

    shutil.copy(SAMPLE / "needs.csv", broken_folder / "needs.csv")
    again = cli("import", "all", broken_folder).output
    assert "needs" in again and cli.query("SELECT count(*) FROM needs")[0][0] > 0
    assert "institutions      36 行（新增 0，更新 0" in again or "新增 0" in again


def test_all_or_nothing_keeps_the_whole_folder_in_one_transaction(tmp_path, broken_folder):
    cli = new_db(tmp_path, "t.db")
    result = cli("import", "all", broken_folder, "--all-or-nothing", ok=False)
    assert "没有写入任何数据" in result.output
    assert cli.query("SELECT count(*) FROM enterprises") == [(0,)]
    assert cli.query("SELECT count(*) FROM institutions") == [(0,)]


@pytest.mark.sqlite_only  # SQLite's one writer lock
def test_a_command_waiting_for_another_writer_says_so_and_then_succeeds(tmp_path):
    cli = Cli(tmp_path / "t.db")
    cli("import", "institutions", SAMPLE / "institutions.csv")
    holder = sqlite3.connect(cli.db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's import, mid-way
    threading.Timer(1.5, lambda: holder.execute("COMMIT")).start()
    started = time.monotonic()
    result = cli("import", "teams", SAMPLE / "teams.csv")
    holder.close()
    assert "数据库正被另一个导入或写入占用，正在等待它完成（最多 60 秒）" in result.output
    assert time.monotonic() - started >= 1.0
    assert cli.query("SELECT count(*) FROM teams")[0][0] == 156


def test_a_command_with_the_database_free_says_nothing_about_waiting(tmp_path):
    result = new_db(tmp_path, "t.db")("import", "institutions", SAMPLE / "institutions.csv")
    assert "等待" not in result.output
