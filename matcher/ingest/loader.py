"""Validate a whole file, then upsert it: every problem is collected first and nothing is written
unless the file is clean. The caller owns the transaction (``write_session``), so an import of
several files is all-or-nothing too.

``import_reports(session, kind, path, actor=None, key=False)`` is the entry point: it returns one
report per kind written (a needs sheet with enterprise columns writes enterprises and needs) and
records one audit entry per report in the same transaction.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from matcher.ingest.columns import kind_columns
from matcher.ingest.header import ignored_headers, is_footer, locate_header
from matcher.ingest.limits import OUTCOME_KEY_PREFIX, TABLES, json_type_error, row_limit_problem, too_long
from matcher.ingest.problems import ImportFailed, Problem
from matcher.ingest.readers import WORKBOOKS, Grid, check_readable, read_csv, read_jsonl
from matcher.ingest.schemas import ROW_MODELS, Row
from matcher.ingest.values import clean_text
from matcher.ingest.workbooks import read_workbook
from matcher.store import models

ORM_MODELS = {kind: model for kind, model in TABLES.items() if kind != "outcomes"}  # upserted by id
KINDS = (*ORM_MODELS, "outcomes")
KIND_NAMES = {"institutions": "高校院所", "teams": "团队", "achievements": "成果", "enterprises": "企业",
              "needs": "需求", "challenges": "榜单", "outcomes": "跟进记录", "survey": "摸底表", "all": "整个文件夹"}


@dataclass
class Record:
    """One input row: cells keyed by canonical column, and the headers they came from."""

    path: Path
    sheet: str | None
    row: int | None  # None where the header names the cell itself (survey forms: "D4 高新技术企业")
    cells: dict[str, object]
    headers: dict[str, str]
    derived_id: bool = False  # the id was derived (the file has none), so its errors are the fields'

    def problem(self, column: str | None, reason: str) -> Problem:
        value = self.cells.get(column) if column else None
        return Problem(self.path, self.row, self.headers.get(column, column), value, reason, self.sheet)

    def where(self) -> str:
        return f"第 {self.row} 行" if self.row else self.headers.get("name", "前面的表块")


@dataclass
class ImportReport:
    kind: str
    path: Path
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    also: list["ImportReport"] = field(default_factory=list)  # other kinds the same file wrote

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def read_records(kind: str, path: Path) -> tuple[list[Record], list[str]]:
    """Raw records of ``kind`` from ``path`` and notes (ignored columns, skipped sheets and rows)."""
    check_readable(path)
    model = ROW_MODELS[kind]
    columns = kind_columns(kind)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_records(kind, path, columns)
    grids, notes = ([read_csv(path)], []) if suffix == ".csv" else read_workbook(path) if suffix in WORKBOOKS \
        else ([], [])
    records, misses = [], []
    for grid in grids:
        found = locate_header(kind, grid, columns, model.REQUIRED)
        if isinstance(found, Problem):
            misses.append(found)
            continue
        ignored = ignored_headers(grid, found)
        if ignored:
            notes.append(f"{_where(grid)}：未使用的列 {'、'.join(ignored)}")
        above = sum(1 for row in grid.rows[:found.first_row] if not all(map(_blank, row)))
        blank, footers = 0, []
        for offset, cells in enumerate(grid.rows[found.row + 1:], start=found.row + 2):
            values = {column: cells[i] if i < len(cells) else None for i, column in found.mapping.items()}
            if all(map(_blank, values.values())):
                blank += 1
                continue
            if is_footer(cells):
                footers.append(offset)
                continue
            records.append(Record(path, grid.sheet, offset, values, found.labels))
        skipped = ([f"表头上方 {above} 行（标题、填报单位等）"] if above else []) + \
            ([f"表尾 {len(footers)} 行（第 {'、'.join(map(str, footers))} 行：备注、填表人等）"] if footers else []) + \
            ([f"空行 {blank} 行"] if blank else [])
        if skipped:
            notes.append(f"{_where(grid)}：已跳过{'，'.join(skipped)}")
    if len(misses) == len(grids):
        raise ImportFailed(misses)
    notes += [f"{_where(g)}：没有 {kind} 表头，已跳过" for g in grids if g.sheet in {m.sheet for m in misses}]
    if not records:
        raise ImportFailed([Problem(path, reason="文件有表头，但没有数据行")])
    _check_row_count(path, records)
    return records, notes


def _check_row_count(path: Path, records: list) -> None:
    problem = row_limit_problem(path, len(records))
    if problem:
        raise ImportFailed([problem])


def _where(grid: Grid) -> str:
    return f"{grid.path.name} 工作表「{grid.sheet}」" if grid.sheet else grid.path.name


def _jsonl_records(kind: str, path: Path, columns) -> tuple[list[Record], list[str]]:
    from matcher.ingest.columns import canonical_column

    records, ignored, known, problems = [], set(), {}, []
    lines = read_jsonl(path)
    _check_row_count(path, lines)
    for number, obj in lines:
        cells, headers = {}, {}
        for key, value in obj.items():
            column = known[key] if key in known else known.setdefault(key, canonical_column(kind, key, columns))
            if column is None:
                ignored.add(key)
                continue
            wrong = json_type_error(kind, column, value)
            if wrong:  # refused here: what follows (ids, names, parents) expects cells, not JSON structures
                problems.append(Problem(path, number, key, _shown(value), wrong))
            else:
                cells[column], headers[column] = value, key
        records.append(Record(path, None, number, cells, headers))
    if problems:
        raise ImportFailed(problems)
    if not records:
        raise ImportFailed([Problem(path, reason="文件里没有记录")])
    notes = [f"{path.name}：未使用的键 {'、'.join(sorted(ignored))}"] if ignored else []
    return records, notes


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def validate(kind: str, records: list[Record]) -> tuple[list[tuple[Record, Row]], list[Problem]]:
    model = ROW_MODELS[kind]
    valid, problems = [], []
    for record in records:
        try:
            row = model.model_validate(record.cells)
        except ValidationError as exc:
            errors = exc.errors()
            for error in errors:
                column = str(error["loc"][0]) if error["loc"] else None
                if column == "id" and record.derived_id and len(errors) > 1:
                    continue  # the identifying field's own error says it
                problems.append(record.problem(column, _reason(error)))
            continue
        # the store's column lengths, checked here: SQLite would take any length, PostgreSQL refuses
        long = [(f, why) for f in sorted(row.model_fields_set | {"id"}) if (why := too_long(kind, f, getattr(row, f)))]
        for field_name, why in long:
            if not (field_name == "id" and record.derived_id and len(long) > 1):  # the name's own error says it
                problems.append(Problem(record.path, record.row, record.headers.get(field_name, field_name),
                                        None, why, record.sheet))
        if not long:
            valid.append((record, row))
    if kind != "outcomes":
        first_seen: dict[str, Record] = {}
        for record, row in valid:
            if row.id in first_seen:
                what = "同一行内容" if record.derived_id else f"编号 {row.id}"
                problems.append(record.problem("id" if not record.derived_id else _identity_column(kind),
                                               f"与{first_seen[row.id].where()}重复（{what}）"))
            first_seen.setdefault(row.id, record)
    return valid, problems


def _identity_column(kind: str) -> str:
    return "title" if kind in ("needs", "achievements", "challenges") else "name"


def _reason(error: dict) -> str:
    if error["type"] == "missing":
        return "必填，但缺少"
    if error["type"] == "extra_forbidden":
        return "不是这一类数据的列"
    if "ctx" in error and "error" in error["ctx"]:
        return str(error["ctx"]["error"])
    return f"格式不对（{error['msg']}）"


def existing_values(session: Session, column, values: Iterable[str]) -> set[str]:
    """Which of ``values`` are stored in ``column``, asked in chunks under SQLite's bound-parameter limit."""
    wanted, found = list(set(values)), set()
    for start in range(0, len(wanted), 500):
        found.update(session.scalars(select(column).where(column.in_(wanted[start:start + 500]))))
    return found


