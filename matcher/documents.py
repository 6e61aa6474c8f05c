"""What text stands for each stored row in the indexes.

Two collections: ``capabilities`` (a team's own description, and each of its achievements, so a team
profile is a set of documents) and ``needs`` (each need, and each enterprise's self-description).
Document ids are prefixed by kind: ``team:T101``, ``ach:A1001``, ``need:N101``, ``ent:E101``.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store import models

COLLECTIONS = ("capabilities", "needs")


@dataclass(frozen=True)
class Document:
    id: str
    owner: str  # the team id (capabilities) or enterprise id (needs) this document speaks for
    text: str

    @property
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


def capability_documents(session: Session) -> Iterator[Document]:
    for team in session.scalars(select(models.Team).order_by(models.Team.id)):
        yield Document(f"team:{team.id}", team.id, team_text(team))
    for ach in session.scalars(select(models.Achievement).order_by(models.Achievement.id)):
        yield Document(f"ach:{ach.id}", ach.team_id, achievement_text(ach))


def need_documents(session: Session) -> Iterator[Document]:
    for need in session.scalars(select(models.Need).order_by(models.Need.id)):
        yield Document(f"need:{need.id}", need.enterprise_id, need_text(need))
    for ent in session.scalars(select(models.Enterprise).order_by(models.Enterprise.id)):
        if ent.description:
            yield Document(f"ent:{ent.id}", ent.id, _join(ent.name, ent.industry, ent.description))


def documents(session: Session, collection: str) -> list[Document]:
    source = {"capabilities": capability_documents, "needs": need_documents}[collection]
    return list(source(session))


def domain_terms(session: Session) -> list[str]:
    """Keywords of achievements and needs: kept whole by the BM25 tokenizer (see embeddings.lexical)."""
    terms: set[str] = set()
    for column in (models.Achievement.keywords, models.Need.keywords):
        for keywords in session.scalars(select(column)):
            terms.update(k for k in keywords or () if k)
    return sorted(terms)
