"""Outcome events, one at a time (the CLI's `cxy feedback`, the HTTP endpoint), append-only.

Values are read exactly as an imported outcomes file reads them (Chinese stage words, 万元 amounts,
date styles, "报价过高：…" reasons), so a clerk types what she would put in the follow-up sheet. A
correction is a new event, never an edit. An idempotency key makes a retried request record once:
the second call returns the first event; the same key with different content is refused.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.ingest.loader import outcome_values
from matcher.ingest.schemas import REJECTION_REASONS, OutcomeRow
from matcher.store import models

REASON_HELP = ("a rejection needs a reason: one of " + "、".join(REJECTION_REASONS)
               + ", optionally followed by free text (报价过高：预算只有20万)")


class FeedbackError(ValueError):
    """An event that cannot be recorded; the message names the field and what to send instead."""


@dataclass(frozen=True)
class Recorded:
    event: dict
    created: bool  # False: the idempotency key had been recorded before (a retry)


def event_dict(e: models.OutcomeEvent) -> dict:
    return {"id": e.id, "need_id": e.need_id, "team_id": e.team_id, "stage": e.stage, "amount_wan": e.amount_wan,
            "date": e.date.isoformat() if e.date else None, "reason_code": e.reason_code,
            "reason_text": e.reason_text, "run_id": e.run_id, "shown_rank": e.shown_rank, "source": e.source,
            "idempotency_key": e.idempotency_key}


def _parse(need_id, team_id, stage, amount_wan, date, reason, shown_rank) -> OutcomeRow:
    try:
        row = OutcomeRow.model_validate({"need_id": need_id, "team_id": team_id, "stage": stage,
                                         "amount_wan": amount_wan, "date": date, "reason": reason,
                                         "shown_rank": shown_rank})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "event"
        raise FeedbackError(f"{field}: {first['msg'].removeprefix('Value error, ')}") from None
    if row.stage == "contract_signed" and not row.amount_wan:
        raise FeedbackError("amount_wan: a signed contract needs its amount in 万元 (e.g. 35 or 35万)")
    if row.stage == "rejected" and not row.reason:
        raise FeedbackError(f"reason: {REASON_HELP}")
    if row.stage != "rejected" and row.reason and row.reason[0] != "其他":
        raise FeedbackError(f"reason: {row.reason[0]} is a rejection reason; record stage rejected")
    return row


def record(session: Session, need_id: str, team_id: str, stage: str, amount_wan=None, date=None, reason=None,
           run_id: str | None = None, source: str = "cli", idempotency_key: str | None = None,
           shown_rank=None) -> Recorded:
    """Validate and append one event in ``session`` (the caller commits). ``shown_rank``: where the pair
    stood in the list the enterprise saw; taken from the run when a run is named and it is not given."""
    row = _parse(need_id, team_id, stage, amount_wan, date, reason, shown_rank)
    for model, key, what in ((models.Need, row.need_id, "need"), (models.Team, row.team_id, "team")):
        if session.get(model, key) is None:
            raise FeedbackError(f"{what}_id: no {what} with id {key!r}")
    if run_id and session.get(models.RecommendationRun, run_id) is None:
        raise FeedbackError(f"run_id: no recommendation run {run_id!r}")
    values = {**outcome_values(row), "date": row.date or dt.date.today(), "run_id": run_id}
    if run_id and values["shown_rank"] is None:
        values["shown_rank"] = session.scalar(
            select(models.RecommendationItem.rank).where(models.RecommendationItem.run_id == run_id,
                                                         models.RecommendationItem.need_id == row.need_id,
                                                         models.RecommendationItem.team_id == row.team_id))
    key = idempotency_key or f"{source}:{uuid.uuid4()}"
    existing = _by_key(session, key)
    if existing is None:
        try:
            with session.begin_nested():  # a concurrent writer with the same key: its event stands
                event = models.OutcomeEvent(**values, source=source, idempotency_key=key)
                session.add(event)
            return Recorded(event_dict(event), True)
        except IntegrityError:
            existing = _by_key(session, key)
            if existing is None:
                raise
    stored = event_dict(existing)
    sent = {**values, "date": values["date"].isoformat()}
    if date is None:  # "today" on a retry the next day is still the same event
        del sent["date"]
    if any(stored[field] != value for field, value in sent.items()):
        raise FeedbackError(f"idempotency key {key!r} was already used for a different event (id {existing.id})")
    return Recorded(stored, False)


def _by_key(session: Session, key: str) -> models.OutcomeEvent | None:
    return session.scalars(select(models.OutcomeEvent).where(models.OutcomeEvent.idempotency_key == key)).first()


def pair_history(session: Session, need_id: str, team_id: str) -> list[dict]:
    """A need-team pair's events in the order they happened (date, then the order they were recorded)."""
    events = session.scalars(select(models.OutcomeEvent)
                             .where(models.OutcomeEvent.need_id == need_id, models.OutcomeEvent.team_id == team_id)
                             .order_by(models.OutcomeEvent.date, models.OutcomeEvent.id)).all()
    return [event_dict(e) for e in events]
