"""The monthly batch: fresh, capacity-aware proposals for every open need of every key enterprise,
stored as one report run.

For month M the data is taken as it stood at the end of M (outcome events dated before the 1st of
M+1). A team is a fresh candidate for a need when the pair has no history, or when it was only ever
proposed (in the outcome log or in an earlier month's report) and that was ``repropose_after_days`` or
more before M. Candidates below ``min_score`` are not proposed. The month's lists are then solved as one
assignment (see assignment.py) under each team's capacity (3 when unknown): a team is proposed to at
most that many enterprises in the month. ``count_load`` also subtracts its current load (open proposals
of the last 180 days and contracts of the last year); the ranking already lowers loaded teams' scores
through the spare-capacity feature, so by default the load is not counted twice.

A month has one report: running it again shows the stored proposals (they may already have been sent)
with figures from the current outcome log; ``force`` computes and stores a new run. The same data gives
the same proposals (runs are deterministic; the run's digests let anyone check).
"""

import datetime as dt
import hashlib
import json
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from matcher.ingest.values import city_name
from matcher.matching.catalog import Catalog
from matcher.matching.rank import display_score
from matcher.matching.service import MatchService, Scored
from matcher.reports import coverage as cov
from matcher.reports import status
from matcher.reports.assignment import Candidate, assign, total_fit
from matcher.reports.month import Month
from matcher.store import models
from matcher.store.db import session_factory, write_session

KIND = "monthly"
DEFAULT_CAPACITY = 3  # the ranking features' assumption for a team with no stated capacity
PER_INSTITUTION = 3  # teams of one institution in a need's list, as match lists' default diversity (cap:3)


@dataclass(frozen=True)
class MonthlyOptions:
    """top: teams per need; min_score: the lowest 0..1 score proposed; repropose_after_days: how long
    after a proposal that went nowhere the pair may be proposed again; pool: candidates per need given
    to the assignment; count_load: a team's monthly slots are its capacity minus its current load."""

    top: int = 5
    min_score: float = 0.4
    repropose_after_days: int = 180
    pool: int = 20
    count_load: bool = False

    def check(self) -> "MonthlyOptions":
        if not 1 <= self.top <= 50:
            raise ValueError(f"每家企业推荐数（top）须在 1 到 50 之间，现为 {self.top}")
        if not 0 <= self.min_score < 1:
            raise ValueError(f"最低匹配度（min-score）须在 0 到 1 之间（不含 1），现为 {self.min_score}")
        if self.repropose_after_days < 0:
            raise ValueError(f"重新推荐间隔（repropose-after）须为 0 天或以上，现为 {self.repropose_after_days}")
        if self.pool < self.top:
            raise ValueError(f"候选池（pool，{self.pool}）不能小于每家企业推荐数（top，{self.top}）")
        return self



@dataclass
class RunOutcome:
    report_id: str
    reused: bool
    data_changed: bool  # only meaningful when reused: the data differ from what the run was computed on


# ---- what was proposed before ---------------------------------------------------------------------
def latest_runs(session: Session, before: Month | None = None, month: Month | None = None) -> dict[str, str]:
    """month -> id of its newest report run (for months before ``before``, or just ``month``)."""
    r = models.ReportRun
    query = select(r.month, r.id).where(r.kind == KIND).order_by(r.month, r.created_at, r.id)
    if before is not None:
        query = query.where(r.month < str(before))
    if month is not None:
        query = query.where(r.month == str(month))
    return {m: i for m, i in session.execute(query)}  # later rows overwrite: the newest per month


def reported_pairs(session: Session, report_ids: list[str]) -> list[tuple[str, str, str]]:
    """(need, team, month) for every proposal of the given report runs."""
    m = models
    return [tuple(r) for r in session.execute(
        select(m.RecommendationItem.need_id, m.RecommendationItem.team_id, m.ReportRun.month)
        .join(m.ReportList, m.ReportList.run_id == m.RecommendationItem.run_id)
        .join(m.ReportRun, m.ReportRun.id == m.ReportList.report_id)
        .where(m.ReportRun.id.in_(report_ids)))]


