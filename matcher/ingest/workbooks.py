"""Reading workbooks (.xlsx, .xls, .ods) into grids, without trusting what the file says about itself.

Tabular imports read with python-calamine (one reader for .xlsx, .xls and .ods, faster than openpyxl,
and indifferent to the stale sheet dimensions WPS writes). Merged cells are filled from their
top-left cell, so a group header (联系方式 over 联系人 | 联系电话) and an enterprise merged down over
its needs read like repeated cells. Survey forms read with openpyxl (cell positions name the answers).

Hidden sheets are never read: a hidden sheet once overwrote a visible team. calamine allocates the
whole rectangle from A1 to the farthest filled cell before returning anything (one cell at
XFD1048576 asks for 17 billion cells and aborts the process), so an .xlsx's farthest cells are
found first by scanning its sheet XML; openpyxl's read-only mode pads rows to the ``<dimension>``
the file claims, so that is reset and rows are taken as they come.
"""

import re
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from openpyxl.utils import get_column_letter

from matcher.ingest.problems import ImportFailed, Problem
from matcher.ingest.readers import Grid

MAX_SHEET_CELLS = 20_000_000  # the rectangle calamine allocates: 200,000 rows of 100 columns
MAX_SHEET_XML_BYTES = 2 * 1024**3  # unpacked; more is a zip bomb, not a bureau's spreadsheet
EXCEL_CELL_CHARS = 32_767  # Excel's own cell limit; calamine cuts longer text there without a word
_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,9})"[^>]*?(?<!/)>')  # a cell with content
# a row whose first cell has no reference of its own: its cells sit on the row's number
_ROW = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]{1,9})"[^>]*?(?<!/)>\s*<(?:\w+:)?c(?![^>]*\br=)[\s>]')
_CHUNK = 16 * 1024 * 1024


def _broken(path: Path, exc: Exception, sheet: str | None = None) -> ImportFailed:
    what = "工作表已损坏，无法读取" if sheet else f"不是可读取的 {path.suffix} 工作簿"
    detail = f"{type(exc).__name__}: {str(exc)[:200]}"
    reason = f"{what}（{detail}）；请用 Excel 或 WPS 打开后另存为 .xlsx 再导入"
    return ImportFailed([Problem(path, sheet=sheet, reason=reason)])


def hidden_note(path: Path, hidden: list[str]) -> list[str]:
    names = "」「".join(hidden)
    return [f"{path.name}：隐藏的工作表「{names}」未导入（如需导入，请先在 Excel 中取消隐藏）"] if hidden else []


def read_workbook(path: Path) -> tuple[list[Grid], list[str]]:
    """Every visible worksheet of an .xlsx, .xls or .ods file, merged cells filled in, and notes."""
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for a damaged or mislabelled file
        raise _broken(path, exc) from None
    grids, name = [], None
    try:
        visible = {m.name: m.visible == SheetVisibleEnum.Visible for m in workbook.sheets_metadata}
        hidden = [n for n in workbook.sheet_names if not visible.get(n, True)]
        if len(hidden) == len(workbook.sheet_names):
            raise ImportFailed([Problem(path, reason="工作簿的工作表全部是隐藏的，没有可导入的内容")])
        extents = sheet_extents(path) if path.suffix.lower() == ".xlsx" else {}
        for name in workbook.sheet_names:
            if name in hidden:
                continue
            _check_extent(path, name, extents.get(name))
            sheet = workbook.get_sheet_by_name(name)
            rows = [list(row) for row in sheet.to_python(skip_empty_area=False)]
            ranges = sheet.merged_cell_ranges
            if ranges is None and path.suffix.lower() == ".ods":
                ranges = ods_merged_ranges(path).get(name, [])
            _fill_merged(rows, ranges or [])
            grids.append(Grid(path, name, _cells(path, name, rows)))
    except ImportFailed:
        raise
    except Exception as exc:  # broken sheet XML, a bad merge range, …: the file, not our code
        raise _broken(path, exc, name) from None
    finally:
        workbook.close()
    return grids, hidden_note(path, hidden)


