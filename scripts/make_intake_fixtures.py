"""Write the small .xls and .ods fixtures of tests/test_intake_formats.py (committed beside the tests).

The clerk's sheet of issue 14 in the two older formats bureaus still send: a title row merged across,
a two-row header with 联系方式 merged over 联系人 | 联系电话, an enterprise merged down over its two
needs, and a trailing 备注 row. Writers (not project dependencies; only this script needs them):
``.venv/bin/pip install xlwt odfpy`` then ``.venv/bin/python scripts/make_intake_fixtures.py``.
"""

from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "intake"
TITLE = "2026年上栗县企业技术需求汇总表"
HEADER = ["序号", "企业名称", "所属县区", "联系方式", None, "技术需求", "预算（万元）", "完成时限"]
SUB = [None, None, None, "联系人", "联系电话", None, None, None]
ROWS = [
    [1, "萍乡市上栗县金鑫花炮有限公司", "上栗", "李明", "13807991234", "引线燃速不稳定，想找高校做配方优化",
     "面议", "长期"],
    [2, None, None, None, None, "烟花药剂防潮", "20-30", "2027年6月"],
    [3, "江西某某电瓷电气有限公司", "芦溪县", "王工", "0799-7654321", "复合绝缘子憎水性检测", "20~30万元",
     "2026-12-31"],
]
NOTE = "备注：预算单位为万元。"
# (first row, last row, first column, last column), 0-based, as xlwt counts
MERGES = [(0, 0, 0, 7), (2, 2, 3, 4)] + [(2, 3, c, c) for c in (0, 1, 2, 5, 6, 7)] + \
    [(4, 5, c, c) for c in (1, 2, 3, 4)] + [(7, 7, 0, 7)]


def grid() -> list[list[object]]:
    return [[TITLE] + [None] * 7, HEADER, SUB, *ROWS, [NOTE] + [None] * 7]


def rows_with_title_row_offset() -> list[list[object]]:
    rows = grid()
    rows.insert(1, [None] * 8)  # a blank row under the title, as many templates have
    return rows


def write_xls(path: Path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("汇总表")
    rows = rows_with_title_row_offset()
    merged = {(r1, c1) for r1, _, c1, _ in MERGES}
    inside = {(r, c) for r1, r2, c1, c2 in MERGES for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    for r1, r2, c1, c2 in MERGES:
        sheet.write_merge(r1, r2, c1, c2, rows[r1][c1])
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None and (r, c) not in inside | merged:
                sheet.write(r, c, value)
    book.save(str(path))


def write_ods(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="汇总表")
    rows = rows_with_title_row_offset()
    spans = {(r1, c1): (r2 - r1 + 1, c2 - c1 + 1) for r1, r2, c1, c2 in MERGES}
    covered = {(r, c) for r1, r2, c1, c2 in MERGES for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - set(spans)
    for r, row in enumerate(rows):
        tr = TableRow()
        for c, value in enumerate(row):
            if (r, c) in covered:
                tr.addElement(CoveredTableCell())
                continue
            attributes = {}
            if (r, c) in spans:
                attributes = {"numberrowsspanned": spans[r, c][0], "numbercolumnsspanned": spans[r, c][1]}
            if isinstance(value, int):
                cell = TableCell(valuetype="float", value=value, **attributes)
            else:
                cell = TableCell(valuetype="string", **attributes) if value is not None else TableCell(**attributes)
            if value is not None:
                cell.addElement(P(text=str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write_xls(OUT / "clerk.xls")
    write_ods(OUT / "clerk.ods")
    print(f"wrote {OUT / 'clerk.xls'} and {OUT / 'clerk.ods'}")
