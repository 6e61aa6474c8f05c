"""What text stands for each stored row in the indexes.

Two collections: ``capabilities`` (a team's own description, and each of its achievements, so a team
profile is a set of documents) and ``needs`` (each need, and each enterprise's self-description).
Document ids are prefixed by kind: ``team:T101``, ``ach:A1001``, ``need:N101``, ``ent:E101``.
"""

import hashlib
from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store import models
from matcher.store.json_columns import json_lists, raw_json

COLLECTIONS = ("capabilities", "needs")


@dataclass(frozen=True)
class Document:
    id: str
    owner: str  # the team id (capabilities) or enterprise id (needs) this document speaks for
    text: str

    @cached_property  # read twice per document by every build (what changed, and the stored digests)
    def digest(self) -> str:
        return hashlib.sha1(self.text.encode()).hexdigest()[:16]


def _join(*parts: object) -> str:
    pieces = []
    for part in parts:
        if isinstance(part, list | tuple):
            part = "、".join(part)
        if part:
            pieces.append(str(part).strip().rstrip("。"))
    return "。".join(pieces)


# These take stored rows or the matcher's catalog records alike (same attribute names).
def team_text(team) -> str:
    return _join(team.name, team.discipline, team.description)


def achievement_text(ach) -> str:
    return _join(ach.title, ach.keywords, ach.abstract)


def need_text(need) -> str:
    return _join(need.title, need.keywords, need.description)


def _rows(session: Session, model, *columns: str, keywords: bool = False) -> list[tuple]:
    """The columns of every row by id as named tuples (not ORM objects: 100k achievements took 4 s that
    way), so the *_text functions read them as they read stored rows; with ``keywords`` the JSON keyword
    list too, decoded in one call."""
    listed = [getattr(model, c) for c in columns] + ([raw_json(model.keywords)] if keywords else [])
    rows = session.execute(select(*listed).order_by(model.id)).all()
    record = namedtuple(model.__name__, [*columns, "keywords"] if keywords else columns)
    if not keywords:
        return [record._make(r) for r in rows]
    return [record(*r[:-1], words) for r, words in zip(rows, json_lists([r[-1] for r in rows]), strict=True)]


def capability_documents(session: Session) -> Iterator[Document]:
    for team in _rows(session, models.Team, "id", "name", "discipline", "description"):
        yield Document(f"team:{team.id}", team.id, team_text(team))
    for ach in _rows(session, models.Achievement, "id", "team_id", "title", "abstract", keywords=True):
        yield Document(f"ach:{ach.id}", ach.team_id, achievement_text(ach))


def need_documents(session: Session) -> Iterator[Document]:
    for need in _rows(session, models.Need, "id", "enterprise_id", "title", "description", keywords=True):
        yield Document(f"need:{need.id}", need.enterprise_id, need_text(need))
    for ent in _rows(session, models.Enterprise, "id", "name", "industry", "description"):
        if ent.description:
            yield Document(f"ent:{ent.id}", ent.id, _join(ent.name, ent.industry, ent.description))


def documents(session: Session, collection: str) -> list[Document]:
    source = {"capabilities": capability_documents, "needs": need_documents}[collection]
    return list(source(session))


def domain_terms(session: Session) -> list[str]:
    """Keywords of achievements and needs: kept whole by the BM25 tokenizer (see embeddings.lexical)."""
    terms: set[str] = set()
    for model in (models.Achievement, models.Need):
        for keywords in json_lists(session.scalars(select(raw_json(model.keywords))).all()):
            terms.update(k for k in keywords if k)
    return sorted(terms)
