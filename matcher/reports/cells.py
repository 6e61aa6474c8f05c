"""Cells that are safe to open in Excel and WPS: text that starts like a formula (=, +, -, @, tab, CR)
is neutralised, so an imported name such as =HYPERLINK(...) or a DDE payload is shown as text instead
of being run (OWASP's advice for CSV injection). Numbers and dates pass unchanged.

CSV has no types, so such text gets a leading apostrophe. An xlsx cell keeps its text as written and is
stored as text with Excel's own quote prefix (what typing ' before it does): it shows without the
apostrophe, and stays text even after someone edits the cell and presses Enter."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row: dict) -> dict:
    return {k: safe_cell(v) for k, v in row.items()}


def guard_xlsx_cell(cell) -> None:
    """Mark an openpyxl cell whose text starts like a formula as quoted text."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def guard_xlsx_sheet(ws) -> None:
    for row in ws.iter_rows():
        for cell in row:
            guard_xlsx_cell(cell)