def is_fresh(catalog: Catalog, need_id: str, team_id: str, reported: dict[tuple[str, str], dt.date],
             cutoff: dt.date) -> bool:
    """No history for the pair, or only proposals (none after ``cutoff``) that went nowhere."""
    events = catalog.history.pair_events.get((need_id, team_id), [])
    if any(e.stage != "proposed" for e in events):
        return False
    dates = [e.date or dt.date.max for e in events]
    if (need_id, team_id) in reported:
        dates.append(reported[(need_id, team_id)])
    return all(d < cutoff for d in dates)


# ---- the data a run is computed from ---------------------------------------------------------------
def data_digest(session: Session, month: Month, opts: MonthlyOptions, service: MatchService,
                earlier: dict[str, str]) -> str:
    """A fingerprint of everything the proposals depend on (re-running on the same data matches it)."""
    m = models
    parts: list = [str(month), asdict(opts), service.encoder.model_id, service.ranker.version, sorted(earlier.items())]
    for table in (m.Institution, m.Team, m.Achievement, m.Enterprise, m.Need):
        parts.append(list(session.execute(select(func.count(), func.max(table.updated_at))).one()))
    parts.append(list(session.execute(select(func.count(), func.max(m.OutcomeEvent.id))
                                      .where(m.OutcomeEvent.date < month.end)).one()))
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=False).encode()).hexdigest()


def proposals_digest(lists: dict[str, list[dict]]) -> str:
    flat = sorted((need, r["team_id"], r["rank"], r["score"]) for need, results in lists.items() for r in results)
    return hashlib.sha256(json.dumps(flat, ensure_ascii=False).encode()).hexdigest()


# ---- computing a month ----------------------------------------------------------------------------
def team_slots(catalog: Catalog, count_load: bool) -> dict[str, dict]:
    """Each team's capacity, current load and slots for the month (enterprises it may be proposed to)."""
    out = {}
    for team_id, team in catalog.teams.items():
        capacity = team.capacity if team.capacity is not None else DEFAULT_CAPACITY
        load = catalog.team_load(team_id)
        out[team_id] = {"capacity": capacity, "load": load, "slots": max(0, capacity - load * count_load)}
    return out


def contact_route(catalog: Catalog, team_id: str, enterprise) -> str:
    """How staff reach the team: through its institution's research office, plus what the bureau already
    has with it (a team it has worked with can be called directly)."""
    team, inst = catalog.teams[team_id], catalog.institution_of(team_id)
    route = f"经{inst.name}科研管理部门（技术转移中心）联系{team.name}"
    if inst.city and city_name(inst.city) == city_name(enterprise.city):
        route += f"；同在{inst.city}，可上门对接"
    signed = catalog.history.signed_recent_by_team[team_id]
    ongoing = catalog.history.open_by_team[team_id]
    if signed or ongoing:
        facts = ([f"近一年签约 {signed} 项"] if signed else []) + ([f"在跟进 {ongoing} 项"] if ongoing else [])
        route += "；本局已有对接渠道（" + "，".join(facts) + "）"
    return route


@dataclass
class Computed:
    lists: dict[str, list[dict]]  # need id -> results (rank, team_id, institution_id, score, explanation)
    queries: dict[str, dict]  # need id -> the run's query
    summary: dict


