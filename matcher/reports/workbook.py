"""The workbook staff forward: 汇总 (the 三清零 汇总表 layout), 推荐清单, 跟进漏斗, 按县区, 按行业 and
覆盖与公平. Values only (no formulas: WPS and old Excel recompute or break them), Chinese headers,
frozen header rows, column widths from the content.

推荐清单 ends with the follow-up columns a clerk fills in (跟进状态 with its allowed values as a
drop-down, 跟进日期, 签约金额（万元）, 原因 with the fixed reasons offered); beside 需求编号, 团队编号,
推荐位次 and 运行编号 they attribute each event, so the filled-in sheet imports back with
``cxy import outcomes`` and records the events with their run and shown rank.
"""

import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from matcher.reports.cells import guard_xlsx_cell
from matcher.reports.data import ReportData, column_groups

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="top", wrap_text=True)
TOP = Alignment(vertical="top")
MAX_WIDTH = 60
LINE_HEIGHT = 15  # points per line of 11-point text
PERCENT_COLUMNS = ("转化率", "签约率", "占比")
FOLLOW_UP_COLUMNS = ("跟进状态", "跟进日期", "签约金额（万元）", "原因")
FOLLOW_UP_STAGES = ("已联系", "洽谈中", "已签约", "未成功", "团队婉拒")
FOLLOW_UP_FILL = PatternFill("solid", fgColor="FFF2CC")


