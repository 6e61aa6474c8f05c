"""Typed row models for each import kind: the contract's columns, validated cell by cell.

Each model lists its columns in contract order; ``REQUIRED`` names the columns a file must have, each
as a tuple of alternatives (a needs sheet has a title or a need text; an enterprise id, credit code or
name), and ``PARENT`` the reference that must resolve (kind of parent, column). Ids are not required:
a row without one gets a stable id from what identifies it (``matcher.ingest.identity``).
"""

from datetime import date
from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from matcher.ingest import values
from matcher.store.models import ACHIEVEMENT_KINDS, INSTITUTION_TYPES, NEED_STATUSES, OUTCOME_STAGES


def _required_text(value: object) -> str:
    text = values.clean_text(value)
    if text is None:
        raise ValueError("必填，但为空")
    return text


def _spellings(canonical: tuple[str, ...], chinese: dict[str, str]) -> dict[str, str]:
    return {name: name for name in canonical} | chinese


INSTITUTION_TYPE_SPELLINGS = _spellings(INSTITUTION_TYPES, {
    "高校": "university", "大学": "university", "高等院校": "university", "学院": "university",
    "科研院所": "research_institute", "研究所": "research_institute", "科研机构": "research_institute",
    "研究院": "research_institute", "新型研发机构": "new_rd_institution",
    "企业研发中心": "enterprise_rd_center", "企业技术中心": "enterprise_rd_center",
})
ACHIEVEMENT_KIND_SPELLINGS = _spellings(ACHIEVEMENT_KINDS, {
    "专利": "patent", "发明专利": "patent", "实用新型": "patent", "实用新型专利": "patent",
    "论文": "paper", "期刊论文": "paper", "项目": "project", "科研项目": "project", "课题": "project",
    "成果": "result", "科技成果": "result", "成果转化": "result",
})
OUTCOME_STAGE_SPELLINGS = _spellings(OUTCOME_STAGES, {
    "已推荐": "proposed", "推荐": "proposed", "已联系": "contacted", "联系": "contacted",
    "已对接": "contacted", "洽谈": "negotiating", "洽谈中": "negotiating", "已签约": "contract_signed",
    "签约": "contract_signed", "签订合同": "contract_signed", "contract": "contract_signed",
    "signed": "contract_signed", "未成功": "rejected", "企业拒绝": "rejected", "已拒绝": "rejected",
    "拒绝": "rejected", "团队拒绝": "declined", "婉拒": "declined", "团队婉拒": "declined",
})
NEED_STATUS_SPELLINGS = _spellings(NEED_STATUSES, {"开放": "open", "进行中": "open", "已关闭": "closed",
                                                    "已解决": "closed", "关闭": "closed"})
# Fixed rejection reasons; free text after them is kept beside the code.
REJECTION_REASONS = ("技术不对口", "报价过高", "周期太长", "企业暂缓", "已有合作方", "其他")


def _choice(spellings: dict[str, str], what: str):
    return BeforeValidator(lambda v: values.parse_choice(v, spellings, what))


def _choice_list(spellings: dict[str, str], what: str):
    def parse(value: object) -> list[str] | None:
        items = values.parse_list(value)
        return [values.parse_choice(item, spellings, what) for item in items] if items else None

    return BeforeValidator(parse)


RequiredText = Annotated[str, BeforeValidator(_required_text)]
Text = Annotated[str | None, BeforeValidator(values.clean_text)]
Bool = Annotated[bool | None, BeforeValidator(values.parse_bool)]
AmountWan = Annotated[float | None, BeforeValidator(values.parse_amount_wan)]
Deadline = Annotated[date | None, BeforeValidator(values.parse_deadline)]
Phones = Annotated[str | None, BeforeValidator(values.parse_phones)]
EventDate = Annotated[date | None, BeforeValidator(values.parse_date)]
TextList = Annotated[list[str] | None, BeforeValidator(values.parse_list)]
Province = Annotated[str | None, BeforeValidator(values.province_name)]
City = Annotated[str | None, BeforeValidator(values.city_name)]
ProvinceList = Annotated[
    list[str] | None,
    BeforeValidator(lambda v: [values.province_name(p) for p in values.parse_list(v) or []] or None),
]
Trl = Annotated[int | None, BeforeValidator(lambda v: values.parse_int(v, 1, 9))]
Capacity = Annotated[int | None, BeforeValidator(lambda v: values.parse_int(v, 0, 1000))]
Year = Annotated[int | None, BeforeValidator(lambda v: values.parse_int(v, 1950, 2100))]


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    REQUIRED: ClassVar[tuple[tuple[str, ...], ...]] = (("name",),)
    PARENT: ClassVar[tuple[str, str] | None] = None