def compute(service: MatchService, session: Session, month: Month, opts: MonthlyOptions,
            enterprises: list[status.Enterprise], earlier: dict[str, str], progress=None,
            rank_needs=None) -> Computed:
    """``progress(done, total)``, when given, is called as needs are ranked (the slow part); ``rank_needs(service,
    need_ids)``, when given, yields what ``service.need_ranking`` gives for each need, in order (the Ray
    actors of matcher.cluster.rank)."""
    catalog = service.catalog
    cutoff = month.first_day - dt.timedelta(days=opts.repropose_after_days)
    reported = {}
    for need_id, team_id, m in reported_pairs(session, list(earlier.values())):
        day = Month.parse(m).first_day
        reported[(need_id, team_id)] = max(day, reported.get((need_id, team_id), day))
    started = time.perf_counter()
    need_ids = [n for e in enterprises for n in catalog.open_needs(e.id)]
    pools: dict[str, list[Scored]] = {}
    contexts = {}
    skipped: dict[str, dict] = {}
    rankings = rank_needs(service, need_ids) if rank_needs is not None else None
    for done, need_id in enumerate(need_ids):
        if progress is not None:
            progress(done, len(need_ids))
        ctx, ranked = next(rankings) if rankings is not None else service.need_ranking(need_id)
        contexts[need_id] = ctx
        above = [s for s in ranked if display_score(s.raw) >= opts.min_score]
        fresh = [s for s in above if is_fresh(catalog, need_id, s.key, reported, cutoff)]
        pools[need_id] = fresh[: opts.pool]
        skipped[need_id] = {"above_min_score": len(above), "not_fresh": len(above) - len(fresh)}
    candidates = [Candidate(n, catalog.needs[n].enterprise_id, s.key, display_score(s.raw),
                            catalog.teams[s.key].institution_id) for n in need_ids for s in pools[n]]
    ranked_at = time.perf_counter()
    slots = team_slots(catalog, opts.count_load)
    chosen = assign(candidates, opts.top, {t: v["slots"] for t, v in slots.items()}, PER_INSTITUTION)
    free = assign(candidates, opts.top, None, PER_INSTITUTION)
    chosen_by_need: dict[str, list[Candidate]] = defaultdict(list)
    for c in chosen:
        chosen_by_need[c.need_id].append(c)
    free_by_need: dict[str, set[str]] = defaultdict(set)
    for c in free:
        free_by_need[c.need_id].add(c.team_id)
    assigned_at = time.perf_counter()

    lists, queries = {}, {}
    for need_id in need_ids:
        need = catalog.needs[need_id]
        enterprise = catalog.enterprises[need.enterprise_id]
        by_team = {s.key: s for s in pools[need_id]}
        picked = sorted(chosen_by_need.get(need_id, []), key=lambda c: (-c.fit, c.team_id))
        results = []
        for rank, c in enumerate(picked, 1):
            result = service.team_result(by_team[c.team_id], contexts[need_id], rank)
            result["explanation"].update(need_id=need_id, need_title=need.title,
                                         contact_route=contact_route(catalog, c.team_id, enterprise),
                                         capacity=slots[c.team_id])
            results.append(result)
        held = sorted(free_by_need.get(need_id, set()) - {c.team_id for c in picked})
        lists[need_id] = results
        queries[need_id] = {"kind": "need", "need_id": need_id, "enterprise_id": enterprise.id, "title": need.title,
                            "month": str(month), "candidates": skipped[need_id],
                            "held_for_capacity": [{"team_id": t, **slots[t]} for t in held]}

    proposed = [(r["team_id"], catalog.needs[n].enterprise_id) for n, results in lists.items() for r in results]
    coverage = cov.coverage(proposed, {t: team.institution_id for t, team in catalog.teams.items()},
                            {i: (inst.province, inst.city) for i, inst in catalog.institutions.items()},
                            {e: (ent.province, ent.city) for e, ent in catalog.enterprises.items()})
    fit_free, fit_capped = total_fit(free), total_fit(chosen)
    demand = defaultdict(int)
    for c in free:
        demand[c.team_id] += 1
    summary = {
        "month": str(month),
        "data_as_of": month.last_day.isoformat(),
        "enterprises": [e.id for e in enterprises],
        "key_flagged": any(e.key for e in enterprises),
        "open_needs": len(need_ids),
        "needs_with_proposals": sum(1 for r in lists.values() if r),
        "coverage": coverage,
        "fit": {"constrained": round(fit_capped, 4), "unconstrained": round(fit_free, 4),
                "proposals_constrained": len(chosen), "proposals_unconstrained": len(free),
                "cost_share": round(1 - fit_capped / fit_free, 4) if fit_free else 0.0,
                "teams_over_capacity": sum(1 for t, d in demand.items() if d > slots[t]["slots"]),
                "teams_full": sum(1 for v in slots.values() if v["slots"] == 0)},
        "status": status.snapshot(session, [e.id for e in enterprises], month.end),
        "candidates": len(candidates),
        "timings": {"rank_s": round(ranked_at - started, 2), "assign_s": round(assigned_at - ranked_at, 2),
                    "explain_s": round(time.perf_counter() - assigned_at, 2)},
    }
    return Computed(lists, queries, summary)