def existing_ids(session: Session, table: str, ids: Iterable[str]) -> set[str]:
    return existing_values(session, ORM_MODELS[table].id, ids)


def check_references(session: Session, kind: str, records: list[Record],
                     also_known: dict[str, set[str]] | None = None) -> list[Problem]:
    """Parent ids that do not exist; read from the raw cells so rows with other errors are checked too.
    ``also_known``: ids this same import writes (a needs sheet's enterprises)."""
    parents = {"outcomes": [("needs", "need_id"), ("teams", "team_id")]}.get(kind)
    parents = parents or ([ROW_MODELS[kind].PARENT] if ROW_MODELS[kind].PARENT else [])
    problems = []
    for table, column in parents:
        wanted = {clean_text(record.cells.get(column)) for record in records} - {None}
        known = existing_ids(session, table, wanted) | (also_known or {}).get(table, set())
        for record in records:
            value = clean_text(record.cells.get(column))
            if value and value not in known:
                problems.append(record.problem(
                    column, f"{value} 不在{KIND_NAMES[table]}中（先导入 {table}，或填写已有的编号、名称）"))
    return problems


def import_file(session: Session, kind: str, path: Path, actor=None, key: bool = False) -> ImportReport:
    """Validate ``path`` as ``kind`` and upsert it in ``session``; raise ImportFailed with every problem.
    Returns the report of ``kind``; other kinds the file wrote are in its ``also``."""
    reports = import_reports(session, kind, path, actor, key)
    main = next(r for r in reports if r.kind == kind)
    main.also = [r for r in reports if r is not main]
    return main


