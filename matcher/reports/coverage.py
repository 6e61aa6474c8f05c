"""Coverage and fairness of a month's proposals: how widely they spread over institutions and teams,
how unevenly (Gini of proposals per team, zeros included), and how much went to local institutions."""

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

from matcher.ingest.values import city_name

LABELS = {
    "institutions_share": "获得推荐的单位占比",
    "teams_share": "获得推荐的团队占比",
    "gini": "团队推荐次数基尼系数",
    "local_province_share": "推荐给本省单位的占比",
    "local_city_share": "推荐给本市单位的占比",
}


def gini(counts: Iterable[float]) -> float:
    """0 when every team got the same number of proposals, towards 1 when a few got them all."""
    values = np.sort(np.asarray(list(counts), dtype=np.float64))
    if len(values) == 0 or values.sum() == 0:
        return 0.0
    n = len(values)
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * values).sum()) / (n * values.sum()) - (n + 1) / n)


def coverage(proposals: Iterable[tuple[str, str]], team_institution: Mapping[str, str],
             institution_place: Mapping[str, tuple[str | None, str | None]],
             enterprise_place: Mapping[str, tuple[str | None, str | None]]) -> dict:
    """``proposals``: (team id, enterprise id) pairs. Places are (province, city). Shares are over all
    teams and over institutions that have teams."""
    pairs = list(proposals)
    per_team = Counter(team for team, _ in pairs)
    institutions = set(team_institution.values())
    proposed_institutions = {team_institution[t] for t in per_team}
    same_province = same_city = 0
    for team, enterprise in pairs:
        province, city = institution_place[team_institution[team]]
        e_province, e_city = enterprise_place[enterprise]
        same_province += bool(province) and province == e_province
        same_city += bool(city) and city_name(city) == city_name(e_city)
    n = len(pairs)
    return {
        "proposals": n,
        "teams_proposed": len(per_team),
        "teams": len(team_institution),
        "institutions_proposed": len(proposed_institutions),
        "institutions": len(institutions),
        "institutions_share": round(len(proposed_institutions) / len(institutions), 4) if institutions else 0.0,
        "teams_share": round(len(per_team) / len(team_institution), 4) if team_institution else 0.0,
        "gini": round(gini([per_team.get(t, 0) for t in team_institution]), 4),
        "local_province_share": round(same_province / n, 4) if n else 0.0,
        "local_city_share": round(same_city / n, 4) if n else 0.0,
    }


def change(current: dict, previous: dict | None) -> dict:
    """Each share's change against the previous month's run (None when there is none)."""
    return {key: (round(current[key] - previous[key], 4) if previous and key in previous else None) for key in LABELS}
