"""Reading CSV, XLSX/XLS/ODS and JSONL files into raw rows, each tagged with where it came from.

CSV from Chinese Excel is often GB18030/GBK or UTF-8 with a BOM (and "Unicode text" exports are
UTF-16 with tabs): the encoding and delimiter are detected. Sheets and header rows are located
rather than assumed, because bureau spreadsheets start with title rows and carry extra sheets.

Workbooks for tabular imports are read with python-calamine (one reader for .xlsx, .xls and .ods,
faster than openpyxl, and indifferent to the stale sheet dimensions WPS writes). Merged cells are
filled from their top-left cell, so a group header (联系方式 over 联系人 | 联系电话) and an enterprise
merged down over its needs read like repeated cells.
"""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

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
        raise ImportFailed([Problem(path, reason="无法识别文本编码（已试 UTF-8、GB18030）")])
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
        raise ImportFailed([Problem(path, reason=f"不是可读取的 .xlsx 工作簿（{exc}）")]) from None
    try:
        return [
            Grid(path, sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)])
            for sheet in workbook.worksheets
        ]
    finally:
        workbook.close()


def read_workbook(path: Path) -> list[Grid]:
    """Every visible worksheet of an .xlsx, .xls or .ods file, merged cells filled in."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for a damaged or mislabelled file
        raise ImportFailed([Problem(path, reason=f"不是可读取的 {path.suffix} 工作簿（{exc}）")]) from None
    grids = []
    try:
        visible = {m.name for m in workbook.sheets_metadata if str(m.visible).lower().endswith("visible")}
        for name in workbook.sheet_names:
            if visible and name not in visible:
                continue
            sheet = workbook.get_sheet_by_name(name)
            rows = [list(row) for row in sheet.to_python(skip_empty_area=False)]
            ranges = sheet.merged_cell_ranges
            if ranges is None and path.suffix.lower() == ".ods":
                ranges = ods_merged_ranges(path).get(name, [])
            _fill_merged(rows, ranges or [])
            grids.append(Grid(path, name, [[None if cell == "" else cell for cell in row] for row in rows]))
    finally:
        workbook.close()
    return grids


def ods_merged_ranges(path: Path) -> dict[str, list[tuple[tuple[int, int], tuple[int, int]]]]:
    """Merged cells of every sheet of an .ods file, as calamine reports them for .xlsx and .xls
    (calamine does not read them from OpenDocument): ((top, left), (bottom, right)), 0-based."""
    import zipfile
    from xml.etree.ElementTree import iterparse

    table = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    ranges: dict[str, list] = {}
    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as content:
        sheet, row, column = None, -1, 0
        for event, element in iterparse(content, events=("start", "end")):
            tag = element.tag
            if event == "start" and tag == table + "table":
                sheet, row = element.get(table + "name"), -1
                ranges.setdefault(sheet, [])
            elif event == "start" and tag == table + "table-row":
                row, column = row + 1, 0
            elif event == "end" and tag == table + "table-row":
                row += int(element.get(table + "number-rows-repeated", "1")) - 1
                element.clear()
            elif event == "start" and tag in (table + "table-cell", table + "covered-table-cell"):
                rows = int(element.get(table + "number-rows-spanned", "1"))
                columns = int(element.get(table + "number-columns-spanned", "1"))
                if rows > 1 or columns > 1:
                    ranges[sheet].append(((row, column), (row + rows - 1, column + columns - 1)))
                column += int(element.get(table + "number-columns-repeated", "1"))
    return ranges


def _fill_merged(rows: list[list[object]], ranges) -> None:
    for (top, left), (bottom, right) in ranges:
        if top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        for r in range(top, min(bottom, len(rows) - 1) + 1):
            row = rows[r]
            row.extend([""] * (right + 1 - len(row)))
            for c in range(left, right + 1):
                row[c] = value


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
            problems.append(Problem(path, row=number, reason=f"不是有效的 JSON（{exc.msg}）"))
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
