"""Who a row is when the sheet has no id column, and whether a row is someone already stored.

A row without an id is matched against the store, then given a stable id derived from what
identifies it, so importing the same sheet again updates instead of duplicating:

* enterprise: its 统一社会信用代码, else its normalised name;
* institution: its normalised name; team: its institution and normalised name;
* need: its enterprise and normalised title; achievement: its team and title; challenge: its title.

A row that carries its own id but names a record stored under another id (same credit code or same
normalised name) is imported as given, with a note naming both ids and the ``cxy merge`` that joins
them. Parent references (a needs sheet's 企业名称, a teams sheet's 所属单位) resolve by id, then by
credit code, then by name.
"""

import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest.values import clean_text, halfwidth, parse_credit_code
from matcher.store import models

_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")"})
PREFIX = {"institutions": "I", "teams": "T", "achievements": "A", "enterprises": "E", "needs": "N",
          "challenges": "C"}


def normal_name(value: object) -> str | None:
    """The form two spellings of one name share: half-width, no spaces, one kind of bracket, lower case."""
    text = clean_text(value)
    if text is None:
        return None
    return re.sub(r"\s+", "", halfwidth(text).translate(_BRACKETS)).lower() or None


def derived_id(kind: str, *parts: str) -> str:
    return f"{PREFIX[kind]}-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def _credit(value: object) -> str | None:
    try:
        return parse_credit_code(value)
    except ValueError:
        return None


# kind -> (key label, id column, parent columns..., name column): how a stored row is named in a sheet.
_NATURAL_KEYS = {
    "institutions": ("name", models.Institution.id, models.Institution.name),
    "teams": ("name", models.Team.id, models.Team.institution_id, models.Team.name),
    "needs": ("title", models.Need.id, models.Need.enterprise_id, models.Need.title),
    "achievements": ("title", models.Achievement.id, models.Achievement.team_id, models.Achievement.title),
    "challenges": ("title", models.Challenge.id, models.Challenge.title),
}


class Registry:
    """What is stored, keyed the ways a sheet without ids can name it; loaded once per kind on demand."""

    def __init__(self, session: Session):
        self.session = session
        self._cache: dict[str, dict] = {}

    def _load(self, kind: str) -> dict:
        if kind in self._cache:
            return self._cache[kind]
        index: dict = {"ids": set()}
        if kind == "enterprises":
            for id_, name, code in self.session.execute(
                    select(models.Enterprise.id, models.Enterprise.name, models.Enterprise.credit_code)):
                index["ids"].add(id_)
                index.setdefault(("name", normal_name(name)), id_)
                if code:
                    index.setdefault(("code", code), id_)
        elif kind in _NATURAL_KEYS:
            label, *columns = _NATURAL_KEYS[kind]
            for id_, *parents, name in self.session.execute(select(*columns)):
                index["ids"].add(id_)
                index.setdefault((label, *parents, normal_name(name)), id_)
        self._cache[kind] = index
        return index

    def forget(self, kind: str) -> None:
        self._cache.pop(kind, None)

    def keys(self, kind: str, cells: dict) -> list[tuple]:
        """The lookup keys of a row, strongest first."""
        if kind == "enterprises":
            code = _credit(cells.get("credit_code"))
            return ([("code", code)] if code else []) + [("name", normal_name(cells.get("name")))]
        if kind == "institutions":
            return [("name", normal_name(cells.get("name")))]
        if kind == "teams":
            return [("name", clean_text(cells.get("institution_id")), normal_name(cells.get("name")))]
        if kind == "needs":
            return [("title", clean_text(cells.get("enterprise_id")), normal_name(cells.get("title")))]
        if kind == "achievements":
            return [("title", clean_text(cells.get("team_id")), normal_name(cells.get("title")))]
        return [("title", normal_name(cells.get("title")))]

    def identify(self, kind: str, cells: dict) -> str | None:
        """The stored id a row without one stands for, else a stable new one; None when it names nothing."""
        keys = [k for k in self.keys(kind, cells) if all(part for part in k[1:])]
        if not keys:
            return None
        index = self._load(kind)
        for key in keys:
            if key in index:
                return index[key]
        return derived_id(kind, *keys[0])

    def stored_under_other_id(self, kind: str, cells: dict, id_: str) -> str | None:
        """Another stored id for the record this row (with its own id) names, if any."""
        if kind not in ("enterprises", "institutions", "teams"):
            return None
        index = self._load(kind)
        for key in self.keys(kind, cells):
            other = index.get(key)
            if other and other != id_ and all(part for part in key[1:]):
                return other
        return None

    def resolve_parent(self, kind: str, value: object) -> str | None:
        """A parent reference: a stored id as it is, else the id stored under that credit code or name."""
        text = clean_text(value)
        if text is None:
            return None
        index = self._load(kind)
        if text in index["ids"]:
            return text
        code = _credit(text) if kind == "enterprises" else None
        return (index.get(("code", code)) if code else None) or index.get(("name", normal_name(text)))
