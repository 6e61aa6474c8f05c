"""Trained rankers, versioned in the store, and the choice the service makes among them.

The service ranks with the newest stored model that beat the transparent scorer on its time split;
otherwise with the scorer, and it says why (no model yet, feedback too thin, or the newest model did
not win). ``CXY_RANKER=scorer`` pins the scorer.
"""

import datetime as dt
import hashlib
import json
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.matching.rank import Ranker, WeightedScorer
from matcher.store import models


def save_model(session: Session, report) -> str:
    """Store a training attempt (also the ones that lost: the log shows why the scorer is still served)."""
    now = dt.datetime.now()
    digest = hashlib.sha256(json.dumps([report.weights, report.window], sort_keys=True).encode()).hexdigest()[:8]
    newest = session.scalars(select(models.RankerModel).order_by(models.RankerModel.created_at.desc(),
                                                                 models.RankerModel.version.desc())).first()
    if newest is not None and newest.version.endswith(f"-{digest}"):
        return newest.version  # the same weights from the same data window: training again stores nothing new
    version = f"learned:{now:%Y%m%d-%H%M%S}-{digest}"
    metrics = {"table": report.table, "eta": report.eta, "counts": report.counts}
    session.add(models.RankerModel(version=version, kind="pairwise-logistic", weights=report.weights or {},
                                   metrics=metrics, data_window=report.window, beat_scorer=report.beat_scorer,
                                   note=report.note, created_at=now))
    return version


def list_models(session: Session) -> list[dict]:
    rows = session.scalars(select(models.RankerModel).order_by(models.RankerModel.created_at.desc(),
                                                               models.RankerModel.version.desc())).all()
    return [{"version": r.version, "created_at": r.created_at.isoformat(timespec="seconds"), "kind": r.kind,
             "beat_scorer": r.beat_scorer, "note": r.note, "data_window": r.data_window, "metrics": r.metrics,
             "weights": r.weights} for r in rows]


def choose_ranker(session: Session) -> tuple[Ranker, str]:
    """The ranker to serve and a sentence saying why."""
    if os.environ.get("CXY_RANKER", "").lower() == "scorer":
        return WeightedScorer(), "透明评分（CXY_RANKER=scorer 指定）"
    stored = list_models(session)
    winner = next((m for m in stored if m["beat_scorer"] and m["weights"]), None)
    if winner is not None:
        return (WeightedScorer(winner["weights"], version=winner["version"]),
                f"学习排序模型 {winner['version']}：{winner['note']}")
    if not stored:
        return WeightedScorer(), "透明评分：尚未训练模型（cxy train）"
    return WeightedScorer(), f"透明评分：最新模型 {stored[0]['version']} 未被采用（{stored[0]['note']}）"
