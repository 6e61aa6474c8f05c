"""Folders of files built atomically and checked against a manifest of sizes and checksums.

Shared by the model install, its int8 export and the search index (``matcher.index_location``): a folder
is built in a temporary sibling and renamed into place under ``.<name>.lock``, so readers never see half a
folder and concurrent builders do not collide; leftovers of an interrupted build are removed by the next one.
"""

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _xxh3_128(data: bytes = b""):
    import xxhash

    return xxhash.xxh3_128(data)


# A manifest entry holds its file's size and one checksum, named by its key. Model folders keep sha256 (the
# digest people compare weights by); index folders use xxh3-128, since every start reads and checks them
# (~1 GB at 100k achievements: 0.75 s of sha256 on 2 cores, ~0.05 s of xxh3). Corruption, not tampering, is
# what these checks are for. An entry written with either verifies.
DIGESTS = {"sha256": hashlib.sha256, "xxh3_128": _xxh3_128}


def digest_file(path: Path, algorithm: str = "sha256") -> str:
    digest = DIGESTS[algorithm]()
    with path.open("rb") as src:
        while chunk := src.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    return digest_file(path, "sha256")


def _digest_of(entry: dict) -> tuple[str, str] | tuple[None, None]:
    """(algorithm, hex digest) of a manifest entry."""
    for algorithm in DIGESTS:
        if isinstance(entry.get(algorithm), str):
            return algorithm, entry[algorithm]
    return None, None


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


def file_entries(folder: Path, skip: tuple[str, ...] = (), algorithm: str = "sha256") -> dict[str, dict[str, object]]:
    """{relative path: {size, <algorithm>}} for every file under ``folder`` except ``skip``."""
    entries = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in skip:
            entries[rel] = {"size": path.stat().st_size, algorithm: digest_file(path, algorithm)}
    return entries


class FileProblem(ValueError):
    """One file of a folder does not match its manifest: ``rel`` (path inside the folder) and ``why``."""

    def __init__(self, rel: str, why: str):
        self.rel, self.why = rel, why
        super().__init__(f"{rel} {why}")


def read_manifest(folder: Path, name: str, expected_format: int, error: Callable[[Path, str], Exception]) -> dict:
    """The JSON manifest ``folder/name`` with a file list and the expected format, else ``error(folder, why)``."""
    folder = Path(folder)
    path = folder / name
    if not folder.is_dir():
        why = "它不是文件夹" if folder.exists() else f"{name} 缺失：文件夹不存在"
        raise error(folder, why)
    if not path.is_file():
        raise error(folder, f"{name} 缺失（安装被中断，或不是本程序建立的文件夹）")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(folder, f"{name} 无法读取（{exc}）") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise error(folder, f"{name} 中没有文件列表")
    if manifest.get("format") != expected_format:
        raise error(folder, f"{name} 的格式版本是 {manifest.get('format')!r}，应为 {expected_format}")
    return manifest


def _entry(folder: Path, files: dict, rel: str) -> tuple[Path, dict]:
    entry = files.get(rel)
    if entry is None:
        raise FileProblem(rel, "不在清单中")
    target = (folder / rel).resolve()
    size, digest = (entry.get("size"), _digest_of(entry)[1]) if isinstance(entry, dict) else (None, None)
    if folder.resolve() not in target.parents or not isinstance(size, int) or not isinstance(digest, str):
        raise FileProblem(rel, "在清单中的条目无效")
    return target, entry


def check_files(folder: Path, files: dict, required: tuple[str, ...] = (), deep: bool = False) -> None:
    """Raise FileProblem for the first file of ``folder`` that is missing or differs from its manifest
    entry in ``files`` (sizes: a few stat calls; checksums too when ``deep``)."""
    folder = Path(folder)
    for rel in required:
        if rel not in files:
            raise FileProblem(rel, "不在清单中")
    for rel in files:
        target, entry = _entry(folder, files, rel)
        try:
            if not target.is_file():
                raise FileProblem(rel, "缺失" if not target.exists() else "不是普通文件")
            size = target.stat().st_size
            if size != entry["size"]:
                raise FileProblem(rel, f"大小不符：实际 {size} 字节，清单记录 {entry['size']} 字节")
            algorithm, digest = _digest_of(entry)
            if deep and digest_file(target, algorithm) != digest:
                raise FileProblem(rel, f"内容与清单中的 {algorithm} 校验和不符")
        except OSError as exc:
            raise FileProblem(rel, f"无法读取（{exc.strerror or exc}）") from exc


def file_problem(folder: Path, files: dict, required: tuple[str, ...], deep: bool = False) -> str | None:
    """What is wrong with ``folder`` against its manifest ``files`` (sizes; checksums too when ``deep``), or None."""
    try:
        check_files(folder, files, required, deep)
    except FileProblem as problem:
        return str(problem)
    return None


def read_bytearray(path: Path) -> bytearray:
    """The whole file in one writable buffer, read into it directly (no intermediate ``bytes``), so that
    arrays parsed from it in place (embeddings.array_files) are writable and nothing is copied twice."""
    with Path(path).open("rb", buffering=0) as file:
        data = bytearray(os.fstat(file.fileno()).st_size)
        got, view = 0, memoryview(data)
        while got < len(data) and (n := file.readinto(view[got:])):  # one read each, up to 2 GB
            got += n
        view.release()
    del data[got:]  # a file that shrank while read: its size then differs from the manifest's
    return data


def read_listed(folder: Path, files: dict, rel: str) -> bytearray:
    """The bytes of ``folder/rel``, read once and checked against its manifest entry (size and checksum),
    so whoever parses them next reads exactly what was written; FileProblem otherwise."""
    target, entry = _entry(Path(folder), files, rel)
    try:
        data = read_bytearray(target)
    except FileNotFoundError:
        raise FileProblem(rel, "缺失") from None
    except OSError as exc:
        raise FileProblem(rel, f"无法读取（{exc.strerror or exc}）") from exc
    if len(data) != entry["size"]:
        raise FileProblem(rel, f"大小不符：实际 {len(data)} 字节，清单记录 {entry['size']} 字节")
    algorithm, digest = _digest_of(entry)
    if DIGESTS[algorithm](data).hexdigest() != digest:
        raise FileProblem(rel, f"内容与清单中的 {algorithm} 校验和不符")
    return data


def still_valid(folder: Path, verify: Callable[[Path], object], error: type[Exception]) -> bool:
    """Whether ``folder`` exists and ``verify(folder)`` does not raise ``error`` (the reason is logged: the
    caller rebuilds it)."""
    if not folder.exists():
        return False
    try:
        verify(folder)
    except error as exc:
        log.info("rebuilding %s: %s", folder, getattr(exc, "problem", exc))
        return False
    return True


def build_atomically(
    target: Path,
    build: Callable[[Path], object],
    is_current: Callable[[Path], bool],
    force: bool = False,
    lock_timeout: float = 30 * 60,
) -> Path:
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
