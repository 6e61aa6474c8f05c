"""Validate a whole file, then upsert it: every problem is collected first and nothing is written
unless the file is clean. The caller owns the transaction (``write_session``), so an import of
several files is all-or-nothing too.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from matcher.ingest.columns import canonical_column
from matcher.ingest.problems import ImportFailed, Problem
from matcher.ingest.readers import Grid, check_readable, read_csv, read_jsonl, read_xlsx
from matcher.ingest.schemas import ROW_MODELS, Row
from matcher.ingest.values import clean_text
from matcher.store import models

ORM_MODELS = {
    "institutions": models.Institution,
    "teams": models.Team,
    "achievements": models.Achievement,
    "enterprises": models.Enterprise,
    "needs": models.Need,
    "challenges": models.Challenge,
}
KINDS = (*ORM_MODELS, "outcomes")
HEADER_SEARCH_ROWS = 10  # title rows above the header are common in bureau spreadsheets


@dataclass
class Record:
    """One input row: cells keyed by canonical column, and the headers they came from."""

    path: Path
    sheet: str | None
    row: int | None  # None where the header names the cell itself (survey forms: "D4 高新技术企业")
    cells: dict[str, object]
    headers: dict[str, str]

    def problem(self, column: str | None, reason: str) -> Problem:
        value = self.cells.get(column) if column else None
        return Problem(self.path, self.row, self.headers.get(column, column), value, reason, self.sheet)


@dataclass
class ImportReport:
    kind: str
    path: Path
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged


def read_records(kind: str, path: Path) -> tuple[list[Record], list[str]]:
    """Raw records of ``kind`` from ``path`` and warnings (ignored columns, skipped sheets)."""
    check_readable(path)
    model = ROW_MODELS[kind]
    columns = tuple(model.model_fields)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_records(kind, path, columns)
    grids = [read_csv(path)] if suffix == ".csv" else read_xlsx(path)
    records, warnings, misses = [], [], []
    for grid in grids:
        found = _locate_header(kind, grid, columns, model.REQUIRED)
        if isinstance(found, Problem):
            misses.append(found)
            continue
        header_row, mapping = found
        ignored = [str(h) for i, h in enumerate(grid.rows[header_row]) if h not in (None, "") and i not in mapping]
        if ignored:
            warnings.append(f"{_where(grid)}: ignored columns {', '.join(ignored)}")
        headers = {column: str(grid.rows[header_row][i]).strip() for i, column in mapping.items()}
        for offset, cells in enumerate(grid.rows[header_row + 1:], start=header_row + 2):
            if all(cell in (None, "") or (isinstance(cell, str) and not cell.strip()) for cell in cells):
                continue
            values = {column: cells[i] if i < len(cells) else None for i, column in mapping.items()}
            records.append(Record(path, grid.sheet, offset, values, headers))
    if len(misses) == len(grids):
        raise ImportFailed(misses)
    warnings += [f"{_where(g)}: skipped (no {kind} header)" for g in grids if g.sheet in {m.sheet for m in misses}]
    if not records:
        raise ImportFailed([Problem(path, reason="the file has a header but no data rows")])
    return records, warnings


def _where(grid: Grid) -> str:
    return f"{grid.path} sheet {grid.sheet}" if grid.sheet else str(grid.path)


def _locate_header(kind, grid: Grid, columns, required) -> tuple[int, dict[int, str]] | Problem:
    """The first row (within the top few) that holds every required column, with its mapping."""
    best: tuple[int, dict[int, str]] | None = None
    for index, cells in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, str] = {}
        for i, cell in enumerate(cells):
            column = canonical_column(kind, cell, columns)
            if column and column not in mapping.values():
                mapping[i] = column
        if set(required) <= set(mapping.values()):
            return index, mapping
        if mapping and (best is None or len(mapping) > len(best[1])):
            best = (index, mapping)
    if not any(any(cell not in (None, "") for cell in row) for row in grid.rows):
        return Problem(grid.path, sheet=grid.sheet, reason="the sheet is empty" if grid.sheet else "the file is empty")
    found = sorted(set(best[1].values())) if best else []
    missing = [c for c in required if c not in found]
    return Problem(
        grid.path, row=best[0] + 1 if best else 1, sheet=grid.sheet,
        reason=f"header is missing required column(s) {', '.join(missing)} for {kind}"
        + (f" (recognised: {', '.join(found)})" if found else " (no recognised column names)"),
    )


def _jsonl_records(kind: str, path: Path, columns) -> tuple[list[Record], list[str]]:
    records, ignored = [], set()
    for number, obj in read_jsonl(path):
        cells, headers = {}, {}
        for key, value in obj.items():
            column = canonical_column(kind, key, columns)
            if column is None:
                ignored.add(key)
            else:
                cells[column], headers[column] = value, key
        records.append(Record(path, None, number, cells, headers))
    if not records:
        raise ImportFailed([Problem(path, reason="the file has no records")])
    warnings = [f"{path}: ignored keys {', '.join(sorted(ignored))}"] if ignored else []
    return records, warnings


def validate(kind: str, records: list[Record]) -> tuple[list[tuple[Record, Row]], list[Problem]]:
    model = ROW_MODELS[kind]
    valid, problems = [], []
    for record in records:
        try:
            valid.append((record, model.model_validate(record.cells)))
        except ValidationError as exc:
            for error in exc.errors():
                column = str(error["loc"][0]) if error["loc"] else None
                problems.append(record.problem(column, _reason(error)))
    if "id" in model.REQUIRED:
        first_seen: dict[str, Record] = {}
        for record, row in valid:
            if row.id in first_seen:
                first = first_seen[row.id]
                where = f"row {first.row}" if first.row else first.headers.get("name", "an earlier block")
                problems.append(record.problem("id", f"duplicate id {row.id} (first on {where})"))
            first_seen.setdefault(row.id, record)
    return valid, problems


def _reason(error: dict) -> str:
    if error["type"] == "missing":
        return "required, but missing"
    if error["type"] == "extra_forbidden":
        return "not a column of this kind"
    if "ctx" in error and "error" in error["ctx"]:
        return str(error["ctx"]["error"])
    return error["msg"]


def existing_values(session: Session, column, values: Iterable[str]) -> set[str]:
    """Which of ``values`` are stored in ``column``, asked in chunks under SQLite's bound-parameter limit."""
    wanted, found = list(set(values)), set()
    for start in range(0, len(wanted), 500):
        found.update(session.scalars(select(column).where(column.in_(wanted[start:start + 500]))))
    return found


