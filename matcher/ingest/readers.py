"""Reading CSV, XLSX and JSONL files into raw rows, each tagged with where it came from.

CSV from Chinese Excel is often GB18030/GBK or UTF-8 with a BOM (and "Unicode text" exports are
UTF-16 with tabs): the encoding and delimiter are detected. Sheets and header rows are located
rather than assumed, because bureau spreadsheets start with title rows and carry extra sheets.
"""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from matcher.ingest.problems import ImportFailed, Problem

SUPPORTED = (".csv", ".xlsx", ".jsonl")


@dataclass
class Grid:
    """A rectangular block of cells from one CSV file or one sheet; ``sheet`` is None for CSV."""

    path: Path
    sheet: str | None
    rows: list[list[object]]  # rows[i] is spreadsheet row i + 1


def decode_text(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise ImportFailed([Problem(path, reason="cannot tell the text encoding (tried UTF-8, GB18030)")])
    return str(best)


def read_csv(path: Path) -> Grid:
    text = decode_text(path, path.read_bytes()).replace("\x00", "")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line else ","
    rows = [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return Grid(path, None, rows)


def read_xlsx(path: Path) -> list[Grid]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or mislabelled file
        raise ImportFailed([Problem(path, reason=f"not a readable .xlsx workbook ({exc})")]) from None
    try:
        return [
            Grid(path, sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)])
            for sheet in workbook.worksheets
        ]
    finally:
        workbook.close()


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line; every bad line is reported at once."""
    records, problems = [], []
    text = decode_text(path, path.read_bytes())
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, row=number, reason=f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(path, row=number, reason="each line must be one JSON object"))
            continue
        records.append((number, record))
    if problems:
        raise ImportFailed(problems)
    return records


def check_readable(path: Path) -> None:
    if not path.exists():
        raise ImportFailed([Problem(path, reason="file not found")])
    if path.suffix.lower() not in SUPPORTED:
        raise ImportFailed([Problem(path, reason=f"unsupported file type; use one of {', '.join(SUPPORTED)}")])
    if path.stat().st_size == 0:
        raise ImportFailed([Problem(path, reason="the file is empty")])
