"""An in-memory snapshot of what ranking reads from the store: teams with their institutions,
achievements, enterprises, needs, and the outcome history summarised per team and pair.

Loaded once per process (a service answers many queries from one snapshot); ``Catalog.load`` reads
columns, not ORM objects, so 100k achievements load in seconds.
"""

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.store import models
from matcher.store.json_columns import json_lists, raw_json

OPEN_STAGES = ("proposed", "contacted", "negotiating")
STALE_AFTER_DAYS = 180  # an open proposal untouched this long no longer counts against a team's load


@dataclass(frozen=True, slots=True)
class Institution:
    id: str
    name: str
    type: str | None
    province: str | None
    city: str | None
    tier: str | None


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    institution_id: str
    name: str
    discipline: str | None
    description: str | None
    capacity: int | None


@dataclass(frozen=True, slots=True)
class Achievement:
    id: str
    team_id: str
    kind: str | None
    title: str
    abstract: str | None
    keywords: tuple[str, ...]
    year: int | None
    trl: int | None


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: str
    name: str
    province: str | None
    city: str | None
    county: str | None
    industry: str | None
    description: str | None
    contacts_public: bool


@dataclass(frozen=True, slots=True)
class Need:
    id: str
    enterprise_id: str
    title: str
    description: str | None
    keywords: tuple[str, ...]
    status: str


@dataclass(frozen=True, slots=True)
class PairEvent:
    stage: str
    date: dt.date | None
    reason_code: str | None


@dataclass
class History:
    """Outcome events summarised for ranking (append-only log -> latest state per pair)."""

    pair_events: dict[tuple[str, str], list[PairEvent]] = field(default_factory=dict)  # (need, team) -> in order
    open_by_team: Counter = field(default_factory=Counter)
    signed_recent_by_team: Counter = field(default_factory=Counter)
    signed_by_team_enterprise: Counter = field(default_factory=Counter)
    engaged_by_team_enterprise: Counter = field(default_factory=Counter)
    signed_by_team_industry: Counter = field(default_factory=Counter)
    teams_seen: set = field(default_factory=set)  # teams with any outcome event (newcomers are the rest)
    enterprises_seen: set = field(default_factory=set)

    def latest(self, need_id: str, team_id: str) -> PairEvent | None:
        events = self.pair_events.get((need_id, team_id))
        return events[-1] if events else None


