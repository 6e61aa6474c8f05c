"""The month's assignment: exact optimum under capacities, per-need list lengths and one proposal of a
team per enterprise (checked against brute force on small random cases)."""

import itertools
import random
from collections import Counter

import pytest

from matcher.reports.assignment import Candidate, assign, total_fit
from matcher.reports.coverage import gini
from matcher.reports.month import Month
from matcher.reports.status import moved, surveyed_cooperation


def feasible(chosen, per_need, slots, per_institution=None) -> bool:
    per_need_count = Counter(c.need_id for c in chosen)
    per_list_institution = Counter((c.need_id, c.institution_id) for c in chosen)
    per_team = Counter(c.team_id for c in chosen)
    pairs = Counter((c.team_id, c.enterprise_id) for c in chosen)
    return (all(v <= per_need for v in per_need_count.values()) and all(v == 1 for v in pairs.values())
            and (slots is None or all(per_team[t] <= slots.get(t, 0) for t in per_team))
            and (per_institution is None or all(v <= per_institution for v in per_list_institution.values())))


def brute_force(candidates, per_need, slots, per_institution) -> float:
    best = 0.0
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            if feasible(subset, per_need, slots, per_institution):
                best = max(best, total_fit(subset))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_the_assignment_is_the_exact_optimum_and_respects_every_limit(seed):
    rng = random.Random(seed)
    needs = [(f"N{i}", f"E{rng.randrange(3)}") for i in range(4)]
    teams = [f"T{i}" for i in range(4)]
    institution = {t: f"I{rng.randrange(2)}" for t in teams}
    candidates = [Candidate(n, e, t, round(rng.uniform(0.4, 1.0), 3), institution[t])
                  for n, e in needs for t in rng.sample(teams, 3)][:12]
    slots = {t: rng.randint(0, 2) for t in teams}
    for limit, per_institution in ((slots, None), (None, None), (slots, 1), (None, 1)):
        chosen = assign(candidates, 2, limit, per_institution)
        assert feasible(chosen, 2, limit, per_institution)
        assert total_fit(chosen) == pytest.approx(brute_force(candidates, 2, limit, per_institution))


def test_a_team_at_capacity_gives_way_to_the_next_best_team():
    candidates = [Candidate("N1", "E1", "T1", 0.9), Candidate("N1", "E1", "T2", 0.5),
                  Candidate("N2", "E2", "T1", 0.8), Candidate("N2", "E2", "T3", 0.7)]
    chosen = assign(candidates, 1, {"T1": 1, "T2": 1, "T3": 1})
    # T1 goes where it is worth most over the alternative: N2 would lose 0.1 without it, N1 0.4.
    assert {(c.need_id, c.team_id) for c in chosen} == {("N1", "T1"), ("N2", "T3")}
    assert assign(candidates, 1, {"T1": 0}) == []  # no team with slots: nothing, not an error


def test_gini_month_and_survey_answers():
    assert gini([2, 2, 2]) == 0 and gini([0, 0, 6]) == pytest.approx(2 / 3) and gini([]) == 0
    assert str(Month.parse("2026-1")) == "2026-01" and str(Month.parse("2026-01").previous()) == "2025-12"
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse("2026/11")
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse("2026-13")
    assert surveyed_cooperation("与华东交通大学合作开展过绝缘子污闪研究。")
    assert not surveyed_cooperation("暂未开展产学研合作。拟对接中国科学院上海硅酸盐研究所")
    assert not any(map(surveyed_cooperation, ("没有开展过产学研合作", "无", "")))


def test_moves_compare_with_last_months_flags_and_date_the_first_contract():
    now = {"platform": True, "high_tech": True, "cooperation": True, "surveyed_cooperation": False,
           "first_contract": "2026-11-05"}
    before = {"platform": False, "high_tech": True}
    start = Month.parse("2026-11").first_day
    assert moved(now, before, start) == {"platform": True, "high_tech": False, "cooperation": True}
    assert moved(now, None, start)["platform"] is None  # no previous run: unknown, not zero
    assert not moved({**now, "first_contract": "2026-10-30"}, before, start)["cooperation"]
