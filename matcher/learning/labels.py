"""Training labels from the outcome log: one row per need-team pair, as it stood on a given day.

    signed (3) > negotiating (2) > contacted (1) > shown without action (0) > 技术不对口 (-1)

A rejection for 技术不对口 is a negative whatever stage it came at (the match itself was wrong). A
rejection for budget, timing or an existing partner, and a team declining, say nothing about the
match: the pair keeps the stage it reached, and a pair that never got past "proposed" for such a
reason is left out (no evidence either way).
"""

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store import models

GRADE = {"proposed": 0, "contacted": 1, "negotiating": 2, "contract_signed": 3}
MISMATCH = "技术不对口"
COLUMNS = ["need_id", "team_id", "first_date", "shown_rank", "label", "mismatch", "signed"]


def events_frame(session: Session) -> pd.DataFrame:
    m = models
    rows = session.execute(select(m.OutcomeEvent.need_id, m.OutcomeEvent.team_id, m.OutcomeEvent.stage,
                                  m.OutcomeEvent.date, m.OutcomeEvent.reason_code, m.OutcomeEvent.shown_rank)
                           .where(m.OutcomeEvent.date.is_not(None))
                           .order_by(m.OutcomeEvent.date, m.OutcomeEvent.id)).all()
    return pd.DataFrame(rows, columns=["need_id", "team_id", "stage", "date", "reason_code", "shown_rank"])


def pair_labels(events: pd.DataFrame, until: dt.date | None = None) -> pd.DataFrame:
    """Labels of every pair from the events dated before ``until`` (all events when None)."""
    if until is not None:
        events = events[events["date"] < until]
    out = []
    for (need_id, team_id), trail in events.groupby(["need_id", "team_id"], sort=True):
        reached = max(GRADE.get(stage, 0) for stage in trail["stage"])
        mismatch = bool(((trail["stage"] == "rejected") & (trail["reason_code"] == MISMATCH)).any())
        excused = bool(((trail["stage"] == "rejected") | (trail["stage"] == "declined")).any()) and not mismatch
        if excused and reached == 0:
            continue
        ranks = trail["shown_rank"].dropna()
        out.append((need_id, team_id, trail["date"].min(), int(ranks.min()) if len(ranks) else None,
                    -1 if mismatch else reached, mismatch, reached == 3 and not mismatch))
    return pd.DataFrame(out, columns=COLUMNS)
