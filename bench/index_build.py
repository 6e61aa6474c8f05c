"""Index build without encoding, incremental builds and `cxy serve` start-up at 100k achievements.

Document vectors are random unit vectors under the real model's id (encoding 100k abstracts takes hours on
2 cores and costs the same whatever the rest of the build does), so what is timed is the rest of a build:
the two lexical fits, the dense index (HNSW from 50k documents) and the bookkeeping (digests, owners, files,
checksums, the swap). Rows:
- full build (``--rebuild``) with the time of each part;
- incremental build after 1% of the achievements changed their abstract (only those are "encoded");
- an incremental build with nothing changed;
- `cxy serve` time to the first 200 from /health and the server's resident memory once ready.

Run: .venv/bin/python bench/index_build.py [--sizes 100000] [--no-serve]
Corpora and databases are kept under ~/.cache/cxy/bench/index-build-N/ and reused (the import is not timed).
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from random_vectors import RandomVectors  # noqa: E402
from serving import resident_mb, served  # noqa: E402

from matcher.indexing import build_all, index_dir  # noqa: E402
from matcher.ingest.folder import import_folder  # noqa: E402
from matcher.store.db import open_database, session_factory, write_session  # noqa: E402
from matcher.synthetic import CorpusSize, generate_corpus  # noqa: E402

CACHE = Path.home() / ".cache" / "cxy" / "bench"


def prepare(n: int) -> Path:
    """A SQLite database holding a synthetic corpus of ``n`` achievements (made once, then reused)."""
    folder = CACHE / f"index-build-{n}"
    db = folder / "bench.db"
    if not (folder / "ready").exists():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        generate_corpus(folder / "corpus", CorpusSize(n), seed=n)
        engine = open_database(f"sqlite:///{db}")
        with write_session(engine) as session:
            import_folder(session, folder / "corpus")
        (folder / "ready").write_text("ok")
    return db


def change_achievements(db: Path, share: float, seed: int) -> int:
    """Give ``share`` of the achievements a new abstract (a sentence appended); how many were changed."""
    from sqlalchemy import select

    from matcher.store import models

    engine = open_database(f"sqlite:///{db}")
    with write_session(engine) as session:
        ids = session.scalars(select(models.Achievement.id).order_by(models.Achievement.id)).all()
        picked = random.Random(seed).sample(ids, max(1, int(len(ids) * share)))
        for ach in session.scalars(select(models.Achievement).where(models.Achievement.id.in_(picked))):
            ach.abstract = f"{ach.abstract}修订{seed}：补充了中试放大数据。"
    return len(picked)


def _cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and its finished children: on a shared machine these say
    more than wall time, which waits for other people's work."""
    import resource

    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def timed_build(db: Path, vectors: RandomVectors, rebuild: bool) -> dict:
    url = f"sqlite:///{db}"
    engine = open_database(url)
    started, cpu = time.perf_counter(), _cpu_seconds()
    with session_factory(engine)() as session:
        reports = build_all(session, vectors, index_dir(url), rebuild=rebuild)
    total, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    parts = {part: sum(r.seconds.get(part, 0.0) for r in reports) for part in ("encoding", "dense", "lexical")}
    parts["bookkeeping"] = total - sum(parts.values())  # documents read, digests, files, checksums, the swap
    return {"total": total, "cpu": cpu, **parts, "encoded": sum(r.encoded for r in reports),
            "analysed": sum(r.analysed for r in reports), "documents": sum(r.documents for r in reports),
            "kinds": "/".join(r.kind for r in reports)}


def serve_start(db: Path, python: str = sys.executable, cwd: Path = ROOT) -> dict:
    """Seconds from starting `cxy serve` to its first 200 from /health, and its resident memory then (MB)."""
    with served(db, python=python, cwd=cwd) as (server, _, ready):
        return {"ready_s": ready, "rss_mb": resident_mb(server.pid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--share", type=float, default=0.01, help="share of achievements changed (default 1%%)")
    parser.add_argument("--no-serve", action="store_true", help="skip the `cxy serve` start-up row")
    args = parser.parse_args()
    from embeddings.encoder import Encoder

    encoder = Encoder()  # only its model id and dimension: the service must accept the index
    vectors = RandomVectors(encoder.model_id, encoder.dimension)
    rows = []
    for n in args.sizes:
        db = prepare(n)
        full = timed_build(db, vectors, rebuild=True)
        changed = change_achievements(db, args.share, seed=time.time_ns() % 1_000_000)
        incremental = timed_build(db, vectors, rebuild=False)
        unchanged = timed_build(db, vectors, rebuild=False)
        serve = None if args.no_serve else serve_start(db)
        rows.append((n, changed, full, incremental, unchanged, serve))
        print(f"done {n}: {json.dumps(rows[-1][1:])}", file=sys.stderr)
    load = os.getloadavg()
    print(f"\nIndex build with random vectors (no encoding), seconds; {os.cpu_count()} cores, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end")
    print("| achievements | build | documents | encoded | analysed | lexical | dense | bookkeeping | total | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, changed, full, incremental, unchanged, _ in rows:
        for label, r in (("full (--rebuild)", full), (f"after {changed:,} abstracts changed", incremental),
                         ("nothing changed", unchanged)):
            print(f"| {n:,} | {label} | {r['documents']:,} ({r['kinds']}) | {r['encoded']:,} | {r['analysed']:,} | "
                  f"{r['lexical']:.1f} | {r['dense']:.1f} | {r['bookkeeping']:.1f} | {r['total']:.1f} | "
                  f"{r['cpu']:.1f} |")
    if not args.no_serve:
        print("\n| achievements | `cxy serve` ready (first 200 from /health) s | resident MB |")
        print("|---|---|---|")
        for n, *_, serve in rows:
            print(f"| {n:,} | {serve['ready_s']:.1f} | {serve['rss_mb']:,} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare-only"]:
        for size in map(int, sys.argv[2:] or ["100000"]):
            print(prepare(size))
    else:
        main()
