"""Writing the 三清零 摸底表 (附表1) layout: blank forms for enterprises to fill in, and filled ones.

Two layouts occur in practice: answers beside their labels (one enterprise per sheet), and long
answers in the row below their label (several enterprises stacked in blocks on one sheet).
"""

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

TITLE = "附表1  企业科技创新“三清零”摸底表"
SHORT_FIELDS = (
    ("企业名称", "name", "行业类别", "industry"),
    ("所属县区", "county", "联系人", "contact_person", "联系电话", "contact_phone"),
    ("科研条件平台（有/无）", "has_rd_platform", "高新技术企业（是/否）", "high_tech",
     "规上企业（是/否）", "above_scale"),
)
LONG_FIELDS = (
    ("企业现有的科研条件和设备情况", "rd_conditions"),
    ("企业是否开展产学研合作及下一步拟对接的高校院所", "cooperation"),
    ("企业技术需求及创新发展中遇到的问题", "needs"),
    ("下一步科技创新工作安排", "innovation_plan"),
)
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center")


def _put(ws: Worksheet, row: int, col: int, value: object, bold: bool = False) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    cell.border, cell.alignment = _BOX, _WRAP
    if bold:
        cell.font = Font(bold=True)


def write_form(ws: Worksheet, answers: dict[str, object], top: int = 1, long_below: bool = False) -> int:
    """Write one enterprise's form starting at row ``top``; return the first free row after it."""
    ws.merge_cells(start_row=top, start_column=1, end_row=top, end_column=6)
    ws.cell(row=top, column=1, value=TITLE).font = Font(bold=True, size=14)
    row = top + 1
    for line in SHORT_FIELDS:
        for i in range(0, len(line), 2):
            col = 1 + i
            _put(ws, row, col, line[i], bold=True)
            _put(ws, row, col + 1, answers.get(line[i + 1]))
        if len(line) == 4:  # the name and industry answers span the wider cells
            ws.merge_cells(start_row=row, start_column=4, end_row=row, end_column=6)
        row += 1
    for label, key in LONG_FIELDS:
        if long_below:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
            _put(ws, row, 1, label, bold=True)
            row += 1
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
            _put(ws, row, 1, answers.get(key))
            ws.row_dimensions[row].height = 60
        else:
            _put(ws, row, 1, label, bold=True)
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=6)
            _put(ws, row, 2, answers.get(key))
            ws.row_dimensions[row].height = 60
        row += 1
    for col, width in zip("ABCDEF", (26, 22, 22, 16, 22, 16), strict=True):
        ws.column_dimensions[col].width = width
    return row + 1
