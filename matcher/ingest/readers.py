"""Reading CSV and JSONL files into raw rows, each tagged with where it came from (workbooks: ``workbooks``).

CSV from Chinese Excel is often GB18030/GBK or UTF-8 with a BOM (and "Unicode text" exports are
UTF-16 with tabs): the encoding and delimiter are detected. Sheets and header rows are located
rather than assumed, because bureau spreadsheets start with title rows and carry extra sheets.

What cannot be read becomes one Chinese problem, never a traceback: a binary file, truncated UTF-16,
a cell past csv's field limit, a quote left open that swallows the rows after it into one cell,
JSON nested past the interpreter's recursion limit or with an integer past its digit limit.
"""

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from matcher.ingest.limits import MAX_JSON_LINE_CHARS
from matcher.ingest.problems import ImportFailed, Problem

SUPPORTED = (".csv", ".xlsx", ".xls", ".ods", ".jsonl")
WORKBOOKS = (".xlsx", ".xls", ".ods")


@dataclass
class Grid:
    """A rectangular block of cells from one CSV file or one sheet; ``sheet`` is None for CSV."""

    path: Path
    sheet: str | None
    rows: list[list[object]]  # rows[i] is spreadsheet row i + 1


def decode_text(path: Path, data: bytes) -> str:
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportFailed([Problem(path, reason="这是一个 Excel 工作簿，不是文本文件；"
                                                 "请把扩展名改为 .xlsx（或 .xls）后再导入")])
    text = _decode(path, data)
    sample = text[:65536]
    control = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n\x00")
    if control > max(8, len(sample) // 100):  # NUL alone is a UTF-16 file without its BOM, and is dropped
        raise ImportFailed([Problem(path, reason="不是文本文件（含大量控制字符），无法按 CSV/JSONL 读取")])
    return text


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:  # a truncated or damaged UTF-16 file (an odd number of bytes)
            raise ImportFailed([Problem(path, reason=f"UTF-16 文本在第 {exc.start} 字节处损坏或被截断，请重新另存为"
                                                     " UTF-8 或 Excel 文件")]) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise ImportFailed([Problem(path, reason="不是文本文件，或无法识别文本编码（已试 UTF-8、GB18030）")])
    return str(best)


def read_csv(path: Path) -> Grid:
    text = decode_text(path, path.read_bytes()).replace("\x00", "")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line else ","
    try:
        rows, starts = _parse_csv(path, text, delimiter, strict=True)
    except csv.Error:  # a stray quote inside a cell ("abc"d): read as Excel would, then checked below
        rows, starts = _parse_csv(path, text, delimiter, strict=False)
    _check_swallowed(path, rows, starts, delimiter)
    return Grid(path, None, rows)


def _parse_csv(path: Path, text: str, delimiter: str, strict: bool) -> tuple[list[list[str]], list[int]]:
    """Rows, and the text line each starts on (a quoted cell may hold line breaks)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows, starts, line = [], [], 1
    try:
        for row in reader:
            rows.append(row)
            starts.append(line)
            line = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFailed([Problem(path, row=line, reason=f"单元格过长（超过 {csv.field_size_limit()} 个字符），"
                                                               "无法读取")]) from None
        if "unexpected end of data" in str(exc):
            raise ImportFailed([Problem(path, row=line, reason=_OPEN_QUOTE + "：这一行起到文件末尾都被读成了一个单元格"
                                        "；请检查引号（\"）是否成对")]) from None
        raise
    return rows, starts


_OPEN_QUOTE = "引号没有闭合"


def _check_swallowed(path: Path, rows: list[list[str]], starts: list[int], delimiter: str) -> None:
    """A cell whose later lines look like whole rows (full of delimiters) is rows swallowed by a quote
    left open, not a multi-line cell: report the line where it opened rather than import one row."""
    width = max((len(row) for row in rows[:10]), default=0)
    enough = max(2, width - 1)
    for row, start in zip(rows, starts, strict=True):
        line = start
        for cell in row:
            lines = cell.split("\n")
            if len(lines) > 1 and any(part.count(delimiter) >= enough for part in lines[1:]):
                raise ImportFailed([Problem(path, row=line, reason=(
                    f"{_OPEN_QUOTE}：从这一行起的 {len(lines)} 行被读成了一个单元格；请检查引号（\"）是否成对"))])
            line += len(lines) - 1


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line; every bad line is reported at once."""
    records, problems = [], []
    text = decode_text(path, path.read_bytes())
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_JSON_LINE_CHARS:
            problems.append(Problem(path, row=number,
                                    reason=f"这一行过长（{len(line)} 个字符，最多 {MAX_JSON_LINE_CHARS} 个）"))
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, row=number, reason=f"不是有效的 JSON（{exc.msg}，第 {exc.colno} 个字符）"))
            continue
        except RecursionError:
            problems.append(Problem(path, row=number, reason="JSON 嵌套过深，无法读取"))
            continue
        except ValueError:  # an integer past Python's digit limit for int(str)
            problems.append(Problem(path, row=number, reason=f"数字位数过多（超过 {sys.get_int_max_str_digits()} 位），"
                                                             "无法读取"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(path, row=number, reason="每行应是一个 JSON 对象"))
            continue
        records.append((number, record))
    if problems:
        raise ImportFailed(problems)
    return records


def check_readable(path: Path) -> None:
    if not path.exists():
        raise ImportFailed([Problem(path, reason="找不到文件")])
    if path.suffix.lower() not in SUPPORTED:
        raise ImportFailed([Problem(path, reason=f"不支持的文件类型；请用 {'、'.join(SUPPORTED)}")])
    if path.stat().st_size == 0:
        raise ImportFailed([Problem(path, reason="文件是空的")])
