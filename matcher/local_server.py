"""How the command line finds a `cxy serve` running on the same database: the server writes a small
file beside the database (``<db>.serve.json``, mode 0600, for its owner only) with its pid, port and a
random token, and removes it when it stops; a file whose pid is dead or that another user owns is
ignored. Only the standard library is imported here: the command line reads this before anything heavy.

A server whose loaded source files changed since it loaded them (an upgrade, an edit), or whose
environment variables that decide a list differ from the command line's, would answer differently from
the command line's own process: it then declines and the command line computes itself."""

import hashlib
import json
import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

TOKEN_ENV = "CXY_LOCAL_TOKEN"  # how uvicorn's worker processes learn the token
TOKEN_HEADER = "X-CXY-Local-Token"
BATCH_PATH = "/match/local-batch"
PROTOCOL = 1
# environment variables that change what a list holds (CXY_EXPLORE, the model, the ranker, where the index is)
RESULT_ENV = ("CXY_EXPLORE", "CXY_RANK_WEIGHTS", "CXY_RANKER", "CXY_MODEL", "CXY_MODEL_DIR", "CXY_CACHE",
              "CXY_PROMPT_SCHEME", "CXY_ENCODER_BACKEND", "CXY_INDEX_DIR")
SOURCE_ROOTS = tuple(str(Path(__file__).resolve().parents[1] / p) + os.sep for p in ("matcher", "embeddings", "api"))


def discovery_file(db_url: str) -> Path:
    """``<db>.serve.json`` beside a SQLite file (its absolute path, as the index beside it is found);
    for a server database, beside the index folder."""
    path = sqlite_file(db_url)
    if path is None:
        from matcher.index_location import index_dir

        path = index_dir(db_url)
    return Path(os.path.abspath(path)).with_name(Path(path).name + ".serve.json")


def sqlite_file(db_url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL (what ``--db path`` gives); None for anything else."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or "?" in db_url or "%" in db_url:
        return None
    path = db_url[len(prefix):]
    return Path(path) if path and path != ":memory:" else None


def db_key(db_url: str) -> str:
    """The database the file is about, without writing a password into it."""
    return hashlib.sha256(db_url.encode()).hexdigest()


def fingerprint() -> dict:
    """What besides the data and the code decides a list, as this process sees it."""
    return {"protocol": PROTOCOL, "python": f"{sys.prefix}|{sys.version}",
            **{name: os.environ.get(name) for name in RESULT_ENV}}


def source_stamps(modules) -> dict[str, tuple[int, int]]:
    """(size, mtime) of the project's source files among ``modules`` (sys.modules' values)."""
    stamps = {}
    for module in modules:
        path = getattr(module, "__file__", None) or ""
        if path.startswith(SOURCE_ROOTS) and path.endswith(".py"):
            try:
                stat = os.stat(path)
            except OSError:
                continue
            stamps[path] = (stat.st_size, stat.st_mtime_ns)
    return stamps


def connect_host(listen_host: str) -> str | None:
    """Where the command line reaches a server listening on ``listen_host``: loopback, or None (a server
    bound to one outside address only is not reachable on loopback, and is not advertised)."""
    return {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::1": "::1",
            "::": "::1", "": "127.0.0.1"}.get(listen_host) or (
        listen_host if listen_host.startswith("127.") else None)


@contextmanager
def advertise(db_url: str, host: str, port: int):
    """For the life of a server: the file written (atomically, 0600) and the token put in TOKEN_ENV;
    yields the file or None when it was not written (not reachable on loopback, folder not writable)."""
    target, token = discovery_file(db_url), secrets.token_urlsafe(32)
    connect, written, before = connect_host(host), None, os.environ.get(TOKEN_ENV)
    if connect is not None and port:
        record = {"pid": os.getpid(), "host": connect, "port": port, "token": token, "db": db_key(db_url),
                  "protocol": PROTOCOL}
        written = _write_private(target, json.dumps(record))
    if written is not None:
        os.environ[TOKEN_ENV] = token
    stop = _stop_by_exiting()
    try:
        yield written
    finally:
        stop()
        if written is not None:
            if (read(target) or {}).get("token") == token:  # not a newer server's file
                target.unlink(missing_ok=True)
            if before is None:
                os.environ.pop(TOKEN_ENV, None)
            else:
                os.environ[TOKEN_ENV] = before


def _stop_by_exiting():
    """SIGTERM (kill, systemd stop) raises SystemExit, so that the file is removed: uvicorn stops cleanly
    on it and then raises the signal again with the handler it found, and Python's default one would end
    the process on the spot. Returns what puts the previous handler back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def exit_now(signum, _frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_now)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _write_private(target: Path, text: str) -> Path | None:
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
        return target
    except OSError:
        partial.unlink(missing_ok=True)
        return None


def read(path: Path) -> dict | None:
    """The file's record when it is ours (this user's, not readable by others) and well formed."""
    try:
        stat = path.stat()
        if stat.st_uid != os.getuid() or stat.st_mode & 0o077:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = {"pid": int, "host": str, "port": int, "token": str, "db": str}
    if not isinstance(record, dict) or not all(isinstance(record.get(k), t) for k, t in keys.items()):
        return None
    return record


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process under a reused pid: not our server
        return False
    return True


def find(db_url: str) -> dict | None:
    """The running server's record for this database, or None (no file, dead pid, another database)."""
    record = read(discovery_file(db_url))
    if record is None or record["db"] != db_key(db_url) or record.get("protocol") != PROTOCOL:
        return None
    return record if alive(record["pid"]) else None
