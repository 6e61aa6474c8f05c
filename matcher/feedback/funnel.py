"""The follow-up funnel: how far each proposed need-team pair got, counted by month, county, industry,
institution, or by rank position in the recommendation runs that proposed it.

A pair reached a stage when any of its events is at that stage or a later one (a pair signed without
a recorded 已联系 was still contacted); rejected and declined are exits, counted beside the stages.
Months are those of the pair's first event. ``pairs_frame`` and ``funnel`` are the DataFrame API; the
CLI and HTTP print the same frames.
"""

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store import models

STAGES = ("proposed", "contacted", "negotiating", "contract_signed")
EXITS = ("rejected", "declined")
GROUPS = ("month", "county", "industry", "institution", "run_rank")
_LEVEL = {stage: i for i, stage in enumerate(STAGES)}


def pairs_frame(session: Session, before: dt.date | None = None) -> pd.DataFrame:
    """One row per need-team pair with events: furthest stage reached, exits, amount, and where it sits
    (``before``: only events dated before that day, as the log stood then)."""
    m = models
    query = (
        select(m.OutcomeEvent.need_id, m.OutcomeEvent.team_id, m.OutcomeEvent.stage, m.OutcomeEvent.date,
               m.OutcomeEvent.amount_wan, m.Need.enterprise_id, m.Enterprise.county, m.Enterprise.industry,
               m.Institution.name)
        .join(m.Need, m.Need.id == m.OutcomeEvent.need_id)
        .join(m.Enterprise, m.Enterprise.id == m.Need.enterprise_id)
        .join(m.Team, m.Team.id == m.OutcomeEvent.team_id)
        .join(m.Institution, m.Institution.id == m.Team.institution_id)
        .order_by(m.OutcomeEvent.date, m.OutcomeEvent.id))
    if before is not None:
        query = query.where(m.OutcomeEvent.date < before)
    rows = session.execute(query).all()
    columns = ["need_id", "team_id", "stage", "date", "amount_wan", "enterprise_id", "county", "industry",
               "institution"]
    events = pd.DataFrame(rows, columns=columns)
    if events.empty:
        return pd.DataFrame(columns=["need_id", "team_id", "month", "enterprise_id", "county", "industry",
                                     "institution", "level", *EXITS, "amount_wan"])
    events["level"] = events["stage"].map(_LEVEL).fillna(0).astype(int)  # an exit still means it was proposed
    grouped = events.groupby(["need_id", "team_id"], sort=True)
    pairs = grouped.agg(first_date=("date", "min"), enterprise_id=("enterprise_id", "first"),
                        county=("county", "first"), industry=("industry", "first"),
                        institution=("institution", "first"), level=("level", "max"),
                        amount_wan=("amount_wan", "last")).reset_index()  # a correction is the later event
    for exit_stage in EXITS:
        pairs[exit_stage] = grouped["stage"].apply(lambda s, e=exit_stage: bool((s == e).any())).to_numpy()
    pairs["month"] = pd.to_datetime(pairs["first_date"]).dt.strftime("%Y-%m")
    return pairs.drop(columns="first_date")


def _counts(pairs: pd.DataFrame) -> dict:
    out = {stage: int((pairs["level"] >= i).sum()) for i, stage in enumerate(STAGES)}
    out.update({e: int(pairs[e].sum()) for e in EXITS})
    for before, after in zip(STAGES, STAGES[1:], strict=False):
        out[f"{before}→{after}"] = round(out[after] / out[before], 3) if out[before] else None
    out["signed_rate"] = round(out["contract_signed"] / out["proposed"], 3) if out["proposed"] else None
    out["signed_amount_wan"] = float(pairs.loc[pairs["level"] >= 3, "amount_wan"].fillna(0).sum())
    return out


def funnel(pairs: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Counts per stage, exits and conversion rates; one row overall, or one per group of ``by``."""
    if by is None:
        return pd.DataFrame([{"group": "全部", **_counts(pairs)}])
    if by not in pairs.columns:
        raise ValueError(f"不能按 {by!r} 分组；可选：{'、'.join(GROUPS)}")
    rows = [{by: key if key is not None else "（未登记）", **_counts(part)}
            for key, part in pairs.groupby(pairs[by].fillna("（未登记）"), sort=True)]
    return pd.DataFrame(rows)


def by_run_rank(session: Session, pairs: pd.DataFrame) -> pd.DataFrame:
    """For pairs proposed in stored runs: how far they got, by the rank they were shown at (best rank
    per pair over all runs)."""
    m = models
    shown = pd.DataFrame(session.execute(select(m.RecommendationItem.need_id, m.RecommendationItem.team_id,
                                                m.RecommendationItem.rank)
                                         .where(m.RecommendationItem.need_id.is_not(None))).all(),
                         columns=["need_id", "team_id", "run_rank"])
    if shown.empty:
        return pd.DataFrame(columns=["run_rank", *STAGES])
    best = shown.groupby(["need_id", "team_id"])["run_rank"].min().reset_index()
    joined = best.merge(pairs, on=["need_id", "team_id"], how="inner")
    return funnel(joined, "run_rank")


def funnel_report(session: Session, by: str | None = None) -> pd.DataFrame:
    """The funnel as the CLI and HTTP show it: overall, by a column, or by run rank."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"不能按 {by!r} 分组；可选：{'、'.join(GROUPS)}")
    pairs = pairs_frame(session)
    return by_run_rank(session, pairs) if by == "run_rank" else funnel(pairs, by)
