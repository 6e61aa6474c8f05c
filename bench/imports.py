"""Import throughput: generate corpora of several sizes and time `cxy import all` on each.

Run: .venv/bin/python bench/imports.py [--sizes 1000 10000 100000]
Prints a table of rows imported, wall time, rows/s and the import process's peak memory.
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CXY = [sys.executable, "-m", "matcher"]


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    options = parser.parse_args()
    print("| achievements | rows imported | wall s | rows/s | peak MB |")
    print("|---:|---:|---:|---:|---:|")
    for size in options.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder, db = Path(tmp) / "corpus", Path(tmp) / "bench.db"
            subprocess.run([*CXY, "generate", str(folder), "--achievements", str(size)], check=True,
                           capture_output=True)
            rows = sum(1 for f in folder.glob("*.jsonl") for _ in f.open(encoding="utf-8"))
            wall, peak = run([*CXY, "--db", str(db), "import", "all", str(folder)])
            print(f"| {size:,} | {rows:,} | {wall:.1f} | {rows / wall:,.0f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
