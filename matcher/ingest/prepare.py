"""From raw records to validated rows ready to write, with every problem and note of the file.

Between reading and writing an import: a needs sheet's enterprise columns become enterprise rows;
rows without ids get stable ones (``identity``); parents named by name or credit code resolve to
ids; a need-text column gives each need its title; places are checked against the official list;
outcome rows are checked against the pair's history; probable duplicates are noted.
"""

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest.columns import ENTERPRISE_PREFIX
from matcher.ingest.identity import Registry, normal_name
from matcher.ingest.loader import Record, check_references, validate
from matcher.ingest.places import PlaceError, resolve
from matcher.ingest.problems import Problem
from matcher.ingest.values import LONG_TERM, clean_text, halfwidth
from matcher.store import models

PARENT_BY_NAME = {"teams": ("institution_id", "institutions"), "needs": ("enterprise_id", "enterprises"),
                  "challenges": ("issuer_enterprise_id", "enterprises")}
TITLE_LENGTH = 40


@dataclass
class Batch:
    kind: str
    rows: list
    notes: list[str] = field(default_factory=list)


def prepare(session: Session, kind: str, records: list[Record], notes: list[str],
            key: bool) -> tuple[list[Batch], list[Problem]]:
    registry = Registry(session)
    batches, problems, also_known = [], [], {}
    if kind == "needs":
        enterprises, links = split_enterprises(records)
        if enterprises:
            batch, found = prepare_kind(session, registry, "enterprises", enterprises, [], key)
            batches.append(batch)
            problems += found
            for need, enterprise in links:
                need.cells["enterprise_id"] = enterprise.cells.get("id")
            also_known["enterprises"] = {e.cells.get("id") for e in enterprises} - {None}
    batch, found = prepare_kind(session, registry, kind, records, notes, key, also_known)
    return batches + [batch], problems + found


def split_enterprises(records: list[Record]) -> tuple[list[Record], list[tuple[Record, Record]]]:
    """The enterprises named in a needs sheet (one per enterprise, however many rows repeat it) and
    which need row belongs to which."""
    groups: dict[tuple, Record] = {}
    links = []
    for record in records:
        cells = {c[len(ENTERPRISE_PREFIX):]: v for c, v in record.cells.items() if c.startswith(ENTERPRISE_PREFIX)}
        for column in [c for c in record.cells if c.startswith(ENTERPRISE_PREFIX)]:
            del record.cells[column]
        given_id = clean_text(record.cells.get("enterprise_id"))
        if given_id:
            cells["id"] = given_id
        identity = given_id or clean_text(cells.get("credit_code")) or normal_name(cells.get("name"))
        if not identity or not (cells.get("name") or cells.get("credit_code")):
            continue
        group = groups.get(identity)
        if group is None:
            headers = {c[len(ENTERPRISE_PREFIX):]: h for c, h in record.headers.items()
                       if c.startswith(ENTERPRISE_PREFIX)} | {"id": record.headers.get("enterprise_id", "企业编号")}
            group = groups[identity] = Record(record.path, record.sheet, record.row, {}, headers)
        for column, value in cells.items():
            if clean_text(value) is not None and clean_text(group.cells.get(column)) is None:
                group.cells[column] = value
        links.append((record, group))
    return list(groups.values()), links


def prepare_kind(session: Session, registry: Registry, kind: str, records: list[Record], notes: list[str],
                 key: bool, also_known: dict | None = None) -> tuple[Batch, list[Problem]]:
    notes = list(notes)
    if kind in PARENT_BY_NAME:
        column, parent = PARENT_BY_NAME[kind]
        for record in records:
            value = record.cells.get(column)
            if clean_text(value) and not (also_known and clean_text(value) in also_known.get(parent, ())):
                record.cells[column] = registry.resolve_parent(parent, value) or clean_text(value)
    if kind == "needs":
        records = split_need_text(records, notes)
        _long_term_notes(records, "deadline", notes)
    if kind == "challenges":
        _long_term_notes(records, "deadline", notes)
    if kind == "outcomes":
        records = _skip_unfilled_outcomes(records, notes)
    if kind == "enterprises" and key:
        for record in records:
            record.cells["key_enterprise"] = True
    if kind != "outcomes":
        _fill_ids(registry, kind, records, notes)
    rows, problems = validate(kind, records)
    if kind in ("enterprises", "institutions"):
        problems += check_places(kind, rows, notes)
    if kind == "outcomes":
        from matcher.feedback.events import check_outcome_rows

        problems += check_outcome_rows(session, rows, notes)
    problems += check_references(session, kind, records, also_known)
    if kind in ("enterprises", "institutions", "teams") and not problems:
        from matcher.ingest.dedupe import near_duplicate_notes

        notes += near_duplicate_notes(session, kind, rows)
    if kind == "enterprises" and not problems:
        notes.append(_key_note(session, rows))
    return Batch(kind, rows, notes), problems


