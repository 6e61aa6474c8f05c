"""Cells that are safe to open in Excel and WPS: text that starts like a formula (=, +, -, @, tab, CR)
gets a leading apostrophe, so an imported name such as =HYPERLINK(...) or a DDE payload is shown as
text instead of being run (OWASP's advice for CSV injection). Numbers and dates pass unchanged."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row: dict) -> dict:
    return {k: safe_cell(v) for k, v in row.items()}
