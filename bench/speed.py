"""Issue 16 in one table: every speed figure it names, as filed, its target, and measured now on this machine.

    .venv/bin/python bench/speed.py [--size 100000] [--requests 200] [--make-test]

Rows, each measured by the bench that owns it (their docstrings say how):
- encoding: CSL abstracts at 256 tokens through Encoder, cache off, default backend and torch
  (bench/encoding.py), with the default's CSL dense MRR@10 difference to torch beside it;
- index build without encoding at ``--size`` achievements, random vectors (bench/index_build.py): full,
  after 1% changed, nothing changed;
- `cxy serve` start-up and resident memory (bench/index_build.serve_start on bench/latency.py's database);
- the command line on the sample (bench/cli.py): a ranking command in its own process, and a wrong id;
- HTTP p95 under 1 and 4 clients (bench/latency.py);
- ``--make-test``: the wall time of `make test` (run last; it takes the machine for ~5 minutes).
"As filed" is the figure issue 16 quotes (measured on a loaded machine before the work); "target" is what it asks.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import cli  # noqa: E402
import encoding  # noqa: E402
import index_build  # noqa: E402
import latency  # noqa: E402
from random_vectors import RandomVectors  # noqa: E402
from retrieval import PAPERS, load_papers  # noqa: E402

from embeddings.encoder import DEFAULT_BACKEND, Encoder  # noqa: E402


def encoding_rows(docs: int) -> list[tuple]:
    papers = load_papers(PAPERS)
    sample = ["query: " + p["abstract"] for p in papers[:: max(1, len(papers) // docs)]][:docs]
    speeds, quality = {}, {}
    for backend in (DEFAULT_BACKEND, "torch"):
        encoder = Encoder(backend=backend)
        speeds[backend] = encoding.throughput(encoder, encoding.ENCODER_STRATEGY[backend], sample)[0]
        quality[backend] = encoding.csl_quality(encoder, papers)
    delta = " / ".join(f"{quality[DEFAULT_BACKEND][k] - quality['torch'][k]:+.4f}" for k in ("title", "novel"))
    return [(f"encoding, {DEFAULT_BACKEND} (default), {docs} CSL abstracts at 256 tokens",
             "~12 docs/s", ">= 50 docs/s", f"{speeds[DEFAULT_BACKEND]:.1f} docs/s (MRR@10 title / novel kw {delta})"),
            ("encoding, torch (the trace), same texts", "—", "—", f"{speeds['torch']:.1f} docs/s")]


def build_rows(size: int) -> list[tuple]:
    db = index_build.prepare(size)
    encoder = Encoder()
    vectors = RandomVectors(encoder.model_id, encoder.dimension)
    full = index_build.timed_build(db, vectors, rebuild=True)
    index_build.change_achievements(db, 0.01, seed=1)
    changed = index_build.timed_build(db, vectors, rebuild=False)
    same = index_build.timed_build(db, vectors, rebuild=False)

    def parts(r: dict) -> str:
        return (f"{r['total']:.1f} s (lexical {r['lexical']:.1f}, dense {r['dense']:.1f}, "
                f"bookkeeping {r['bookkeeping']:.1f})")

    return [(f"index build without encoding, {size:,} achievements, full", "468 s (lexical alone)", "<= 60 s",
             parts(full)),
            ("  after 1% of the achievements changed", "—", "only what changed", parts(changed)),
            ("  nothing changed", "—", "—", parts(same))]


def serving_rows(size: int, requests: int) -> list[tuple]:
    encoder = Encoder()
    db, _ = latency.prepare(size, encoder.model_id, encoder.dimension)
    start = index_build.serve_start(db)
    rows = [(f"`cxy serve` ready, {size:,} achievements", "~29 s", "<= 5 s, <= 2.5 GB",
             f"{start['ready_s']:.1f} s, {start['rss_mb']:,.0f} MB")]
    for clients in (1, 4):
        result = latency.serve_and_measure(db, requests, clients)
        rows.append((f"GET /match/need p95, {clients} client{'s' if clients > 1 else ''}", "74 ms (1 client)",
                     "<= 50 ms", f"{result['need']['p95']:.0f} ms (p50 {result['need']['p50']:.0f})"))
        rows.append((f"POST /match/text p95, {clients} client{'s' if clients > 1 else ''}", "199 ms (1 client)",
                     "<= 100 ms", f"{result['text']['p95']:.0f} ms (p50 {result['text']['p50']:.0f})"))
    return rows


def cli_rows() -> list[tuple]:
    db = cli.sample_db()
    return [("`cxy match need N101 --local` (wall / CPU s)", "30-65 s", "loads only what it uses",
             cli.timed(db, ["match", "need", "N101", "--local"], 3, 0)),
            ("`cxy match need N999` (an id that does not exist)", "~10 s", "well under 1 s",
             cli.timed(db, ["match", "need", "N999", "--local"], 3, 1))]


def make_test_row() -> tuple:
    started = time.perf_counter()
    done = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - started
    outcome = "passed" if done.returncode == 0 else f"exit {done.returncode}"
    return ("`make test`", "~3 min quiet", "<= 4 min", f"{took:.0f} s ({outcome})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="achievements for the build and serving rows")
    parser.add_argument("--docs", type=int, default=200, help="CSL abstracts timed for encoding")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per latency row")
    parser.add_argument("--make-test", action="store_true", help="also time `make test` (last)")
    args = parser.parse_args()
    rows = []
    for name, step in (("encoding", lambda: encoding_rows(args.docs)), ("build", lambda: build_rows(args.size)),
                       ("serving", lambda: serving_rows(args.size, args.requests)), ("cli", cli_rows)):
        rows += step()
        print(f"done {name}", file=sys.stderr, flush=True)
    if args.make_test:
        rows.append(make_test_row())
    print(f"\nIssue 16, measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    print("| figure | as filed | target | now |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
