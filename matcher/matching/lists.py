"""What every list shares, whichever way it runs (teams for a need, or needs for a team): a scored pair,
the ranker applied to feature rows, z-scores over a list's candidates, and the exploration mark.

Both directions build their lists from these, so a change here moves both; anything one direction
alone decides lives in its own module (teams_for_needs, needs_for_teams).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.matching.candidates import Evidence
from matcher.matching.exploration import NOTE as EXPLORATION_NOTE
from matcher.matching.features import FEATURE_NAMES
from matcher.matching.rank import Ranker

Row = tuple[str, str | None, str | None, Evidence, dict[str, float]]  # key, team, need, evidence, features


class NotFound(LookupError):
    """An id that is not in the database; the message names it."""


@dataclass
class Scored:
    """One ranked pair: ``key`` is the team id (match lists) or need id (firm lists)."""

    key: str
    team_id: str | None
    need_id: str | None
    evidence: Evidence
    values: dict[str, float]
    parts: dict[str, float]
    raw: float
    note: dict = field(default_factory=dict)


def score_rows(ranker: Ranker, rows: list[Row]) -> list[Scored]:
    """Each row scored by the ranker with its per-feature contributions, best first (ties by key)."""
    if not rows:
        return []
    X = np.array([[values[n] for n in FEATURE_NAMES] for *_, values in rows])
    parts = ranker.contributions(X)
    raw = ranker.score(X)
    scored = [
        Scored(key, team, need, ev, values, dict(zip(FEATURE_NAMES, p.tolist(), strict=True)), float(r))
        for (key, team, need, ev, values), p, r in zip(rows, parts, raw, strict=True)
    ]
    return sorted(scored, key=lambda s: (-s.raw, s.key))


def clipped_z(keys: Sequence[str], raw: Sequence[float]) -> dict[str, float]:
    """Cosines z-scored over the list's candidates and clipped to +-2; unknown (nan) -> 0 (no information)."""
    values = np.asarray(raw, dtype=np.float64)
    if np.isnan(values).all():
        return {}
    std = np.nanstd(values)
    z = np.nan_to_num((values - np.nanmean(values)) / (std if std > 0 else 1.0))
    return dict(zip(keys, np.clip(z, -2, 2).tolist(), strict=True))


def mark_explored(results: list[dict], explored: set[str], key: str, what: str) -> None:
    """Say in their explanation which results hold an exploration place (``what``: 团队 or 企业)."""
    for r in results:
        if r[key] in explored:
            r["explanation"] = {
                "exploration": True,
                "exploration_note": EXPLORATION_NOTE.format(what=what),
                **r["explanation"],
            }