def _store(engine: Engine, month: Month, opts: MonthlyOptions, service: MatchService, computed: Computed,
           digest: str) -> str:
    """The report run, its per-need recommendation runs and their items, in one transaction."""
    report_id = str(uuid.uuid4())
    now = dt.datetime.now()
    params = {**asdict(opts), **service.ranker_params()}
    with write_session(engine) as session:
        session.add(models.ReportRun(
            id=report_id, kind=KIND, month=str(month), params=params, data_digest=digest,
            proposals_digest=proposals_digest(computed.lists), model_version=service.encoder.model_id,
            ranker_version=service.ranker.version, summary=computed.summary, created_at=now))
        session.flush()
        for need_id, results in computed.lists.items():
            query = computed.queries[need_id]
            run_id = str(uuid.uuid4())
            session.add(models.RecommendationRun(
                id=run_id, kind="monthly_need", query=query, model_version=service.encoder.model_id,
                ranker_version=service.ranker.version,
                params={**params, "report_id": report_id}, created_at=now))
            session.flush()
            session.add(models.ReportList(report_id=report_id, run_id=run_id, enterprise_id=query["enterprise_id"]))
            session.add_all(models.RecommendationItem(run_id=run_id, rank=r["rank"], team_id=r["team_id"],
                                                      need_id=need_id, score=r["score"], explanation=r["explanation"])
                            for r in results)
    return report_id


class NotReady(Exception):
    """The database cannot give a report yet; the message says what to import or build."""


def _check_ready(service: MatchService) -> None:
    catalog = service.catalog
    if not catalog.enterprises:
        raise NotReady("数据库里还没有企业：请先导入企业（cxy import enterprises 文件，或 "
                       "cxy import survey 文件）")
    if not catalog.teams:
        raise NotReady("数据库里还没有可推荐的团队：请先导入机构、团队和成果")
    _ = service.capabilities, service.needs_search  # an unbuilt or stale index fails here, before any work


def run_monthly(engine: Engine, service: MatchService, month: Month, opts: MonthlyOptions | None = None,
                force: bool = False, progress=None, rank_needs=None) -> RunOutcome:
    """The month's report run: the stored one, or (none yet, or ``force``) a new one computed now
    (``progress(done, total)``, ``rank_needs``: see ``compute``)."""
    opts = (opts or MonthlyOptions()).check()
    with session_factory(engine)() as session:
        earlier = latest_runs(session, before=month)
        existing = latest_runs(session, month=month).get(str(month))
        digest = data_digest(session, month, opts, service, earlier)
        if existing and not force:  # the stored proposals: no catalog or index needed
            stored = session.get(models.ReportRun, existing)
            return RunOutcome(existing, reused=True, data_changed=stored.data_digest != digest)
        _check_ready(service)
        enterprises = status.report_enterprises(session)
        with service.as_of(month.end):
            computed = compute(service, session, month, opts, enterprises, earlier, progress, rank_needs)
    return RunOutcome(_store(engine, month, opts, service, computed, digest), reused=False, data_changed=False)
