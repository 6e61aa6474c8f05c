"""The match service: one object per process that holds the catalog, the indexes and the model, and
answers every kind of list (need, enterprise, free text; firms for a team or text) in one format.

    service = MatchService(engine)
    result = service.match_need("N101", MatchOptions(top=10))
    result.as_dict()  -> {"query": {...}, "results": [{"rank", "team_id", "institution_id", "score",
                          "explanation"}], "why": [...], "run_id": "..."}
"""

import datetime as dt
import threading
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sqlalchemy.engine import Engine

from embeddings.encoder import Encoder
from embeddings.lexical import prepare_text, tokenize
from matcher.documents import Document, achievement_text, need_text, team_text
from matcher.indexing import REBUILD_COMMAND, index_dir, read_digests
from matcher.ingest.values import city_name, province_name
from matcher.matching.candidates import Evidence, candidate_owners, evidence_from_matrix, owner_evidence
from matcher.matching.catalog import Catalog
from matcher.matching.diversity import Policy, diversify
from matcher.matching.explain import best_sentence, contributions, document_evidence, explain_pair, mark
from matcher.matching.exploration import NOTE as EXPLORATION_NOTE
from matcher.matching.exploration import explore
from matcher.matching.features import (
    FEATURE_NAMES,
    FEATURES,
    QueryContext,
    evidence_achievements,
    pair_features,
    term_overlap,
)
from matcher.matching.options import MatchOptions, OptionError
from matcher.matching.rank import Ranker, display_score
from matcher.matching.search import CollectionSearch
from matcher.store import models
from matcher.store.db import session_factory, write_session

CANDIDATES = 150  # teams (or needs) scored in full per query
INSTITUTION_PEER = 1.5  # a second team is named at institution level only from this raw score up
MAX_TERMS = 20
GENERIC_TERMS = frozenset((  # words every need says; never shown as shared terms
    "企业", "公司", "我们", "我司", "厂里", "目前", "现在", "需要", "希望", "想", "请", "帮忙",
    "帮助", "解决", "问题", "技术", "合作", "产品", "生产", "进行", "提高", "提升", "研究",
    "开发", "工艺", "方法", "一种", "及其", "制备", "应用", "相关", "方面", "情况", "能够",
    "可以", "主要", "实现", "通过", "采用", "要求", "达到", "单位", "高校", "专家", "团队",
    "以上", "以下", "左右", "一些", "这些", "没有", "比较", "一直", "已经", "不能", "容易",
    "影响", "导致", "出现", "现有", "新的", "其中", "针对", "基于", "结果", "表明", "本发明",
    "公开", "具有", "用于", "包括", "所述",
))


def _mark_explored(results: list[dict], explored: set[str], key: str, what: str) -> None:
    for r in results:
        if r[key] in explored:
            r["explanation"] = {"exploration": True, "exploration_note": EXPLORATION_NOTE.format(what=what),
                                **r["explanation"]}


class NotFound(LookupError):
    """An id that is not in the database; the message names it."""


@dataclass
class Scored:
    """One ranked pair: ``key`` is the team id (match lists) or need id (firm lists)."""

    key: str
    team_id: str | None
    need_id: str | None
    evidence: Evidence
    values: dict[str, float]
    parts: dict[str, float]
    raw: float
    note: dict = field(default_factory=dict)


@dataclass
class MatchList:
    kind: str
    query: dict
    results: list[dict]
    why: list[dict]
    model_version: str
    ranker_version: str
    params: dict
    run_id: str | None = None
    extra: dict = field(default_factory=dict)  # list-specific parts (e.g. a challenge's ineligible teams)
    ranker_note: str | None = None  # why this ranker serves (learned model or the scorer, and why)

    def as_dict(self) -> dict:
        out = {"query": self.query, "results": self.results, **self.extra}
        if self.why:
            out["why"] = self.why
        out.update(run_id=self.run_id, model=self.model_version, ranker=self.ranker_version)
        if self.ranker_note:
            out["ranker_note"] = self.ranker_note
        return out


