"""Fit a linear ranker on outcome labels: pairwise logistic regression (scikit-learn) over the match
service's features, anchored to the transparent scorer and corrected for position bias.

Linear on purpose: the learned ranker is the scorer with other weights, so every explanation still
shows each feature's part of the score, and a director can read what the feedback changed.

- Pairs: within one need's list, every (better, worse) pair of labelled teams.
- Position bias: an enterprise reads the top of a list more often, so "shown without action" at
  position 5 says less than at position 1, and a contract from position 5 says more. A pair's weight
  is 1 / P(the better team was looked at) = rank ** eta (capped), the standard inverse-propensity
  correction. eta is estimated from the data (the effect of log rank on being contacted, given the
  features) unless given.
- Anchor: the scorer's own score is a feature scaled up (ANCHOR_SCALE) so keeping the scorer's
  ordering costs almost no regularisation; the per-feature weights move only as far as the
  outcomes push them. With thin feedback the model stays the scorer.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression

from matcher.matching.features import FEATURE_NAMES

ANCHOR_SCALE = 10.0
C = 0.01  # inverse regularisation of the per-feature weight changes (small: move only as far as outcomes push)
MAX_WEIGHT = 10.0  # cap on inverse-propensity weights


def estimate_position_bias(X: np.ndarray, ranks: np.ndarray, engaged: np.ndarray) -> float:
    """eta in P(looked at | rank) = rank ** -eta, from a logistic model of "contacted" on the features and
    log rank (pairs with a known rank). 0 when there is too little data to say."""
    known = ~np.isnan(ranks)
    if known.sum() < 30 or len(set(engaged[known])) < 2 or len(set(ranks[known])) < 2:
        return 0.0
    design = np.column_stack([X[known], np.log(ranks[known])])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(design, engaged[known])
    return float(np.clip(-model.coef_[0][-1], 0.0, 2.0))


def propensity_weight(rank: float, eta: float) -> float:
    return 1.0 if np.isnan(rank) or eta == 0 else float(min(MAX_WEIGHT, rank ** eta))


def preference_pairs(groups, eta: float):
    """Difference vectors (better - worse), with weights, from (X, labels, ranks) per list."""
    diffs, weights = [], []
    for X, labels, ranks in groups:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if labels[i] > labels[j]:
                    diffs.append(X[i] - X[j])
                    # A 技术不对口 rejection is a judgement, not a click: no position correction.
                    weights.append(propensity_weight(ranks[i], eta) if labels[i] >= 1 else 1.0)
    return np.array(diffs).reshape(-1, len(FEATURE_NAMES)), np.array(weights)


def fit_weights(groups, base: dict[str, float], eta: float, c: float = C) -> dict[str, float] | None:
    """Learned feature weights, or None when the lists hold no preference at all."""
    diffs, weights = preference_pairs(groups, eta)
    if len(diffs) < 2:
        return None
    w0 = np.array([base.get(n, 0.0) for n in FEATURE_NAMES])
    design = np.column_stack([ANCHOR_SCALE * (diffs @ w0), diffs])
    # Both orientations, so the problem is balanced and needs no intercept.
    X = np.vstack([design, -design])
    y = np.r_[np.ones(len(design)), np.zeros(len(design))]
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(X, y, sample_weight=np.r_[weights, weights])
    anchor, delta = model.coef_[0][0] * ANCHOR_SCALE, model.coef_[0][1:]
    w = anchor * w0 + delta
    return dict(zip(FEATURE_NAMES, w.tolist(), strict=True))


def rescale(weights: dict[str, float], base: dict[str, float], X: np.ndarray) -> dict[str, float]:
    """The same ordering on the scorer's scale (equal spread over ``X``), so displayed 0..1 scores mean
    about the same for both rankers."""
    w = np.array([weights[n] for n in FEATURE_NAMES])
    w0 = np.array([base.get(n, 0.0) for n in FEATURE_NAMES])
    spread, target = float(np.std(X @ w)), float(np.std(X @ w0))
    factor = target / spread if spread > 0 and target > 0 else 1.0
    return {n: round(v * factor, 4) for n, v in weights.items()}
