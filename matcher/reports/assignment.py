"""The month's proposals as one assignment: maximise total fit subject to
- each need's list holds at most ``per_need`` teams, and at most ``per_institution`` of one institution
  (as match lists' default diversity, cap:3),
- a team is proposed to at most ``slots[team]`` enterprises this month (its capacity minus its load),
- a team is proposed to an enterprise once (for the best-fitting of its needs that the solution picks).

Solved as a linear programme (scipy's HiGHS, dual simplex). The constraint matrix is totally
unimodular (the need rows partition the pairs; the team and team-enterprise rows are nested), so the
simplex vertex is integral: an exact assignment, not a rounded one. (The need and need-institution rows
form one nested family, the team and team-enterprise rows another: two laminar families.) Without ``slots`` the same
programme gives the unconstrained lists the capacity cost is measured against.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True, slots=True)
class Candidate:
    need_id: str
    enterprise_id: str
    team_id: str
    fit: float  # the 0..1 score the list shows
    institution_id: str = ""


class AssignmentError(RuntimeError):
    """The solver did not return an integral optimum (should not happen; the message says what it did)."""


def assign(candidates: Sequence[Candidate], per_need: int, slots: Mapping[str, int] | None = None,
           per_institution: int | None = None) -> list[Candidate]:
    """The chosen candidates (best total fit), in the input's order. ``slots``: teams' monthly capacity
    (a team missing from it gets none); ``None``: no capacity limit."""
    pool = [c for c in candidates if c.fit > 0 and (slots is None or slots.get(c.team_id, 0) > 0)]
    if not pool:
        return []
    rows: list[tuple[int, int]] = []  # (constraint row, candidate column)
    bounds: list[float] = []

    def group(keys) -> dict:
        index: dict = {}
        for column, key in enumerate(keys):
            if key not in index:
                index[key] = len(bounds) + len(index)
            rows.append((index[key], column))
        return index

    need_rows = group(c.need_id for c in pool)
    bounds += [per_need] * len(need_rows)
    pair_rows = group((c.team_id, c.enterprise_id) for c in pool)
    bounds += [1] * len(pair_rows)
    if per_institution is not None and per_institution < per_need:
        institution_rows = group((c.need_id, c.institution_id) for c in pool)
        bounds += [per_institution] * len(institution_rows)
    if slots is not None:
        team_rows = group(c.team_id for c in pool)
        bounds += [slots[t] for t in team_rows]
    r, c = np.array(rows, dtype=np.int64).T
    matrix = sparse.csr_matrix((np.ones(len(rows)), (r, c)), shape=(len(bounds), len(pool)))
    fit = np.array([c.fit for c in pool])
    from scipy.optimize import linprog  # here, not at import: the console imports this module (~0.4 s at start-up)

    result = linprog(-fit, A_ub=matrix, b_ub=np.array(bounds, dtype=np.float64), bounds=(0, 1), method="highs-ds")
    if result.status != 0:
        raise AssignmentError(f"推荐分配求解器中途停止：{result.message}")
    x = result.x
    if np.any(np.minimum(np.abs(x), np.abs(1 - x)) > 1e-6):
        raise AssignmentError("推荐分配求解器给出了非整数解，无法分配")
    return [cand for cand, value in zip(pool, x, strict=True) if value > 0.5]


def total_fit(chosen: Sequence[Candidate]) -> float:
    return float(sum(c.fit for c in chosen))