def import_reports(session: Session, kind: str, path: Path, actor=None, key: bool = False) -> list[ImportReport]:
    """Import one file of ``kind``; ``actor`` (default the command line) is written to the audit log,
    ``key`` marks every enterprise of the file 重点企业."""
    from matcher.ingest.prepare import prepare

    if kind not in KINDS:
        raise ValueError(unknown_kind_message(kind))
    records, notes = read_records(kind, path)
    batches, problems = prepare(session, kind, records, notes, key)
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: (p.sheet or "", p.row or 0, p.column or "")))
    reports = []
    for batch in batches:
        report = ImportReport(batch.kind, path, warnings=batch.notes)
        if batch.kind == "outcomes":
            _append_outcomes(session, batch.rows, report)
        else:
            upsert(session, batch.kind, batch.rows, report)
        reports.append(report)
    session.flush()
    audit_reports(session, reports, actor)
    return reports


def audit_reports(session: Session, reports: list[ImportReport], actor=None) -> None:
    from matcher.accounts.audit import Actor, record_audit

    for report in reports:
        record_audit(session, actor or Actor.cli(), "import", report.path.name,
                     {"kind": report.kind, "file": report.path.name, "inserted": report.inserted,
                      "updated": report.updated})


def unknown_kind_message(kind: str) -> str:
    import difflib

    by_chinese = {name: k for k, name in KIND_NAMES.items()}
    guess = by_chinese.get(kind) or next(iter(difflib.get_close_matches(kind, list(KIND_NAMES), n=1)), None)
    listed = "、".join(f"{k}（{name}）" for k, name in KIND_NAMES.items())
    return f"未知的数据类型「{kind}」" + (f"；是不是 {guess}？" if guess else "") + f" 可用：{listed}"


def upsert(session: Session, kind: str, rows: list[tuple[Record, Row]], report: ImportReport) -> None:
    """Insert new ids, update known ones. Columns absent from the file keep their stored values."""
    orm = ORM_MODELS[kind]
    existing = existing_ids(session, kind, (row.id for _, row in rows))
    new, changed = [], []
    now = datetime.now(UTC).replace(tzinfo=None)
    for _, row in rows:
        values = row.model_dump(include=row.model_fields_set | {"id"}) | {"updated_at": now}
        (changed if row.id in existing else new).append(values)
    if new:
        session.execute(insert(orm), new)
    if changed:
        session.execute(update(orm), changed)
    report.inserted, report.updated = len(new), len(changed)


def outcome_key(row: Row) -> str:
    """Same event content, same key: re-importing a file records each event once."""
    if row.id:
        return f"{OUTCOME_KEY_PREFIX}{row.id}"
    fields = [row.need_id, row.team_id, row.stage, row.date, row.amount_wan, row.reason]
    if row.shown_rank is not None:  # appended only when present, so files without ranks keep their keys
        fields.append(row.shown_rank)
    content = "|".join(str(v) for v in fields)
    return OUTCOME_KEY_PREFIX + hashlib.sha256(content.encode()).hexdigest()[:32]


def outcome_values(row: Row) -> dict:
    """The outcome_events columns of a validated outcome row (the reason split into code and free text)."""
    return {"need_id": row.need_id, "team_id": row.team_id, "stage": row.stage, "amount_wan": row.amount_wan,
            "date": row.date, "reason_code": row.reason[0] if row.reason else None,
            "reason_text": row.reason[1] if row.reason else None, "shown_rank": row.shown_rank}


def _append_outcomes(session: Session, rows: list[tuple[Record, Row]], report: ImportReport) -> None:
    keys = {outcome_key(row): row for _, row in rows}
    known = existing_values(session, models.OutcomeEvent.idempotency_key, keys)
    events = [{**outcome_values(row), "run_id": row.run_id, "correction": row.correction or None,
               "source": "import", "idempotency_key": key}
              for key, row in keys.items() if key not in known]
    if events:
        session.execute(insert(models.OutcomeEvent), events)
    report.inserted, report.unchanged = len(events), len(rows) - len(events)
