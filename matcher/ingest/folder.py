"""Importing a whole folder (``cxy import all DIR``): one file per kind, parents before children,
plus survey workbooks in ``DIR/surveys/``.

By default each file is its own short write transaction (``import_folder_by_file``): a folder of large
files would otherwise hold SQLite's single writer lock for minutes while every match request, which
stores its run, waits behind it. A refused file still writes nothing; the files before it stay imported
and re-importing them later changes nothing. ``import_folder`` keeps the whole folder in the caller's
one transaction, for users who want the folder all-or-nothing.
"""

import time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from matcher.ingest.loader import KINDS, ImportReport, import_reports
from matcher.ingest.problems import ImportFailed, Problem
from matcher.ingest.readers import SUPPORTED
from matcher.ingest.survey import import_survey
from matcher.store.db import write_session

# SQLite queues nobody for its writer lock: a waiting connection polls it (every 100 ms once it has waited a
# while), so an importer that began the next file at once would retake the lock before any waiter woke, and
# a request's write would still wait for the whole folder. A pause this long lets every waiter try once.
GAP_BETWEEN_FILES_S = 0.25


def files_by_kind(folder: Path) -> list[tuple[str, Path]]:
    """(kind, file) in import order; surveys after enterprises so their names can reuse known ids."""
    if not folder.is_dir():
        raise ImportFailed([Problem(folder, reason="不是文件夹")])
    found: list[tuple[str, Path]] = []
    for kind in KINDS:
        candidates = [folder / f"{kind}{suffix}" for suffix in SUPPORTED if (folder / f"{kind}{suffix}").exists()]
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise ImportFailed([Problem(folder, reason=f"{kind} 有多个文件（{names}），请只留一个")])
        found += [(kind, path) for path in candidates]
        if kind == "challenges":
            found += [("survey", path) for path in sorted((folder / "surveys").glob("*.xlsx"))]
    if not found:
        expected = "、".join(f"{kind}.csv|.xlsx|.jsonl" for kind in KINDS)
        raise ImportFailed([Problem(folder, reason=f"没有可导入的文件；文件名应为 {expected}")])
    return found


def import_file(session: Session, kind: str, path: Path, actor=None, key: bool = False) -> list[ImportReport]:
    if kind == "survey":
        return import_survey(session, path, actor, key)
    return import_reports(session, kind, path, actor, key)


def import_folder(session: Session, folder: Path, actor=None, key: bool = False) -> list[ImportReport]:
    """Every file of ``folder`` in the caller's single transaction (all or nothing)."""
    return [report for kind, path in files_by_kind(folder) for report in import_file(session, kind, path, actor, key)]


class FolderStopped(ImportFailed):
    """A file of the folder was refused: it wrote nothing, ``imported`` are the reports of the files before it
    (committed), ``skipped`` the files after it (not read)."""

    def __init__(self, failed: ImportFailed, path: Path, imported: list[ImportReport], skipped: list[Path]):
        super().__init__(failed.problems)
        self.path, self.imported, self.skipped = path, imported, skipped


def import_folder_by_file(engine: Engine, folder: Path, actor=None, key: bool = False) -> list[ImportReport]:
    """Every file of ``folder`` in its own write transaction, in import order; stops at the first refused file."""
    files = files_by_kind(folder)
    reports: list[ImportReport] = []
    for position, (kind, path) in enumerate(files):
        if position and engine.dialect.name == "sqlite":
            time.sleep(GAP_BETWEEN_FILES_S)
        try:
            with write_session(engine) as session:  # the lock is taken at the first statement, after reading
                reports += import_file(session, kind, path, actor, key)
        except ImportFailed as exc:
            raise FolderStopped(exc, path, reports, [later for _, later in files[position + 1:]]) from exc
    return reports