class InstitutionRow(Row):
    id: RequiredText
    name: RequiredText
    type: Annotated[str | None, _choice(INSTITUTION_TYPE_SPELLINGS, "机构类型")] = None
    province: Province = None
    city: City = None
    tier: Text = None


class TeamRow(Row):
    REQUIRED = (("institution_id",), ("name",))
    PARENT = ("institutions", "institution_id")
    id: RequiredText
    institution_id: RequiredText
    name: RequiredText
    discipline: Text = None
    description: Text = None
    capacity: Capacity = None


class AchievementRow(Row):
    REQUIRED = (("team_id",), ("title",))
    PARENT = ("teams", "team_id")
    id: RequiredText
    team_id: RequiredText
    kind: Annotated[str | None, _choice(ACHIEVEMENT_KIND_SPELLINGS, "成果类型")] = None
    title: RequiredText
    abstract: Text = None
    keywords: TextList = None
    year: Year = None
    trl: Trl = None


class EnterpriseRow(Row):
    id: RequiredText
    credit_code: Annotated[str | None, BeforeValidator(values.parse_credit_code)] = None
    name: RequiredText
    province: Province = None
    city: City = None
    county: Text = None
    industry: Text = None
    high_tech: Bool = None
    above_scale: Bool = None
    has_rd_platform: Bool = None
    description: Text = None
    contact_person: Text = None
    contact_phone: Phones = None
    contacts_public: Bool = None
    key_enterprise: Bool = None
    rd_conditions: Text = None
    cooperation: Text = None
    wished_institutions: TextList = None
    innovation_plan: Text = None
    place_code: Text = None


class NeedRow(Row):
    REQUIRED = (("enterprise_id", "enterprise.name", "enterprise.credit_code"), ("title", "description"))
    PARENT = ("enterprises", "enterprise_id")
    id: RequiredText
    enterprise_id: RequiredText
    title: RequiredText
    description: Text = None
    keywords: TextList = None
    budget_wan: AmountWan = None
    budget_max_wan: AmountWan = None
    deadline: Deadline = None
    status: Annotated[str | None, _choice(NEED_STATUS_SPELLINGS, "需求状态")] = None

    @model_validator(mode="before")
    @classmethod
    def _budget_range(cls, data: object) -> object:
        """预算 "20-30万" keeps both ends: budget_wan 20, budget_max_wan 30."""
        if isinstance(data, dict) and isinstance(data.get("budget_wan"), str):
            try:
                low, high = values.parse_amount_range(data["budget_wan"])
            except ValueError:
                return data  # the field validator reports it
            if high is not None:
                data = {**data, "budget_wan": low, "budget_max_wan": high}
        return data


class ChallengeRow(Row):
    REQUIRED = (("title",),)
    PARENT = ("enterprises", "issuer_enterprise_id")
    id: RequiredText
    issuer_enterprise_id: Text = None
    title: RequiredText
    description: Text = None
    indicators: Text = None
    budget_wan: AmountWan = None
    deadline: Deadline = None
    eligible_provinces: ProvinceList = None
    eligible_types: Annotated[list[str] | None, _choice_list(INSTITUTION_TYPE_SPELLINGS, "机构类型")] = None
    min_trl: Trl = None


def _reason(value: object) -> tuple[str, str | None] | None:
    """"报价过高：预算只有20万" -> ("报价过高", "预算只有20万"); unlisted text -> ("其他", text)."""
    text = values.clean_text(value)
    if text is None:
        return None
    for code in REJECTION_REASONS:
        if text.startswith(code):
            rest = text[len(code):].lstrip(" :：,，;；-—")
            return code, rest or None
    return "其他", text


class OutcomeRow(Row):
    REQUIRED = (("need_id",), ("team_id",), ("stage",))
    id: Text = None
    need_id: RequiredText
    team_id: RequiredText
    stage: Annotated[str, _choice(OUTCOME_STAGE_SPELLINGS, "阶段")]
    amount_wan: AmountWan = None
    date: EventDate = None
    reason: Annotated[tuple[str, str | None] | None, BeforeValidator(_reason)] = None
    # The position the pair had in the list the enterprise was sent (1 = top), when known.
    shown_rank: Annotated[int | None, BeforeValidator(lambda v: values.parse_int(v, 1, 1000))] = None
    # The list the pair was proposed in: a recommendation run, or a monthly report (resolved per need).
    run_id: Text = None
    correction: Bool = None  # 更正: a correction may take the pair's stage backwards


ROW_MODELS: dict[str, type[Row]] = {
    "institutions": InstitutionRow,
    "teams": TeamRow,
    "achievements": AchievementRow,
    "enterprises": EnterpriseRow,
    "needs": NeedRow,
    "challenges": ChallengeRow,
    "outcomes": OutcomeRow,
}