def _fill_ids(registry: Registry, kind: str, records: list[Record], notes: list[str]) -> None:
    derived = 0
    for record in records:
        given = clean_text(record.cells.get("id"))
        if given:
            other = registry.stored_under_other_id(kind, record.cells, given)
            if other:
                notes.append(f"{record.where()}：{given} 与已有的 {other} 是同一名称（或信用代码），可能重复；"
                             f"确认后运行 cxy merge {other} {given}")
            continue
        record.cells["id"] = registry.identify(kind, record.cells)
        record.derived_id = True
        derived += record.cells["id"] is not None
    if derived:
        notes.append(f"{derived} 行没有编号：按{_IDENTITY[kind]}识别（再次导入同一表格会更新，不会重复）")


_IDENTITY = {"enterprises": "统一社会信用代码或企业名称", "institutions": "名称", "teams": "所属机构和团队名称",
             "needs": "企业和需求名称", "achievements": "团队和成果名称", "challenges": "榜单名称"}
_ITEM = re.compile(r"(?:^|\s|[；;。])\s*(?:\d{1,2}\s*[、.．)）]|[(（]\d{1,2}[)）])")


def need_title(text: str) -> str:
    """The first clause of a need text, shortened: the need's title when the sheet has no title column."""
    first = re.split(r"[，。；;,!！?？\n]", text.strip(), maxsplit=1)[0].strip()
    first = _ITEM.sub("", first, count=1).strip() or first
    return first if len(first) <= TITLE_LENGTH else first[:TITLE_LENGTH - 2] + "…"


def split_need_text(records: list[Record], notes: list[str]) -> list[Record]:
    """A single need-text column (技术需求, 需求内容, 存在问题): the title is its first clause and the
    description the whole text; numbered items (1、… 2、…) in one cell are one need each."""
    from matcher.ingest.survey import split_items

    out, derived, split = [], 0, 0
    for record in records:
        title, text = clean_text(record.cells.get("title")), clean_text(record.cells.get("description"))
        if title is None and text:
            items = split_items(text)
            split += len(items) > 1
            for item in items:
                cells = {**record.cells, "title": need_title(item), "description": item}
                out.append(Record(record.path, record.sheet, record.row, cells,
                                  {**record.headers, "title": record.headers.get("description", "需求")}))
            derived += 1
            continue
        if title and len(title) > TITLE_LENGTH and text is None:
            record.cells["title"], record.cells["description"] = need_title(title), title
        out.append(record)
    if derived:
        notes.append(f"{derived} 行只有需求内容：标题取其第一句" + (f"；{split} 行按编号拆成多条需求" if split else ""))
    return out


def _long_term_notes(records: list[Record], column: str, notes: list[str]) -> None:
    rows = [str(r.row) for r in records if isinstance(r.cells.get(column), str)
            and halfwidth(r.cells[column]).strip().replace(" ", "") in LONG_TERM]
    if rows:
        notes.append(f"第 {'、'.join(rows[:10])}{' 等' if len(rows) > 10 else ''} 行截止日期写的是长期/不限："
                     "按没有截止日期保存")


def _skip_unfilled_outcomes(records: list[Record], notes: list[str]) -> list[Record]:
    """A filled-in 推荐清单 (it has the run column): rows whose 跟进状态 is still empty are not events."""
    if not any("run_id" in r.cells for r in records):
        return records
    kept = [r for r in records if clean_text(r.cells.get("stage")) is not None]
    if len(kept) < len(records):
        notes.append(f"{len(records) - len(kept)} 行未填跟进状态，已跳过")
    return kept


def check_places(kind: str, rows, notes: list[str]) -> list[Problem]:
    """Places against the official list, rewritten to their stored form (上栗 -> 上栗县); problems
    name the nearest official names. Surveys use it too."""
    problems, seen = [], set()
    for record, row in rows:
        county = getattr(row, "county", None)
        try:
            place = resolve(row.province, row.city, county)
        except PlaceError as exc:
            header = {"province": "province", "city": "city", "county": "county"}[exc.column]
            problems.append(record.problem(header, str(exc)))
            continue
        for column in ("province", "city") + (("county",) if kind == "enterprises" else ()):
            value = getattr(place, column)
            if value != getattr(row, column):
                setattr(row, column, value)
        if kind == "enterprises" and place.code:
            row.place_code = place.code
        if place.note and place.note not in seen:
            seen.add(place.note)
            notes.append(place.note)
    return problems


def _key_note(session: Session, rows) -> str:
    flagged = {row.id for _, row in rows if "key_enterprise" in row.model_fields_set and row.key_enterprise}
    unset = [row.id for _, row in rows if "key_enterprise" not in row.model_fields_set]
    for start in range(0, len(unset), 500):
        flagged |= set(session.scalars(select(models.Enterprise.id).where(
            models.Enterprise.id.in_(unset[start:start + 500]), models.Enterprise.key_enterprise.is_(True))))
    return (f"本次 {len(rows)} 家企业中 {len(flagged)} 家标为重点企业；只有重点企业进入月报（cxy report monthly）"
            + ("" if len(flagged) == len(rows) else "；用 --key 可把本文件的企业都标为重点企业"))
