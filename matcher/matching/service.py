"""The match service: one object per process that holds the catalog, the indexes and the model, and
answers every kind of list (need, enterprise, free text; firms for a team or text) in one format.

    service = MatchService(engine)
    result = service.match_need("N101", MatchOptions(top=10))
    result.as_dict()  -> {"query": {...}, "results": [{"rank", "team_id", "institution_id", "score",
                          "explanation"}], "why": [...], "run_id": "..."}

The service holds state only (what is loaded, when to reload, the caches both directions read); each
direction builds its lists in a module of its own, so that a change to one cannot quietly move the
other: teams for needs (teams_for_needs), needs for teams (needs_for_teams), what both share (lists)
and the stored runs (runs).
"""

import atexit
import datetime as dt
import threading
import weakref
from collections.abc import Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from embeddings.encoder import Encoder
from embeddings.lexical import prepare_text, tokenize
from matcher.documents import Document, achievement_text, team_text
from matcher.index_location import MANIFEST
from matcher.indexing import REBUILD_COMMAND, index_dir, read_digests
from matcher.matching import need_queries, needs_for_teams, runs, teams_for_needs
from matcher.matching.catalog import Catalog
from matcher.matching.features import QueryContext
from matcher.matching.lists import NotFound, Scored
from matcher.matching.options import MatchOptions
from matcher.matching.rank import Ranker
from matcher.matching.runs import MatchList
from matcher.matching.search import CollectionSearch
from matcher.store import models
from matcher.store.db import session_factory

__all__ = ["MatchList", "MatchService", "NotFound", "Scored"]

MAX_TERMS = 20
# fmt: off
GENERIC_TERMS = frozenset((  # words every need says; never shown as shared terms
    "企业", "公司", "我们", "我司", "厂里", "目前", "现在", "需要", "希望", "想", "请", "帮忙",
    "帮助", "解决", "问题", "技术", "合作", "产品", "生产", "进行", "提高", "提升", "研究",
    "开发", "工艺", "方法", "一种", "及其", "制备", "应用", "相关", "方面", "情况", "能够",
    "可以", "主要", "实现", "通过", "采用", "要求", "达到", "单位", "高校", "专家", "团队",
    "以上", "以下", "左右", "一些", "这些", "没有", "比较", "一直", "已经", "不能", "容易",
    "影响", "导致", "出现", "现有", "新的", "其中", "针对", "基于", "结果", "表明", "本发明",
    "公开", "具有", "用于", "包括", "所述",
))
# fmt: on


_WARMING: "weakref.WeakSet[MatchService]" = weakref.WeakSet()  # services whose warmer may still run


@atexit.register
def _stop_warmers() -> None:
    for service in list(_WARMING):
        service.stop_warming()


