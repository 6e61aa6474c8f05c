"""What raised and lowered a score, in words a clerk can say on the phone (the ranker's feature
contributions, largest first), and the Chinese names of institution types."""

INSTITUTION_TYPES = {"university": "高校", "research_institute": "科研院所", "new_rd_institution": "新型研发机构",
                     "enterprise_rd_center": "企业研发中心"}

# feature -> (said when it raised the score, said when it lowered it)
PLAIN = {
    "semantic": ("研究内容与需求整体相关", "研究内容与需求整体相关度一般"),
    "dense": ("语义上与需求接近", "语义上与需求差距较大"),
    "lexical": ("成果中出现需求里的字词", "成果与需求用词不同"),
    "best_evidence": ("有一项成果与需求高度吻合", "没有特别吻合的单项成果"),
    "term_overlap": ("需求的关键技术词在团队材料中出现", "需求的关键技术词在团队材料中少见"),
    "field_fit": ("团队学科与企业行业相符", "团队学科与企业行业不太相符"),
    "region": ("与企业同城或同省，便于上门服务", "与企业不在同一地区"),
    "institution_tier": ("单位层次较高", "单位层次一般"),
    "readiness": ("相关成果成熟度（TRL）较高，接近应用", "相关成果尚处早期阶段"),
    "recency": ("相关成果较新", "相关成果年代较早"),
    "spare_capacity": ("团队目前有余力承接", "团队手头任务较满"),
    "history_enterprise": ("曾与该企业接洽或签约", "与该企业的往来未成功"),
    "history_industry": ("在同行业有合作记录", "在同行业的合作记录不佳"),
    "history_pair": ("本需求此前已有积极反馈", "本需求此前的反馈不理想（如技术不对口）"),
}


def raised_lowered(contributions: list[dict], limit: int = 3) -> tuple[list[str], list[str]]:
    """The plain reasons that raised and that lowered the score, strongest first."""
    up = [PLAIN.get(c["feature"], (c["label"], c["label"]))[0] for c in contributions if c["contribution"] > 0.02]
    down = [PLAIN.get(c["feature"], (c["label"], c["label"]))[1] for c in contributions if c["contribution"] < -0.02]
    return up[:limit], down[:limit]