def existing_ids(session: Session, table: str, ids: Iterable[str]) -> set[str]:
    return existing_values(session, ORM_MODELS[table].id, ids)


def check_references(session: Session, kind: str, records: list[Record]) -> list[Problem]:
    """Parent ids that do not exist; read from the raw cells so rows with other errors are checked too."""
    parents = {"outcomes": [("needs", "need_id"), ("teams", "team_id")]}.get(kind)
    parents = parents or ([ROW_MODELS[kind].PARENT] if ROW_MODELS[kind].PARENT else [])
    problems = []
    for table, column in parents:
        wanted = {clean_text(record.cells.get(column)) for record in records} - {None}
        known = existing_ids(session, table, wanted)
        for record in records:
            value = clean_text(record.cells.get(column))
            if value and value not in known:
                problems.append(record.problem(column, f"{value} is not in {table} (import {table} first)"))
    return problems


def import_file(session: Session, kind: str, path: Path) -> ImportReport:
    """Validate ``path`` as ``kind`` and upsert it in ``session``; raise ImportFailed with every problem."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind}; expected one of {', '.join(KINDS)}")
    records, warnings = read_records(kind, path)
    rows, problems = validate(kind, records)
    problems += check_references(session, kind, records)
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: (p.sheet or "", p.row or 0, p.column or "")))
    report = ImportReport(kind, path, warnings=warnings)
    if kind == "outcomes":
        _append_outcomes(session, rows, report)
    else:
        upsert(session, kind, rows, report)
    session.flush()
    return report


def upsert(session: Session, kind: str, rows: list[tuple[Record, Row]], report: ImportReport) -> None:
    """Insert new ids, update known ones. Columns absent from the file keep their stored values."""
    orm = ORM_MODELS[kind]
    existing = existing_ids(session, kind, (row.id for _, row in rows))
    new, changed = [], []
    now = datetime.now(UTC).replace(tzinfo=None)
    for record, row in rows:
        values = row.model_dump(include=set(record.cells) | {"id"}) | {"updated_at": now}
        (changed if row.id in existing else new).append(values)
    if new:
        session.execute(insert(orm), new)
    if changed:
        session.execute(update(orm), changed)
    report.inserted, report.updated = len(new), len(changed)


def outcome_key(row: Row) -> str:
    """Same event content, same key: re-importing a file records each event once."""
    if row.id:
        return f"import:{row.id}"
    fields = [row.need_id, row.team_id, row.stage, row.date, row.amount_wan, row.reason]
    if row.shown_rank is not None:  # appended only when present, so files without ranks keep their keys
        fields.append(row.shown_rank)
    content = "|".join(str(v) for v in fields)
    return "import:" + hashlib.sha256(content.encode()).hexdigest()[:32]


def outcome_values(row: Row) -> dict:
    """The outcome_events columns of a validated outcome row (the reason split into code and free text)."""
    return {"need_id": row.need_id, "team_id": row.team_id, "stage": row.stage, "amount_wan": row.amount_wan,
            "date": row.date, "reason_code": row.reason[0] if row.reason else None,
            "reason_text": row.reason[1] if row.reason else None, "shown_rank": row.shown_rank}


def _append_outcomes(session: Session, rows: list[tuple[Record, Row]], report: ImportReport) -> None:
    keys = {outcome_key(row): row for _, row in rows}
    known = existing_values(session, models.OutcomeEvent.idempotency_key, keys)
    events = [{**outcome_values(row), "source": "import", "idempotency_key": key}
              for key, row in keys.items() if key not in known]
    if events:
        session.execute(insert(models.OutcomeEvent), events)
    report.inserted, report.unchanged = len(events), len(rows) - len(events)
