"""Header names: the contract's canonical columns and the Chinese headers staff actually use."""

import re
from functools import cache

from matcher.ingest.values import halfwidth

_COMMON = {"id": ["编号", "id号", "代码"]}
# Headers that are never data (row numbers); not reported as ignored.
ROW_NUMBER_HEADERS = {"序号", "编号序号", "no", "no.", "行号"}

ALIASES: dict[str, dict[str, list[str]]] = {
    "institutions": {
        "id": ["机构编号", "单位编号", "高校院所编号"],
        "name": ["名称", "机构名称", "单位名称", "高校院所", "高校院所名称"],
        "type": ["类型", "机构类型", "单位类型"],
        "province": ["省份", "省", "所在省份"],
        "city": ["城市", "市", "所在城市", "所在地"],
        "tier": ["层次", "级别", "等级", "办学层次"],
    },
    "teams": {
        "id": ["团队编号"],
        "institution_id": ["机构编号", "单位编号", "所属机构编号", "所属机构", "所属单位", "依托单位", "所在单位",
                           "高校院所", "所属高校院所", "机构名称", "单位名称"],
        "name": ["团队名称", "名称", "团队"],
        "discipline": ["学科", "学科领域", "所属学科"],
        "description": ["团队简介", "简介", "研究方向", "团队介绍"],
        "capacity": ["承接能力", "可承接项目数", "容量"],
    },
    "achievements": {
        "id": ["成果编号"],
        "team_id": ["团队编号", "所属团队"],
        "kind": ["类型", "成果类型"],
        "title": ["名称", "标题", "成果名称", "题目"],
        "abstract": ["摘要", "简介", "内容", "成果简介"],
        "keywords": ["关键词", "关键字"],
        "year": ["年份", "年度"],
        "trl": ["技术成熟度", "成熟度"],
    },
    "enterprises": {
        "id": ["企业编号"],
        "credit_code": ["统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码"],
        "name": ["企业名称", "单位名称", "名称", "企业"],
        "province": ["省份", "省"],
        "city": ["城市", "所属市", "市"],
        "county": ["所属县区", "县区", "县(市、区)", "县市区", "区县"],
        "industry": ["行业类别", "所属行业", "行业", "产业"],
        "high_tech": ["高新技术企业", "是否高新技术企业", "高企"],
        "above_scale": ["规上企业", "是否规上企业", "规模以上企业"],
        "has_rd_platform": ["科研条件平台", "研发平台", "有无研发平台", "是否有科研条件平台"],
        "description": ["企业简介", "主营业务", "简介", "主要产品"],
        "contact_person": ["联系人"],
        "contact_phone": ["联系电话", "电话", "手机", "联系方式", "手机号码", "联系人电话"],
        "contacts_public": ["联系方式公开", "是否公开联系方式"],
        "key_enterprise": ["重点企业", "是否重点企业", "是否为重点企业"],
        "rd_conditions": ["企业现有的科研条件和设备情况", "科研条件和设备情况"],
        "cooperation": ["企业是否开展产学研合作", "产学研合作情况"],
        "wished_institutions": ["拟对接的高校院所", "拟对接高校院所"],
        "innovation_plan": ["下一步科技创新工作安排"],
    },
    "needs": {
        "id": ["需求编号"],
        "enterprise_id": ["企业编号"],
        "title": ["需求名称", "标题", "需求标题", "需求项目名称"],
        "description": ["需求描述", "描述", "具体需求", "需求内容", "需求详情", "技术需求", "存在问题", "技术难题",
                        "企业技术需求", "技术需求描述", "需求", "企业技术需求及创新发展中遇到的问题", "遇到的问题"],
        "keywords": ["关键词", "关键字"],
        "budget_wan": ["预算", "拟投入资金", "预算金额", "拟投入经费", "投入预算"],
        "budget_max_wan": ["预算上限", "最高预算"],
        "deadline": ["截止日期", "完成时限", "期限", "截止时间", "需求时限", "时限"],
        "status": ["状态", "需求状态"],
    },
    "challenges": {
        "id": ["榜单编号", "项目编号"],
        "issuer_enterprise_id": ["发榜单位编号", "发榜企业编号", "企业编号"],
        "title": ["榜单名称", "项目名称", "名称", "标题"],
        "description": ["榜单描述", "描述", "需求描述", "榜单内容"],
        "indicators": ["技术指标", "考核指标", "指标"],
        "budget_wan": ["榜额", "榜单金额", "预算", "资金"],
        "deadline": ["截止日期", "揭榜截止日期", "期限"],
        "eligible_provinces": ["限定省份", "地域要求"],
        "eligible_types": ["限定机构类型", "揭榜方类型"],
        "min_trl": ["最低技术成熟度", "最低成熟度"],
    },
    "outcomes": {
        "need_id": ["需求编号"],
        "team_id": ["团队编号"],
        "stage": ["阶段", "状态", "进展", "跟进状态", "对接状态"],
        "amount_wan": ["金额", "合同金额", "签约金额"],
        "date": ["日期", "时间", "发生日期", "跟进日期"],
        "reason": ["原因", "备注", "说明"],
        "shown_rank": ["推荐位次", "推荐排名", "位次", "排名"],
        "run_id": ["推荐批次", "推荐批次编号", "运行编号", "清单编号"],
        "correction": ["更正", "是否更正"],
    },
}


