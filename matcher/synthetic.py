"""Synthetic corpora of any size for speed benchmarks, reproducible by seed.

Texts are assembled from phrase lists, so they have realistic length and vocabulary but no real
meaning: use them to measure time and memory, never match quality (that is what data/sample is for).
Files are written in the import formats so that benchmarks exercise the real import path.
"""

import json
import random
from dataclasses import dataclass
from pathlib import Path

INDUSTRIES = ("先进陶瓷", "工业陶瓷", "电瓷电气", "节能环保", "电子电路", "空压机", "新材料", "航空制造",
              "数字经济", "建筑陶瓷", "锂电", "稀土", "生物医药", "食品")
COUNTIES = ("安源区", "湘东区", "莲花县", "上栗县", "芦溪县", "萍乡经济技术开发区")
PROVINCES = (("江西", "南昌"), ("江西", "萍乡"), ("江西", "赣州"), ("湖南", "长沙"), ("湖北", "武汉"),
             ("北京", "北京"), ("上海", "上海"), ("浙江", "杭州"), ("广东", "广州"), ("陕西", "西安"))
INSTITUTION_TYPES = ("university", "university", "university", "research_institute", "new_rd_institution",
                     "enterprise_rd_center")
OBJECTS = ("氧化铝陶瓷", "氮化硅轴承球", "碳化硅膜", "复合绝缘子", "瓷绝缘子", "螺杆转子", "永磁电机",
           "锂云母", "碳酸锂", "磷酸铁锂正极", "钕铁硼磁体", "稀土萃取液", "覆铜板", "多层电路板",
           "钛合金构件", "碳纤维复合材料", "中药提取物", "腊味制品", "茶油", "米粉", "陶瓷砖坯体",
           "釉料", "脱硝催化剂", "工业废水", "煤矸石", "余热锅炉", "工业相机图像", "设备振动信号")
METHODS = ("溶胶-凝胶法", "放电等离子烧结", "有限元仿真", "响应面优化", "深度学习", "机器视觉",
           "正交试验", "分子动力学模拟", "湿法冶金", "微波加热", "超临界萃取", "数字孪生建模",
           "原位表征", "等静压成型", "化学气相沉积", "膜分离", "生物发酵", "红外光谱分析")
EFFECTS = ("致密度", "抗弯强度", "热导率", "介电损耗", "回收率", "纯度", "能耗", "合格率", "噪声",
           "使用寿命", "货架期", "检测准确率", "耐腐蚀性", "循环寿命", "磁能积", "生产效率")
VERBS = ("显著提高了", "有效降低了", "系统研究了", "优化了", "揭示了", "改善了", "实现了对", "提升了")
SYMPTOMS = ("合格率偏低", "能耗太高", "客户投诉多", "成本下不来", "检测靠人工", "寿命不够",
            "批次稳定性差", "环保不达标", "设备老化", "订单交付慢")
KINDS = ("patent", "paper", "project", "result")


@dataclass
class CorpusSize:
    achievements: int = 1000
    teams: int | None = None  # default: one team per five achievements
    institutions: int | None = None  # default: one per fifty teams, at least 10
    enterprises: int | None = None  # default: one per two teams
    needs_per_enterprise: float = 1.5


def _sentence(rng: random.Random) -> str:
    return (f"采用{rng.choice(METHODS)}对{rng.choice(OBJECTS)}进行研究，{rng.choice(VERBS)}"
            f"{rng.choice(OBJECTS)}的{rng.choice(EFFECTS)}")


def _paragraph(rng: random.Random, sentences: int) -> str:
    return "，".join(_sentence(rng) for _ in range(sentences)) + "。"


def _write(path: Path, records) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def generate_corpus(folder: Path, size: CorpusSize, seed: int = 0) -> dict[str, int]:
    """Write institutions/teams/achievements/enterprises/needs .jsonl into ``folder``; return counts."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_teams = size.teams or max(1, size.achievements // 5)
    n_institutions = size.institutions or max(10, n_teams // 50)
    n_enterprises = size.enterprises or max(1, n_teams // 2)
    counts = {}

    def institutions():
        for i in range(n_institutions):
            province, city = rng.choice(PROVINCES)
            yield {"id": f"SI{i:06d}", "name": f"合成机构{i:06d}", "type": rng.choice(INSTITUTION_TYPES),
                   "province": province, "city": city, "tier": rng.choice(("双一流", "省属重点", "地方"))}

    def teams():
        for i in range(n_teams):
            yield {"id": f"ST{i:07d}", "institution_id": f"SI{rng.randrange(n_institutions):06d}",
                   "name": f"{rng.choice(OBJECTS)}{rng.choice(METHODS)}团队{i}",
                   "discipline": rng.choice(("材料科学与工程", "机械工程", "化学工程与技术", "计算机科学与技术")),
                   "description": _paragraph(rng, rng.randint(2, 4)), "capacity": rng.randint(1, 6)}

    def achievements():
        for i in range(size.achievements):
            # Every team gets at least one achievement; the rest are spread at random.
            team = i if i < n_teams else rng.randrange(n_teams)
            yield {"id": f"SA{i:08d}", "team_id": f"ST{team:07d}", "kind": rng.choice(KINDS),
                   "title": f"{rng.choice(OBJECTS)}{rng.choice(METHODS)}及其{rng.choice(EFFECTS)}研究",
                   "abstract": _paragraph(rng, rng.randint(3, 6)),
                   "keywords": ";".join(rng.sample(OBJECTS + METHODS, 3)),
                   "year": rng.randint(2012, 2026), "trl": rng.randint(2, 8)}

    def enterprises():
        for i in range(n_enterprises):
            yield {"id": f"SE{i:07d}", "name": f"萍乡市合成企业{i:07d}有限公司", "province": "江西",
                   "city": "萍乡市", "county": rng.choice(COUNTIES), "industry": rng.choice(INDUSTRIES),
                   "high_tech": rng.random() < 0.4, "above_scale": rng.random() < 0.6,
                   "has_rd_platform": rng.random() < 0.5, "key_enterprise": rng.random() < 0.5,
                   "description": f"主要生产{rng.choice(OBJECTS)}，{rng.choice(SYMPTOMS)}。"}

    def needs():
        count = int(n_enterprises * size.needs_per_enterprise)
        for i in range(count):
            enterprise = i if i < n_enterprises else rng.randrange(n_enterprises)
            thing = rng.choice(OBJECTS)
            yield {"id": f"SN{i:07d}", "enterprise_id": f"SE{enterprise:07d}",
                   "title": f"{thing}{rng.choice(SYMPTOMS)}",
                   "description": f"我们的{thing}{rng.choice(SYMPTOMS)}，{rng.choice(SYMPTOMS)}，"
                   f"想找高校帮忙提高{rng.choice(EFFECTS)}，最好能用{rng.choice(METHODS)}。",
                   "budget_wan": rng.choice((None, 20, 50, 100, 300))}

    for kind, records in (("institutions", institutions()), ("teams", teams()),
                          ("achievements", achievements()), ("enterprises", enterprises()), ("needs", needs())):
        counts[kind] = _write(folder / f"{kind}.jsonl", records)
    return counts
