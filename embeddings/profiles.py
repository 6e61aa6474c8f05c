"""Team profiles: a team is a set of documents (its description and achievements); its affinity to
a query aggregates its documents' scores. Mean of the top k (k = 3) is the default: on expertise
matching it beat both max and mean (see bench/retrieval.py and shared/notes/measured-baselines.md).
"""

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

AGGREGATIONS = ("max", "top2mean", "top3mean", "mean", "softmax")


def aggregate(scores: Sequence[float], how: str = "top3mean") -> float:
    """One affinity from one team's document scores."""
    values = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if not len(values):
        return float("-inf")
    if how == "max":
        return float(values[0])
    if how.startswith("top") and how.endswith("mean"):
        # A team with fewer than k documents averages what it has: one strong paper counts fully.
        return float(values[: int(how[3:-4])].mean())
    if how == "mean":
        return float(values.mean())
    if how == "softmax":  # a smooth max: log-sum-exp at temperature 1 over z-scored inputs
        return float(np.log(np.exp(values - values[0]).sum()) + values[0])
    raise ValueError(f"unknown aggregation {how!r}; use one of {', '.join(AGGREGATIONS)}")


def owner_scores(doc_ids: Sequence[str], scores: Sequence[float], owner_of: dict[str, str],
                 how: str = "top3mean") -> dict[str, float]:
    """Aggregate per-document scores into per-owner (team or enterprise) affinities."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for doc_id, score in zip(doc_ids, scores, strict=True):
        owner = owner_of.get(doc_id)
        if owner is not None:
            grouped[owner].append(float(score))
    return {owner: aggregate(values, how) for owner, values in grouped.items()}
