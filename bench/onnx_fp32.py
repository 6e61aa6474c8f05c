"""The encoder backends against each other on the same texts, in alternating rounds (a shared machine slows all
alike): torch (the TorchScript trace), onnx-fp32 (the default: the fused fp32 graph) and onnx-int8, each as
Encoder runs it (32-token buckets for torch and fp32, one text per run for int8), vector cache off.

Prints one table: docs/s per round, the worst cosine and largest element difference to the torch vectors, and
whether a text's vector is the same bits alone as in its batch and from one run to the next (what the vector
cache and resumable builds need).

Run: .venv/bin/python bench/onnx_fp32.py [--docs 96] [--rounds 3] [--backends torch onnx-fp32 onnx-int8]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from retrieval import PAPERS, load_papers  # noqa: E402

from embeddings.encoder import BACKENDS, Encoder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args()
    encoders = {name: Encoder(backend=name, cache=False) for name in args.backends}
    texts = ["query: " + p["abstract"] for p in load_papers(PAPERS)[: args.docs]]
    vectors = {name: encoder._encode_fresh(texts) for name, encoder in encoders.items()}  # loads and warms each
    reference = vectors.get("torch")
    speeds: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(args.rounds):
        for name, encoder in encoders.items():
            started = time.perf_counter()
            encoder._encode_fresh(texts)
            speeds[name].append(len(texts) / (time.perf_counter() - started))
    limit = next(iter(encoders.values())).max_seq_length
    print(f"{len(texts)} CSL abstracts at {limit} tokens, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end (docs/s per round)")
    print("| backend | docs/s | min cosine to torch | max element difference | alone = in batch | run = rerun |")
    print("|---|---|---|---|---|---|")
    for name, encoder in encoders.items():
        mine = vectors[name]
        alone = np.vstack([encoder._encode_fresh([t]) for t in texts[:24]])
        cosine = diff = "—"
        if reference is not None:
            cosine = f"{float((reference * mine).sum(1).min()):.7f}"
            diff = f"{float(np.abs(reference - mine).max()):.1e}"
        rounds = " / ".join(f"{s:.1f}" for s in speeds[name])
        print(f"| {name} | {rounds} | {cosine} | {diff} | {np.array_equal(alone, mine[:24])} | "
              f"{np.array_equal(mine, encoder._encode_fresh(texts))} |")


if __name__ == "__main__":
    main()
