"""Ranking metrics shared by `cxy train` and the benchmarks: nDCG@k with gain 2^grade - 1 (grades
below 0 gain nothing) and recall@k. Both return None when the query has nothing to find."""

from collections.abc import Collection, Mapping, Sequence

import numpy as np


def ndcg(ranked: Sequence[str], grades: Mapping[str, float], k: int = 10) -> float | None:
    gain = sum((2 ** max(grades.get(t, 0), 0) - 1) / np.log2(i + 2) for i, t in enumerate(ranked[:k]))
    best = sorted(grades.values(), reverse=True)[:k]
    ideal = sum((2 ** max(g, 0) - 1) / np.log2(i + 2) for i, g in enumerate(best))
    return gain / ideal if ideal else None


def recall(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float | None:
    return len(set(relevant) & set(ranked[:k])) / len(set(relevant)) if relevant else None
