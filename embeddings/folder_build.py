"""Folders of files built atomically and checked against a manifest of sizes and sha256 checksums.

Shared by the model install and its int8 export: a folder is built in a temporary sibling and renamed
into place under ``.<name>.lock``, so readers never see half a folder and concurrent builders do not
collide; leftovers of an interrupted build are removed by the next one.
"""

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def file_entries(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, object]]:
    """{relative path: {size, sha256}} for every file under ``folder`` except ``skip``."""
    entries = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in skip:
            entries[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    return entries


def read_manifest(folder: Path, name: str, expected_format: int, error: Callable[[Path, str], Exception]) -> dict:
    """The JSON manifest ``folder/name`` with a file list and the expected format, else ``error(folder, why)``."""
    folder = Path(folder)
    path = folder / name
    if not folder.is_dir():
        why = "it is not a directory" if folder.exists() else f"{name} is missing: the folder does not exist"
        raise error(folder, why)
    if not path.is_file():
        raise error(folder, f"{name} is missing (interrupted or foreign install)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(folder, f"{name} is unreadable ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise error(folder, f"{name} has no file list")
    if manifest.get("format") != expected_format:
        raise error(folder, f"{name} has format {manifest.get('format')!r}, expected {expected_format}")
    return manifest


def file_problem(folder: Path, files: dict, required: tuple[str, ...], deep: bool = False) -> str | None:
    """What is wrong with ``folder`` against its manifest ``files`` (sizes; sha256 too when ``deep``), or None."""
    missing = [name for name in required if name not in files]
    if missing:
        return f"the manifest does not list {', '.join(missing)}"
    root = folder.resolve()
    for rel, entry in files.items():
        target = (folder / rel).resolve()
        if root not in target.parents or not isinstance(entry, dict):
            return f"the manifest has a bad entry {rel!r}"
        try:
            size = target.stat().st_size
        except FileNotFoundError:
            return f"{rel} is missing"
        if size != entry.get("size"):
            return f"{rel} has {size} bytes, the manifest says {entry.get('size')}"
        if deep and sha256_file(target) != entry.get("sha256"):
            return f"{rel} does not match its sha256 checksum"
    return None


def build_atomically(target: Path, build: Callable[[Path], object], is_current: Callable[[Path], bool],
                     force: bool = False, lock_timeout: float = 30 * 60) -> Path:
    """Fill a temporary sibling with ``build(tmp)`` and swap it in for ``target``, unless (and not ``force``)
    ``is_current(target)`` says the existing folder will do; ``is_current`` may raise to refuse instead."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock"), timeout=lock_timeout):
        for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
            for leftover in target.parent.glob(pattern):  # we hold the lock: no live builder owns these
                shutil.rmtree(leftover, ignore_errors=True)
        if not force and is_current(target):  # another process finished it while we waited
            return target
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            build(tmp)
            if target.exists() or target.is_symlink():
                old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                os.rename(target, old)
                os.rename(tmp, target)
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink()
            else:
                os.rename(tmp, target)
            fsync_dir(target.parent)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
