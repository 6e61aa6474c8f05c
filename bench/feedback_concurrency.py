"""Concurrent outcome writers against one SQLite file: every event is sent twice (a retry with the same
idempotency key); afterwards every key must be stored exactly once.

Run: .venv/bin/python bench/feedback_concurrency.py [--writers 8] [--events 1000] [--threads]
Works on a copy of the benchmark sample database (bench/match_quality.py builds it once).
"""

import argparse
import multiprocessing
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAIRS = [("N101", "T301"), ("N102", "T107"), ("N201", "T104"), ("N301", "T205")]


def writer(db: str, worker: int, n: int) -> None:
    from matcher.feedback.events import record
    from matcher.settings import database_url
    from matcher.store.db import open_database, write_session

    engine = open_database(database_url(db))
    for i in range(n):
        need, team = PAIRS[i % len(PAIRS)]
        for _ in range(2):
            with write_session(engine) as session:
                record(session, need, team, "contacted", date="2026-11-01", source="bench",
                       idempotency_key=f"bench-{worker}-{i}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--threads", action="store_true", help="threads in one process instead of processes")
    args = parser.parse_args()
    from match_quality import sample_database

    source = Path(sample_database().removeprefix("sqlite:///"))
    folder = Path(tempfile.mkdtemp())
    db = folder / "feedback.db"
    shutil.copy(source, db)
    started = time.perf_counter()
    if args.threads:
        with ThreadPoolExecutor(args.writers) as pool:
            list(pool.map(lambda w: writer(str(db), w, args.events), range(args.writers)))
    else:
        spawn = multiprocessing.get_context("spawn")
        procs = [spawn.Process(target=writer, args=(str(db), w, args.events)) for w in range(args.writers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise SystemExit(f"a writer failed (exit {p.exitcode})")
    wall = time.perf_counter() - started
    with sqlite3.connect(db) as con:
        stored, keys = con.execute("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM outcome_events "
                                   "WHERE source='bench'").fetchone()
    expected = args.writers * args.events
    shutil.rmtree(folder)
    kind = "threads" if args.threads else "processes"
    print(f"| writers | events each | sent (with retries) | stored | lost | duplicated | wall s | stored/s |\n"
          f"|---|---|---|---|---|---|---|---|\n"
          f"| {args.writers} {kind} | {args.events} | {2 * expected} | {stored} | {expected - keys} | {stored - keys} "
          f"| {wall:.1f} | {stored / wall:.0f} |")


if __name__ == "__main__":
    main()
