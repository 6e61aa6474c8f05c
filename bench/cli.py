"""How fast the command line answers (issue 16 item 4): each ranking command run cold in its own process
(`--local`: it loads the model and indexes itself, as every command did before), the same command
answered by a running `cxy serve` on the same database, and the command given an id that does not exist.
Each cell: wall-clock / CPU seconds of a whole `cxy` process, median of --repeat runs; the machine's
load average is printed with the table, since on a shared 2-core machine it inflates every figure.

Run: .venv/bin/python bench/cli.py [--db FILE] [--repeat 3] [--only 'match need' ...]
Without --db the bundled sample is imported and indexed once into ~/.cache/cxy/bench/cli/ and reused.
The server is started on a free loopback port and stopped at the end.
"""

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path.home() / ".cache" / "cxy" / "bench" / "cli"
COMMANDS = [  # (what, arguments, the same with an id that does not exist)
    ("match need", ["match", "need", "N101"], ["match", "need", "N999"]),
    ("match enterprise", ["match", "enterprise", "E101"], ["match", "enterprise", "E999"]),
    ("match text", ["match", "text", "陶瓷填料在硫酸干吸塔里碎环、掉渣"], None),
    ("firms team", ["firms", "team", "T101"], ["firms", "team", "NOPE"]),
    ("challenge candidates", ["challenge", "candidates", "C11"], ["challenge", "candidates", "C999"]),
]


def cxy(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matcher", "--db", str(db), *args], cwd=ROOT,
                          capture_output=True, text=True)


def timed(db: Path, args: list[str], repeat: int, ok: int) -> str:
    """Median wall seconds / CPU seconds (user + system) of the whole process: the CPU figure is what a
    loaded machine inflates least."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = cxy(db, *args)
        walls.append(time.perf_counter() - start)
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime)
        if done.returncode != ok:
            raise SystemExit(f"cxy {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return f"{statistics.median(walls):.2f} / {statistics.median(cpus):.2f}"


def sample_db() -> Path:
    db = CACHE / "sample.db"
    if not (CACHE / "sample.db.index").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for args in (["import", "all", str(ROOT / "data" / "sample")], ["index", "build"]):
            done = cxy(db, *args)
            if done.returncode:
                raise SystemExit(done.stderr)
    return db


def start_server(db: Path) -> subprocess.Popen:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "matcher", "--db", str(db), "serve", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("cxy serve did not start") from None
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", help="just this command (repeatable), e.g. 'firms team'")
    args = parser.parse_args()
    db = args.db or sample_db()
    commands = [c for c in COMMANDS if not args.only or c[0] in args.only]
    rows = []
    for what, command, wrong in commands:
        before = timed(db, [*command, "--local"], args.repeat, 0)
        wrong_s = timed(db, [*wrong, "--local"], args.repeat, 1) if wrong else None
        rows.append([what, before, None, wrong_s])
    server = start_server(db)
    try:
        for row, (_, command, wrong) in zip(rows, commands, strict=True):
            row[2] = timed(db, command, args.repeat, 0)
            if wrong:
                row.append(timed(db, wrong, args.repeat, 1))
    finally:
        server.terminate()
        server.wait()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
          f"median of {args.repeat}; wall / CPU seconds per whole `cxy` process")
    head = ("command", "before (local, cold)", "after (with server)", "wrong id", "wrong id (server up)")
    print(f"{head[0]:<22}" + "".join(f"{h:>22}" for h in head[1:]))
    for what, *cells in rows:
        cells += [None] * (4 - len(cells))
        print(f"{what:<22}" + "".join(f"{c or '—':>22}" for c in cells))


if __name__ == "__main__":
    main()
