"""Rankers turn feature rows into scores. The interface is small so the learned ranker of the
feedback loop plugs in beside the transparent weighted scorer:

    ranker.version                  -> str, stored with every recommendation run
    ranker.score(X)                 -> (n,) raw scores, higher is better
    ranker.contributions(X)         -> (n, n_features) per-feature parts of the score (for explanations)
"""

import hashlib
import json
import math
import os
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from matcher.matching.features import FEATURE_NAMES

# The transparent scorer's weights. Semantic evidence dominates; the structured features nudge within
# it. Changed only when bench/match_quality.py says a change is better (see the README's table).
DEFAULT_WEIGHTS: dict[str, float] = {
    "semantic": 1.0,
    "dense": 0.0,
    "lexical": 0.0,
    "best_evidence": 0.3,
    "term_overlap": 0.5,
    "field_fit": 0.1,
    "region": 0.15,
    "institution_tier": 0.05,
    "readiness": 0.1,
    "recency": 0.05,
    "spare_capacity": 0.1,
    "history_enterprise": 0.3,
    "history_industry": 0.1,
    "history_pair": 1.0,
}


class Ranker(Protocol):
    version: str
    feature_names: tuple[str, ...]

    def score(self, X: np.ndarray) -> np.ndarray: ...

    def contributions(self, X: np.ndarray) -> np.ndarray: ...


def weights_from_env(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """DEFAULT_WEIGHTS updated by ``CXY_RANK_WEIGHTS`` (JSON object) and then by ``overrides``."""
    weights = dict(DEFAULT_WEIGHTS)
    raw = os.environ.get("CXY_RANK_WEIGHTS")
    for source, updates in (("CXY_RANK_WEIGHTS", json.loads(raw) if raw else {}), ("weights", overrides or {})):
        unknown = sorted(set(updates) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"{source}: unknown feature(s) {', '.join(unknown)}; known: {', '.join(FEATURE_NAMES)}")
        weights.update({k: float(v) for k, v in updates.items()})
    return weights


def weights_digest(weights: Mapping[str, float]) -> str:
    """``default`` for DEFAULT_WEIGHTS, else 12 hex digits of the non-zero weights."""
    nonzero = {k: float(v) for k, v in sorted(weights.items()) if v}
    if nonzero == {k: v for k, v in sorted(DEFAULT_WEIGHTS.items()) if v}:
        return "default"
    return hashlib.sha256(json.dumps(nonzero, sort_keys=True).encode()).hexdigest()[:12]


class WeightedScorer:
    """score = sum of weight x feature. Parameters: weights (feature -> weight; missing features weigh 0);
    version (default: ``weighted:default`` for DEFAULT_WEIGHTS, else ``weighted:`` and a digest of the
    weights; a learned model passes its own version). Versions stay short because every stored run
    carries one (PostgreSQL enforces the column's length); runs store the weights themselves beside it."""

    feature_names = FEATURE_NAMES

    def __init__(self, weights: Mapping[str, float] | None = None, version: str | None = None):
        self.weights = dict(weights if weights is not None else weights_from_env())
        self._w = np.array([self.weights.get(name, 0.0) for name in FEATURE_NAMES], dtype=np.float64)
        self.version = version or f"weighted:{weights_digest(self.weights)}"

    def contributions(self, X: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(X, dtype=np.float64)) * self._w

    def score(self, X: np.ndarray) -> np.ndarray:
        return self.contributions(X).sum(axis=1)


def display_score(raw: float) -> float:
    """A 0..1 number for people, monotone in the raw score. Raw scores are in z-score units of the
    query's own top 100 documents (calibrated per query): 0.5 is 1.5 spreads above their mean, about
    where a team stops being clearly relevant on the labelled sample; 0.9 is about 4.8."""
    return round(1.0 / (1.0 + math.exp(-(raw - 1.5) / 1.5)), 4)
