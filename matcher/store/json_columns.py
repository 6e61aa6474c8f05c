"""JSON list columns read in bulk: the driver's and SQLAlchemy's per-row decoding was most of the time of
reading 100k achievements (the catalog at start-up, the documents of every index build)."""

import json

from sqlalchemy import Text, cast


def raw_json(column):
    """A JSON column as its stored text, for ``json_lists`` to decode the whole column at once."""
    return cast(column, Text)


def json_lists(raw: list[str | None]) -> list[tuple[str, ...]]:
    """Each row's list (JSON text, or NULL) as a tuple, decoded in one json.loads."""
    values = json.loads("[" + ",".join("null" if r is None else r for r in raw) + "]")
    return [tuple(v or ()) for v in values]