def _width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _plain(value):
    """A cell value: NaN and None are empty; numpy scalars become Python numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _put(ws: Worksheet, row: int, column: int, value):
    cell = ws.cell(row=row, column=column, value=_plain(value))
    guard_xlsx_cell(cell)  # need texts come from outside: one starting with = + - @ stays text
    return cell


def _table(ws: Worksheet, frame: pd.DataFrame, top: int = 1, wrap: dict[str, int] | None = None,
           integer: tuple[str, ...] = ()) -> int:
    """Header at row ``top``, rows below; returns the next free row. Widths fit the content; ``wrap``
    columns get the given width and wrap, and their rows the height the wrapped text needs (set here:
    Excel, WPS and LibreOffice do not all grow rows on opening)."""
    wrap = wrap or {}
    widths = [wrap.get(c, _width(c) + 2) for c in frame.columns]
    for j, name in enumerate(frame.columns, 1):
        cell = _put(ws, top, j, name)
        cell.font, cell.fill, cell.alignment, cell.border = Font(bold=True), HEADER_FILL, CENTER, BOX
    for i, values in enumerate(frame.itertuples(index=False), top + 1):
        lines = 1
        for j, (name, value) in enumerate(zip(frame.columns, values, strict=True), 1):
            if name in integer and _plain(value) is not None:
                value = int(value)
            cell = _put(ws, i, j, value)
            cell.border = BOX
            cell.alignment = WRAP if name in wrap else TOP
            if name in wrap:
                lines = max(lines, math.ceil(_width(cell.value) / max(wrap[name] - 2, 1)))
            else:
                widths[j - 1] = max(widths[j - 1], min(_width(cell.value) + 2, MAX_WIDTH))
            if isinstance(cell.value, float) and any(k in name for k in PERCENT_COLUMNS):
                cell.number_format = "0.0%"
        if lines > 1:
            ws.row_dimensions[i].height = LINE_HEIGHT * lines
    for j, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(j)].width = min(width, MAX_WIDTH)
    return top + len(frame) + 1


def _summary_sheet(ws: Worksheet, data: ReportData) -> None:
    """The 三清零 汇总表: two header rows (item over 已有 / 本月新增 / 尚无), a row per county and 合计."""
    frame = data.summary
    groups = column_groups(frame.columns[1:])
    n_columns = 2 + len(frame.columns) - 1
    meta = data.meta
    scope = "重点企业" if meta["key_flagged"] else "全部企业（未标记重点企业）"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n_columns)
    title = _put(ws, 1, 1, f"{meta['region']}企业科技创新“三清零”工作推进汇总表（{meta['label']}）")
    title.font, title.alignment = Font(bold=True, size=14), CENTER
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n_columns)
    scope_line = _put(ws, 2, 1, f"统计范围：{scope} {meta['enterprises']} 家；数据截至 {meta['data_as_of']}；"
                                f"运行编号 {meta['report_id']}；填表日期 {meta['written_at'][:10]}")
    scope_line.alignment = Alignment(wrap_text=True)
    ws.row_dimensions[2].height = 30
    for j, label in ((1, "序号"), (2, "县区")):
        ws.merge_cells(start_row=3, start_column=j, end_row=4, end_column=j)
        _put(ws, 3, j, label)
    column = 3
    for group, sub in groups:
        if sub == [""]:
            ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
            _put(ws, 3, column, group)
        else:
            ws.merge_cells(start_row=3, start_column=column, end_row=3, end_column=column + len(sub) - 1)
            _put(ws, 3, column, group)
            for k, label in enumerate(sub):
                _put(ws, 4, column + k, label)
        column += len(sub)
    for row in ws.iter_rows(min_row=3, max_row=4, min_col=1, max_col=n_columns):
        for cell in row:
            cell.font, cell.fill, cell.alignment, cell.border = Font(bold=True), HEADER_FILL, CENTER, BOX
    for i, values in enumerate(frame.itertuples(index=False), 5):
        county, *counts = values
        total = county == "合计"
        cells = [_put(ws, i, 1, None if total else i - 4), _put(ws, i, 2, county)]
        cells += [_put(ws, i, 3 + k, "—" if _plain(v) is None else int(v)) for k, v in enumerate(counts)]
        for cell in cells:
            cell.border, cell.alignment = BOX, CENTER
            if total:
                cell.font, cell.fill = Font(bold=True), TOTAL_FILL
    notes_row = 5 + len(frame) + 1
    notes = ["说明：1. 科研条件平台、高新技术企业按企业台账/调查表的当前登记；“本月新增”与上月运行时的登记比较"
             "（上月无运行时记为“—”）。",
             "2. 产学研合作：调查表填报已开展合作，或结果登记中已有签约；“本月新增”为本月首次签约的企业。",
             f"3. 本月推荐：为每项开放需求推荐未推荐过的团队（每项至多 {meta['params'].get('top', '')} 个），"
             "并按团队承接能力统筹分配，详见“推荐清单”。"]
    for k, note in enumerate(notes):
        ws.merge_cells(start_row=notes_row + k, start_column=1, end_row=notes_row + k, end_column=n_columns)
        _put(ws, notes_row + k, 1, note).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[notes_row + k].height = 30
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = max(12, max(_width(c) for c in frame["县区"]) + 2)
    for j in range(3, n_columns + 1):
        ws.column_dimensions[get_column_letter(j)].width = 11
    ws.freeze_panes = "C5"


def _coverage_sheet(ws: Worksheet, data: ReportData) -> None:
    current, change, labels = data.coverage["current"], data.coverage["change"], data.coverage["labels"]
    previous = data.coverage["previous"] or {}
    rows = [{"指标": label, "本月": current[key], "上月": previous.get(key), "变化": change[key],
             "说明": "基尼系数越低越均衡" if key == "gini" else ""} for key, label in labels.items()]
    rows += [{"指标": "获得推荐的单位数 / 有团队的单位数",
              "本月": f"{current['institutions_proposed']} / {current['institutions']}", "上月": None, "变化": None,
              "说明": ""},
             {"指标": "获得推荐的团队数 / 团队总数", "本月": f"{current['teams_proposed']} / {current['teams']}",
              "上月": None, "变化": None, "说明": ""}]
    fit = data.fit
    rows += [{"指标": "承接能力约束下的总匹配度", "本月": fit["constrained"], "上月": None, "变化": None,
              "说明": f"{fit['proposals_constrained']} 条推荐"},
             {"指标": "不限承接能力的总匹配度", "本月": fit["unconstrained"], "上月": None, "变化": None,
              "说明": f"{fit['proposals_unconstrained']} 条推荐"},
             {"指标": "承接能力约束损失的匹配度占比", "本月": fit["cost_share"], "上月": None, "变化": None,
              "说明": f"{fit['teams_over_capacity']} 个团队的需求超过其本月承接能力"}]
    frame = pd.DataFrame(rows)
    end = _table(ws, frame, wrap={"说明": 40})
    for row in range(2, end):  # shares and their changes as percentages, the Gini as a plain number
        label = ws.cell(row=row, column=1).value
        if "占比" in label:
            for column in (2, 3, 4):
                if isinstance(ws.cell(row=row, column=column).value, float):
                    ws.cell(row=row, column=column).number_format = "0.0%"
    start = end + 1
    _put(ws, start, 1, "各单位获推荐情况").font = Font(bold=True)
    _table(ws, data.institutions, top=start + 1)
    ws.freeze_panes = "A2"


def _follow_up_columns(ws: Worksheet, rows: int) -> None:
    """The columns staff fill in, after the last one; 跟进状态 and 原因 offer their allowed values."""
    from matcher.ingest.schemas import REJECTION_REASONS

    first = ws.max_column + 1
    for offset, name in enumerate(FOLLOW_UP_COLUMNS):
        cell = _put(ws, 1, first + offset, name)
        cell.font, cell.fill, cell.alignment, cell.border = Font(bold=True), FOLLOW_UP_FILL, CENTER, BOX
        ws.column_dimensions[get_column_letter(first + offset)].width = 14 if offset < 3 else 24
    last = max(rows + 1, 2)
    for offset, values, prompt in ((0, FOLLOW_UP_STAGES, "请从下拉列表选择跟进状态"),
                                   (3, REJECTION_REASONS, "未成功时请选择原因，可在后面补充说明")):
        letter = get_column_letter(first + offset)
        check = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                               showErrorMessage=offset == 0, errorTitle="跟进状态", error="请从下拉列表选择",
                               promptTitle=FOLLOW_UP_COLUMNS[offset], prompt=prompt, showInputMessage=True)
        check.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(check)


def _print_setup(ws: Worksheet, title_rows: str, one_page_wide: bool) -> None:
    """A4 landscape, header rows repeated on every page, every sheet one page wide (the 推荐清单's long
    reasons wrap, so its rows grow instead of its columns shrinking)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if one_page_wide:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
    ws.print_title_rows = title_rows
    ws.print_options.horizontalCentered = True


