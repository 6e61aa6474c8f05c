"""The follow-up pipeline: every need-team pair with events, at its latest stage, with names, the run
and rank it was shown at, and whether it is overdue (proposed or contacted more than N days ago with
nothing since) with the action a clerk should take. The console's 工作台 and 跟进 pages read it."""

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.feedback.funnel import STAGES
from matcher.matching.explain import STAGE_LABELS
from matcher.store import models

OVERDUE_STAGES = ("proposed", "contacted")
_LEVEL = {stage: i for i, stage in enumerate(STAGES)}
ACTIONS = {"proposed": "致电企业确认是否与该团队对接，登记“已联系”",
           "contacted": "询问双方洽谈进展，登记“洽谈中”或结果"}
COLUMNS = ["need_id", "need_title", "enterprise_id", "enterprise_name", "county", "industry", "team_id",
           "team_name", "institution_name", "stage", "stage_label", "last_date", "first_date", "month", "amount_wan",
           "run_id", "shown_rank", "events", "overdue", "days_since", "action", "level", "rejected", "declined"]


@dataclass(frozen=True)
class PipelineFilters:
    county: str | None = None
    industry: str | None = None
    institution: str | None = None
    month: str | None = None  # YYYY-MM of the pair's first event
    stage: str | None = None
    overdue_only: bool = False

    def apply(self, pairs: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=pairs.index)
        for column, value in (("county", self.county), ("industry", self.industry),
                              ("institution_name", self.institution), ("month", self.month), ("stage", self.stage)):
            if value:
                keep &= pairs[column].fillna("") == value
        if self.overdue_only:
            keep &= pairs["overdue"]
        return pairs[keep]


def pipeline(session: Session, today: dt.date | None = None, overdue_days: int = 14) -> pd.DataFrame:
    """One row per pair, newest activity first."""
    today = today or dt.date.today()
    m = models
    rows = session.execute(
        select(m.OutcomeEvent.need_id, m.Need.title, m.Need.enterprise_id, m.Enterprise.name, m.Enterprise.county,
               m.Enterprise.industry, m.OutcomeEvent.team_id, m.Team.name, m.Institution.name, m.OutcomeEvent.stage,
               m.OutcomeEvent.date, m.OutcomeEvent.amount_wan, m.OutcomeEvent.run_id, m.OutcomeEvent.shown_rank)
        .join(m.Need, m.Need.id == m.OutcomeEvent.need_id)
        .join(m.Enterprise, m.Enterprise.id == m.Need.enterprise_id)
        .join(m.Team, m.Team.id == m.OutcomeEvent.team_id)
        .join(m.Institution, m.Institution.id == m.Team.institution_id)
        .order_by(m.OutcomeEvent.date, m.OutcomeEvent.id)).all()
    events = pd.DataFrame(rows, columns=["need_id", "need_title", "enterprise_id", "enterprise_name", "county",
                                         "industry", "team_id", "team_name", "institution_name", "stage", "date",
                                         "amount_wan", "run_id", "shown_rank"])
    if events.empty:
        return pd.DataFrame(columns=COLUMNS)
    events["date"] = pd.to_datetime(events["date"])  # min/max over Python dates took the slow path (0.1 s)
    grouped = events.groupby(["need_id", "team_id"], sort=False)
    # What the funnel counts (funnel.funnel reads these): the furthest stage reached, and the exits.
    events["level"] = events["stage"].map(_LEVEL).fillna(0).astype(int)
    events["rejected"] = events["stage"] == "rejected"
    events["declined"] = events["stage"] == "declined"
    # last() takes each column's latest non-missing value: the stage of the latest event, and the run and
    # rank of the latest event that named them.
    pairs = grouped.last()
    pairs["last_date"] = grouped["date"].max().dt.date
    pairs["first_date"] = grouped["date"].min().dt.date
    pairs["events"] = grouped.size()
    pairs["level"] = grouped["level"].max()
    pairs["rejected"] = grouped["rejected"].any()
    pairs["declined"] = grouped["declined"].any()
    signed = events[events["stage"] == "contract_signed"].groupby(["need_id", "team_id"])["amount_wan"].last()
    pairs["amount_wan"] = signed.reindex(pairs.index)
    pairs = pairs.reset_index().drop(columns="date")
    pairs["month"] = pd.to_datetime(pairs["first_date"]).dt.strftime("%Y-%m")
    pairs["stage_label"] = pairs["stage"].map(STAGE_LABELS)
    pairs["days_since"] = [(today - d).days if d else None for d in pairs["last_date"]]
    pairs["overdue"] = pairs["stage"].isin(OVERDUE_STAGES) & (pairs["days_since"].fillna(0) > overdue_days)
    pairs["action"] = [ACTIONS.get(s, "") if o else "" for s, o in zip(pairs["stage"], pairs["overdue"], strict=True)]
    return pairs.sort_values(["last_date", "need_id", "team_id"], ascending=[False, True, True])[COLUMNS]


def year_figures(pairs: pd.DataFrame, year: int) -> dict:
    """Contracts signed in ``year`` (by the signing event's date) and their 万元."""
    if pairs.empty:
        return {"contracts": 0, "amount_wan": 0.0}
    signed = pairs[(pairs["stage"] == "contract_signed")
                   & (pd.to_datetime(pairs["last_date"]).dt.year == year)]
    return {"contracts": int(len(signed)), "amount_wan": float(signed["amount_wan"].fillna(0).sum())}


def records(pairs: pd.DataFrame) -> list[dict]:
    """Rows as dicts for templates and exports: missing values as None (never NaN), ranks as ints."""
    out = []
    for row in pairs.to_dict("records"):
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        if clean.get("shown_rank") is not None:
            clean["shown_rank"] = int(clean["shown_rank"])
        out.append(clean)
    return out
