"""Features of a (need, team) pair: semantic evidence plus what a bureau weighs beside it.

Every feature is a number near -1..1 (semantic ones are z-scores, so a few units), 0 meaning
"no information" so that missing data (no region, no TRL, no history) neither helps nor hurts.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from matcher.ingest.values import city_name
from matcher.matching.candidates import Evidence
from matcher.matching.catalog import Catalog

FEATURES: dict[str, str] = {  # name -> the label an explanation shows
    "semantic": "语义相关度",
    "dense": "语义(向量)",
    "lexical": "字词匹配",
    "best_evidence": "最佳成果匹配",
    "term_overlap": "关键词重合",
    "field_fit": "学科与行业相符",
    "region": "地域相近",
    "institution_tier": "单位层次",
    "readiness": "成熟度(TRL)",
    "recency": "成果新近",
    "spare_capacity": "团队余力",
    "history_enterprise": "与该企业合作过",
    "history_industry": "同行业合作记录",
    "history_pair": "本需求已有反馈",
}
FEATURE_NAMES = tuple(FEATURES)

TOP_TIER = ("双一流", "985", "211", "国家")
GOOD_TIER = ("省属重点", "省重点", "重点", "省级")


@dataclass(frozen=True)
class QueryContext:
    """What is known about the asking side: a stored need, an enterprise, or just text."""

    text: str
    need_id: str | None = None
    enterprise_id: str | None = None
    terms: tuple[tuple[str, float], ...] = ()  # key terms with their weights (idf)
    field_scores: dict[str, float] = field(default_factory=dict)  # team id -> discipline/industry fit (z)


def tier_value(tier: str | None) -> float:
    if not tier:
        return 0.0
    if any(t in tier for t in TOP_TIER):
        return 1.0
    if any(t in tier for t in GOOD_TIER):
        return 0.6
    return 0.3


def region_value(catalog: Catalog, team_id: str, enterprise_id: str | None) -> float:
    if enterprise_id is None or enterprise_id not in catalog.enterprises:
        return 0.0
    enterprise, institution = catalog.enterprises[enterprise_id], catalog.institution_of(team_id)
    if not enterprise.province or not institution.province or enterprise.province != institution.province:
        return 0.0
    # city_name again here: databases imported before cities were normalised hold 萍乡 beside 萍乡市.
    return 1.0 if enterprise.city and city_name(enterprise.city) == city_name(institution.city) else 0.5


def evidence_achievements(catalog: Catalog, evidence: Evidence) -> list:
    return [catalog.achievements[d[4:]] for d, _ in evidence.documents
            if d.startswith("ach:") and d[4:] in catalog.achievements]


def matched_terms(terms: Sequence[tuple[str, float]], text: str) -> list[str]:
    return [t for t, _ in terms if t in text]


def term_overlap(terms: Sequence[tuple[str, float]], text: str) -> float:
    total = sum(w for _, w in terms)
    return sum(w for t, w in terms if t in text) / total if total else 0.0


def _clip(value: float) -> float:
    """``value`` limited to [-1, 1] (np.clip on one number cost more than the rest of a pair's features)."""
    return float(min(1.0, max(-1.0, value)))


def pair_features(catalog: Catalog, query: QueryContext, team_id: str, evidence: Evidence,
                  team_text: str) -> dict[str, float]:
    """All FEATURES for one pair; ``evidence`` is the team's semantic evidence for the query's text."""
    achievements = evidence_achievements(catalog, evidence)
    trls = [a.trl for a in achievements if a.trl]
    years = [a.year for a in achievements if a.year]
    team = catalog.teams[team_id]
    capacity = team.capacity or 3
    history = catalog.history
    enterprise = catalog.enterprises.get(query.enterprise_id) if query.enterprise_id else None
    values = {
        "semantic": evidence.affinity,
        "dense": evidence.dense,
        "lexical": evidence.lexical,
        "best_evidence": evidence.best[1],
        "term_overlap": term_overlap(query.terms, team_text),
        "field_fit": query.field_scores.get(team_id, 0.0),
        "region": region_value(catalog, team_id, query.enterprise_id),
        "institution_tier": tier_value(catalog.institution_of(team_id).tier),
        "readiness": (max(trls) - 5) / 4 if trls else 0.0,
        "recency": _clip((max(years) - (catalog.today.year - 5)) / 5) if years else 0.0,
        "spare_capacity": _clip((capacity - catalog.team_load(team_id)) / capacity),
        "history_enterprise": 0.0,
        "history_industry": 0.0,
        "history_pair": 0.0,
    }
    if enterprise is not None:
        if history.signed_by_team_enterprise[(team_id, enterprise.id)]:
            values["history_enterprise"] = 1.0
        elif history.engaged_by_team_enterprise[(team_id, enterprise.id)]:
            values["history_enterprise"] = 0.5
        if enterprise.industry:
            signed = history.signed_by_team_industry[(team_id, enterprise.industry)]
            values["history_industry"] = min(1.0, math.log1p(signed) / math.log(4))
    if query.need_id:
        last = history.latest(query.need_id, team_id)
        if last is not None and last.stage == "rejected" and last.reason_code == "技术不对口":
            values["history_pair"] = -1.0
        elif last is not None and last.stage == "declined":
            values["history_pair"] = -0.5
    return values
