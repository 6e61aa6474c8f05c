"""Write a stored report run as its workbook and its page."""

from pathlib import Path

from sqlalchemy.engine import Engine

from matcher.reports.data import ReportData, load_report
from matcher.reports.page import render_page
from matcher.reports.workbook import write_workbook
from matcher.store.db import session_factory


def report_paths(out: Path, month: str) -> tuple[Path, Path]:
    return out / f"monthly-report-{month}.xlsx", out / f"monthly-report-{month}.html"


def write_report(engine: Engine, report_id: str, out: Path) -> tuple[ReportData, Path, Path]:
    with session_factory(engine)() as session:
        data = load_report(session, report_id)
    workbook, page = report_paths(out, data.meta["month"])
    write_workbook(data, workbook)
    partial = page.with_name(page.name + ".part")
    partial.write_text(render_page(data), encoding="utf-8")
    partial.replace(page)
    return data, workbook, page
