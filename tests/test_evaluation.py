"""bench/evaluation.py on small synthetic inputs: metrics, bootstrap intervals and cross-validation
(the machinery issue 17's tuning relies on; not a test of the model's quality)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.evaluation import (  # noqa: E402
    best_value,
    bootstrap,
    cross_validate,
    group_folds,
    hole_rate,
    kfold,
    paired_difference,
    query_metrics,
    weight_grid,
)


def test_a_perfect_ranking_scores_one():
    grades = {"a": 3, "b": 2, "c": 1, "d": 0}
    assert query_metrics(["a", "b", "c", "d"], grades, 2) == {"nDCG@10": 1.0, "MRR": 1.0, "R@10": 1.0}
    worst = query_metrics(["x", "d", "c"], grades, 2)
    assert worst["MRR"] == 0.0 and worst["R@10"] == 0.0 and 0 < worst["nDCG@10"] < 0.2


def test_queries_with_nothing_to_find_are_undefined_not_zero():
    row = query_metrics(["a", "b"], {"a": 1, "b": 0}, 2)
    assert row["MRR"] is None and row["R@10"] is None and row["nDCG@10"] == 1.0
    assert query_metrics(["a"], {"a": 0}, 2)["nDCG@10"] is None
    assert bootstrap([None, 0.5, None]).n == 1


def test_hole_rate_counts_unjudged_items_of_the_top_k():
    assert hole_rate(["a", "x", "b", "y"], {"a": 0, "b": 3}) == 0.5
    assert hole_rate([f"i{k}" for k in range(20)], {f"i{k}": 0 for k in range(10)}) == 0.0


def test_bootstrap_interval_contains_the_mean_and_is_repeatable():
    values = [0.1, 0.9, 0.4, 0.7, 0.3, 0.8, 0.5, 0.6]
    ci = bootstrap(values)
    assert ci.low <= ci.mean <= ci.high and ci.n == 8
    assert ci.mean == pytest.approx(sum(values) / 8)
    assert ci.low < ci.high
    assert bootstrap(values) == ci  # fixed seed
    assert bootstrap([0.5] * 5).low == bootstrap([0.5] * 5).high == 0.5


def test_paired_difference_is_tight_for_a_constant_shift():
    a = [0.2, 0.9, 0.4, 0.7, 0.3]
    diff = paired_difference([x + 0.1 for x in a], a)
    assert diff.mean == pytest.approx(0.1) and diff.high - diff.low < 1e-9
    assert paired_difference([None, 0.5], [0.2, 0.4]).n == 1


def test_folds_partition_the_queries():
    queries = [f"q{i}" for i in range(23)]
    folds = kfold(queries, 5)
    assert len(folds) == 5 and sorted(q for f in folds for q in f) == sorted(queries)
    assert kfold(queries, 5) == folds and kfold(queries, 5, seed=1) != folds
    by_industry = group_folds(queries, lambda q: int(q[1:]) % 3)
    assert [len(f) for f in by_industry] == [8, 8, 7]


def table_of(best_weight_of: dict[str, float], grid: list[float]) -> dict:
    """A query's nDCG is 1 at its own best weight and falls off linearly away from it."""
    return {
        q: {w: {"nDCG@10": 1 - abs(w - b), "MRR": None, "R@10": None} for w in grid} for q, b in best_weight_of.items()
    }


def test_cross_validation_never_sees_the_held_out_fold():
    grid = weight_grid(0.1)
    best = {"a1": 0.2, "a2": 0.2, "b1": 0.8, "b2": 0.8, "c1": 0.2}
    folds = [["a1", "a2"], ["b1", "b2"], ["c1"]]
    cv = cross_validate(table_of(best, grid), folds, grid)
    chosen = {tuple(fold): w for fold, w in cv.chosen}
    # The b fold prefers 0.8 but is scored at what a and c chose without it.
    assert chosen[("b1", "b2")] == 0.2
    assert cv.held_out["b1"]["nDCG@10"] == pytest.approx(0.4)
    # Changing only a held-out fold's own values never moves the weight chosen for it.
    changed = dict(best, b1=1.0, b2=1.0)
    again = {tuple(f): w for f, w in cross_validate(table_of(changed, grid), folds, grid).chosen}
    assert again[("b1", "b2")] == chosen[("b1", "b2")]
    assert set(cv.held_out) == set(best)


def test_hindsight_choice_uses_every_query_and_prefers_the_earliest_tie():
    grid = weight_grid(0.5)
    assert grid == [0.0, 0.5, 1.0]
    table = table_of({"a": 0.0, "b": 1.0}, grid)
    assert best_value(table, ["a", "b"], grid) == 0.0  # all three tie at 0.5 mean
    assert best_value(table, ["b"], grid) == 1.0
    with pytest.raises(ValueError):
        cross_validate(table, [["a", "b"]], grid)
