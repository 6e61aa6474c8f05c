"""Command-line arguments that name a record instead of giving its id: read the (id, name) pairs of one
kind with one SQL query (no catalog, no model) and resolve each argument through ``NameIndex``."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from matcher.lookup.resolve import resolve_pairs
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


def resolve_arguments(engine: Engine, kind: str, arguments: Iterable[str]) -> list[tuple[str, str | None]]:
    """Each argument as (id, how it was understood or None): see matcher.lookup.resolve.resolve_pairs."""
    return resolve_pairs(KINDS[kind][2], list(arguments), name_pairs(engine, kind))
