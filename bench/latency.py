"""Latency of the HTTP match endpoints under a load generator on loopback, at 1k / 10k / 100k
achievements (synthetic corpora from `cxy generate`), plus the search step against a brute-force
faiss scan of the same vectors.

Document vectors are random unit vectors written under the real model's id: encoding 100k abstracts
takes about 1.5 hours on 2 cores and search cost does not depend on what the vectors mean. Queries
are real: GET /match/need/{id} reuses the need's stored vector (as the service does for any indexed
need), POST /match/text encodes a text the process has never seen (vector cache off), so its figures
include query encoding.

Run: .venv/bin/python bench/latency.py [--sizes 1000 10000 100000] [--requests 300] [--concurrency 1 4]
[--profile 30] [--backend torch|onnx-int8] [--workers 1 2]
Corpora, databases and indexes are kept under ~/.cache/cxy/bench/latency-N/ and reused. --profile N also
times N text queries in-process (query encoding alone, then the whole match) and prints cProfile's top
entries of the rest, to say where a request's time goes besides encoding.
"""

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from random_vectors import RandomVectors  # noqa: E402
from serving import resident_mb, served  # noqa: E402

from embeddings.encoder import BACKENDS, Encoder  # noqa: E402
from matcher.indexing import build_all, index_dir  # noqa: E402
from matcher.ingest.folder import import_folder  # noqa: E402
from matcher.store.db import open_database, session_factory, write_session  # noqa: E402
from matcher.synthetic import CorpusSize, generate_corpus  # noqa: E402

CACHE = Path.home() / ".cache" / "cxy" / "bench"


def prepare(n: int, model_id: str, dimension: int) -> tuple[Path, dict]:
    folder = CACHE / f"latency-{n}"
    db = folder / "bench.db"
    url = f"sqlite:///{db}"
    timings = {}
    if not (folder / "ready").exists():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        generate_corpus(folder / "corpus", CorpusSize(n), seed=n)
        engine = open_database(url)
        with write_session(engine) as session:
            import_folder(session, folder / "corpus")
        timings["import_s"] = time.perf_counter() - started
        started = time.perf_counter()
        with session_factory(engine)() as session:
            build_all(session, RandomVectors(model_id, dimension), index_dir(url))
        timings["index_s"] = time.perf_counter() - started
        (folder / "ready").write_text(json.dumps(timings))
    return db, json.loads((folder / "ready").read_text())


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50": pick(0.5) * 1000, "p95": pick(0.95) * 1000, "p99": pick(0.99) * 1000,
            "mean": statistics.fmean(ordered) * 1000}


