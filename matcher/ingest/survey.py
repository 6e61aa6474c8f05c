"""The 三清零 摸底表 (附表1): one enterprise per sheet or per block, labels beside their values.

Real forms have merged cells, labels with hints ("科研条件平台（有/无）"), answers either to the right
of a label or in the row below, and ticked boxes ("有☑ 无□"). Each enterprise becomes an enterprise
record; its answer to 企业技术需求及创新发展中遇到的问题 becomes one need per numbered item; the
institutions named under 拟对接的高校院所 are kept as its stated wish.
"""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest.loader import ImportReport, Record, audit_reports, upsert, validate
from matcher.ingest.prepare import check_places, need_title
from matcher.ingest.problems import ImportFailed, Problem
from matcher.ingest.readers import check_readable
from matcher.ingest.values import clean_text, halfwidth
from matcher.ingest.workbooks import read_xlsx
from matcher.store import models

# Field -> label stem, longest first so that a long label is not taken for a shorter one it contains.
LABELS = {
    "cooperation": "企业是否开展产学研合作",
    "needs": "企业技术需求及创新发展中遇到的问题",
    "rd_conditions": "企业现有的科研条件和设备情况",
    "innovation_plan": "下一步科技创新工作安排",
    "has_rd_platform": "科研条件平台",
    "high_tech": "高新技术企业",
    "above_scale": "规上企业",
    "name": "企业名称",
    "industry": "行业类别",
    "county": "所属县区",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
}
_HINT = re.compile(r"[(（][^)）]*[)）]")
_CHECKED = "☑✔✓√■●☒"
_UNCHECKED = "□☐○"
_ITEM_START = re.compile(  # "1、" "2." "(3)" "（4）" "一是" "二、" at the start or after a break
    r"(?:^|\s|[；;。])\s*(?:\d{1,2}\s*[、.．)）]|[(（]\d{1,2}[)）]|[一二三四五六七八九十]\s*[是、])"
)
_INSTITUTION = re.compile(r"[\u4e00-\u9fa5]{2,24}?(?:大学|学院|研究院|研究所|科学院)")
_WISH = re.compile(r"拟对接|下一步|想找|想对接|希望|计划|准备")


@dataclass
class Answer:
    value: object
    sheet: str
    row: int
    column: int

    @property
    def cell(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}"


@dataclass
class SurveyBlock:
    sheet: str
    answers: dict[str, Answer] = field(default_factory=dict)
    labels: dict[str, Answer] = field(default_factory=dict)  # where each label stands, answered or not


def _label_of(cell: object) -> tuple[str, str | None] | None:
    """(field, inline value) when the cell is a form label such as "企业名称：" or "企业名称：某公司"."""
    if not isinstance(cell, str):
        return None
    text = halfwidth(cell).strip().replace(" ", "")
    stem = _HINT.sub("", text)
    for name, label in LABELS.items():
        if stem.startswith(label):
            rest = re.split(r"[:：]", cell.strip(), maxsplit=1)
            return name, clean_text(rest[1]) if len(rest) == 2 else None
    return None


def read_blocks(path: Path, notes: list[str] | None = None) -> list[SurveyBlock]:
    blocks: list[SurveyBlock] = []
    grids, skipped = read_xlsx(path)
    if notes is not None:
        notes += skipped
    for grid in grids:
        rows = grid.rows
        current: SurveyBlock | None = None
        for r, cells in enumerate(rows):
            for c, cell in enumerate(cells):
                label = _label_of(cell)
                if label is None:
                    continue
                name, inline = label
                if name == "name" or current is None or current.sheet != grid.sheet:
                    current = SurveyBlock(grid.sheet)
                    blocks.append(current)
                if name in current.answers:
                    continue
                current.labels.setdefault(name, Answer(cell, grid.sheet, r + 1, c + 1))
                answer = Answer(inline, grid.sheet, r + 1, c + 1) if inline else _value_near(rows, r, c, grid.sheet)
                if answer is not None:
                    current.answers[name] = answer
    return [b for b in blocks if b.answers]


def _value_near(rows: list[list[object]], r: int, c: int, sheet: str) -> Answer | None:
    """The answer beside a label: the next filled cell to the right, else the one below."""
    for cc in range(c + 1, len(rows[r])):
        value = rows[r][cc]
        if clean_text(value) is not None:
            return None if _label_of(value) else Answer(value, sheet, r + 1, cc + 1)
    if r + 1 < len(rows):
        # only the first filled cell below decides: when it is the next label (所属县区), its answer
        # (上栗) is not this one's, so a blank 企业名称 stays blank instead of borrowing it
        for cc in range(c, min(c + 3, len(rows[r + 1]))):
            value = rows[r + 1][cc]
            if clean_text(value) is not None:
                return None if _label_of(value) else Answer(value, sheet, r + 2, cc + 1)
    return None


