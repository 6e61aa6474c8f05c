"""跟进: every pair by stage with filters and overdue marks, the funnel drawn with the report's own
chart, exports (xlsx, and CSV with a UTF-8 BOM so Excel and WPS open it), a pair's timeline, and the
follow-up form every list posts to (recorded like the API's, attributed to its run and shown rank)."""

import datetime as dt
import io
import math
import secrets
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from api.console.auth import CheckedForm, StaffUser, actor, safe_next, settings, short_session
from api.console.render import pager_base, redirect, render
from matcher.accounts.audit import record_audit
from matcher.feedback.events import FeedbackError, pair_history, record
from matcher.feedback.funnel import STAGES, funnel
from matcher.feedback.pipeline import PipelineFilters, pipeline, records
from matcher.ingest.schemas import REJECTION_REASONS
from matcher.matching.explain import STAGE_LABELS
from matcher.reports import charts
from matcher.reports.cells import guard_xlsx_sheet, safe_cell
from matcher.store import models
from matcher.store.db import write_session

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
EXPORT_COLUMNS = {"enterprise_name": "企业名称", "need_title": "技术需求", "county": "县区", "industry": "行业",
                  "team_name": "团队", "institution_name": "单位", "stage_label": "当前阶段", "last_date": "最近日期",
                  "first_date": "首次推荐日期", "amount_wan": "签约金额（万元）", "shown_rank": "推荐位次",
                  "overdue": "是否逾期", "action": "下一步", "need_id": "需求编号", "team_id": "团队编号",
                  "run_id": "推荐批次"}


def _filters(request: Request) -> PipelineFilters:
    q = request.query_params
    return PipelineFilters(county=q.get("county") or None, industry=q.get("industry") or None,
                           institution=q.get("institution") or None, month=q.get("month") or None,
                           stage=q.get("stage") or None, overdue_only=q.get("overdue") == "1")


def _pairs(request: Request) -> tuple[pd.DataFrame, pd.DataFrame]:
    with short_session(request) as session:
        everything = pipeline(session, dt.date.today(), settings(request).followup_days)
    return everything, _filters(request).apply(everything)


@router.get("/console/followup")
def followup_page(request: Request, user: StaffUser, page: int = 1):
    everything, pairs = _pairs(request)
    pages = max(1, math.ceil(len(pairs) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = records(pairs.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])
    for row in rows:
        row["form_key"] = secrets.token_urlsafe(12)
    counts = funnel(pairs).iloc[0].to_dict() if len(pairs) else {}
    svg = charts.funnel_chart([(STAGE_LABELS[s], counts.get(s)) for s in STAGES], title="跟进漏斗")
    options = {c: sorted({v for v in everything[c].dropna().unique() if v}) for c in
               ("county", "industry", "institution_name", "month")} if len(everything) else {}
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page" and v])
    return render(request, "console/followup.html", title="跟进", section="followup", rows=rows, total=len(pairs),
                  page=page, pages=pages, base=pager_base(request), counts=counts,
                  funnel_svg=Markup(svg), options=options, filters=_filters(request), stage_labels=STAGE_LABELS,
                  reasons=REJECTION_REASONS, export_query=query)


@router.get("/console/followup/export.{fmt}")
def followup_export(request: Request, user: StaffUser, fmt: str):
    if fmt not in ("csv", "xlsx"):
        return render(request, "console/error.html", title="无法导出", status=404, message="只能导出 xlsx 或 csv")
    _, pairs = _pairs(request)
    table = pd.DataFrame(records(pairs), columns=list(EXPORT_COLUMNS))
    table["overdue"] = table["overdue"].map({True: "是", False: "否"})
    table = table.rename(columns=EXPORT_COLUMNS)
    name = f"跟进台账-{dt.date.today().isoformat()}.{fmt}"
    if fmt == "csv":
        body = table.map(safe_cell).to_csv(index=False).encode("utf-8-sig")
        media = "text/csv; charset=utf-8"
    else:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            table.to_excel(writer, index=False, sheet_name="跟进台账")
            guard_xlsx_sheet(writer.sheets["跟进台账"])
        body = buffer.getvalue()
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/console/pairs/{need_id}/{team_id}")
def pair_page(request: Request, user: StaffUser, need_id: str, team_id: str):
    with short_session(request) as session:
        need, team = session.get(models.Need, need_id), session.get(models.Team, team_id)
        if need is None or team is None:
            return render(request, "console/error.html", title="找不到配对", status=404,
                          message=f"没有需求 {need_id} 或团队 {team_id}")
        enterprise = session.get(models.Enterprise, need.enterprise_id)
        institution = session.get(models.Institution, team.institution_id)
        events = pair_history(session, need_id, team_id)
    return render(request, "console/pair.html", title=f"{enterprise.name} · {team.name}", section="followup",
                  need=need, team=team, enterprise=enterprise, institution=institution, events=events,
                  reasons=REJECTION_REASONS, form_key=secrets.token_urlsafe(12))


@router.post("/console/followup/record")
def record_followup(request: Request, user: StaffUser, form: CheckedForm):
    next_url = safe_next(form.get("next"))
    stage = form.get("stage", "")
    reason = form.get("reason") or None
    note = (form.get("note") or "").strip()
    if stage == "rejected" and note:
        reason = f"{reason or '其他'}：{note}"
    key = form.get("form_key") or None
    try:
        with write_session(request.app.state.engine) as session:
            result = record(session, form.get("need_id", ""), form.get("team_id", ""), stage,
                            form.get("amount_wan") or None, form.get("date") or None, reason,
                            form.get("run_id") or None, "console",
                            f"console:{user.user_id}:{key}" if key else None, form.get("shown_rank") or None)
            if result.created:
                record_audit(session, actor(user), "feedback.record",
                             f"{form.get('need_id')}/{form.get('team_id')}",
                             {"stage": stage, "event_id": result.event["id"], "run_id": form.get("run_id") or None})
            need = session.get(models.Need, form.get("need_id"))
            team = session.get(models.Team, form.get("team_id"))
            enterprise = session.get(models.Enterprise, need.enterprise_id)
    except FeedbackError as exc:
        return redirect(next_url, f"没有登记：{exc}", "error")
    request.app.state.service.refresh_history()  # the next list shows the pair's new stage
    what = STAGE_LABELS.get(stage, stage)
    return redirect(next_url, f"已登记：{enterprise.name} × {team.name}，{what}"
                    + ("" if result.created else "（此前已登记过，未重复记录）"))
