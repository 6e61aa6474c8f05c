"""``cxy report monthly --workers N``: the needs of a month ranked by N Ray actors.

Ranking each need (retrieval, features, scores: ``MatchService.need_ranking``) is the slow part of a monthly
run and depends on nothing but the need, the catalog, the indexes, the model and the ranker; so each actor
gets the driver's own catalog (the month's snapshot, sent once), ranker and encoder settings, loads the
indexes once (the model too if a label's vector is not in the vector cache), and ranks chunks of needs.
The driver takes the rankings back in the needs' order and does the rest as a serial run does (fresh
candidates, assignment, explanations, stored run, workbook), so proposals and digests are the serial run's.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

from embeddings.encoder import Encoder
from matcher.cluster import Cluster

CHUNK = 4  # needs per call: small enough to share out evenly, large enough that a call's overhead is nil


class _CacheFirst(Encoder):
    """An Encoder that loads the model only for a text the vector cache lacks (``encode`` asks the dimension
    first): a ranking encodes only a few labels (disciplines, industries), cached after the first run on the
    machine, and loading the model was most of a sample month's actor time (~7 of 10 s)."""

    known_dimension: int | None = None

    @property
    def dimension(self) -> int:
        return self.known_dimension or super().dimension


class RankWorker:
    """One actor: a MatchService over the driver's catalog; ranks the needs it is sent."""

    def __init__(self, db_url: str, index_folder: Path, catalog, ranker, settings: dict, threads: int):
        from matcher.matching.service import MatchService
        from matcher.store.db import make_engine

        encoder = _CacheFirst(**settings, threads=threads)
        self.service = MatchService(make_engine(db_url), encoder=encoder, ranker=ranker, index_folder=index_folder,
                                    store_runs=False)
        self.service.__dict__["catalog"] = catalog  # as MatchService.as_of sets its snapshot
        encoder.known_dimension = self.service.capabilities.dense.dimension
        _ = self.service.needs_search

    def ready(self) -> bool:
        return True

    def rank(self, need_ids: Sequence[str]) -> list:
        return [self.service.need_ranking(n) for n in need_ids]


class NeedRanker:
    """``ranker(service, need_ids)`` -> (context, ranking) per need, in order, as ``service.need_ranking``
    gives them; the cluster and actors start on the first call (a reused run starts none), ``close()``
    stops them."""

    def __init__(self, workers: int, address: str | None = None):
        self.workers, self.address = workers, address
        self.cluster: Cluster | None = None
        self._actors: list = []

    def _start(self, service) -> None:
        from matcher.cluster import actor_env, encoder_settings

        cluster = self.cluster = Cluster(self.workers, self.address)
        plan = cluster.plan(want_gpu=False)  # a ranking encodes a few labels at most: CPUs only
        ray, encoder = cluster.ray, service.encoder
        settings = {**encoder_settings(encoder), "cache": encoder.use_cache,
                    "cache_folder": Path(encoder.cache_folder).resolve()}
        catalog = ray.put(service.catalog)  # the as-of snapshot the serial run ranks with; sent once
        folder = Path(service.index_folder).resolve()
        worker = ray.remote(RankWorker).options(num_cpus=plan.cpus, runtime_env={"env_vars": actor_env()})
        self._actors = [worker.remote(_absolute(service.engine.url), folder, catalog, service.ranker, settings,
                                      plan.cpus) for _ in range(self.workers)]
        cluster.ready([a.ready.remote() for a in self._actors])

    def __call__(self, service, need_ids: Sequence[str]) -> Iterator[tuple]:
        if not need_ids:
            return
        if self.cluster is None:
            self._start(service)
        from ray.util import ActorPool

        chunks = [list(need_ids[i:i + CHUNK]) for i in range(0, len(need_ids), CHUNK)]
        # ActorPool.map hands each chunk to the next idle actor and yields the results in the chunks' order
        for ranked in ActorPool(self._actors).map(lambda actor, chunk: actor.rank.remote(chunk), chunks):
            yield from ranked

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.close(self._actors)
        self.cluster, self._actors = None, []


def _absolute(url) -> str:
    """The database URL with a relative SQLite path made absolute (actors do not run in the driver's folder)."""
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)