def write_workbook(data: ReportData, path: Path) -> Path:
    """Write the workbook to ``path`` (through a temporary file: a half-written workbook never appears)."""
    wb = Workbook()
    _summary_sheet(wb.active, data)
    wb.active.title = "汇总"
    sheets = (("推荐清单", data.proposals, {"需求": 30, "联系途径": 40, "推荐理由": 60}, ("推荐位次",)),
              ("跟进漏斗", data.funnel, None, ()),
              ("按县区", data.by_county, None, ()),
              ("按行业", data.by_industry, None, ()))
    for title, frame, wrap, integer in sheets:
        ws = wb.create_sheet(title)
        _table(ws, frame, wrap=wrap, integer=integer)
        ws.freeze_panes = "A2"
    proposals = wb["推荐清单"]
    _follow_up_columns(proposals, len(data.proposals))
    proposals.auto_filter.ref = proposals.dimensions
    funnel = wb["跟进漏斗"]
    _put(funnel, len(data.funnel) + 3, 1,
         f"累计：截至 {data.meta['data_as_of']} 登记的全部配对；本月新配对：首次登记在 {data.meta['label']} 的配对。")
    _coverage_sheet(wb.create_sheet("覆盖与公平"), data)
    for ws in wb:
        _print_setup(ws, "3:4" if ws.title == "汇总" else "1:1", one_page_wide=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    wb.save(partial)
    partial.replace(path)
    return path
