"""A challenge's technical targets (指标), one by one.

The indicators text is split on `；`, `;`, line breaks and numbered items (`1、`, `(2)`, `③`), never on a
decimal point or inside a range. Each target keeps its text verbatim (numbers, comparison signs and
units are what a team must hit) and is parsed into its conditions for display; matching uses the
target's words with the numbers taken out (``Target.words``), since "≥40000GHz" says nothing about
which team can reach it while "Q×f" and "GHz" do.
"""

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[；;\n\r]+")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# "1、" "2." "(3)" "（4）" at the start or after a space/comma, not a decimal such as "0.8" or "1.5%".
_NUMBERED = re.compile(rf"(?:(?:^|(?<=[\s，,。]))(?:[（(]\d{{1,2}}[)）]|\d{{1,2}}[、．.](?!\d))|[{_CIRCLED}])\s*")
_WORD_OPS = ("不低于", "不小于", "不少于", "不高于", "不超过", "不大于", "至少", "低于", "高于", "达到", "大于",
             "小于", "提升至", "提高至", "提高", "降低", "缩短至", "控制在", "优于")
_SYMBOL_OPS = {"≥": "≥", ">=": "≥", "≧": "≥", "≤": "≤", "<=": "≤", "≦": "≤", ">": ">", "＞": ">", "<": "<",
               "＜": "<", "=": "=", "＝": "="}
_NUMBER = r"(?<![A-Za-z\d.])[±]?\d+(?:\.\d+)?"  # not the 2 of SO2 or Li2O
_CONDITION = re.compile(
    r"(?P<op>" + "|".join(map(re.escape, sorted(_SYMBOL_OPS, key=len, reverse=True) + list(_WORD_OPS))) + r")?\s*"
    rf"(?P<value>{_NUMBER}(?:\s*(?:[~～\-－至]|到)\s*{_NUMBER})?)\s*"
    r"(?P<unit>%|‰|(?:[A-Za-zμΩ·/³²℃°]+\d*)+)?"
    r"(?P<suffix>以上|以下|以内)?"
)
_SUFFIX_OPS = {"以上": "≥", "以下": "≤", "以内": "≤"}
_WORD_OP_SIGNS = {"不低于": "≥", "不小于": "≥", "不少于": "≥", "至少": "≥", "达到": "≥", "大于": ">", "高于": ">",
                  "优于": "≥", "不高于": "≤", "不超过": "≤", "不大于": "≤", "低于": "<", "小于": "<",
                  "控制在": "≤", "提升至": "≥", "提高至": "≥", "缩短至": "≤", "提高": "↑", "降低": "↓"}


@dataclass(frozen=True)
class Condition:
    """One number a target sets: ``op`` is ≥ ≤ > < = ~ (range) ↑ (raise by) ↓ (lower by) or ""."""

    op: str
    value: str
    unit: str


@dataclass(frozen=True)
class Target:
    index: int  # position in the indicators text, from 0 (labels and explanations refer to it)
    text: str  # verbatim
    conditions: tuple[Condition, ...]

    @property
    def words(self) -> str:
        """The target without its numbers and comparison words: what evidence has to talk about."""
        stripped = _CONDITION.sub(lambda m: f" {m.group('unit') or ''} ", self.text)
        return re.sub(r"\s+", " ", stripped).strip(" ，,、。为")

    def as_dict(self) -> dict:
        return {"index": self.index, "text": self.text,
                "conditions": [{"op": c.op, "value": c.value, "unit": c.unit} for c in self.conditions]}


def _conditions(text: str) -> tuple[Condition, ...]:
    found = []
    for m in _CONDITION.finditer(text):
        value = m.group("value")
        op = m.group("op") or ""
        op = _SYMBOL_OPS.get(op) or _WORD_OP_SIGNS.get(op, op)
        if not op and m.group("suffix"):
            op = _SUFFIX_OPS[m.group("suffix")]
        if re.search(r"\d\s*(?:[~～\-－至]|到)\s*\d", value) and not op:
            op = "~"
        found.append(Condition(op, value.replace(" ", ""), m.group("unit") or ""))
    return tuple(found)


def split_targets(indicators: str | None) -> list[Target]:
    """The targets of an indicators text, in order; empty pieces and bare numbering are dropped."""
    if not indicators or not indicators.strip():
        return []
    pieces: list[str] = []
    for chunk in _SEPARATORS.split(indicators):
        pieces.extend(p for p in _NUMBERED.split(chunk))
    texts = [p.strip(" \t，,。.") for p in pieces]
    texts = [t for t in texts if t and not re.fullmatch(r"[\d\s、.．()（）]+", t)]
    return [Target(i, t, _conditions(t)) for i, t in enumerate(texts)]
