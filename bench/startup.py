"""Where `cxy serve`'s start-up goes at N synthetic achievements (issue 16: ready in <= 5 s at 100k, <= 2.5 GB).

    .venv/bin/python bench/startup.py --size 100000 --starts 3

Prints one table: each part of loading the match service timed in this process, in the order the service
loads them (imports, catalog, each collection's index, key terms, the model), then the seconds from
starting `cxy serve` until `/health` answers 200 and its resident memory, for ``--starts`` fresh servers.
The database and index are bench/latency.py's (built there once with random vectors under the real
model id, kept under ~/.cache/cxy/bench/latency-N/).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency import prepare  # noqa: E402
from serving import resident_mb, served  # noqa: E402

PARTS = """
import json, time
started = time.perf_counter(); parts = []
def part(name):
    global started
    now = time.perf_counter(); parts.append((name, now - started)); started = now
import api.app; part("import api.app (FastAPI, console)")
from matcher.matching.service import MatchService
from matcher.settings import database_url
from matcher.store.db import open_database
service = MatchService(open_database(database_url({db!r}))); part("service object (ranker chosen)")
service.catalog; part("catalog (every entity from the database)")
service.capabilities; part("capabilities index (dense, lexical, owners)")
service.needs_search; part("needs index")
service.key_terms("预热"); part("key terms")
service.encoder.dimension; part("model (the encoder backend's session)")
print(json.dumps(parts))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    from embeddings.encoder import Encoder

    encoder = Encoder()
    db, _ = prepare(args.size, encoder.model_id, encoder.dimension)
    env = {**os.environ, "CXY_DB": str(db), "CXY_VECTOR_CACHE": str(db.parent / "no-cache")}
    out = subprocess.run([sys.executable, "-c", PARTS.format(db=str(db))], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    parts = json.loads(out.stdout.strip().splitlines()[-1])
    starts = []
    for _ in range(args.starts):
        with served(db, env, poll=0.1) as (server, _base, ready):
            starts.append((ready, resident_mb(server.pid)))
        time.sleep(1)
    print(f"cxy serve start-up at {args.size:,} achievements, 2 cores (s)")
    print("| part | seconds |")
    print("|---|---:|")
    for name, seconds in parts:
        print(f"| {name} | {seconds:.2f} |")
    print(f"| **all parts, in one process** | **{sum(s for _, s in parts):.2f}** |")
    for i, (ready, rss) in enumerate(starts, 1):
        print(f"| `cxy serve` start {i}: until /health answers 200 (resident {rss} MB) | {ready:.2f} |")


if __name__ == "__main__":
    main()
