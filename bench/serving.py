"""A `cxy serve` subprocess for the benchmarks: started on a free loopback port, timed to its first 200
from /health, and stopped afterwards."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resident_mb(pid: int) -> int:
    """Resident memory of the process and its children (uvicorn's worker processes under --workers)."""
    total = 0
    for each in [pid, *children(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except FileNotFoundError:
            continue
        total += int(status.split("VmRSS:")[1].split()[0]) // 1024
    return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        listed = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, listed):
            found += [child, *children(child)]
    return found


@contextmanager
def served(db: Path, env: dict | None = None, python: str = sys.executable, cwd: Path | None = None,
           poll: float = 0.1, settled: bool = False, workers: int = 1) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """(the server process, its base URL, seconds from start to ready); the server dies with the block.
    ``settled``: also wait until /health no longer says ``warming`` (the caches that fill behind the first
    requests), so that a measurement sees the steady state; the seconds stay those to the first 200.
    ``workers``: `cxy serve --workers N` (each worker is asked for /health until all have settled)."""
    import httpx

    port = free_port()
    env = {**os.environ, "CXY_DB": str(db)} if env is None else env
    server = subprocess.Popen([python, "-m", "matcher", "--db", str(db), "serve", "--port", str(port),
                               "--workers", str(workers)], env=env,
                              cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise RuntimeError(server.stderr.read().decode()) from None
                time.sleep(poll)
        ready = time.perf_counter() - started
        calm = 0  # consecutive answers that are not warming: with several workers any one may answer
        while settled and calm < 4 * workers:
            warming = httpx.get(f"{base}/health", timeout=30).json().get("warming")
            calm = 0 if warming else calm + 1
            if warming:
                time.sleep(poll)
        yield server, base, ready
    finally:
        server.terminate()
        server.wait(timeout=30)
