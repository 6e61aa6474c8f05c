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

REASON_HELP = ("未成功需要原因：" + "、".join(REJECTION_REASONS) + " 之一，可在后面补充说明（报价过高：预算只有20万）")
# How far a pair has got: an exit (rejected, declined) ends what came before it, a contract ends all.
STAGE_ORDER = {"proposed": 0, "contacted": 1, "negotiating": 2, "rejected": 3, "declined": 3,
               "contract_signed": 4}
STAGE_WORDS = models.STAGE_WORDS


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
            "correction": e.correction,
            "idempotency_key": e.idempotency_key}


def resolve_run(session: Session, run_id: str | None, need_id: str) -> str | None:
    """A recommendation run as it is; a monthly report's run id becomes the run of that need's list in it."""
    if not run_id or session.get(models.RecommendationRun, run_id) is not None:
        return run_id
    if session.get(models.ReportRun, run_id) is None:
        raise FeedbackError(f"run_id：没有编号为 {run_id!r} 的推荐批次或月报")
    found = session.scalar(
        select(models.ReportList.run_id).join(models.RecommendationItem,
                                              models.RecommendationItem.run_id == models.ReportList.run_id)
        .where(models.ReportList.report_id == run_id, models.RecommendationItem.need_id == need_id).limit(1))
    if found is None:
        raise FeedbackError(f"run_id：月报 {run_id} 没有推荐需求 {need_id}")
    return found


def stage_problem(history: list[tuple], stage: str, when: dt.date | None, correction: bool) -> str | None:
    """Why an event cannot follow a pair's ``history`` ((date, stage, correction) in order), or None."""
    if when is not None and when > dt.date.today():
        return f"日期 {when.isoformat()} 晚于今天"
    if correction or stage == "proposed":  # a pair proposed again in a later list is not going backwards
        return None
    furthest = None
    before = [e for e in history if when is None or e[0] is None or e[0] <= when]
    for _, earlier, was_correction in sorted(before, key=lambda e: e[0] or dt.date.min):
        rank = STAGE_ORDER[earlier]
        # a correction sets the stage; a new proposal (a later list) starts the pair over
        restart = was_correction or furthest is None or earlier == "proposed"
        furthest = rank if restart else max(furthest, rank)
    if furthest is not None and STAGE_ORDER[stage] < furthest:
        reached = next(s for s, r in STAGE_ORDER.items() if r == furthest)
        return (f"阶段倒退：这对需求和团队已到「{STAGE_WORDS[reached]}」，不能再记「{STAGE_WORDS[stage]}」；"
                "如是更正，请用 --correction 或在「更正」列填 是")
    return None


def _histories(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[tuple]]:
    histories: dict[tuple[str, str], list[tuple]] = {pair: [] for pair in pairs}
    needs = sorted({need for need, _ in pairs})
    e = models.OutcomeEvent
    for start in range(0, len(needs), 500):
        for need, team, date, stage, correction in session.execute(
                select(e.need_id, e.team_id, e.date, e.stage, e.correction)
                .where(e.need_id.in_(needs[start:start + 500])).order_by(e.date, e.id)):
            if (need, team) in histories:
                histories[(need, team)].append((date, stage, bool(correction)))
    return histories


def check_outcome_rows(session: Session, rows: list, notes: list[str]) -> list:
    """An outcomes file against the pairs' histories: no date after today, no stage going backwards
    unless marked 更正; a reason outside the fixed list is kept as 其他 with a note; a monthly report's
    run id resolves to the need's list, and the shown rank is taken from it."""
    from matcher.ingest.loader import existing_values, outcome_key

    problems = []
    keys = existing_values(session, models.OutcomeEvent.idempotency_key, [outcome_key(row) for _, row in rows])
    fresh = [(record, row) for record, row in rows if outcome_key(row) not in keys]
    histories = _histories(session, {(row.need_id, row.team_id) for _, row in fresh})
    for record, row in sorted(fresh, key=lambda pair: pair[1].date or dt.date.today()):
        history = histories.setdefault((row.need_id, row.team_id), [])
        reason = stage_problem(history, row.stage, row.date, bool(row.correction))
        if reason:
            problems.append(record.problem("date" if "晚于今天" in reason else "stage", reason))
            continue
        history.append((row.date, row.stage, bool(row.correction)))
        if row.reason and row.reason[0] == "其他" and not str(record.cells.get("reason", "")).startswith("其他"):
            notes.append(f"{record.where()}：原因「{row.reason[1]}」不在固定原因（{'、'.join(REJECTION_REASONS)}）中，"
                         "记为「其他」并保留原文")
        if row.run_id:
            try:
                row.run_id = resolve_run(session, row.run_id, row.need_id)
            except FeedbackError as exc:
                problems.append(record.problem("run_id", str(exc).removeprefix("run_id：")))
                continue
            if row.shown_rank is None:
                row.shown_rank = _rank_in(session, row.run_id, row.need_id, row.team_id)
    return problems


