"""Wall time and peak memory of the whole monthly report (`cxy report monthly`: rank every open need of
every key enterprise, solve the capacity-aware assignment, explain and store the proposals, write the
workbook and the page) on generated corpora, with the index already built.

Sizes: 500 enterprises / 2,000 teams / 10,000 achievements and 5,000 / 20,000 / 100,000 (half the
enterprises are key enterprises, 1.5 needs each). Each corpus gets a year of synthetic outcome events
(proposals, some followed up, a few contracts) so freshness and load have something to check.
Document vectors are random unit vectors under the real model's id (as in bench/latency.py: encoding
100k abstracts takes hours on 2 cores and ranking cost does not depend on what vectors mean); the
report process itself is the real command in a subprocess, its peak RSS read from the OS.

Run: .venv/bin/python bench/report.py [--sizes small large] [--month 2026-11]
Corpora, databases and indexes are kept under ~/.cache/cxy/bench/report-*/ and reused.
"""

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import CACHE, RandomVectors  # noqa: E402

from embeddings.encoder import Encoder  # noqa: E402
from matcher.indexing import build_all, index_dir  # noqa: E402
from matcher.ingest.folder import import_folder  # noqa: E402
from matcher.store.db import open_database, session_factory, write_session  # noqa: E402
from matcher.synthetic import CorpusSize, generate_corpus  # noqa: E402

SIZES = {"small": CorpusSize(achievements=10_000, teams=2_000, enterprises=500),
         "large": CorpusSize(achievements=100_000, teams=20_000, enterprises=5_000)}
STAGES = ("proposed", "contacted", "negotiating", "contract_signed")


def write_outcomes(path: Path, corpus: Path, size: CorpusSize, month: dt.date, seed: int) -> int:
    """A year of follow-up before ``month``: proposals for 40% of the needs, a quarter of them contacted,
    fewer negotiated and signed, a third of the rest rejected."""
    rng = random.Random(seed)
    needs = [json.loads(line)["id"] for line in (corpus / "needs.jsonl").open(encoding="utf-8")]
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["need_id", "team_id", "stage", "amount_wan", "date", "reason"])
        for need in rng.sample(needs, int(len(needs) * 0.4)):
            for team in rng.sample(range(size.teams), rng.randint(1, 3)):
                day = month - dt.timedelta(days=rng.randint(5, 360))
                furthest = rng.choices(range(4), weights=(60, 22, 10, 8))[0]
                for level in range(furthest + 1):
                    writer.writerow([need, f"ST{team:07d}", STAGES[level], 30 if level == 3 else "",
                                     (day + dt.timedelta(days=10 * level)).isoformat(), ""])
                    rows += 1
                if furthest == 0 and rng.random() < 0.3:
                    writer.writerow([need, f"ST{team:07d}", "rejected", "", (day + dt.timedelta(days=7)).isoformat(),
                                     "技术不对口"])
                    rows += 1
    return rows


def prepare(name: str, size: CorpusSize, month: dt.date) -> tuple[Path, dict]:
    folder = CACHE / f"report-{name}"
    db = folder / "bench.db"
    url = f"sqlite:///{db}"
    if not (folder / "ready").exists():
        shutil.rmtree(folder, ignore_errors=True)
        timings = {}
        started = time.perf_counter()
        generate_corpus(folder / "corpus", size, seed=size.achievements)
        events = write_outcomes(folder / "outcomes.csv", folder / "corpus", size, month, seed=size.achievements)
        engine = open_database(url)
        with write_session(engine) as session:
            import_folder(session, folder / "corpus")
        subprocess.run([sys.executable, "-m", "matcher", "--db", url, "import", "outcomes",
                        str(folder / "outcomes.csv")], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        timings["import_s"] = round(time.perf_counter() - started, 1)
        timings["outcome_events"] = events
        started = time.perf_counter()
        encoder = Encoder()
        with session_factory(engine)() as session:
            build_all(session, RandomVectors(encoder.model_id, encoder.dimension), index_dir(url))
        timings["index_s"] = round(time.perf_counter() - started, 1)
        (folder / "ready").write_text(json.dumps(timings))
    return db, json.loads((folder / "ready").read_text())


def measure(db: Path, month: str, out: Path, min_score: float) -> dict:
    """The real command in a child process: its wall time, its peak RSS, and the run's own figures."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "matcher", "--db", f"sqlite:///{db}", "report", "monthly",
                             "--month", month, "--out", str(out), "--force", "--format", "json",
                             "--min-score", str(min_score)],
                            check=True, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    return {"wall_s": wall, "peak_mb": peak_mb, **json.loads(result.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--min-score", type=float, default=0.0,
                        help="Lowest score proposed (default 0: random vectors score low, and proposing to every "
                        "need is the heaviest case: every list full, explained, stored and written).")
    args = parser.parse_args()
    month = dt.date.fromisoformat(args.month + "-01")
    rows = []
    for name in args.sizes:
        size = SIZES[name]
        db, prep = prepare(name, size, month)
        out = CACHE / f"report-{name}" / "out"
        result = measure(db, args.month, out, args.min_score)
        files = {Path(f).suffix: Path(f).stat().st_size / 1e6 for f in result["files"]}
        cov, fit, meta = result["coverage"]["current"], result["fit"], result["meta"]
        rows.append((size, prep, result, cov, fit, meta, files))
        print(f"{name}: {result['wall_s']:.0f} s, peak {result['peak_mb']:.0f} MB", file=sys.stderr)
    print(f"\nMonthly report, {args.month}, synthetic corpora, index prebuilt, min score {args.min_score}; "
          f"{os.cpu_count()} cores")
    print("| enterprises | teams | achievements | key enterprises | open needs | proposals | wall s | "
          "rank / assign / explain s | peak MB | capacity cost | xlsx MB | html MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, _, result, cov, fit, meta, files in rows:
        t = meta["timings"]
        print(f"| {size.enterprises:,} | {size.teams:,} | {size.achievements:,} | {meta['enterprises']:,} | "
              f"{meta['open_needs']:,} | {cov['proposals']:,} | {result['wall_s']:.0f} | "
              f"{t['rank_s']:.0f} / {t['assign_s']:.1f} / {t['explain_s']:.0f} | {result['peak_mb']:.0f} | "
              f"{fit['cost_share']:.1%} | {files['.xlsx']:.1f} | {files['.html']:.1f} |")
    for size, prep, *_ in rows:
        print(f"prepared once (not timed above) for {size.achievements:,} achievements: import {prep['import_s']} s, "
              f"index {prep['index_s']} s, {prep['outcome_events']:,} outcome events")


if __name__ == "__main__":
    main()
