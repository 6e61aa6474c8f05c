"""Per-query ranking metrics, bootstrap intervals and cross-validated choice of a parameter.

Issue 17 asks that every weight be chosen by cross-validation and reported on held-out folds only, with
intervals over queries. This module holds that logic once, free of the ranker, so each later tuning step
(a fusion weight, a constant) reuses it: compute each query's metrics at every grid value, then
``cross_validate`` picks the value on the training folds and returns the held-out queries' metrics.

A metric is None for a query with nothing to find (no relevant item: MRR and recall; no positive grade:
nDCG); such queries are left out of that metric's mean instead of counting as 0 for every method.
"""

import hashlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.learning.metrics import ndcg, recall

METRICS = ("nDCG@10", "MRR", "R@10")
RESAMPLES = 1000
SEED = 20261217

Row = dict[str, float | None]  # metric -> value (None: undefined for this query)


def query_metrics(ranked: Sequence[str], grades: Mapping[str, int], relevant_from: int, k: int = 10) -> Row:
    """nDCG@k (gain 2^g - 1), reciprocal rank of the first item graded >= relevant_from, recall@k.
    Unjudged items count as grade 0."""
    relevant = {t for t, g in grades.items() if g >= relevant_from}
    first = next((i + 1 for i, t in enumerate(ranked) if t in relevant), None)
    return {
        "nDCG@10": ndcg(ranked, grades, k),
        "MRR": (1.0 / first if first else 0.0) if relevant else None,
        "R@10": recall(ranked, relevant, k),
    }


def hole_rate(ranked: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """Share of the top k that nobody judged (scored as 0, so a high share means the pool is too thin)."""
    top = list(ranked[:k])
    return sum(t not in judged for t in top) / len(top) if top else 0.0


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]" if self.n else "-"


def bootstrap(
    values: Sequence[float | None], resamples: int = RESAMPLES, seed: int = SEED, level: float = 0.95
) -> Interval:
    """Mean and percentile bootstrap interval over queries (None values left out). The seed is fixed so
    two runs, and two methods on the same queries, draw the same resamples."""
    x = np.array([v for v in values if v is not None], dtype=float)
    if not len(x):
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    idx = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    means = x[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(x.mean()), float(low), float(high), len(x))


def paired_difference(a: Sequence[float | None], b: Sequence[float | None], **kwargs) -> Interval:
    """Bootstrap interval of the mean of a - b over the queries where both are defined (paired: the same
    queries are resampled for both, which is much tighter than comparing two separate intervals)."""
    return bootstrap([x - y for x, y in zip(a, b, strict=True) if x is not None and y is not None], **kwargs)


# ---- folds ----------------------------------------------------------------------------------------
def group_folds(query_ids: Sequence[str], group_of: Callable[[str], Hashable]) -> list[list[str]]:
    """Leave-one-group-out (e.g. one industry): one fold per group, in sorted group order."""
    groups: dict[Hashable, list[str]] = {}
    for q in query_ids:
        groups.setdefault(group_of(q), []).append(q)
    return [groups[g] for g in sorted(groups, key=str)]


def kfold(query_ids: Sequence[str], k: int = 5, seed: int = SEED) -> list[list[str]]:
    """k folds by query, assigned by a seeded hash of the id (stable when queries are added)."""
    order = sorted(query_ids, key=lambda q: hashlib.sha1(f"{seed}:{q}".encode()).hexdigest())
    return [sorted(order[i::k]) for i in range(min(k, len(order)))]


# ---- choosing a parameter -------------------------------------------------------------------------
def mean_metric(rows: Sequence[Row], metric: str) -> float:
    values = [r[metric] for r in rows if r[metric] is not None]
    return float(np.mean(values)) if values else float("-inf")


def best_value(
    table: Mapping[str, Mapping[Hashable, Row]],
    queries: Sequence[str],
    grid: Sequence[Hashable],
    objective: str = "nDCG@10",
) -> Hashable:
    """The grid value with the best mean objective over ``queries``; ties go to the earliest grid value."""
    scores = [mean_metric([table[q][v] for q in queries], objective) for v in grid]
    return grid[int(np.argmax(scores))]


@dataclass
class CrossValidated:
    held_out: dict[str, Row]  # query -> its metrics at the value chosen without it
    chosen: list[tuple[list[str], Hashable]]  # (held-out fold, value chosen on the other folds)


def cross_validate(
    table: Mapping[str, Mapping[Hashable, Row]],
    folds: Sequence[Sequence[str]],
    grid: Sequence[Hashable],
    objective: str = "nDCG@10",
) -> CrossValidated:
    """For each fold, choose the grid value on the other folds' queries only, then read the fold's own
    queries at that value. ``table[query][value]`` holds each query's metrics at each grid value."""
    held_out: dict[str, Row] = {}
    chosen = []
    for fold in folds:
        training = [q for other in folds if other is not fold for q in other]
        if not training:
            raise ValueError("cross-validation needs at least two folds")
        value = best_value(table, training, grid, objective)
        chosen.append((list(fold), value))
        held_out.update({q: dict(table[q][value]) for q in fold})
    return CrossValidated(held_out, chosen)


def weight_grid(step: float = 0.1) -> list[float]:
    """0, step, ..., 1 rounded so the values print and compare cleanly."""
    return [round(i * step, 10) for i in range(int(round(1 / step)) + 1)]
