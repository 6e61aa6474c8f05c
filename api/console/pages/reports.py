"""月报: the stored monthly runs; start a month as a background job with a progress bar (the page
refreshes itself while it runs); open a run's page; download its workbook. Files are written on demand
into a folder beside the index, so nobody has to find the folder where someone ran a command."""

import datetime as dt
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select

from api.console.auth import CheckedForm, StaffUser, actor, short_session
from api.console.jobs import Busy, Job, jobs
from api.console.render import redirect, render
from matcher.accounts.audit import record_audit
from matcher.reports.month import Month
from matcher.reports.monthly import MonthlyOptions, run_monthly
from matcher.store import models
from matcher.store.db import write_session

router = APIRouter(include_in_schema=False)


def reports_folder(request: Request) -> Path:
    index = Path(request.app.state.service.index_folder)
    return index.parent / (index.name.removesuffix(".index") + ".reports")


def _last_month() -> str:
    first = dt.date.today().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@router.get("/console/reports")
def report_list(request: Request, user: StaffUser):
    r = models.ReportRun
    with short_session(request) as session:
        runs = [{"id": x.id, "month": x.month, "created_at": x.created_at, "proposals": x.summary["coverage"]
                 ["proposals"], "needs": x.summary.get("open_needs"), "cost": x.summary["fit"]["cost_share"]}
                for x in session.scalars(select(r).order_by(r.month.desc(), r.created_at.desc()))]
    recent = jobs(request).recent("report")
    running = any(j.state == "running" for j in recent)
    return render(request, "console/reports.html", title="月报", section="reports", runs=runs, jobs=recent,
                  default_month=_last_month(), refresh_seconds=2 if running else 0)


@router.post("/console/reports/run")
def start_report(request: Request, user: StaffUser, form: CheckedForm):
    try:
        month = Month.parse((form.get("month") or "").strip())
    except ValueError:
        return redirect("/console/reports", "月份格式应为 YYYY-MM，例如 2026-11", "error")
    force = form.get("force") == "1"
    engine, service = request.app.state.engine, request.app.state.service
    who = actor(user)

    def work(job: Job) -> str:
        batch = service.detached()
        job.stage = "逐项计算推荐"
        outcome = run_monthly(engine, batch, month, MonthlyOptions(), force=force,
                              progress=lambda done, total: job.progress(done, total))
        job.stage = "保存"
        with write_session(engine) as session:
            record_audit(session, who, "report.monthly", str(month),
                         {"report_id": outcome.report_id, "reused": outcome.reused, "force": force})
        job.result = {"report_id": outcome.report_id}
        return (f"{month} 月报已沿用已有运行" if outcome.reused else f"{month} 月报已生成") + \
            ("（数据已有变化，如需重新推荐请勾选“按最新数据重新生成”）" if outcome.data_changed else "")

    try:
        jobs(request).start("report", f"{month} 月报", user.name, work)
    except Busy as exc:
        return redirect("/console/reports", str(exc), "error")
    return redirect("/console/reports", f"已开始生成 {month} 月报，页面会自动刷新", "info")


def _files(request: Request, report_id: str) -> tuple[Path, Path] | None:
    from matcher.reports.files import write_report

    with short_session(request) as session:
        if session.get(models.ReportRun, report_id) is None:
            return None
    _, workbook, page = write_report(request.app.state.engine, report_id, reports_folder(request) / report_id)
    return workbook, page


@router.get("/console/reports/{report_id}/page")
def report_page(request: Request, user: StaffUser, report_id: str):
    files = _files(request, report_id)
    if files is None:
        return render(request, "console/error.html", title="找不到月报", status=404, message="没有这次月报运行")
    return HTMLResponse(files[1].read_text(encoding="utf-8"))


@router.get("/console/reports/{report_id}/workbook")
def report_workbook(request: Request, user: StaffUser, report_id: str):
    files = _files(request, report_id)
    if files is None:
        return render(request, "console/error.html", title="找不到月报", status=404, message="没有这次月报运行")
    name = files[0].name.replace("monthly-report-", "月报-")
    return FileResponse(files[0], media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