class MatchService:
    """Parameters: engine (the store); encoder (default: the configured model); ranker (default: the
    weighted scorer with the configured weights); index_folder (default: beside the database);
    store_runs: record every list served as a recommendation run."""

    def __init__(
        self,
        engine: Engine,
        encoder: Encoder | None = None,
        ranker: Ranker | None = None,
        index_folder=None,
        store_runs: bool = True,
    ):
        self.engine = engine
        self.encoder = encoder or Encoder()
        self._chosen = ranker is None  # chosen from the stored models (again on reload)
        self.ranker, self.ranker_note = (ranker, None) if ranker is not None else self._choose_ranker()
        self.index_folder = index_folder or index_dir(engine.url.render_as_string(hide_password=False))
        self.store_runs = store_runs
        self._lock = threading.Lock()
        self._catalog_lock = threading.Lock()
        self._warmer: threading.Thread | None = None
        self._stop_warming = threading.Event()
        self._team_texts: dict[str, str] = {}
        self._field_vectors: dict[str, np.ndarray] = {}

    # ---- loaded once ------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        """Loaded once. Loading, reloading and re-reading the history hold one lock: an outcome recorded
        while another thread (the cache warmer, a request) loads the catalog from an older snapshot would
        otherwise be missing from it until the next change check."""
        catalog = self.__dict__.get("catalog")
        if catalog is None:
            with self._catalog_lock:
                catalog = self.__dict__.get("catalog")
                if catalog is None:
                    with session_factory(self.engine)() as session:
                        catalog = self.__dict__["catalog"] = Catalog.load(session)
        return catalog

    @cached_property
    def capabilities(self) -> CollectionSearch:
        return CollectionSearch.load(self.index_folder, "capabilities", self.encoder.model_id, REBUILD_COMMAND,
                                     engine=self.engine)

    @cached_property
    def needs_search(self) -> CollectionSearch:
        return CollectionSearch.load(self.index_folder, "needs", self.encoder.model_id, REBUILD_COMMAND,
                                     engine=self.engine)

    @cached_property
    def _indexed_digests(self) -> dict[str, str]:
        return {**read_digests(self.index_folder / "capabilities"), **read_digests(self.index_folder / "needs")}

    def warm(self) -> "MatchService":
        """Load everything now (a service does this at start, not on its first request)."""
        _ = self.catalog, self.capabilities, self.needs_search, self.encoder.dimension
        self.key_terms("预热")
        # The per-team and per-need caches fill behind the first requests instead of delaying start-up
        # (at 20k teams and 2,000 open needs they cost tens of seconds); a request that comes first
        # simply computes its own entries, as it would without any warming.
        if self._warmer is None or not self._warmer.is_alive():  # one warmer, however often warm() is called
            self.warming = True  # shown by /health: requests are slower until it ends (at 100k: ~25 s)
            self._stop_warming.clear()
            self._warmer = threading.Thread(target=self._warm_caches, name="cxy-warm-caches", daemon=True)
            self._warmer.start()
            _WARMING.add(self)
        return self

    warming = False

    def _warm_caches(self) -> None:
        stop = self._stop_warming.is_set
        try:
            # Normalised team texts (key-term overlap) cost ~0.4 ms each, ~70 ms per request when cold.
            for team_id in list(self.catalog.teams):
                if stop():
                    return
                self.team_text(team_id)
            need_queries.warm(self, stop)  # the needs' own queries, which firm lists score by
        except Exception:  # noqa: BLE001 - only a warm-up: a reload or a changed record midway ends it
            return
        finally:
            self.warming = False

    def stop_warming(self, wait: float = 10.0) -> None:
        """End the cache warmer between two entries (at shutdown: a daemon thread still inside the model's
        thread pool when the interpreter exits aborts the process, "terminate called without an active
        exception")."""
        self._stop_warming.set()
        if self._warmer is not None:
            self._warmer.join(wait)

    def _choose_ranker(self) -> tuple[Ranker, str]:
        from matcher.learning.registry import choose_ranker

        with session_factory(self.engine)() as session:
            return choose_ranker(session)

    def data_signature(self) -> tuple:
        """What a reload would see differently: the indexes' manifests, the stored entities (counts and
        newest update times), the trained rankers, and the newest outcome event (kept last: new events
        only refresh the history, which is cheap, not the whole catalog)."""
        from sqlalchemy import func, select

        index = _stamp(self.index_folder / MANIFEST)  # written last when a build swaps its folder in
        with self.engine.connect() as conn:
            tables = tuple(
                tuple(conn.execute(select(func.count(), func.max(m.updated_at)).select_from(m)).one())
                for m in (
                    models.Institution,
                    models.Team,
                    models.Achievement,
                    models.Enterprise,
                    models.Need,
                    models.Challenge,
                )
            )
            rankers = conn.execute(select(func.count()).select_from(models.RankerModel)).scalar()
            events = conn.execute(select(func.max(models.OutcomeEvent.id))).scalar()
        return index, tables, rankers, events

    def training_signature(self) -> tuple:
        """What training reads (the data signature without the stored models, which training adds to)."""
        index, tables, _rankers, events = self.data_signature()
        return index, tables, events

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

        with self._catalog_lock:  # waits for a load in progress, whose snapshot may predate the event
            catalog = self.__dict__.get("catalog")
            if catalog is None:
                return  # the next load reads the events as they are then
            with session_factory(self.engine)() as session:
                catalog.history = _summarise(session, catalog.needs, catalog.enterprises, catalog.today)

    def reload(self) -> None:
        """Forget the catalog and indexes (after an import or an index build) and choose the ranker again
        (after `cxy train`)."""
        with self._catalog_lock:  # a load in progress read the data before the change: dropped after it
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
            text = prepare_text("。".join(pieces))
            if self.__dict__.get("catalog") is catalog:  # not a text of the catalog a reload just replaced
                self._team_texts[team_id] = text
        return text

    def label_vector(self, label: str) -> np.ndarray:
        """The vector of a short label (a discipline or an industry), encoded once per process."""
        vector = self._field_vectors.get(label)
        if vector is None:
            vector = self._field_vectors[label] = self.encoder.encode([label], kind="query")[0]
        return vector

    # ---- teams for a need, an enterprise or text (teams_for_needs) ----------------------------
    def match_need(self, need_id: str, opts: MatchOptions | None = None) -> MatchList:
        return teams_for_needs.match_need(self, need_id, opts)

    def match_enterprise(self, enterprise_id: str, opts: MatchOptions | None = None) -> MatchList:
        """Teams for all of an enterprise's open needs, merged; each result names the need it serves."""
        return teams_for_needs.match_enterprise(self, enterprise_id, opts)

    def match_text(self, text: str, opts: MatchOptions | None = None, query_id: str | None = None) -> MatchList:
        return teams_for_needs.match_text(self, text, opts, query_id)

    def rank_teams(
        self, ctx: QueryContext, vector: np.ndarray, keywords: Sequence[str] = (), extra: Sequence[str] = ()
    ) -> tuple[QueryContext, list[Scored]]:
        return teams_for_needs.rank_teams(self, ctx, vector, keywords, extra)

    def need_ranking(self, need_id: str, extra: Sequence[str] = ()) -> tuple[QueryContext, list[Scored]]:
        """Every candidate team for a need with its features, scored by the current ranker, and the query
        context that explains them (``extra``: teams to include even when retrieval does not reach them)."""
        return teams_for_needs.need_ranking(self, need_id, extra)

    def need_candidates(self, need_id: str, extra: Sequence[str] = ()) -> list[Scored]:
        return self.need_ranking(need_id, extra)[1]

    def team_result(self, scored: Scored, ctx: QueryContext, rank: int) -> dict:
        return teams_for_needs.team_result(self, scored, ctx, rank)

    # ---- needs for a team or text: the researchers' direction (needs_for_teams) ---------------
    def firms_team(self, team_id: str, opts: MatchOptions | None = None) -> MatchList:
        """Open needs a team could serve, with their enterprises."""
        return needs_for_teams.firms_team(self, team_id, opts)

    def firms_text(self, text: str, opts: MatchOptions | None = None, query_id: str | None = None) -> MatchList:
        return needs_for_teams.firms_text(self, text, opts, query_id)

    def _open_need_rows(self) -> np.ndarray:
        return needs_for_teams.open_need_rows(self)

    def _capability_text(self, doc_id: str) -> str:
        return needs_for_teams.capability_text(self.catalog, doc_id)

    # ---- batch work ---------------------------------------------------------------------------
    def detached(self) -> "MatchService":
        """A service of its own for batch work that moves its catalog back in time (training, monthly
        reports) while this one keeps serving: it shares the model and the loaded indexes, not the
        catalog, and stores no runs of its own."""
        other = MatchService(
            self.engine,
            encoder=self.encoder,
            ranker=None if self._chosen else self.ranker,
            index_folder=self.index_folder,
            store_runs=False,
        )
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

    # ---- runs (runs) --------------------------------------------------------------------------
    def ranker_params(self) -> dict:
        """What a stored run records about its ranker beyond the version: the weights, when it has them."""
        return runs.ranker_params(self.ranker)

    def save(self, match_list: MatchList) -> str:
        """Store a list as a recommendation run with its items; returns (and sets) its run id."""
        return runs.save(self.engine, match_list)


def _stamp(path: Path) -> tuple[int, int]:
    """A cheap identity of a file (inode, mtime); (0, 0) when it is missing or cannot be read, so a damaged
    or unreadable index folder makes the next request report the damage instead of failing here."""
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_ino, stat.st_mtime_ns)
