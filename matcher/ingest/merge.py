"""``cxy merge KEEP DROP``: two records that are one become one, with everything that refers to them.

``merge_records(session, kind, keep_id, drop_id, actor)`` moves every reference to DROP onto KEEP
(enterprises: needs, challenges, monthly report lists; institutions: teams; teams: achievements,
outcome events, recommendation items, API keys, console users), fills KEEP's empty columns from
DROP, deletes DROP, and records one audit entry ("merge"), all in the caller's transaction.

The outcome log is append-only at the database level (triggers). A merge is the one write that may
re-point events to the surviving team: the events' content is unchanged, the trigger is lifted for
that single UPDATE inside the merge's transaction and put back before it commits, and the audit entry
says how many events moved.
"""

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from matcher.store import models

MERGEABLE = {"enterprises": models.Enterprise, "institutions": models.Institution, "teams": models.Team}
REFERENCES = {
    "enterprises": [(models.Need, "enterprise_id"), (models.Challenge, "issuer_enterprise_id"),
                    (models.ReportList, "enterprise_id")],
    "institutions": [(models.Team, "institution_id")],
    "teams": [(models.Achievement, "team_id"), (models.OutcomeEvent, "team_id"),
              (models.RecommendationItem, "team_id"), (models.ApiKey, "team_id"), (models.User, "team_id")],
}


_SQLITE_TRIGGER = ("CREATE TRIGGER outcome_events_no_update BEFORE UPDATE ON outcome_events "
                   "BEGIN SELECT RAISE(ABORT, 'outcome_events is append-only: record a new event'); END")


def _update_events(session: Session, statement):
    """Re-point outcome events (team merge) with the append-only trigger lifted for this statement only."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("DROP TRIGGER IF EXISTS outcome_events_no_update"))
        try:
            return session.execute(statement)
        finally:
            session.execute(text(_SQLITE_TRIGGER))
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE outcome_events DISABLE TRIGGER outcome_events_append_only"))
        try:
            return session.execute(statement)
        finally:
            session.execute(text("ALTER TABLE outcome_events ENABLE TRIGGER outcome_events_append_only"))
    return session.execute(statement)


class MergeError(ValueError):
    """A merge that cannot be made; the message says why, in Chinese."""


def kind_of(session: Session, record_id: str) -> str | None:
    for kind, model in MERGEABLE.items():
        if session.get(model, record_id) is not None:
            return kind
    return None


def merge_records(session: Session, kind: str | None, keep_id: str, drop_id: str, actor=None) -> dict:
    """Merge DROP into KEEP; ``kind`` None finds it from the ids. Returns what moved, per table."""
    from matcher.accounts.audit import Actor, record_audit

    if keep_id == drop_id:
        raise MergeError("保留和删除的是同一个编号")
    kind = kind or kind_of(session, keep_id)
    if kind not in MERGEABLE:
        raise MergeError(f"找不到编号 {keep_id}（可合并：企业、高校院所、团队）")
    model = MERGEABLE[kind]
    keep, drop = session.get(model, keep_id), session.get(model, drop_id)
    if keep is None or drop is None:
        missing = keep_id if keep is None else drop_id
        raise MergeError(f"{kind} 中没有编号 {missing}")
    moved = {}
    for table, column in REFERENCES[kind]:
        attribute = getattr(table, column)
        statement = update(table).where(attribute == drop_id).values({column: keep_id})
        events = table is models.OutcomeEvent
        result = _update_events(session, statement) if events else session.execute(statement)
        if result.rowcount:
            moved[table.__tablename__] = result.rowcount
    filled = []
    for column in model.__table__.columns:
        if column.primary_key or column.name in ("created_at", "updated_at"):
            continue
        if getattr(keep, column.key) in (None, "", []) and getattr(drop, column.key) not in (None, "", []):
            setattr(keep, column.key, getattr(drop, column.key))
            filled.append(column.key)
    session.flush()
    session.delete(drop)
    detail = {"kind": kind, "keep": keep_id, "drop": drop_id, "drop_name": drop.name, "moved": moved,
              "filled": filled}
    record_audit(session, actor or Actor.cli(), "merge", f"{kind}:{keep_id}<-{drop_id}", detail)
    session.flush()
    return detail
