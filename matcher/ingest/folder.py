"""Importing a whole folder (``cxy import all DIR``): one file per kind, parents before children,
plus survey workbooks in ``DIR/surveys/``, all in the caller's single transaction.
"""

from pathlib import Path

from sqlalchemy.orm import Session

from matcher.ingest.loader import KINDS, ImportReport, import_reports
from matcher.ingest.problems import ImportFailed, Problem
from matcher.ingest.readers import SUPPORTED
from matcher.ingest.survey import import_survey


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


def import_folder(session: Session, folder: Path, actor=None, key: bool = False) -> list[ImportReport]:
    reports: list[ImportReport] = []
    for kind, path in files_by_kind(folder):
        if kind == "survey":
            reports += import_survey(session, path, actor, key)
        else:
            reports += import_reports(session, kind, path, actor, key)
    return reports
