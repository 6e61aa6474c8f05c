"""Importing an uploaded file, the same for the console's 导入 page and ``POST /admin/import``: the
name is checked (no path, NUL or control characters, a known suffix, a sane length), the size is
bounded, and the file is imported in one transaction with its audit entry. Parsing is slow work, so
callers run this in a worker thread, never on the event loop."""

import tempfile
import unicodedata
from pathlib import Path

from sqlalchemy.engine import Engine

from matcher.accounts.audit import Actor
from matcher.ingest.loader import ImportReport, import_file
from matcher.ingest.survey import import_survey
from matcher.store.db import write_session

SUFFIXES = (".csv", ".xlsx", ".xls", ".ods", ".jsonl")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_NAME = 120
MAX_PROBLEMS_RETURNED = 1000


class BadUpload(ValueError):
    """An upload refused before reading it; the message (Chinese) says why. ``status`` is the HTTP one."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def clean_filename(raw: str | None) -> str:
    name = Path((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        raise BadUpload("缺少文件名：请给出带扩展名的文件名，如 企业.xlsx")
    if len(name) > MAX_NAME:
        raise BadUpload(f"文件名过长（{len(name)} 个字符，最多 {MAX_NAME} 个），请改短后再上传")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise BadUpload(f"文件 {name}：只能导入 {'、'.join(SUFFIXES)} 格式")
    return name


def check_size(size: int) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise BadUpload(f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB，请拆分后再导入", 413)


def import_upload(engine: Engine, kind: str, name: str, body: bytes, actor: Actor) -> list[ImportReport]:
    """Import ``body`` as a file called ``name`` (already cleaned); raises ImportFailed with every problem
    and writes nothing, or returns what was added and updated."""
    check_size(len(body))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(body)
        with write_session(engine) as session:
            # the importers write the audit entries, in this transaction, under the given actor
            reports = (import_survey(session, path, actor) if kind == "survey"
                       else [import_file(session, kind, path, actor)])
    return [part for r in reports for part in (*r.also, r)]  # a needs sheet's enterprises first
