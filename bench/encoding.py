"""Encoding throughput per backend, max length and batch strategy, with each one's quality against fp32.

Speed: a sample of CSL dev abstracts ("query: " prompt, as the index encodes documents), vector cache off,
after a warm-up; docs/s by the wall clock, and docs per CPU second times the thread count, which is what the
wall figure would be on free cores (the machine this runs on is often shared: compare the two).
Quality: dense MRR@10 of CSL titles and novel keywords against all 1,000 abstracts (bench/retrieval.py's
known-item sets), as the difference to fp32 torch at 256 tokens; computed through Encoder and its vector
cache, so only the strategies Encoder uses are scored (the others encode the same texts differently only
by batch mates). The labelled sets: bench/match_quality.py --set all, once per CXY_ENCODER_BACKEND.

Strategies: st-longest = SentenceTransformer.encode, 32 rows padded to the longest (the torch path before
deterministic batching); bucket32 = Encoder's torch and onnx-fp32 paths (each text padded to a multiple of 32 tokens);
solo = Encoder's int8 path (one text per run); rows16 = int8, 16 rows per run padded to the longest (before).

Query latency (--queries N): one short text per call (CSL titles, the size of a typed need), cache off, as
POST /match/text encodes it; p50/p95 per backend and thread count.

Run: .venv/bin/python bench/encoding.py [--docs 200] [--threads 2] [--no-quality] [--only torch:256:bucket32 …]
     [--queries 50]
"""

import argparse
import functools
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from retrieval import PAPERS, load_papers, rank_metrics  # noqa: E402

from embeddings.encoder import Encoder, load_eager  # noqa: E402

CONFIGS = [
    ("torch", 256, "st-longest"),
    ("torch", 256, "bucket32"),
    ("torch", 192, "bucket32"),
    ("onnx-fp32", 256, "bucket32"),
    ("onnx-int8", 256, "rows16"),
    ("onnx-int8", 256, "solo"),
    ("onnx-int8", 192, "solo"),
]
ENCODER_STRATEGY = {"torch": "bucket32", "onnx-fp32": "bucket32", "onnx-int8": "solo"}


@functools.lru_cache(maxsize=2)
def _eager(location: str, max_seq_length: int):
    return load_eager(location, True, max_seq_length)


def encode_with(encoder: Encoder, strategy: str, texts: list[str]) -> np.ndarray:
    """Encode ``texts`` (prompt already on) the way ``strategy`` says, bypassing the cache."""
    model = encoder.model
    if strategy == "st-longest":  # sentence-transformers' own batching: the eager model (the default is traced)
        model = _eager(encoder.location, encoder.max_seq_length)
        return model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    if strategy == "rows16":
        return model.encode(texts, batch_size=16, normalize_embeddings=True)
    return encoder._encode_fresh(texts)


def throughput(encoder: Encoder, strategy: str, texts: list[str]) -> tuple[float, float]:
    encode_with(encoder, strategy, texts[:8])  # load the model, warm the allocator
    wall, cpu = time.perf_counter(), time.process_time()
    encode_with(encoder, strategy, texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, len(texts) / cpu * encoder.threads


def csl_quality(encoder: Encoder, papers: list[dict]) -> dict[str, float]:
    docs = encoder.encode([p["abstract"] for p in papers], kind="passage")
    novel = [i for i, p in enumerate(papers) if p["novel"]]
    sets = {"title": (list(range(len(papers))), [p["title"] for p in papers]),
            "novel": (novel, [papers[i]["novel"] for i in novel])}
    out = {}
    for name, (targets, queries) in sets.items():
        scores = encoder.encode(queries, kind="query") @ docs.T
        out[name] = rank_metrics(scores, np.array(targets))["MRR@10"]
    return out


def query_latency(papers: list[dict], queries: int) -> list[tuple[str, int, float, float]]:
    titles = [p["title"] for p in papers[:queries]]
    rows = []
    for backend in ("torch", "onnx-fp32", "onnx-int8"):
        for threads in (1, 2):
            encoder = Encoder(backend=backend, threads=threads, cache=False)
            encoder.encode(titles[:3])
            took = []
            for title in titles:
                started = time.perf_counter()
                encoder.encode([title], kind="query")
                took.append((time.perf_counter() - started) * 1000)
            rows.append((backend, threads, float(np.percentile(took, 50)), float(np.percentile(took, 95))))
            print(f"done query latency {backend} x{threads}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200, help="abstracts timed per configuration (0: none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--only", nargs="+", help="backend:max_length:strategy, e.g. onnx-int8:256:solo")
    parser.add_argument("--queries", type=int, default=0, help="also time this many single-query encodes")
    args = parser.parse_args()
    papers = load_papers(PAPERS)
    configs = CONFIGS
    if args.only:
        configs = [(b, int(n), s) for b, n, s in (c.split(":") for c in args.only)]
    if args.docs == 0:  # only the query latency
        configs, args.no_quality = [], True
    # every fifth abstract: the sample keeps the corpus' length mix (mean 149 tokens, 9 % over 256)
    sample = ["query: " + p["abstract"] for p in papers[:: max(1, len(papers) // args.docs)]][: args.docs]
    quality: dict[tuple[str, int], dict[str, float]] = {}
    rows = []
    for backend, length, strategy in configs:
        encoder = Encoder(backend=backend, max_seq_length=length, threads=args.threads)
        wall, free = throughput(encoder, strategy, sample)
        if not args.no_quality and ENCODER_STRATEGY[backend] == strategy and (backend, length) not in quality:
            quality[(backend, length)] = csl_quality(encoder, papers)
        rows.append((backend, length, strategy, wall, free))
        print(f"done {backend} {length} {strategy}: {wall:.1f} docs/s", file=sys.stderr)
    if not args.no_quality and ("torch", 256) not in quality:
        quality[("torch", 256)] = csl_quality(Encoder(threads=args.threads), papers)
    base = quality.get(("torch", 256))
    load = os.getloadavg()[0]
    print(f"\nEncoding {len(sample)} CSL abstracts, {args.threads} threads, {os.cpu_count()} cores, "
          f"load average {load:.1f} at the end")
    print("| backend | max length | batch strategy | docs/s (wall) | docs/s (CPU time x threads) | "
          "CSL title MRR@10 (delta) | CSL novel-kw MRR@10 (delta) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for backend, length, strategy, wall, free in rows:
        q = quality.get((backend, length)) if ENCODER_STRATEGY[backend] == strategy else None
        cells = ["—", "—"]
        if q and base:
            cells = [f"{q[k]:.4f} ({q[k] - base[k]:+.4f})" for k in ("title", "novel")]
        print(f"| {backend} | {length} | {strategy} | {wall:.1f} | {free:.1f} | {cells[0]} | {cells[1]} |")
    if args.queries:
        latency = query_latency(papers, args.queries)
        print(f"\nOne query per call ({args.queries} CSL titles, cache off), load average {os.getloadavg()[0]:.1f}")
        print("| backend | threads | p50 ms | p95 ms |\n|---|---:|---:|---:|")
        for backend, threads, p50, p95 in latency:
            print(f"| {backend} | {threads} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
