"""What a caller can ask of a match list: length, level, diversity, filters, and teams to explain."""

import os
from dataclasses import dataclass, field

from matcher.matching.diversity import DEFAULT_DIVERSITY, Policy
from matcher.store.models import INSTITUTION_TYPES

LEVELS = ("team", "institution", "need", "enterprise")
MAX_QUERY_TEXT = 5000  # a need is a paragraph; 1 MB of text cost 33 s of CPU and was stored in the run
MAX_QUERIES = 1000  # ids or query lines per command: each is a stored run


class OptionError(ValueError):
    """A request that cannot be answered as asked; the message says what to change."""


@dataclass
class MatchOptions:
    """top: results per list; level: team | institution (match) or need | enterprise (firms);
    diversity: cap:N | mmr:L | none; province/city/county: where the other side must be (institution
    for match, enterprise for firms; institutions have no county); institution_type; industry
    (firms: the enterprise's industry contains it); min_trl: the team's matched evidence must reach it;
    exclude_proposed: drop pairs that already have any outcome event; why: team (or need) ids to
    explain when they are not in the list; explore: places kept for teams (firm lists: enterprises)
    with no outcome history yet (default CXY_EXPLORE, else 1; 0 turns it off)."""

    top: int = 10
    level: str = "team"
    diversity: str = DEFAULT_DIVERSITY
    province: str | None = None
    city: str | None = None
    county: str | None = None
    institution_type: str | None = None
    industry: str | None = None
    min_trl: int | None = None
    exclude_proposed: bool = False
    why: list[str] = field(default_factory=list)
    explore: int = field(default_factory=lambda: int(os.environ.get("CXY_EXPLORE", "1")))

    def check(self, direction: str) -> Policy:
        if not 1 <= self.top <= 500:
            raise OptionError(f"列表长度 top 应在 1 到 500 之间，现为 {self.top}")
        levels = ("team", "institution") if direction == "match" else ("need", "enterprise")
        if self.level not in levels:
            raise OptionError(f"层级 {self.level} 无效，可选：{'、'.join(levels)}")
        if self.institution_type and self.institution_type not in INSTITUTION_TYPES:
            raise OptionError(f"单位类型 {self.institution_type} 无效，可选：{'、'.join(INSTITUTION_TYPES)}")
        if not 0 <= self.explore <= self.top:
            raise OptionError(f"试推名额 explore 应在 0 到 top（{self.top}）之间，现为 {self.explore}")
        if self.min_trl is not None and not 1 <= self.min_trl <= 9:
            raise OptionError(f"最低成熟度 TRL 应为 1-9，现为 {self.min_trl}")
        if direction == "match" and self.county:
            raise OptionError("高校院所没有县区信息；请按省份或城市筛选团队")
        if direction == "match" and self.industry:
            raise OptionError("行业筛选用于企业清单；查找团队请在需求描述中写明行业")
        if direction == "firms" and (self.institution_type or self.min_trl):
            raise OptionError("单位类型和最低成熟度用于筛选团队，不适用于企业清单")
        try:
            return Policy.parse(self.diversity)
        except ValueError as exc:
            raise OptionError(str(exc)) from None

    def as_params(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], False)}
