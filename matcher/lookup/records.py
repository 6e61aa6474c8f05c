"""Command-line arguments that name a record instead of giving its id: read the (id, name) pairs of one
kind with one SQL query (no catalog, no model) and resolve each argument through ``NameIndex``."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from matcher.lookup.names import NameIndex
from matcher.store import models

KINDS = {  # kind -> (id column, name column, what it is called)
    "enterprise": (models.Enterprise.id, models.Enterprise.name, "企业"),
    "need": (models.Need.id, models.Need.title, "需求"),
    "team": (models.Team.id, models.Team.name, "团队"),
    "challenge": (models.Challenge.id, models.Challenge.title, "榜单"),
}


def name_pairs(engine: Engine, kind: str) -> list[tuple[str, str]]:
    id_column, name_column, _ = KINDS[kind]
    with engine.connect() as conn:
        return [(id_, name) for id_, name in conn.execute(select(id_column, name_column).order_by(id_column))]


def _looks_like_id(text: str) -> bool:
    return text.isascii() and not text.isalpha()


def resolve_arguments(engine: Engine, kind: str, arguments: Iterable[str]) -> list[tuple[str, str | None]]:
    """Each argument as (id, how it was understood or None for an id given as such). An argument that is
    a stored id, or that looks like an id (E999) and matches nothing, passes through unchanged so the
    command reports it exactly as before; a name that is ambiguous or matches nothing raises LookupError."""
    arguments = list(arguments)
    pairs = name_pairs(engine, kind)
    ids = {id_ for id_, _ in pairs}
    if all(a in ids for a in arguments):
        return [(a, None) for a in arguments]
    index, names, what = NameIndex(pairs), dict(pairs), KINDS[kind][2]
    out = []
    for argument in arguments:
        if argument in ids:
            out.append((argument, None))
            continue
        try:
            found = index.resolve(argument, what)
        except LookupError:
            if _looks_like_id(argument.strip()) and not index.search(argument, limit=1):
                out.append((argument, None))
                continue
            raise
        out.append((found, f"{what}「{argument}」→ {names[found]} ({found})"))
    return out
