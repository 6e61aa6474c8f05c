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
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


@contextmanager
def served(db: Path, env: dict | None = None, python: str = sys.executable, cwd: Path | None = None,
           poll: float = 0.1, settled: bool = False) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """(the server process, its base URL, seconds from start to ready); the server dies with the block.
    ``settled``: also wait until /health no longer says ``warming`` (the caches that fill behind the first
    requests), so that a measurement sees the steady state; the seconds stay those to the first 200."""
    import httpx

    port = free_port()
    env = {**os.environ, "CXY_DB": str(db)} if env is None else env
    server = subprocess.Popen([python, "-m", "matcher", "--db", str(db), "serve", "--port", str(port)], env=env,
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
        while settled and httpx.get(f"{base}/health", timeout=30).json().get("warming"):
            time.sleep(poll)
        yield server, base, ready
    finally:
        server.terminate()
        server.wait(timeout=30)
