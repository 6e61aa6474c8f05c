"""工作台 (the home page): the bureau's figures and the pairs waiting for follow-up (待跟进)."""

import datetime as dt
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from api.console.auth import ConsoleUser, settings, short_session
from api.console.render import render
from matcher.feedback.pipeline import pipeline, records, year_figures
from matcher.ingest.schemas import REJECTION_REASONS
from matcher.store import models

router = APIRouter(include_in_schema=False)
OVERDUE_SHOWN = 50


@router.get("/")
def home(request: Request, user: ConsoleUser):
    if user.role == "researcher":
        return RedirectResponse("/console/my-team", status_code=303)
    today = dt.date.today()
    days = settings(request).followup_days
    with short_session(request) as session:
        key_count = session.scalar(select(func.count()).select_from(models.Enterprise)
                                   .where(models.Enterprise.key_enterprise.is_(True)))
        enterprise_count = session.scalar(select(func.count()).select_from(models.Enterprise))
        open_needs = session.scalar(select(func.count()).select_from(models.Need).where(models.Need.status == "open"))
        pairs = pipeline(session, today, days)
    waiting = int((pairs["stage"] == "proposed").sum()) if len(pairs) else 0
    overdue = pairs[pairs["overdue"]] if len(pairs) else pairs
    figures = year_figures(pairs, today.year)
    rows = records(overdue.head(OVERDUE_SHOWN))
    for row in rows:
        row["form_key"] = secrets.token_urlsafe(12)
    return render(request, "console/home.html", title="工作台", section="home", today=today, days=days,
                  key_count=key_count, enterprise_count=enterprise_count, open_needs=open_needs, waiting=waiting,
                  figures=figures, overdue=rows, overdue_total=len(overdue), reasons=REJECTION_REASONS)
