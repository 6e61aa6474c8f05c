"""Name search for the console's search boxes and the command line's name arguments.

A clerk types 鑫瑞, 鑫瑞化工, a typo (鑫锐化工) or pinyin initials (xrhg) for 萍乡市湘东区鑫瑞化工填料有限公司.
Names are compared in the project's normal form (繁->简, full-width -> half-width, lower case); the
fuzzy part compares the *core* of a name (legal form such as 有限公司 and leading place names such as
萍乡市湘东区 removed), with rapidfuzz, so a short name is not penalised for what it leaves out.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from embeddings.lexical import prepare_text

LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司", "总厂", "厂")
# Leading place names: a province, city, county or district word (2-4 characters and its suffix).
_PLACE = re.compile(r"^(?:[\u4e00-\u9fff]{2,4}?(?:省|自治区|市|自治州|地区|盟|县|区|旗))")
_PROVINCES = ("江西", "湖南", "湖北", "广东", "广西", "浙江", "江苏", "福建", "安徽", "山东", "河南", "河北", "山西",
              "陕西", "四川", "重庆", "云南", "贵州", "北京", "上海", "天津", "辽宁", "吉林", "黑龙江", "甘肃", "青海",
              "宁夏", "新疆", "西藏", "内蒙古", "海南")
_SPACES = re.compile(r"[\s()（）·・\-_]+")
FUZZY_FLOOR = 60


def normal(name: str) -> str:
    return _SPACES.sub("", prepare_text(name or ""))


def core(name: str) -> str:
    """A name without its legal form and leading place names: 萍乡市湘东区鑫瑞化工填料有限公司 -> 鑫瑞化工填料."""
    text = normal(name)
    for form in LEGAL_FORMS:
        if text.endswith(form) and len(text) > len(form) + 1:
            text = text[: -len(form)]
            break
    for _ in range(3):
        stripped = _PLACE.sub("", text)
        for province in _PROVINCES:
            if stripped.startswith(province) and len(stripped) > len(province) + 1:
                stripped = stripped[len(province):]
        if stripped == text or len(stripped) < 2:
            break
        text = stripped
    return text


def initials(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(p[0] for p in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore") if p)


@dataclass(frozen=True)
class Hit:
    id: str
    name: str
    score: float
    how: str  # 编号 / 名称相同 / 名称包含 / 拼音首字母 / 近似名称


class NameIndex:
    """Parameters: items, (id, name) pairs. ``search`` ranks them for a query; ``resolve`` turns a
    command-line argument (an id or a name) into one id or says which candidates it could mean."""

    def __init__(self, items: Iterable[tuple[str, str]]):
        pairs = [(str(i), n or "") for i, n in items]
        self.ids = [i for i, _ in pairs]
        self.names = [n for _, n in pairs]
        self.by_id = dict(pairs)
        self.normal = [normal(n) for n in self.names]
        self.cores = [core(n) for n in self.names]
        self._initials: list[str] | None = None  # computed on the first pinyin query

    def _pinyin(self) -> list[str]:
        if self._initials is None:
            self._initials = [initials(c) for c in self.cores]
        return self._initials

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        q = normal(query)
        if not q:
            return []
        scores: dict[int, tuple[float, str]] = {}

        def offer(row: int, score: float, how: str) -> None:
            if score > scores.get(row, (-1.0, ""))[0]:
                scores[row] = (score, how)

        for row, (identifier, name) in enumerate(zip(self.ids, self.normal, strict=True)):
            if identifier.lower() == q:
                offer(row, 100.0, "编号")
            elif name == q:
                offer(row, 99.0, "名称相同")
            elif q in name:
                offer(row, 90.0 + 8.0 * len(q) / max(len(name), 1), "名称包含")
        if q.isascii() and q.isalpha() and len(q) >= 2:
            for row, letters in enumerate(self._pinyin()):
                if letters.startswith(q) or (len(q) >= 3 and q in letters):
                    offer(row, 85.0 + 5.0 * len(q) / max(len(letters), 1), "拼音首字母")
        q_core = core(query) or q
        for _, score, row in process.extract(q_core, self.cores, scorer=fuzz.WRatio, limit=max(limit, 20),
                                             score_cutoff=FUZZY_FLOOR):
            offer(row, 0.85 * score, "近似名称")
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], len(self.names[kv[0]]), self.ids[kv[0]]))
        return [Hit(self.ids[r], self.names[r], round(s, 1), how) for r, (s, how) in ranked[:limit]]

    def resolve(self, query: str, what: str) -> str:
        query = (query or "").strip()
        if query in self.by_id:
            return query
        hits = self.search(query, limit=6)
        if hits and (hits[0].how in ("编号", "名称相同") or len(hits) == 1 and hits[0].score >= 80
                     or hits[0].score >= 85 and (len(hits) == 1 or hits[0].score - hits[1].score >= 8)):
            return hits[0].id
        if not hits:
            raise LookupError(f"没有找到名称或编号为“{query}”的{what}")
        listed = "；".join(f"{h.name}（{h.id}）" for h in hits[:5])
        raise LookupError(f"“{query}”可能是以下{what}之一，请写得更完整或直接用编号：{listed}")
