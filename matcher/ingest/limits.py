"""What one import may hold, most of it read from the store's models rather than copied here.

SQLite does not enforce VARCHAR lengths and PostgreSQL does, so the same file imported on one and
failed on the other: lengths are checked here, against each model column's own ``String(n)``.
JSON Lines carry types of their own (an object as a name, a list as an id, ``true`` as a budget):
which columns take a list or a true/false is read from the column types too.
"""

import math
from functools import cache

from sqlalchemy import JSON, Boolean, Column

from matcher.ingest.problems import Problem
from matcher.store import models

MAX_ROWS = 200_000  # data rows per file: refused before anything is parsed further or written
MAX_CELL_CHARS = 131_072  # csv's own field limit, applied to every format and to unbounded (Text) columns
MAX_JSON_LINE_CHARS = 1_000_000
OUTCOME_KEY_PREFIX = "import:"  # an outcome's own id is stored as this + id in idempotency_key

TABLES = {  # each kind's table; outcomes are appended as events
    "institutions": models.Institution,
    "teams": models.Team,
    "achievements": models.Achievement,
    "enterprises": models.Enterprise,
    "needs": models.Need,
    "challenges": models.Challenge,
    "outcomes": models.OutcomeEvent,
}
_OUTCOME_FIELDS = {"reason": "reason_text", "id": "idempotency_key"}
_SCALARS = (str, int, float)


@cache
def store_column(kind: str, field: str) -> Column | None:
    """The model column a row field is stored in (a needs sheet's ``enterprise.x`` in enterprises)."""
    if field.startswith("enterprise."):
        kind, field = "enterprises", field.removeprefix("enterprise.")
    if kind == "outcomes":
        field = _OUTCOME_FIELDS.get(field, field)
    return TABLES[kind].__table__.c.get(field)


@cache
def length_limit(kind: str, field: str) -> int:
    """Most characters ``field`` may hold: its VARCHAR length, else ``MAX_CELL_CHARS``."""
    column = store_column(kind, field)
    length = getattr(column.type, "length", None) if column is not None else None
    if length and kind == "outcomes" and field == "id":
        length -= len(OUTCOME_KEY_PREFIX)
    return length or MAX_CELL_CHARS


def too_long(kind: str, field: str, value: object) -> str | None:
    """Why a validated value does not fit its column, or None. Lists and (code, text) pairs count
    every item, since they are stored as one JSON or text value."""
    items = value if isinstance(value, list | tuple) else [value]
    size = sum(len(item) for item in items if isinstance(item, str))
    limit = length_limit(kind, field)
    if size > limit:
        return f"过长：{size} 个字符，该列最多 {limit} 个"
    return None


def json_type_error(kind: str, field: str, value: object) -> str | None:
    """Why a JSON value cannot be a cell of ``field``, or None. A number where text is expected is
    fine (ids such as 101); an object never is, a list only where the column stores a list, and
    true/false only where it stores true/false."""
    column = store_column(kind, field)
    kind_of = type(column.type) if column is not None else None
    if isinstance(value, dict):
        return "应为单个值，不是 JSON 对象"
    if isinstance(value, list):
        if kind_of is not JSON:
            return "应为单个值，不是 JSON 数组"
        if not all(isinstance(item, _SCALARS) and not isinstance(item, bool) for item in value):
            return "数组里只能是文本或数字"
        return None
    if isinstance(value, bool) and kind_of is not Boolean:
        return "不能填 true/false"
    if isinstance(value, float) and not math.isfinite(value):
        return "应为有限的数字（不能是 NaN、Infinity 或 1e309 之类）"
    return None


def row_limit_problem(path, count: int) -> Problem | None:
    if count > MAX_ROWS:
        return Problem(path, reason=f"数据行过多：{count} 行，每次导入最多 {MAX_ROWS} 行；请拆分成几个文件")
    return None
