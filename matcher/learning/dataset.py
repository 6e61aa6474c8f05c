"""Feature rows for learning and evaluation: the match service's own features (so a learned ranker
scores exactly what the service computes), taken from the catalog as it stood when the list was
made, so no row sees outcomes from its own future.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.matching.features import FEATURE_NAMES
from matcher.matching.service import MatchService


@dataclass
class Query:
    """One need's candidates: team ids and their feature matrix (rows in the same order)."""

    need_id: str
    team_ids: list[str]
    X: np.ndarray

    def rows(self, team_ids) -> np.ndarray:
        position = {t: i for i, t in enumerate(self.team_ids)}
        return self.X[[position[t] for t in team_ids]]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def query_features(service: MatchService, need_id: str, extra=()) -> Query:
    scored = service.need_candidates(need_id, extra)
    X = np.array([[s.values[n] for n in FEATURE_NAMES] for s in scored]).reshape(len(scored), len(FEATURE_NAMES))
    return Query(need_id, [s.key for s in scored], X)


def labelled_queries(service: MatchService, labels: pd.DataFrame, include_labelled: bool = True,
                     ) -> list[tuple[Query, pd.DataFrame]]:
    """For each need with labelled pairs: its candidates with features as of the first day of the month
    its earliest labelled pair was proposed, and the labelled pairs among them. ``include_labelled``
    adds the labelled teams retrieval does not reach (training needs their features; evaluation must
    not, or it would rank teams the service could never have listed)."""
    labels = labels[labels["need_id"].isin(service.catalog.needs)]
    if labels.empty:
        return []
    firsts = labels.groupby("need_id")["first_date"].min().map(month_start)
    out = []
    for month, need_ids in firsts.groupby(firsts, sort=True):
        with service.as_of(month):
            for need_id in sorted(need_ids.index):
                pairs = labels[labels["need_id"] == need_id]
                query = query_features(service, need_id, list(pairs["team_id"]) if include_labelled else ())
                out.append((query, pairs[pairs["team_id"].isin(query.team_ids)]))
    return out