def _rank_in(session: Session, run_id: str, need_id: str, team_id: str) -> int | None:
    return session.scalar(select(models.RecommendationItem.rank).where(
        models.RecommendationItem.run_id == run_id, models.RecommendationItem.need_id == need_id,
        models.RecommendationItem.team_id == team_id))


def _parse(need_id, team_id, stage, amount_wan, date, reason, shown_rank) -> OutcomeRow:
    try:
        row = OutcomeRow.model_validate({"need_id": need_id, "team_id": team_id, "stage": stage,
                                         "amount_wan": amount_wan, "date": date, "reason": reason,
                                         "shown_rank": shown_rank})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "event"
        raise FeedbackError(f"{field}：{first['msg'].removeprefix('Value error, ')}") from None
    if row.stage == "contract_signed" and not row.amount_wan:
        raise FeedbackError("amount_wan：已签约需要合同金额（万元，如 35 或 35万）")
    if row.stage == "rejected" and not row.reason:
        raise FeedbackError(f"reason：{REASON_HELP}")
    if row.stage != "rejected" and row.reason and row.reason[0] != "其他":
        raise FeedbackError(f"reason：{row.reason[0]} 是未成功的原因；阶段请记 rejected（未成功）")
    return row


def record(session: Session, need_id: str, team_id: str, stage: str, amount_wan=None, date=None, reason=None,
           run_id: str | None = None, source: str = "cli", idempotency_key: str | None = None,
           shown_rank=None, correction: bool = False) -> Recorded:
    """Validate and append one event in ``session`` (the caller commits). ``shown_rank``: where the pair
    stood in the list the enterprise saw; taken from the run when a run is named and it is not given.
    ``run_id`` may be a monthly report's (the need's list in it is meant). A date after today, or a stage
    going backwards without ``correction``, is refused."""
    row = _parse(need_id, team_id, stage, amount_wan, date, reason, shown_rank)
    for model, key, what, word in ((models.Need, row.need_id, "need", "需求"),
                                   (models.Team, row.team_id, "team", "团队")):
        if session.get(model, key) is None:
            raise FeedbackError(f"{what}_id：没有编号为 {key!r} 的{word}")
    run_id = resolve_run(session, run_id, row.need_id)
    values = {**outcome_values(row), "date": row.date or dt.date.today(), "run_id": run_id,
              "correction": correction or None}
    if run_id and values["shown_rank"] is None:
        values["shown_rank"] = session.scalar(
            select(models.RecommendationItem.rank).where(models.RecommendationItem.run_id == run_id,
                                                         models.RecommendationItem.need_id == row.need_id,
                                                         models.RecommendationItem.team_id == row.team_id))
    key = idempotency_key or f"{source}:{uuid.uuid4()}"
    existing = _by_key(session, key)
    if existing is None:
        history = _histories(session, {(row.need_id, row.team_id)})[(row.need_id, row.team_id)]
        problem = stage_problem(history, row.stage, values["date"], correction)
        if problem:
            raise FeedbackError(("date：" if "晚于今天" in problem else "stage：") + problem)
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
        raise FeedbackError(f"幂等键 {key!r} 已用于另一条记录（编号 {existing.id}）")
    return Recorded(stored, False)


def _by_key(session: Session, key: str) -> models.OutcomeEvent | None:
    return session.scalars(select(models.OutcomeEvent).where(models.OutcomeEvent.idempotency_key == key)).first()


def pair_history(session: Session, need_id: str, team_id: str) -> list[dict]:
    """A need-team pair's events in the order they happened (date, then the order they were recorded)."""
    events = session.scalars(select(models.OutcomeEvent)
                             .where(models.OutcomeEvent.need_id == need_id, models.OutcomeEvent.team_id == team_id)
                             .order_by(models.OutcomeEvent.date, models.OutcomeEvent.id)).all()
    return [event_dict(e) for e in events]
