"""`cxy train`: learn a ranker from the outcome log, judge it on a time split, store it versioned.

    report = train(engine)           # fit on earlier months, test on the last TEST_MONTHS, store
    report.table                     # nDCG@10 and recall@10 of contracted teams: scorer vs learned

Time split: the test lists are those whose first proposal falls in the last TEST_MONTHS calendar
months of the log; training sees only events dated before the first test month. Both rankers rank
each test need's candidates as the service would have (catalog as of that month, no help from the
labels). A model counts as better when its recall@10 of contracted teams is higher and its nDCG@10
is not lower; only then is it refitted on all the feedback and served.
"""

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from matcher.learning.dataset import labelled_queries, month_start
from matcher.learning.fit import estimate_position_bias, fit_weights, rescale
from matcher.learning.labels import events_frame, pair_labels
from matcher.learning.metrics import ndcg, recall
from matcher.learning.registry import save_model
from matcher.matching.features import FEATURE_NAMES
from matcher.matching.rank import WeightedScorer, weights_from_env
from matcher.matching.service import MatchService
from matcher.store.db import session_factory, write_session

TEST_MONTHS = 3
MIN_PREFERENCES = 20  # labelled lists must hold at least this many better-worse pairs
MIN_TEST_SIGNED = 5  # contracted pairs in the test months needed to judge a model
K = 10


@dataclass
class TrainReport:
    version: str | None
    beat_scorer: bool
    note: str
    window: dict
    eta: float | None
    counts: dict
    table: list[dict] = field(default_factory=list)  # one row per ranker
    weights: dict[str, float] = field(default_factory=dict)
    base_weights: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def shift_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def ndcg_recall(scores: np.ndarray, team_ids: list[str], pairs: pd.DataFrame, k: int = K) -> tuple[float, float]:
    """nDCG@k of the outcome labels and recall@k of contracted teams (NaN when there is nothing to find)."""
    order = [team_ids[i] for i in np.lexsort((np.array(team_ids), -scores))][:k]
    found = (ndcg(order, dict(zip(pairs["team_id"], pairs["label"], strict=True)), k),
             recall(order, set(pairs.loc[pairs["signed"], "team_id"]), k))
    return tuple(np.nan if value is None else value for value in found)


def evaluate(queries, rankers: dict[str, WeightedScorer], n_signed: int) -> list[dict]:
    rows = []
    for name, ranker in rankers.items():
        results = np.array([ndcg_recall(ranker.score(q.X), q.team_ids, pairs) for q, pairs in queries])
        rows.append({"ranker": name, "version": ranker.version, f"nDCG@{K}": float(np.nanmean(results[:, 0])),
                     f"recall@{K}": float(np.nanmean(results[:, 1])), "needs": len(queries),
                     "contracted_pairs": n_signed})
    return rows


def _groups(queries):
    return [(q.rows(pairs["team_id"]), pairs["label"].to_numpy(), pairs["shown_rank"].to_numpy(dtype=float))
            for q, pairs in queries]


def _learn(queries, base: dict[str, float], eta: float | None):
    groups = _groups(queries)
    if eta is None:
        X = np.vstack([g[0] for g in groups]) if groups else np.zeros((0, len(FEATURE_NAMES)))
        eta = estimate_position_bias(X, np.concatenate([g[2] for g in groups]) if groups else np.zeros(0),
                                     np.concatenate([g[1] >= 1 for g in groups]) if groups else np.zeros(0))
    weights = fit_weights(groups, base, eta)
    if weights is None:
        return None, eta
    return rescale(weights, base, np.vstack([q.X for q, _ in queries])), eta


def preferences(labels: pd.DataFrame) -> int:
    return int(sum(((g["label"].to_numpy()[:, None] > g["label"].to_numpy()[None, :]).sum())
                   for _, g in labels.groupby("need_id")))


