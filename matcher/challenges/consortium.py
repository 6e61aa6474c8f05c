"""A consortium (联合体) for a challenge no single team covers: a small weighted set cover, solved exactly.

Among up to ``pool`` eligible candidates, every set of at most ``k`` teams is scored and the best kept:
first the most targets covered, then the highest combined fit — for each covered target the strongest
member's evidence, minus MEMBER_COST for every member beyond the first (a partner has to add real
evidence to be worth the coordination). C(20, 3) + C(20, 2) + 20 = 1,350 sets: exhaustive search is
exact and instant at the sizes a 榜单 has. The lead is the member covering most targets (then the best fit).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

MEMBER_COST = 2.0
MAX_K = 5
MAX_POOL = 25


@dataclass(frozen=True)
class Consortium:
    members: tuple[str, ...]  # lead first
    assignment: dict[int, str]  # target index -> the member whose evidence covers it best
    uncovered: tuple[int, ...]
    fit: float
    sets_considered: int


def best_consortium(targets: Sequence[int], scores: dict[str, dict[int, float]], covers: dict[str, frozenset[int]],
                    fit: dict[str, float], k: int) -> Consortium | None:
    """``scores[team][target]``: coverage score; ``covers[team]``: targets it covers; ``fit``: team fit.
    Teams covering nothing are never members; None when no candidate covers any target."""
    pool = [t for t in scores if covers.get(t)]
    if not pool:
        return None
    best_key, best, considered = None, None, 0
    for size in range(1, min(k, len(pool)) + 1):
        for members in combinations(pool, size):
            considered += 1
            assignment = {}
            for target in targets:
                holders = [m for m in members if target in covers[m]]
                if holders:
                    assignment[target] = max(holders, key=lambda m: (scores[m][target], fit[m], m))
            if any(m not in assignment.values() for m in members):
                continue  # a member who is nobody's best evidence adds nothing
            combined = sum(scores[assignment[t]][t] for t in assignment) - MEMBER_COST * (size - 1)
            key = (len(assignment), combined, -size, tuple(sorted(members)))
            if best_key is None or key[:3] > best_key[:3] or (key[:3] == best_key[:3] and key[3] < best_key[3]):
                best_key, best = key, (members, assignment, combined)
    members, assignment, combined = best
    count = {m: sum(1 for holder in assignment.values() if holder == m) for m in members}
    ordered = tuple(sorted(members, key=lambda m: (-count[m], -fit[m], m)))
    uncovered = tuple(t for t in targets if t not in assignment)
    return Consortium(ordered, assignment, uncovered, round(combined, 3), considered)