def ticked(value: object) -> object:
    """"有☑ 无□" -> "有"; "☑是 □否" -> "是"; anything else unchanged."""
    if not isinstance(value, str) or not any(mark in value for mark in _CHECKED + _UNCHECKED):
        return value
    for match in re.finditer(rf"([{_CHECKED}])\s*([是否有无])|([是否有无])\s*([{_CHECKED}])", value):
        return match[2] or match[3]
    return None


def split_items(text: str) -> list[str]:
    """"1、窑炉能耗高；2、缺检测设备" -> two items; unnumbered text stays one item."""
    starts = [m.end() for m in _ITEM_START.finditer(text)]
    if len(starts) < 2:
        return [text.strip()]
    bounds = [m.start() for m in _ITEM_START.finditer(text)][1:] + [len(text)]
    items = [text[s:e].strip(" ；;。\n") for s, e in zip(starts, bounds, strict=True)]
    return [item for item in items if item]


def wished_institutions(text: str | None, known_names: list[str]) -> list[str] | None:
    """Institutions the enterprise wants to work with: those named after 拟对接/下一步/希望…, else all."""
    if not text:
        return None
    wish = _WISH.search(text)
    text = text[wish.start():] if wish else text
    found = [name for name in known_names if name in text]
    for match in _INSTITUTION.finditer(text):
        name = re.sub(r"^(?:拟对接|对接|想找|想|找|与|和|同|及|并|计划|下一步|希望|准备|或者|或)+", "", match[0])
        if len(name) >= 4 and not any(name in f or f in name for f in found):
            found.append(name)
    return found or None


def enterprise_id_for(session: Session, name: str) -> str:
    """Reuse the id of an enterprise already stored under this name; otherwise a stable id from it."""
    known = session.scalars(select(models.Enterprise.id).where(models.Enterprise.name == name)).first()
    return known or "SV-" + hashlib.sha1(name.encode()).hexdigest()[:10]


def import_survey(session: Session, path: Path, actor=None, mark_key: bool = False) -> list[ImportReport]:
    check_readable(path)
    notes: list[str] = []
    blocks = read_blocks(path, notes)
    if not blocks:
        raise ImportFailed([Problem(path, reason="没有找到附表1（任何工作表里都没有「企业名称」）")])
    known_names = list(session.scalars(select(models.Institution.name)))
    enterprises, needs, problems = [], [], []
    for block in blocks:
        name = block.answers.get("name")
        if name is None or clean_text(name.value) is None:
            label = block.labels.get("name")  # its answer belongs in the cell to its right
            column = (f"{get_column_letter(label.column + 1)}{label.row} 企业名称" if label
                      else f"企业名称（{next(iter(block.answers.values())).cell} 所在的表块没有这一栏）")
            problems.append(Problem(path, None, column, None,
                                    "企业名称为空：每张附表1 都要填写企业名称（不会从别处补填）", block.sheet))
            continue
        enterprise_id = enterprise_id_for(session, clean_text(name.value))
        cells = {key: ticked(a.value) for key, a in block.answers.items() if key != "needs"}
        cells["id"] = enterprise_id
        if mark_key:
            cells["key_enterprise"] = True
        cooperation = clean_text(cells.get("cooperation"))
        cells["wished_institutions"] = wished_institutions(cooperation, known_names)
        headers = {key: f"{a.cell} {LABELS[key]}" for key, a in block.answers.items()}
        enterprises.append(Record(path, block.sheet, None, cells, headers))
        answer = block.answers.get("needs")
        text = clean_text(answer.value) if answer else None
        for i, item in enumerate(split_items(text) if text else [], start=1):
            needs.append(Record(path, block.sheet, None,
                                {"id": f"{enterprise_id}-N{i}", "enterprise_id": enterprise_id,
                                 "title": need_title(item), "description": item},
                                {"title": f"{answer.cell} {LABELS['needs']}"}))
    enterprise_rows, enterprise_problems = validate("enterprises", enterprises)
    need_rows, need_problems = validate("needs", needs)
    problems += enterprise_problems + need_problems + check_places("enterprises", enterprise_rows, notes)
    if problems:
        raise ImportFailed(problems)
    reports = [ImportReport("enterprises", path, warnings=notes), ImportReport("needs", path)]
    upsert(session, "enterprises", enterprise_rows, reports[0])
    upsert(session, "needs", need_rows, reports[1])
    session.flush()
    audit_reports(session, reports, actor)
    return reports