def train(engine: Engine, service: MatchService | None = None, test_months: int = TEST_MONTHS,
          eta: float | None = None, store: bool = True, train_from: dt.date | None = None) -> TrainReport:
    """Fit, judge on the time split, and (``store``) record the model. ``service``: a MatchService of its
    own (its catalog is moved back in time while features are computed); default a new one.
    ``train_from``: learn only from pairs proposed from that day on (the learning curve)."""
    base = weights_from_env()
    service = service or MatchService(engine, store_runs=False)
    with session_factory(engine)() as session:
        events = events_frame(session)
    if events.empty:
        return TrainReport(None, False, "还没有任何对接结果记录：请先登记（cxy feedback，或 cxy import outcomes）",
                           {}, None, {}, base_weights=base)
    first, last = events["date"].min(), events["date"].max()
    cutoff = shift_months(month_start(last), -(test_months - 1))
    train_labels = pair_labels(events, until=cutoff)
    if train_from is not None:
        train_labels = train_labels[train_labels["first_date"] >= train_from]
    every = pair_labels(events)
    test_labels = every[every["first_date"] >= cutoff]
    window = {"first_event": first.isoformat(), "train_from": (train_from or first).isoformat(),
              "train_until": cutoff.isoformat(), "test_from": cutoff.isoformat(),
              "last_event": last.isoformat(), "test_months": test_months}
    counts = {"events": len(events), "train_pairs": len(train_labels), "train_preferences": preferences(train_labels),
              "test_pairs": len(test_labels), "test_contracted": int(test_labels["signed"].sum())}

    train_queries = labelled_queries(service, train_labels)
    weights, eta = _learn(train_queries, base, eta) if train_queries else (None, eta)
    thin = []
    if counts["train_preferences"] < MIN_PREFERENCES:
        thin.append(f"训练月份只有 {counts['train_preferences']} 组可比较的好坏配对（至少需要 {MIN_PREFERENCES} 组）")
    if counts["test_contracted"] < MIN_TEST_SIGNED:
        thin.append(f"检验月份只有 {counts['test_contracted']} 份签约（至少需要 {MIN_TEST_SIGNED} 份）")
    if weights is None or thin:
        note = "反馈太少，暂不能学习：" + ("；".join(thin) or "没有哪一份清单同时有较好和较差的团队")
        return _finish(engine, store, TrainReport(None, False, note, window, eta, counts, base_weights=base))

    test_queries = labelled_queries(service, test_labels[test_labels["label"] >= 1], include_labelled=False)
    rankers = {"scorer": WeightedScorer(base), "learned": WeightedScorer(weights, version="learned:candidate")}
    table = evaluate(test_queries, rankers, counts["test_contracted"])
    scorer, learned = table
    beat = learned[f"recall@{K}"] > scorer[f"recall@{K}"] and learned[f"nDCG@{K}"] >= scorer[f"nDCG@{K}"]
    if beat:
        served, _ = _learn(labelled_queries(service, every), base, eta)
        weights = served or weights
        window["served_fit"] = f"{first.isoformat()}..{last.isoformat()}"
        note = (f"在最近 {test_months} 个月上胜过规则打分（recall@{K} {learned[f'recall@{K}']:.3f}，规则 "
                f"{scorer[f'recall@{K}']:.3f}；nDCG@{K} {learned[f'nDCG@{K}']:.3f}，规则 {scorer[f'nDCG@{K}']:.3f}）；"
                "已用全部反馈重新拟合并投入使用")
    else:
        note = (f"在最近 {test_months} 个月上没有胜过规则打分（recall@{K} "
                f"{learned[f'recall@{K}']:.3f}，规则 {scorer[f'recall@{K}']:.3f}；nDCG@{K} {learned[f'nDCG@{K}']:.3f}，"
                f"规则 {scorer[f'nDCG@{K}']:.3f}）；继续使用规则打分")
    return _finish(engine, store, TrainReport(None, beat, note, window, eta, counts, table, weights, base))


def _finish(engine: Engine, store: bool, report: TrainReport) -> TrainReport:
    if store:
        with write_session(engine) as session:
            report.version = save_model(session, report)
    return report
