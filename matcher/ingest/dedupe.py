"""Probable duplicates: the same enterprise, institution or team stored under two ids.

Evidence, strongest first: the same 统一社会信用代码, the same normalised name (萍乡市某某有限公司 =
萍乡市某某有限公司 written with full-width brackets or spaces), or a near-identical name by rapidfuzz
(ratio of the names with their legal-form suffixes and place prefixes removed, at least
``NEAR_SCORE``). Names whose numbers differ (第一分公司 / 第二分公司, 合成企业0001 / 合成企业0002)
are never taken for one another.

``find_duplicates(session)`` is what ``cxy dedupe`` and the console list; a person confirms a pair
with ``cxy merge KEEP DROP`` (``matcher.ingest.merge.merge_records``).
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest.identity import normal_name
from matcher.store import models

NEAR_SCORE = 90.0
_LEGAL_FORM = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司|厂|研究所|研究院)$")
_PLACE_PREFIX = re.compile(r"^([\u4e00-\u9fa5]{2,3}(省|市|县|区))+")
_NUMBERS = re.compile(r"\d+|[一二三四五六七八九十]+(?=分|厂|所|院|车间|团队|课题组)")
KIND_LABELS = {"enterprises": "企业", "institutions": "高校院所", "teams": "团队"}


@dataclass(frozen=True)
class DuplicatePair:
    """Two records that are probably one; ``keep_id`` is the older (or the one with more linked data)."""

    kind: str  # enterprises | institutions | teams
    keep_id: str
    keep_name: str
    drop_id: str
    drop_name: str
    score: float  # 100 for the same credit code or normalised name
    evidence: str  # in Chinese, for a person to judge


def core_name(name: str) -> str:
    """萍乡市湘东区某某陶瓷有限公司 and 萍乡某某陶瓷有限责任公司 -> 某某陶瓷: no legal form, no leading
    place names (official ones in full or short form), no place in brackets."""
    text = re.sub(r"\([^)]*\)", "", normal_name(name) or "")
    text = _LEGAL_FORM.sub("", text)
    places = _place_names()
    for _ in range(3):
        prefix = next((p for p in range(min(len(text) - 2, 12), 1, -1) if text[:p] in places), None)
        if prefix is None:
            break
        text = text[prefix:]
    return _PLACE_PREFIX.sub("", text) or text


@cache
def _place_names() -> frozenset[str]:
    from matcher.ingest.places import divisions

    d = divisions()
    return frozenset(k for index in (d.province_by_name, d.city_by_name, d.county_by_name) for k in index)


def _numbers(name: str) -> list[str]:
    return _NUMBERS.findall(normal_name(name) or "")


def _records(session: Session, kind: str) -> list[tuple[str, str, str | None, str | None]]:
    """(id, name, credit code, scope) of every stored record; two teams are compared within one institution."""
    if kind == "enterprises":
        return list(session.execute(select(models.Enterprise.id, models.Enterprise.name,
                                           models.Enterprise.credit_code, models.Enterprise.county)))
    if kind == "institutions":
        return [(i, n, None, None) for i, n in session.execute(select(models.Institution.id, models.Institution.name))]
    return [(i, n, None, inst) for i, n, inst in session.execute(
        select(models.Team.id, models.Team.name, models.Team.institution_id))]


def find_duplicates(session: Session, kinds: tuple[str, ...] = ("enterprises", "institutions", "teams"),
                    ) -> list[DuplicatePair]:
    """Candidate duplicate pairs with their evidence, surest first."""
    pairs: list[DuplicatePair] = []
    for kind in kinds:
        records = _records(session, kind)
        seen: set[tuple[str, str]] = set()
        teams = kind == "teams"
        for group_key, reason in ((lambda r: ("code", r[2]) if r[2] else None, "统一社会信用代码相同"),
                                  (lambda r, teams=teams: ("name", r[3] if teams else None, normal_name(r[1])),
                                   "名称相同")):
            groups = defaultdict(list)
            for record in records:
                key = group_key(record)
                if key and key[-1]:
                    groups[key].append(record)
            for members in groups.values():
                keep = members[0]
                for other in members[1:]:
                    _add(pairs, seen, kind, keep, other, 100.0, f"{reason}：{other[2] or other[1]}")
        pairs += _near(kind, records, seen)
    return sorted(pairs, key=lambda p: (-p.score, p.kind, p.keep_id, p.drop_id))


def _add(pairs, seen, kind, a, b, score, evidence) -> None:
    keep, drop = sorted((a, b), key=lambda r: (len(r[0]), r[0]))
    if (keep[0], drop[0]) in seen or keep[0] == drop[0]:
        return
    seen.add((keep[0], drop[0]))
    pairs.append(DuplicatePair(kind, keep[0], keep[1], drop[0], drop[1], round(score, 1), evidence))


def _near(kind: str, records, seen) -> list[DuplicatePair]:
    by_scope = defaultdict(list)
    for record in records:
        by_scope[record[3] if kind == "teams" else None].append(record)
    pairs: list[DuplicatePair] = []
    for members in by_scope.values():
        cores = [core_name(r[1]) for r in members]
        if len(members) < 2:
            continue
        matrix = process.cdist(cores, cores, scorer=fuzz.ratio, score_cutoff=NEAR_SCORE, workers=1)
        for i, j in zip(*matrix.nonzero(), strict=True):
            if i >= j or cores[i] == cores[j] and normal_name(members[i][1]) == normal_name(members[j][1]):
                continue
            a, b = members[i], members[j]
            if _numbers(a[1]) != _numbers(b[1]) or len(cores[i]) < 2:
                continue
            _add(pairs, seen, kind, a, b, float(matrix[i, j]),
                 f"名称相近（{matrix[i, j]:.0f} 分）：「{a[1]}」与「{b[1]}」")
    return pairs


def near_duplicate_notes(session: Session, kind: str, rows) -> list[str]:
    """Notes for an import: file rows whose name is near-identical to a record stored under another id
    (exact matches were already matched or noted). Only rows new to the store are compared."""
    names = {row.id: row.name for _, row in rows}
    stored = [r for r in _records(session, kind) if r[0] not in names]
    if not stored or not names:
        return []
    stored_cores = [core_name(r[1]) for r in stored]
    notes = []
    for id_, name in names.items():
        core = core_name(name)
        hits = process.extract(core, stored_cores, scorer=fuzz.ratio, score_cutoff=NEAR_SCORE, limit=3)
        for _, score, i in hits:
            other = stored[i]
            if _numbers(other[1]) == _numbers(name) and normal_name(other[1]) != normal_name(name):
                notes.append(f"「{name}」（{id_}）与已有的「{other[1]}」（{other[0]}）名称相近（{score:.0f} 分），"
                             f"请确认是否同一{KIND_LABELS[kind]}：cxy dedupe 列出，cxy merge {other[0]} {id_} 合并")
    return notes[:50]