@dataclass
class Catalog:
    institutions: dict[str, Institution]
    teams: dict[str, Team]
    achievements: dict[str, Achievement]
    enterprises: dict[str, Enterprise]
    needs: dict[str, Need]
    history: History
    today: dt.date
    achievements_by_team: dict[str, list[str]] = field(default_factory=dict)
    needs_by_enterprise: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, today: dt.date | None = None) -> "Catalog":
        m = models
        institutions = {r.id: Institution(r.id, r.name, r.type, r.province, r.city, r.tier)
                        for r in session.execute(select(m.Institution.id, m.Institution.name, m.Institution.type,
                                                        m.Institution.province, m.Institution.city,
                                                        m.Institution.tier))}
        teams = {r.id: Team(r.id, r.institution_id, r.name, r.discipline, r.description, r.capacity)
                 for r in session.execute(select(m.Team.id, m.Team.institution_id, m.Team.name, m.Team.discipline,
                                                 m.Team.description, m.Team.capacity))}
        rows = session.execute(select(m.Achievement.id, m.Achievement.team_id, m.Achievement.kind, m.Achievement.title,
                                      m.Achievement.abstract, raw_json(m.Achievement.keywords), m.Achievement.year,
                                      m.Achievement.trl)).all()
        achievements = {r.id: Achievement(r.id, r.team_id, r.kind, r.title, r.abstract, words, r.year, r.trl)
                        for r, words in zip(rows, json_lists([r[5] for r in rows]), strict=True)}
        enterprises = {r.id: Enterprise(r.id, r.name, r.province, r.city, r.county, r.industry, r.description,
                                        bool(r.contacts_public))
                       for r in session.execute(select(m.Enterprise.id, m.Enterprise.name, m.Enterprise.province,
                                                       m.Enterprise.city, m.Enterprise.county, m.Enterprise.industry,
                                                       m.Enterprise.description, m.Enterprise.contacts_public))}
        rows = session.execute(select(m.Need.id, m.Need.enterprise_id, m.Need.title, m.Need.description,
                                      raw_json(m.Need.keywords), m.Need.status)).all()
        needs = {r.id: Need(r.id, r.enterprise_id, r.title, r.description, words, r.status)
                 for r, words in zip(rows, json_lists([r[4] for r in rows]), strict=True)}
        if today is None:
            latest = session.scalar(select(func.max(m.OutcomeEvent.date)))
            today = max(dt.date.today(), latest or dt.date.min)
        catalog = cls(institutions, teams, achievements, enterprises, needs, History(), today)
        by_team: dict[str, list[str]] = defaultdict(list)
        for ach in achievements.values():
            by_team[ach.team_id].append(ach.id)
        catalog.achievements_by_team = dict(by_team)
        by_enterprise: dict[str, list[str]] = defaultdict(list)
        for need in needs.values():
            by_enterprise[need.enterprise_id].append(need.id)
        catalog.needs_by_enterprise = {k: sorted(v) for k, v in by_enterprise.items()}
        catalog.history = _summarise(session, needs, enterprises, today)
        return catalog

    def as_of(self, session: Session, day: dt.date) -> "Catalog":
        """The same catalog as it stood on ``day``: only outcome events dated before it count (training and
        time-split evaluation must not see the future)."""
        history = _summarise(session, self.needs, self.enterprises, day, before=day)
        return dataclasses.replace(self, history=history, today=day)

    def institution_of(self, team_id: str) -> Institution:
        return self.institutions[self.teams[team_id].institution_id]

    def enterprise_of(self, need_id: str) -> Enterprise:
        return self.enterprises[self.needs[need_id].enterprise_id]

    def open_needs(self, enterprise_id: str) -> list[str]:
        return [n for n in self.needs_by_enterprise.get(enterprise_id, []) if self.needs[n].status == "open"]

    def team_load(self, team_id: str) -> int:
        return self.history.open_by_team[team_id] + self.history.signed_recent_by_team[team_id]


def _summarise(session: Session, needs: dict[str, Need], enterprises: dict[str, Enterprise],
               today: dt.date, before: dt.date | None = None) -> History:
    m = models
    history = History()
    query = (select(m.OutcomeEvent.need_id, m.OutcomeEvent.team_id, m.OutcomeEvent.stage, m.OutcomeEvent.date,
                    m.OutcomeEvent.reason_code)
             .order_by(m.OutcomeEvent.date.is_(None), m.OutcomeEvent.date, m.OutcomeEvent.id))
    if before is not None:
        query = query.where(m.OutcomeEvent.date < before)
    rows = session.execute(query)
    pairs: dict[tuple[str, str], list[PairEvent]] = defaultdict(list)
    for r in rows:
        pairs[(r.need_id, r.team_id)].append(PairEvent(r.stage, r.date, r.reason_code))
    history.pair_events = dict(pairs)
    for (need_id, team_id), events in pairs.items():
        last = events[-1]
        enterprise = enterprises.get(needs[need_id].enterprise_id) if need_id in needs else None
        history.teams_seen.add(team_id)
        if enterprise is not None:
            history.enterprises_seen.add(enterprise.id)
        fresh = last.date is None or (today - last.date).days <= STALE_AFTER_DAYS
        if last.stage in OPEN_STAGES and fresh:
            history.open_by_team[team_id] += 1
        stages = {e.stage for e in events}
        if enterprise is not None and stages & {"contacted", "negotiating", "contract_signed"}:
            history.engaged_by_team_enterprise[(team_id, enterprise.id)] += 1
        for event in events:
            if event.stage != "contract_signed":
                continue
            if event.date is None or (today - event.date).days <= 365:
                history.signed_recent_by_team[team_id] += 1
            if enterprise is not None:
                history.signed_by_team_enterprise[(team_id, enterprise.id)] += 1
                if enterprise.industry:
                    history.signed_by_team_industry[(team_id, enterprise.industry)] += 1
    return history