class MatchService:
    """Parameters: engine (the store); encoder (default: the configured model); ranker (default: the
    weighted scorer with the configured weights); index_folder (default: beside the database);
    store_runs: record every list served as a recommendation run."""

    def __init__(self, engine: Engine, encoder: Encoder | None = None, ranker: Ranker | None = None,
                 index_folder=None, store_runs: bool = True):
        self.engine = engine
        self.encoder = encoder or Encoder()
        self._chosen = ranker is None  # chosen from the stored models (again on reload)
        self.ranker, self.ranker_note = (ranker, None) if ranker is not None else self._choose_ranker()
        self.index_folder = index_folder or index_dir(engine.url.render_as_string(hide_password=False))
        self.store_runs = store_runs
        self._lock = threading.Lock()
        self._team_texts: dict[str, str] = {}
        self._field_vectors: dict[str, np.ndarray] = {}

    # ---- loaded once ------------------------------------------------------------------------
    @cached_property
    def catalog(self) -> Catalog:
        with session_factory(self.engine)() as session:
            return Catalog.load(session)

    @cached_property
    def capabilities(self) -> CollectionSearch:
        return CollectionSearch.load(self.index_folder, "capabilities", self.encoder.model_id, REBUILD_COMMAND)

    @cached_property
    def needs_search(self) -> CollectionSearch:
        return CollectionSearch.load(self.index_folder, "needs", self.encoder.model_id, REBUILD_COMMAND)

    @cached_property
    def _indexed_digests(self) -> dict[str, str]:
        return {**read_digests(self.index_folder / "capabilities"), **read_digests(self.index_folder / "needs")}

    def warm(self) -> "MatchService":
        """Load everything now (a service does this at start, not on its first request)."""
        _ = self.catalog, self.capabilities, self.needs_search, self.encoder.dimension
        self.key_terms("预热")
        # Normalised team texts (key-term overlap) cost ~0.4 ms each: at 20k teams that is 8 s once
        # here instead of ~70 ms on each of the first thousands of requests.
        for team_id in self.catalog.teams:
            self.team_text(team_id)
        return self

    def _choose_ranker(self) -> tuple[Ranker, str]:
        from matcher.learning.registry import choose_ranker

        with session_factory(self.engine)() as session:
            return choose_ranker(session)

    def data_signature(self) -> tuple:
        """What a reload would see differently: the indexes' manifests, the stored entities (counts and
        newest update times), the trained rankers, and the newest outcome event (kept last: new events
        only refresh the history, which is cheap, not the whole catalog)."""
        from sqlalchemy import func, select

        index = tuple((self.index_folder / c / "documents.json").stat().st_mtime_ns
                      if (self.index_folder / c / "documents.json").exists() else 0 for c in ("capabilities", "needs"))
        with self.engine.connect() as conn:
            tables = tuple(tuple(conn.execute(select(func.count(), func.max(m.updated_at)).select_from(m)).one())
                           for m in (models.Institution, models.Team, models.Achievement, models.Enterprise,
                                     models.Need, models.Challenge))
            rankers = conn.execute(select(func.count()).select_from(models.RankerModel)).scalar()
            events = conn.execute(select(func.max(models.OutcomeEvent.id))).scalar()
        return index, tables, rankers, events

    def refresh_if_stale(self, every: float = 2.0) -> bool:
        """Reload when another process changed the data or the index (checked at most every ``every``
        seconds, so the cost per request is nil); True when it reloaded."""
        import time

        now = time.monotonic()
        if now - getattr(self, "_checked_at", 0.0) < every:
            return False
        self._checked_at = now
        signature = self.data_signature()
        previous = getattr(self, "_signature", None)
        self._signature = signature
        if previous is None or previous == signature:
            return False
        if previous[:-1] == signature[:-1]:
            self.refresh_history()  # only outcome events changed
        else:
            self.reload()
        return True

    def refresh_history(self) -> None:
        """Re-read the outcome log into the catalog's history (after follow-up is recorded), so lists show
        the pair's new stage at once without reloading the whole catalog."""
        from matcher.matching.catalog import _summarise

        if "catalog" not in self.__dict__:
            return
        catalog = self.catalog
        with session_factory(self.engine)() as session:
            catalog.history = _summarise(session, catalog.needs, catalog.enterprises, catalog.today)

    def reload(self) -> None:
        """Forget the catalog and indexes (after an import or an index build) and choose the ranker again
        (after `cxy train`)."""
        for name in ("catalog", "capabilities", "needs_search", "_indexed_digests"):
            self.__dict__.pop(name, None)
        self._team_texts.clear()
        if self._chosen:
            self.ranker, self.ranker_note = self._choose_ranker()

    # ---- query helpers ----------------------------------------------------------------------
    def vector(self, text: str, doc_id: str | None = None, search: CollectionSearch | None = None) -> np.ndarray:
        """A stored document's own vector when it is current and the prompts match, else encode."""
        same_prompt = self.encoder.prompt("query") == self.encoder.prompt("passage")
        current = doc_id and self._indexed_digests.get(doc_id) == Document(doc_id, "", text).digest
        if current and search is not None and same_prompt and doc_id in search.dense:
            return search.dense.vector(doc_id)
        return self.encoder.encode([text], kind="query")[0]

    def key_terms(self, text: str, keywords: Sequence[str] = ()) -> tuple[tuple[str, float], ...]:
        """Key terms of a query with their weights (BM25 idf over the capability documents)."""
        bm25 = self.capabilities.lexical["bm25"]
        weights: dict[str, float] = {}
        candidates = [prepare_text(k) for k in keywords] + tokenize(text, bm25.tokenizer)
        for term in candidates:
            cjk_short = len(term) < 2 or (term.isascii() and len(term) < 2)
            if cjk_short or term in GENERIC_TERMS or term.isdigit() or term in weights:
                continue
            column = bm25.vocabulary_.get(term)
            if column is not None:
                weights[term] = float(bm25.idf_[column])
        ranked = sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_TERMS]
        return tuple(ranked)

    def team_text(self, team_id: str) -> str:
        text = self._team_texts.get(team_id)
        if text is None:
            catalog = self.catalog
            pieces = [team_text(catalog.teams[team_id])]
            pieces += [achievement_text(catalog.achievements[a]) for a in catalog.achievements_by_team.get(team_id, [])]
            text = self._team_texts[team_id] = prepare_text("。".join(pieces))
        return text

    def _field_vector(self, label: str) -> np.ndarray:
        vector = self._field_vectors.get(label)
        if vector is None:
            vector = self._field_vectors[label] = self.encoder.encode([label], kind="query")[0]
        return vector

    def _field_scores(self, industry: str | None, team_ids: Sequence[str]) -> dict[str, float]:
        """How well each team's discipline fits the enterprise's industry, z-scored over the candidates."""
        if not industry or len(team_ids) < 2:
            return {}
        # Disciplines only: there are few, so their vectors are encoded once per process (team names are
        # unique, and encoding 150 of them per request cost seconds at 100k achievements).
        teams = self.catalog.teams
        target = self._field_vector(industry)
        raw = [self._field_vector(teams[t].discipline) @ target if teams[t].discipline else np.nan for t in team_ids]
        return _clipped_z(team_ids, raw)

    def _score(self, rows: list[tuple[str, str | None, str | None, Evidence, dict[str, float]]]) -> list[Scored]:
        if not rows:
            return []
        X = np.array([[values[n] for n in FEATURE_NAMES] for *_, values in rows])
        parts = self.ranker.contributions(X)
        raw = self.ranker.score(X)
        scored = [Scored(key, team, need, ev, values, dict(zip(FEATURE_NAMES, p.tolist(), strict=True)), float(r))
                  for (key, team, need, ev, values), p, r in zip(rows, parts, raw, strict=True)]
        return sorted(scored, key=lambda s: (-s.raw, s.key))

    # ---- match: teams for a need, an enterprise or text --------------------------------------
    def rank_teams(self, ctx: QueryContext, vector: np.ndarray, keywords: Sequence[str] = (),
                    extra: Sequence[str] = ()) -> tuple[QueryContext, list[Scored]]:
        scores = self.capabilities.query(ctx.text, vector)
        owners = candidate_owners(scores, CANDIDATES)
        owners += [t for t in extra if t in self.catalog.teams and t not in owners]
        evidence = owner_evidence(scores, owners)
        industry = self.catalog.enterprises[ctx.enterprise_id].industry if ctx.enterprise_id else None
        ctx = QueryContext(ctx.text, ctx.need_id, ctx.enterprise_id, self.key_terms(ctx.text, keywords),
                           self._field_scores(industry, list(evidence)))
        rows = [(t, t, ctx.need_id, ev, pair_features(self.catalog, ctx, t, ev, self.team_text(t)))
                for t, ev in evidence.items()]
        return ctx, self._score(rows)

    def _team_filter(self, scored: Scored, opts: MatchOptions, need_ids: Sequence[str]) -> str | None:
        """Why a team is filtered out of this list (None: it passes)."""
        catalog, team_id = self.catalog, scored.team_id
        inst = catalog.institution_of(team_id)
        if opts.province and province_name(inst.province) != province_name(opts.province):
            return f"单位在{inst.province or '未知省份'}，不在筛选的省份 {opts.province}"
        if opts.city and city_name(inst.city) != city_name(opts.city):
            return f"单位在{inst.city or '未知城市'}，不在筛选的城市 {opts.city}"
        if opts.institution_type and inst.type != opts.institution_type:
            return f"单位类型为 {inst.type or '未知'}，不是 {opts.institution_type}"
        if opts.min_trl:
            trls = [a.trl for a in evidence_achievements(catalog, scored.evidence) if a.trl]
            if not trls or max(trls) < opts.min_trl:
                return f"相关成果最高 TRL {max(trls) if trls else '未知'}，低于要求的 {opts.min_trl}"
        if opts.exclude_proposed:
            for need_id in need_ids:
                last = catalog.history.latest(need_id, team_id)
                if last is not None:
                    return f"需求 {need_id} 已有记录（{last.stage}），按要求排除已推荐/已结束的配对"
        return None

    def team_result(self, scored: Scored, ctx: QueryContext, rank: int) -> dict:
        explanation = explain_pair(self.catalog, scored.team_id, scored.evidence, ctx.terms, scored.values,
                                   scored.parts, scored.need_id, self.team_text(scored.team_id))
        if scored.note:
            explanation = {**scored.note, **explanation}
        return {"rank": rank, "team_id": scored.team_id,
                "institution_id": self.catalog.teams[scored.team_id].institution_id,
                "score": display_score(scored.raw), "explanation": explanation}

    def _finish_match(self, kind: str, query: dict, ranked: list[Scored], contexts: dict[str | None, QueryContext],
                      opts: MatchOptions, policy: Policy, need_ids: Sequence[str]) -> MatchList:
        filtered: dict[str, str] = {}
        passing: list[Scored] = []
        for s in ranked:
            reason = self._team_filter(s, opts, need_ids)
            if reason:
                filtered[s.key] = reason
            else:
                passing.append(s)
        if opts.level == "institution":
            results, held = self._institution_results(passing, contexts, opts, policy)
        else:
            by_key = {s.key: s for s in passing}
            items = [(s.key, self.catalog.teams[s.key].institution_id, s.raw) for s in passing]
            chosen, held = diversify(items, opts.top, policy)
            seen = self.catalog.history.teams_seen
            chosen, explored = explore(chosen, [(s.key, s.raw) for s in passing], lambda t: t not in seen,
                                       opts.top, opts.explore)
            results = [self.team_result(by_key[k], contexts[by_key[k].need_id], i + 1) for i, k in enumerate(chosen)]
            _mark_explored(results, explored, "team_id", "团队")
        why = [self._why_team(t, ranked, results, filtered, held, contexts) for t in opts.why]
        return self._record(kind, query, results, why, opts)

    def _institution_results(self, passing: list[Scored], contexts, opts: MatchOptions, policy: Policy):
        """Institutions ranked by their best team, each with its best teams listed (diversity is moot)."""
        grouped: dict[str, list[Scored]] = {}
        for s in passing:
            grouped.setdefault(self.catalog.teams[s.key].institution_id, []).append(s)
        order = sorted(grouped, key=lambda i: (-grouped[i][0].raw, i))[: opts.top]
        results = []
        for rank, inst_id in enumerate(order, 1):
            best = grouped[inst_id][0]
            result = self.team_result(best, contexts[best.need_id], rank)
            result["explanation"]["teams"] = [{"team_id": s.key, "team_name": self.catalog.teams[s.key].name,
                                               "score": display_score(s.raw)}
                                              for s in grouped[inst_id][:3] if s is best or s.raw >= INSTITUTION_PEER]
            result["explanation"]["institution_name"] = self.catalog.institutions[inst_id].name
            results.append(result)
        return results, {}

    def _why_team(self, team_id: str, ranked: list[Scored], results: list[dict], filtered: dict[str, str],
                  held: dict[str, str], contexts) -> dict:
        if team_id not in self.catalog.teams:
            return {"team_id": team_id, "found": False, "reasons": [f"没有编号为 {team_id} 的团队"]}
        listed = [r["team_id"] for r in results]
        position = next((i + 1 for i, s in enumerate(ranked) if s.key == team_id), None)
        out = {"team_id": team_id, "found": True, "in_list": team_id in listed, "position_before_filters": position}
        scored = next((s for s in ranked if s.key == team_id), None)
        if scored is None:
            out["reasons"] = ["该团队没有可比对的文档（无介绍和成果）"]
            return out
        out["score"] = display_score(scored.raw)
        reasons = []
        if team_id in listed:
            reasons.append(f"已在列表第 {listed.index(team_id) + 1} 位")
        if team_id in filtered:
            reasons.append(filtered[team_id])
        if team_id in held:
            reasons.append(held[team_id])
        last = next((s for s in ranked if results and s.key == results[-1]["team_id"]), None)
        if last is not None and team_id not in listed:
            gaps = sorted(((last.parts[n] - scored.parts[n], n) for n in FEATURE_NAMES), reverse=True)
            out["gap_to_last_listed"] = [
                {"feature": n, "label": FEATURES[n], "this_team": round(scored.parts[n], 3),
                 "last_listed": round(last.parts[n], 3), "difference": round(d, 3)} for d, n in gaps if d > 0.005][:5]
            if team_id not in filtered and team_id not in held:
                worst = out["gap_to_last_listed"][:2]
                reasons.append("得分低于列表末位（" + last.key + "）：主要差在"
                               + "、".join(f"{g['label']}（{g['this_team']:+.2f} 对 {g['last_listed']:+.2f}）"
                                          for g in worst))
        out["reasons"] = reasons
        ctx = contexts[scored.need_id]
        out["explanation"] = explain_pair(self.catalog, team_id, scored.evidence, ctx.terms, scored.values,
                                          scored.parts, scored.need_id, self.team_text(team_id))
        return out

    def need_ranking(self, need_id: str, extra: Sequence[str] = ()) -> tuple[QueryContext, list[Scored]]:
        """Every candidate team for a need with its features, scored by the current ranker, and the query
        context that explains them (``extra``: teams to include even when retrieval does not reach them)."""
        need = self._need(need_id)
        text = need_text(need)
        return self.rank_teams(QueryContext(text, need.id, need.enterprise_id),
                               self.vector(text, f"need:{need.id}", self.needs_search), need.keywords, extra)

    def need_candidates(self, need_id: str, extra: Sequence[str] = ()) -> list[Scored]:
        return self.need_ranking(need_id, extra)[1]

    def detached(self) -> "MatchService":
        """A service of its own for batch work that moves its catalog back in time (training, monthly
        reports) while this one keeps serving: it shares the model and the loaded indexes, not the
        catalog, and stores no runs of its own."""
        other = MatchService(self.engine, encoder=self.encoder, ranker=None if self._chosen else self.ranker,
                             index_folder=self.index_folder, store_runs=False)
        for name in ("capabilities", "needs_search", "_indexed_digests"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @contextmanager
    def as_of(self, day: dt.date):
        """Answer from the catalog as it stood on ``day`` (outcome history before it only). For training
        and evaluation in a service of their own: not safe while other threads use this service."""
        with session_factory(self.engine)() as session:
            snapshot = self.catalog.as_of(session, day)
        current = self.catalog
        self.__dict__["catalog"] = snapshot
        try:
            yield self
        finally:
            self.__dict__["catalog"] = current

    def _need(self, need_id: str):
        need = self.catalog.needs.get(need_id)
        if need is None:
            raise NotFound(f"没有编号为 {need_id} 的需求")
        return need

    def match_need(self, need_id: str, opts: MatchOptions | None = None) -> MatchList:
        opts = opts or MatchOptions()
        policy = opts.check("match")
        need = self._need(need_id)
        text = need_text(need)
        ctx = QueryContext(text, need.id, need.enterprise_id)
        ctx, ranked = self.rank_teams(ctx, self.vector(text, f"need:{need.id}", self.needs_search),
                                       need.keywords, opts.why)
        query = {"kind": "need", "need_id": need.id, "enterprise_id": need.enterprise_id, "title": need.title}
        return self._finish_match("match_need", query, ranked, {need.id: ctx}, opts, policy, [need.id])

    def match_enterprise(self, enterprise_id: str, opts: MatchOptions | None = None) -> MatchList:
        """Teams for all of an enterprise's open needs, merged; each result names the need it serves."""
        opts = opts or MatchOptions()
        policy = opts.check("match")
        enterprise = self.catalog.enterprises.get(enterprise_id)
        if enterprise is None:
            raise NotFound(f"没有编号为 {enterprise_id} 的企业")
        need_ids = self.catalog.open_needs(enterprise_id)
        contexts: dict[str | None, QueryContext] = {}
        best: dict[str, Scored] = {}
        serves: dict[str, list[str]] = {}
        if not need_ids:
            if not enterprise.description:
                raise OptionError(f"企业 {enterprise_id} 没有开放的技术需求，也没有可供匹配的企业简介；"
                                  "请先导入其需求（cxy import needs 文件）或三清零摸底表")
            text = "。".join(filter(None, (enterprise.industry, enterprise.description)))
            ctx, ranked = self.rank_teams(QueryContext(text, None, enterprise_id),
                                           self.vector(text, f"ent:{enterprise_id}", self.needs_search), (), opts.why)
            contexts[None] = ctx
            best = {s.key: s for s in ranked}
        for need_id in need_ids:
            need = self.catalog.needs[need_id]
            text = need_text(need)
            ctx, ranked = self.rank_teams(QueryContext(text, need_id, enterprise_id),
                                           self.vector(text, f"need:{need_id}", self.needs_search),
                                           need.keywords, opts.why)
            contexts[need_id] = ctx
            for s in ranked:
                serves.setdefault(s.key, []).append(need_id)
                if s.key not in best or s.raw > best[s.key].raw:
                    best[s.key] = s
        for key, s in best.items():
            need_id = s.need_id
            s.note = {"need_id": need_id, "need_title": self.catalog.needs[need_id].title if need_id else None,
                      "also_serves": [n for n in serves.get(key, []) if n != need_id][:5]}
        ranked = sorted(best.values(), key=lambda s: (-s.raw, s.key))
        query = {"kind": "enterprise", "enterprise_id": enterprise_id, "name": enterprise.name,
                 "open_needs": need_ids}
        return self._finish_match("match_enterprise", query, ranked, contexts, opts, policy, need_ids)

    def match_text(self, text: str, opts: MatchOptions | None = None, query_id: str | None = None) -> MatchList:
        opts = opts or MatchOptions()
        policy = opts.check("match")
        text = (text or "").strip()
        if not text:
            raise OptionError("查询内容为空：请用一两句话描述技术需求")
        ctx, ranked = self.rank_teams(QueryContext(text), self.vector(text), (), opts.why)
        query = {"kind": "text", "text": text, **({"id": query_id} if query_id else {})}
        return self._finish_match("match_text", query, ranked, {None: ctx}, opts, policy, [])

    # ---- firms: needs and enterprises for a team or text -------------------------------------
    def _firm_filter(self, need_id: str, opts: MatchOptions, team_id: str | None) -> str | None:
        catalog = self.catalog
        enterprise = catalog.enterprise_of(need_id)
        # Places compare by their normalised names (江西省 = 江西, 萍乡市 = 萍乡), as imports store them.
        for label, wanted, have, norm in (("省份", opts.province, enterprise.province, province_name),
                                          ("城市", opts.city, enterprise.city, city_name),
                                          ("县区", opts.county, enterprise.county, str.strip)):
            if wanted and (have is None or norm(have) != norm(wanted)):
                return f"企业在{have or '未知' + label}，不在筛选的{label} {wanted}"
        if opts.industry and opts.industry not in (enterprise.industry or ""):
            return f"企业行业为 {enterprise.industry or '未知'}，不含 {opts.industry}"
        if opts.exclude_proposed and team_id and catalog.history.latest(need_id, team_id) is not None:
            return "该配对已有记录，按要求排除已推荐/已结束的配对"
        return None

    def _firm_result(self, s: Scored, rank: int, terms_of: dict[str, tuple], team_id: str | None) -> dict:
        catalog = self.catalog
        need = catalog.needs[s.key]
        enterprise = catalog.enterprise_of(s.key)
        terms = terms_of[s.key]
        sentence, hits = best_sentence(need.description or need.title, terms)
        need_card = {"need_title": need.title, "enterprise_name": enterprise.name, "industry": enterprise.industry,
                     "province": enterprise.province, "city": enterprise.city, "county": enterprise.county,
                     "sentence": mark(sentence, hits)}
        if team_id:
            explanation = explain_pair(catalog, team_id, s.evidence, terms, s.values, s.parts, s.key,
                                       self.team_text(team_id))
            explanation["summary"] = f"{enterprise.name}：{need.title}；" + explanation["summary"]
        else:
            docs = [document_evidence(catalog, d, m, terms) for d, m in s.evidence.documents[:1]]
            shared = docs[0]["terms"] if docs else []
            explanation = {"summary": f"{enterprise.name}：{need.title}"
                           + (f"；共同关键词：{'、'.join(shared[:5])}" if shared else ""),
                           "evidence": docs, "matched_terms": shared,
                           "contributions": contributions(s.values, s.parts)}
        explanation["need"] = need_card
        return {"rank": rank, "need_id": need.id, "enterprise_id": enterprise.id, "score": display_score(s.raw),
                "explanation": explanation}

    def _finish_firms(self, kind: str, query: dict, ranked: list[Scored], terms_of, opts: MatchOptions,
                      policy: Policy, team_id: str | None) -> MatchList:
        catalog = self.catalog
        filtered = {s.key: r for s in ranked if (r := self._firm_filter(s.key, opts, team_id))}
        passing = [s for s in ranked if s.key not in filtered]
        if opts.level == "enterprise":
            seen, chosen = set(), []
            for s in passing:
                enterprise_id = catalog.needs[s.key].enterprise_id
                if enterprise_id not in seen:
                    seen.add(enterprise_id)
                    chosen.append(s.key)
            chosen, held = chosen[: opts.top], {}
        else:
            items = [(s.key, catalog.needs[s.key].enterprise_id, s.raw) for s in passing]
            chosen, held = diversify(items, opts.top, policy)
        seen = catalog.history.enterprises_seen
        chosen, explored = explore(chosen, [(s.key, s.raw) for s in passing],
                                   lambda n: catalog.needs[n].enterprise_id not in seen, opts.top, opts.explore)
        by_key = {s.key: s for s in passing}
        results = [self._firm_result(by_key[k], i + 1, terms_of, team_id) for i, k in enumerate(chosen)]
        _mark_explored(results, explored, "need_id", "企业")
        why = []
        for need_id in opts.why:
            position = next((i + 1 for i, s in enumerate(ranked) if s.key == need_id), None)
            reasons = [r for r in (filtered.get(need_id), held.get(need_id)) if r]
            if need_id not in catalog.needs:
                reasons = [f"没有编号为 {need_id} 的需求"]
            elif catalog.needs[need_id].status != "open":
                reasons.append("需求已关闭")
            elif need_id in chosen:
                reasons.append(f"已在列表第 {chosen.index(need_id) + 1} 位")
            elif position is None:
                reasons.append("与查询的相关度不足以进入候选")
            elif not reasons:
                reasons.append(f"排在第 {position} 位，列表只取前 {opts.top} 个")
            why.append({"need_id": need_id, "position_before_filters": position, "reasons": reasons})
        return self._record(kind, query, results, why, opts)

    def _open_need_rows(self) -> np.ndarray:
        search, needs = self.needs_search, self.catalog.needs
        return np.array([r for r, d in enumerate(search.doc_ids)
                         if d.startswith("need:") and needs.get(d[5:]) is not None and needs[d[5:]].status == "open"],
                        dtype=np.int64)

    def firms_team(self, team_id: str, opts: MatchOptions | None = None) -> MatchList:
        """Open needs a team could serve: each of the team's documents is a query over the needs; a need's
        evidence is the team's three best-matching documents for it (the same top-3 mean as match lists)."""
        opts = opts or MatchOptions(level="need")
        policy = opts.check("firms")
        catalog = self.catalog
        if team_id not in catalog.teams:
            raise NotFound(f"没有编号为 {team_id} 的团队")
        caps, search = self.capabilities, self.needs_search
        team_rows = caps.rows_of_owner.get(team_id)
        need_rows = self._open_need_rows()
        if team_rows is None or not len(need_rows):
            return self._record("firms_team", {"kind": "team", "team_id": team_id}, [], [], opts)
        doc_ids = [caps.doc_ids[r] for r in team_rows]
        texts = [self._capability_text(d) for d in doc_ids]
        z: dict[str, list[np.ndarray]] = {}
        for doc_id, text in zip(doc_ids, texts, strict=True):
            scores = search.query(text, caps.dense.vector(doc_id))
            for name, values in scores.components(need_rows).items():
                z.setdefault(name, []).append(values)
        matrix = {name: np.vstack(rows) for name, rows in z.items()}  # (team docs, needs)
        evidence = {}
        for j, row in enumerate(need_rows):
            need_id = search.doc_ids[row][5:]
            evidence[need_id] = evidence_from_matrix(need_id, doc_ids, {n: m[:, j] for n, m in matrix.items()},
                                                     search.weights)
        top = sorted(evidence, key=lambda n: -evidence[n].affinity)[:CANDIDATES]
        top += [n for n in opts.why if n in evidence and n not in top]
        field = self._field_scores_for_team(team_id, top)
        rows, terms_of = [], {}
        for need_id in top:
            need = catalog.needs[need_id]
            text = need_text(need)
            terms_of[need_id] = self.key_terms(text, need.keywords)
            ctx = QueryContext(text, need_id, need.enterprise_id, terms_of[need_id], {team_id: field.get(need_id, 0.0)})
            rows.append((need_id, team_id, need_id, evidence[need_id],
                         pair_features(catalog, ctx, team_id, evidence[need_id], self.team_text(team_id))))
        query = {"kind": "team", "team_id": team_id, "team_name": catalog.teams[team_id].name}
        return self._finish_firms("firms_team", query, self._score(rows), terms_of, opts, policy, team_id)

    def _capability_text(self, doc_id: str) -> str:
        kind, _, key = doc_id.partition(":")
        catalog = self.catalog
        return team_text(catalog.teams[key]) if kind == "team" else achievement_text(catalog.achievements[key])

    def _field_scores_for_team(self, team_id: str, need_ids: Sequence[str]) -> dict[str, float]:
        team = self.catalog.teams[team_id]
        industries = [self.catalog.enterprise_of(n).industry for n in need_ids]
        if len(need_ids) < 2 or not any(industries):
            return {}
        if not team.discipline:
            return {}
        label = self._field_vector(team.discipline)
        return _clipped_z(need_ids, [self._field_vector(i) @ label if i else np.nan for i in industries])

    def firms_text(self, text: str, opts: MatchOptions | None = None, query_id: str | None = None) -> MatchList:
        opts = opts or MatchOptions(level="need")
        policy = opts.check("firms")
        text = (text or "").strip()
        if not text:
            raise OptionError("查询内容为空：请用一两句话描述团队能做什么")
        search = self.needs_search
        scores = search.query(text, self.vector(text))
        open_rows = set(self._open_need_rows().tolist())
        rows_ = np.array(sorted(set(scores.head.tolist()) & open_rows), dtype=np.int64)
        terms = self.key_terms(text)
        rows, terms_of = [], {}
        if len(rows_):
            z = scores.components(rows_)
            for j, row in enumerate(rows_):
                doc_id = search.doc_ids[row]
                ev = evidence_from_matrix(doc_id[5:], [doc_id], {n: v[j:j + 1] for n, v in z.items()}, search.weights)
                need = self.catalog.needs[doc_id[5:]]
                need_plain = prepare_text(need_text(need))
                values = dict.fromkeys(FEATURE_NAMES, 0.0)
                values.update(semantic=ev.affinity, dense=ev.dense, lexical=ev.lexical, best_evidence=ev.best[1],
                              term_overlap=term_overlap(terms, need_plain))
                terms_of[need.id] = terms
                rows.append((need.id, None, need.id, ev, values))
        query = {"kind": "text", "text": text, **({"id": query_id} if query_id else {})}
        return self._finish_firms("firms_text", query, self._score(rows), terms_of, opts, policy, None)

    # ---- runs -----------------------------------------------------------------------------------
    def ranker_params(self) -> dict:
        """What a stored run records about its ranker beyond the version: the weights, when it has them."""
        weights = getattr(self.ranker, "weights", None)
        return {"ranker_weights": {k: v for k, v in weights.items() if v}} if weights else {}

    def _record(self, kind: str, query: dict, results: list[dict], why: list[dict], opts: MatchOptions) -> MatchList:
        out = MatchList(kind, query, results, why, self.encoder.model_id, self.ranker.version,
                        {**opts.as_params(), **self.ranker_params()}, ranker_note=self.ranker_note)
        if self.store_runs:
            self.save(out)
        return out

    def save(self, match_list: MatchList) -> str:
        """Store a list as a recommendation run with its items; returns (and sets) its run id."""
        match_list.run_id = match_list.run_id or str(uuid.uuid4())
        query = match_list.query
        with write_session(self.engine) as session:
            session.add(models.RecommendationRun(id=match_list.run_id, kind=match_list.kind, query=query,
                                                 model_version=match_list.model_version,
                                                 ranker_version=match_list.ranker_version, params=match_list.params))
            session.flush()
            session.add_all(models.RecommendationItem(
                run_id=match_list.run_id, rank=r["rank"], team_id=r.get("team_id"),
                need_id=r.get("need_id") or r["explanation"].get("need_id") or query.get("need_id"),
                score=r["score"], explanation=r["explanation"]) for r in match_list.results)
        return match_list.run_id


def _clipped_z(keys: Sequence[str], raw: Sequence[float]) -> dict[str, float]:
    """Cosines z-scored over the list's candidates and clipped to +-2; unknown (nan) -> 0 (no information)."""
    values = np.asarray(raw, dtype=np.float64)
    if np.isnan(values).all():
        return {}
    std = np.nanstd(values)
    z = np.nan_to_num((values - np.nanmean(values)) / (std if std > 0 else 1.0))
    return dict(zip(keys, np.clip(z, -2, 2).tolist(), strict=True))
