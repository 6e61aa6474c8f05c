"""Who may take on a challenge: the rules published with it (provinces, institution types, minimum TRL)
and capacity (a team at full load is not proposed). Each rule that fails gives a reason a clerk can read
out; a team with no reason is eligible."""

from collections.abc import Sequence
from dataclasses import dataclass

from matcher.ingest.values import province_name
from matcher.matching.catalog import Catalog

TYPE_LABELS = {"university": "高校", "research_institute": "科研院所", "new_rd_institution": "新型研发机构",
               "enterprise_rd_center": "企业研发中心"}


@dataclass(frozen=True)
class Rules:
    provinces: tuple[str, ...] = ()  # empty: any
    types: tuple[str, ...] = ()  # empty: any
    min_trl: int | None = None

    @classmethod
    def of(cls, challenge) -> "Rules":
        return cls(tuple(challenge.eligible_provinces or ()), tuple(challenge.eligible_types or ()),
                   challenge.min_trl)

    def as_dict(self) -> dict:
        return {"provinces": list(self.provinces), "types": list(self.types), "min_trl": self.min_trl}


def team_readiness(catalog: Catalog, team_id: str, evidence_achievements: Sequence[str]) -> int | None:
    """The TRL a team has shown for this challenge: the best of its matched achievements, else of all."""
    def best(ids):
        trls = [catalog.achievements[a].trl for a in ids if a in catalog.achievements and catalog.achievements[a].trl]
        return max(trls) if trls else None

    return best(evidence_achievements) or best(catalog.achievements_by_team.get(team_id, []))


def exclusions(catalog: Catalog, rules: Rules, team_id: str, readiness: int | None) -> list[str]:
    """Every rule the team fails, in words; empty when it is eligible."""
    reasons = []
    institution = catalog.institution_of(team_id)
    if rules.provinces:
        listed = "、".join(rules.provinces)
        allowed = {province_name(p) for p in rules.provinces}
        if not institution.province:
            reasons.append(f"单位所在省份未登记，榜单限定 {listed}")
        elif province_name(institution.province) not in allowed:
            reasons.append(f"地域不符：{institution.name}在{institution.province}，榜单限定 {listed}")
    if rules.types and institution.type not in rules.types:
        kind = TYPE_LABELS.get(institution.type or "", institution.type or "未登记")
        wanted = "、".join(TYPE_LABELS.get(t, t) for t in rules.types)
        reasons.append(f"单位类型不符：{kind}，榜单限定 {wanted}")
    if rules.min_trl:
        if readiness is None:
            reasons.append(f"成果未标注成熟度，无法确认达到 TRL{rules.min_trl}")
        elif readiness < rules.min_trl:
            reasons.append(f"成熟度不足：相关成果最高 TRL{readiness}，榜单要求 TRL{rules.min_trl} 以上")
    team = catalog.teams[team_id]
    capacity, load = team.capacity or 3, catalog.team_load(team_id)
    if load >= capacity:
        reasons.append(f"团队满负荷：在办 {load} 项，容量 {capacity} 项")
    return reasons