def header_key(header: str) -> str:
    """Normalise a header for lookup: half-width, no spaces, lower case, no trailing unit in brackets."""
    key = halfwidth(str(header)).strip().lower().replace(" ", "").replace("\n", "")
    key = key.lstrip("*")  # "*企业名称" marks a required column in many templates
    return key


_TRAILING_UNIT = re.compile(r"\((万元|元|万|是/否|有/无|1-9|[^()]{0,12})\)$")


# A needs sheet may carry its enterprises' columns (the usual 汇总表: one row per need); they are read
# as "enterprise.<column>". Generic words that mean a need's own field there are left out.
ENTERPRISE_PREFIX = "enterprise."
_GENERIC_IN_NEEDS = {"名称", "简介", "描述", "关键词", "关键字", "状态", "企业编号"}


def enterprise_aliases_in_needs() -> dict[str, list[str]]:
    return {ENTERPRISE_PREFIX + column: [a for a in aliases if a not in _GENERIC_IN_NEEDS]
            for column, aliases in ALIASES["enterprises"].items() if column != "id"}


@cache
def _alias_index(kind: str) -> dict[str, str]:
    index = {header_key(alias): "id" for alias in _COMMON["id"]}
    for column, aliases in ALIASES[kind].items():
        index |= {header_key(alias): column for alias in aliases}
    if kind == "needs":
        for column, aliases in enterprise_aliases_in_needs().items():
            for alias in aliases:
                index.setdefault(header_key(alias), column)
            index.setdefault(column.replace(".", "_"), column)  # enterprise_name, enterprise_county, …
    return index


@cache
def kind_columns(kind: str) -> tuple[str, ...]:
    """Every column a file of ``kind`` may have: the row model's, and for needs its enterprises' too."""
    from matcher.ingest.schemas import ROW_MODELS

    columns = tuple(ROW_MODELS[kind].model_fields)
    if kind == "needs":
        columns += tuple(enterprise_aliases_in_needs())
    return columns


def is_row_number(header: object) -> bool:
    return header is not None and header_key(str(header)) in ROW_NUMBER_HEADERS


def headers_table() -> str:
    """The README's table of accepted headers per kind, generated from ``ALIASES`` so it cannot drift
    (``python -m matcher.ingest.columns`` prints it; a test compares it with the README)."""
    from matcher.ingest.schemas import ROW_MODELS

    lines = ["| kind | column | accepted Chinese headers |", "|---|---|---|"]
    for kind, model in ROW_MODELS.items():
        aliases = ALIASES[kind]
        for column in kind_columns(kind):
            if column.startswith(ENTERPRISE_PREFIX):
                words = enterprise_aliases_in_needs()[column]
            else:
                words = aliases.get(column, []) + (_COMMON["id"] if column == "id" else [])
            if column in model.model_fields or words:
                lines.append(f"| {kind} | {column} | {'、'.join(words) or '—'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(headers_table(), end="")


def canonical_column(kind: str, header: object, columns: tuple[str, ...]) -> str | None:
    """The canonical column a header stands for, or None when it is not one of ``kind``'s."""
    if header is None:
        return None
    key = header_key(str(header))
    for candidate in (key, _TRAILING_UNIT.sub("", key)):
        column = candidate if candidate in columns else _alias_index(kind).get(candidate)
        if column in columns:
            return column
    return None