def _cells(path: Path, sheet: str, rows: list[list[object]]) -> list[list[object]]:
    """Empty strings become None; a text cell at Excel's limit was cut there (by the writer or the reader:
    calamine and openpyxl both stop at it), and is refused rather than imported short."""
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if cell == "":
                row[c] = None
            elif isinstance(cell, str) and len(cell) >= EXCEL_CELL_CHARS:
                reason = f"单元格过长：达到 Excel 的上限 {EXCEL_CELL_CHARS} 个字符，超出的部分已被截掉；请把长文本拆开"
                raise ImportFailed([Problem(path, r + 1, get_column_letter(c + 1), None, reason, sheet)])
    return rows


def read_xlsx(path: Path) -> tuple[list[Grid], list[str]]:
    """Every visible worksheet of an .xlsx with openpyxl (cells where they are; merges not filled), and notes."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or mislabelled file
        raise _broken(path, exc) from None
    grids, hidden, title = [], [], None
    try:
        for sheet in workbook.worksheets:
            title = sheet.title
            if sheet.sheet_state != "visible":
                hidden.append(title)
                continue
            sheet.reset_dimensions()  # else every row is padded to the claimed <dimension>
            grids.append(
                Grid(path, title, _cells(path, title, [list(row) for row in sheet.iter_rows(values_only=True)]))
            )
    except Exception as exc:
        raise _broken(path, exc, title) from None
    finally:
        workbook.close()
    if not grids:
        raise ImportFailed([Problem(path, reason="工作簿的工作表全部是隐藏的，没有可导入的内容")])
    return grids, hidden_note(path, hidden)


def sheet_extents(path: Path) -> dict[str, tuple[int, int]]:
    """(rows, columns) from A1 to the farthest filled cell of each worksheet of an .xlsx, by name."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = _sheet_parts(archive)
            return {name: _extent(path, archive, part) for name, part in parts.items()}
    except ImportFailed:
        raise
    except Exception as exc:  # a truncated zip, a missing part: calamine would fail the same way
        raise _broken(path, exc) from None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.findall("p:Relationship", ns):
        target = rel.get("Target", "")
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl", target))
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return {
        sheet.get("name"): targets.get(sheet.get(f"{{{ns['r']}}}id"), "")
        for sheet in book.iterfind("m:sheets/m:sheet", ns)
        if targets.get(sheet.get(f"{{{ns['r']}}}id"), "") in archive.namelist()
    }


def _extent(path: Path, archive: zipfile.ZipFile, part: str) -> tuple[int, int]:
    rows = columns = read = 0
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            read += len(chunk)
            if read > MAX_SHEET_XML_BYTES:
                raise ImportFailed(
                    [
                        Problem(
                            path,
                            reason=f"工作簿解压后超过 {MAX_SHEET_XML_BYTES // 1024**3} GB，不像是正常的表格，未读取",
                        )
                    ]
                )
            data = tail + chunk
            for match in _CELL.finditer(data):
                rows = max(rows, int(match[2]))
                columns = max(columns, _column_number(match[1]))
            rows = max([rows, *(int(match[1]) for match in _ROW.finditer(data))])
            tail = data[-512:]  # a cell tag cut by the chunk boundary is matched again, harmlessly
    return rows, columns


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _check_extent(path: Path, sheet: str, extent: tuple[int, int] | None) -> None:
    if extent and extent[0] * extent[1] > MAX_SHEET_CELLS:
        rows, columns = extent
        corner = f"{get_column_letter(min(columns, 18278))}{rows}"
        reason = (
            f"工作表的内容延伸到 {corner}（{rows} 行 × {columns} 列），超过可读取的 {MAX_SHEET_CELLS} 个单元格；"
            "请删除远处多余的单元格后重新保存"
        )
        raise ImportFailed([Problem(path, sheet=sheet, reason=reason)])


def ods_merged_ranges(path: Path) -> dict[str, list[tuple[tuple[int, int], tuple[int, int]]]]:
    """Merged cells of every sheet of an .ods file, as calamine reports them for .xlsx and .xls
    (calamine does not read them from OpenDocument): ((top, left), (bottom, right)), 0-based."""
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
    width = max(map(len, rows), default=0)
    for (top, left), (bottom, right) in ranges:
        if top >= len(rows) or left >= len(rows[top]):
            continue
        right = min(right, width - 1)  # a merge claiming XFD must not widen every row to 16,384 cells
        value = rows[top][left]
        for r in range(top, min(bottom, len(rows) - 1) + 1):
            row = rows[r]
            row.extend([""] * (right + 1 - len(row)))
            for c in range(left, right + 1):
                row[c] = value
