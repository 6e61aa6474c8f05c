"""Outcome events over HTTP (bureau, admin): append one, read a pair's history."""

import datetime as dt
import json

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import CanRecord, SessionDep
from matcher.accounts.audit import record_audit
from matcher.feedback.events import REASON_HELP, FeedbackError, pair_history, record
from matcher.feedback.funnel import GROUPS, funnel_report
from matcher.store.db import write_session

router = APIRouter(tags=["feedback"])


class EventIn(BaseModel):
    need_id: str
    team_id: str
    stage: str = Field(description="proposed, contacted, negotiating, contract_signed, rejected, declined "
                                   "(or the sheet's words: 已推荐, 已联系, 洽谈中, 已签约, 未成功, 团队婉拒)")
    amount_wan: float | str | None = Field(None, description="contract_signed: amount in 万元")
    date: dt.date | str | None = Field(None, description="default today")
    reason: str | None = Field(None, description=REASON_HELP)
    run_id: str | None = None
    shown_rank: int | None = Field(None, description="position in the list the enterprise saw (default: from the run)")
    idempotency_key: str | None = Field(None, description="or the Idempotency-Key header")


@router.post("/feedback", summary="Record an outcome event (append-only; a retry with the same key records once)",
             responses={200: {"description": "already recorded under this key"}, 201: {"description": "recorded"}})
def post_event(body: EventIn, request: Request, principal: CanRecord,
               idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    key = idempotency_key or body.idempotency_key
    try:
        with write_session(request.app.state.engine) as session:
            result = record(session, body.need_id, body.team_id, body.stage, body.amount_wan, body.date, body.reason,
                            body.run_id, "api", key, body.shown_rank)
            if result.created:
                record_audit(session, principal.actor, "feedback.record", f"{body.need_id}/{body.team_id}",
                             {"stage": body.stage, "event_id": result.event["id"], "run_id": body.run_id})
    except FeedbackError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if result.created:
        request.app.state.service.refresh_history()
    return JSONResponse({**result.event, "created": result.created},
                        status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@router.get("/feedback/{need_id}/{team_id}", summary="A need-team pair's events in order")
def get_history(need_id: str, team_id: str, session: SessionDep, _: CanRecord) -> list[dict]:
    return pair_history(session, need_id, team_id)


@router.get("/funnel", summary="Follow-up funnel: stages reached, exits, conversion rates (optionally grouped)")
def get_funnel(session: SessionDep, _: CanRecord, by: str | None = None) -> list[dict]:
    try:
        frame = funnel_report(session, by)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"查询参数 by：只能按 {'、'.join(GROUPS)} 分组，不能按 {by[:64]!r}") from None
    return json.loads(frame.to_json(orient="records", force_ascii=False))