def load(client_calls: list, concurrency: int) -> tuple[list[float], float]:
    """Run the calls from ``concurrency`` threads; latency of each, and the wall time of all."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(client_calls)

    def worker():
        import httpx

        with httpx.Client(timeout=60) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    call = queue.pop()
                started = time.perf_counter()
                response = call(http)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def serve_and_measure(db: Path, requests: int, concurrency: int, backend: str | None = None,
                      workers: int = 1) -> dict:

    from api.keys import create_key

    engine = open_database(f"sqlite:///{db}")
    with write_session(engine) as session:
        key = create_key(session, "bureau", "latency bench")[1]
    with session_factory(engine)() as session:
        from sqlalchemy import select

        from matcher.store import models

        needs = session.execute(select(models.Need.id, models.Need.title, models.Need.description)).all()
    env = {**os.environ, "CXY_VECTOR_CACHE": str(db.parent / "no-cache"), "CXY_DB": str(db)}
    env.pop("CXY_ENCODER_BACKEND", None)
    if backend:
        env["CXY_ENCODER_BACKEND"] = backend
    headers = {"X-API-Key": key}
    with served(db, env, poll=0.5, settled=True, workers=workers) as (server, base, startup):
        rng = random.Random(0)
        picked = rng.sample(needs, min(len(needs), requests + 20))
        warm = [lambda h, n=n: h.get(f"{base}/match/need/{n.id}", headers=headers) for n in picked[:20]]
        load(warm, 1)
        need_calls = [lambda h, n=n: h.get(f"{base}/match/need/{n.id}", headers=headers) for n in picked[20:]]
        need_latency, need_wall = load(need_calls, concurrency)
        # Texts never seen by the process: the title and description reversed, so each one is encoded.
        text_calls = [lambda h, n=n: h.post(f"{base}/match/text", headers=headers,
                                            json={"text": f"{n.description[::-1]}{n.title}", "top": 10})
                      for n in picked[20:]]
        text_latency, text_wall = load(text_calls, concurrency)
        rss = resident_mb(server.pid)
    return {"startup_s": startup, "rss_mb": rss,
            "need": {**percentiles(need_latency), "rps": len(need_latency) / need_wall},
            "text": {**percentiles(text_latency), "rps": len(text_latency) / text_wall}}


def search_step(db: Path, model_id: str, queries: int = 200) -> dict:
    """The dense search step of a query (faiss top 200) against a brute-force flat scan of the same vectors,
    and the whole retrieval step (dense + both lexical retrievers + head union) for reference."""
    import faiss

    from matcher.matching.search import CollectionSearch

    search = CollectionSearch.load(index_dir(f"sqlite:///{db}"), "capabilities", model_id, "")
    vectors = search.dense.vectors
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    rng = np.random.default_rng(1)
    probe = vectors[rng.choice(len(vectors), queries)] + 0.05 * rng.standard_normal((queries, vectors.shape[1]))
    probe = (probe / np.linalg.norm(probe, axis=1, keepdims=True)).astype(np.float32)

    def timed(fn) -> float:
        started = time.perf_counter()
        for q in probe:
            fn(q)
        return (time.perf_counter() - started) / queries * 1000

    brute = timed(lambda q: flat.search(q[None, :], 200))
    ours = timed(lambda q: search.dense.search(q[None, :], 200))
    exact = {tuple(i for i in flat.search(q[None, :], 10)[1][0]) for q in probe[:50]}
    ours_ids = {tuple(search.dense.row_of[d] for d, _ in search.dense.search(q[None, :], 10)[0]) for q in probe[:50]}
    recall = len(exact & ours_ids) / len(exact)
    whole = timed(lambda q: search.query("陶瓷材料烧结工艺优化，提高强度", q))
    return {"documents": len(vectors), "index": search.dense.kind, "faiss_scan_ms": brute, "search_ms": ours,
            "ratio": ours / brute, "top10_identical_share": recall, "retrieval_step_ms": whole}


def profile_text(db: Path, queries: int, backend: str | None) -> dict:
    """In-process: query encoding alone, then whole match_text calls under cProfile (the top of the rest)."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import select

    from matcher.matching.options import MatchOptions
    from matcher.matching.service import MatchService
    from matcher.store import models

    engine = open_database(f"sqlite:///{db}")
    encoder = Encoder(cache=False, backend=backend)
    service = MatchService(engine, encoder=encoder).warm()
    with session_factory(engine)() as session:
        needs = session.execute(select(models.Need.title, models.Need.description).limit(queries + 5)).all()
    texts = [f"{n.description[::-1]}{n.title}" for n in needs]
    service.match_text(texts[-1], MatchOptions(top=10))  # warm-up
    started = time.perf_counter()
    for text in texts[:queries]:
        encoder.encode([text + "。"], kind="query")
    encode_ms = (time.perf_counter() - started) / queries * 1000
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for text in texts[:queries]:
        service.match_text(text, MatchOptions(top=10))
    profiler.disable()
    total_ms = (time.perf_counter() - started) / queries * 1000
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"matcher|embeddings|api", 25)
    return {"encode_ms": encode_ms, "match_text_ms": total_ms, "profile": out.getvalue()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--profile", type=int, default=0, help="text queries to profile in-process (0: none)")
    parser.add_argument("--backend", choices=BACKENDS, help="query encoder (default: the default)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="`cxy serve --workers` to measure")
    args = parser.parse_args()
    encoder = Encoder()
    rows, profiles = [], []
    for n in args.sizes:
        db, timings = prepare(n, encoder.model_id, encoder.dimension)
        for workers in args.workers:
            for clients in args.concurrency:
                result = serve_and_measure(db, args.requests, clients, args.backend, workers)
                rows.append((n, clients, timings, {**result, "workers": workers}))
                print(f"done {n} x{clients} ({workers} workers): {json.dumps({'timings': timings, **result})}",
                      file=sys.stderr)
        step = search_step(db, encoder.model_id)
        rows[-1] = (*rows[-1], step)
        if args.profile:
            profiles.append((n, profile_text(db, args.profile, args.backend)))
    print(f"\nHTTP latency, {args.requests} requests per row, loopback, {os.cpu_count()} cores, query encoder "
          f"{args.backend or 'default'}, load average {os.getloadavg()[0]:.1f} at the end (ms)")
    print("| achievements | workers | clients | endpoint | p50 | p95 | p99 | req/s | server RSS MB | start-up s |")
    print("|---|---:|---:|---|---|---|---|---|---|---|")
    for n, clients, _, result, *_ in rows:
        for name, label in (("need", "GET /match/need/{id}"), ("text", "POST /match/text (encodes the query)")):
            r = result[name]
            print(f"| {n:,} | {result['workers']} | {clients} | {label} | {r['p50']:.0f} | {r['p95']:.0f} | "
                  f"{r['p99']:.0f} | {r['rps']:.1f} | {result['rss_mb']} | {result['startup_s']:.1f} |")
    print("\nSearch step per query (capability documents, top 200), ms")
    print("| achievements | documents | index | faiss brute-force scan | our dense search | ratio | "
          "same top 10 as exact | whole retrieval step |")
    print("|---|---|---|---|---|---|---|---|")
    for n, *_, s in (row for row in rows if len(row) == 5):
        print(f"| {n:,} | {s['documents']:,} | {s['index']} | {s['faiss_scan_ms']:.2f} | {s['search_ms']:.2f} | "
              f"{s['ratio']:.2f} | {s['top10_identical_share']:.2f} | {s['retrieval_step_ms']:.1f} |")
    for n, p in profiles:
        print(f"\nIn-process, {n:,} achievements: query encoding {p['encode_ms']:.1f} ms, whole match_text "
              f"{p['match_text_ms']:.1f} ms per query; cProfile (cumulative):\n{p['profile']}")


if __name__ == "__main__":
    main()
