"""Finding the header of a sheet as staff make them, and the rows around it that are not data.

* The header is the first row, within the top few, that names every required column; rows above it
  (the title, 填报单位, 填报日期) are skipped with a note.
* A two-row header: a group cell merged over sub-headers (联系方式 over 联系人 | 联系电话) is read
  from the sub-header row; a cell merged down over both rows (企业名称) from either.
* Footer rows (备注, 说明, 填表人, 审核人, 合计 …) and blank rows are skipped with a note, never
  reported as a row with empty required cells.
"""

import re
from dataclasses import dataclass

from matcher.ingest.columns import canonical_column, is_row_number
from matcher.ingest.problems import Problem
from matcher.ingest.values import clean_text, halfwidth

HEADER_SEARCH_ROWS = 10  # title rows above the header are common in bureau spreadsheets
_FOOTER = re.compile(r"^\s*(备注|备 注|说明|注|注意|填表说明|填表人|填报人|制表人|审核人|审核|负责人|单位负责人|"
                     r"统计人|联系人|填报日期|填表日期|制表日期|日期|合计|小计|总计)\s*[:：、.\s]|"
                     r"^\s*(合计|小计|总计|备注|说明)\s*$")


@dataclass
class Header:
    row: int  # index of the last header row in grid.rows (data starts after it)
    first_row: int  # index of the first header row
    mapping: dict[int, str]  # cell index -> canonical column
    labels: dict[str, str]  # canonical column -> the header text as written


def _cell_text(cell: object) -> str | None:
    return None if cell is None else clean_text(cell)


def _map_row(kind: str, cells: list[object], columns) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for i, cell in enumerate(cells):
        column = canonical_column(kind, cell, columns)
        if column and column not in mapping.values():
            mapping[i] = column
    return mapping


def _is_sub_header(kind: str, upper: list[object], lower: list[object], columns) -> bool:
    """``lower`` completes ``upper``: it names at least one column, and each of its other filled cells
    repeats the cell above (a header merged down over both rows)."""
    named = 0
    for i, cell in enumerate(lower):
        if _cell_text(cell) is None:
            continue
        if canonical_column(kind, cell, columns):
            named += 1
        elif i >= len(upper) or cell != upper[i]:
            return False
    return named > 0


def _combined(kind: str, rows: list[list[object]], index: int, columns) -> tuple[Header, int]:
    upper = rows[index]
    lower = rows[index + 1] if index + 1 < len(rows) else []
    if lower and _is_sub_header(kind, upper, lower, columns):
        width = max(len(upper), len(lower))
        mapping, labels = {}, {}
        for i in range(width):
            for cell, group in ((lower[i] if i < len(lower) else None, upper[i] if i < len(upper) else None),
                                (upper[i] if i < len(upper) else None, None)):
                column = canonical_column(kind, cell, columns)
                if column and column not in mapping.values():
                    mapping[i] = column
                    label = str(cell).strip()
                    labels[column] = f"{group}/{label}" if group not in (None, "", cell) else label
                    break
        return Header(index + 1, index, mapping, labels), len(mapping)
    mapping = _map_row(kind, upper, columns)
    return Header(index, index, mapping, {c: str(upper[i]).strip() for i, c in mapping.items()}), len(mapping)


def locate_header(kind: str, grid, columns, required: tuple[tuple[str, ...], ...]) -> Header | Problem:
    """The header of ``grid`` for ``kind``, or a Problem saying which required columns are missing."""
    best: Header | None = None
    for index in range(min(HEADER_SEARCH_ROWS, len(grid.rows))):
        header, found = _combined(kind, grid.rows, index, columns)
        present = set(header.mapping.values())
        if all(present & set(group) for group in required):
            return header
        if found and (best is None or found > len(best.mapping)):
            best = header
    if not any(any(_cell_text(cell) is not None for cell in row) for row in grid.rows):
        return Problem(grid.path, sheet=grid.sheet, reason="工作表是空的" if grid.sheet else "文件是空的")
    present = set(best.mapping.values()) if best else set()
    missing = ["或".join(group) for group in required if not present & set(group)]
    return Problem(
        grid.path, row=best.first_row + 1 if best else 1, sheet=grid.sheet,
        reason=f"表头缺少 {kind} 的必填列 {'、'.join(missing)}"
        + (f"（已识别：{'、'.join(sorted(present))}）" if present else "（没有可识别的列名）"),
    )


def is_footer(cells: list[object]) -> bool:
    """备注：…, 填表人：… 审核人：…, 合计: rows below the data that are not data."""
    filled = [c for c in cells if _cell_text(c) is not None]
    if not filled:
        return False
    first = halfwidth(str(filled[0]))
    return bool(_FOOTER.match(first)) and (len(set(map(str, filled))) <= 3 or len(filled) <= 3)


def ignored_headers(grid, header: Header) -> list[str]:
    """Header cells that are not a column of the kind (row numbers such as 序号 are not mentioned)."""
    seen = []
    for index in range(header.first_row, header.row + 1):
        for i, cell in enumerate(grid.rows[index]):
            text = _cell_text(cell)
            labelled = any(text in label.split("/") for label in header.labels.values()) if text else False
            if text and i not in header.mapping and not is_row_number(text) and text not in seen and not labelled:
                seen.append(text)
    return seen
