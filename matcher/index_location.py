"""Where a database's index lives, whether one has been built, and whether it is intact, without loading
the encoder stack (an import checks this after every file; torch and faiss load only when there is an
index to update).

An index folder holds one sub-folder per collection and ``manifest.json``: the format number, the model
and the size and checksum (xxh3-128; sha256 in folders built before) of every file. Nothing in it is a
pickle, so a folder written by someone else can give wrong answers at worst, never run code.
``verify_index`` compares the folder with its manifest (sizes and stray files, cheap; checksums too with
``deep``); ``IndexReader`` reads each file once and checks it before it is parsed.
Every problem is an ``IndexDamaged`` naming the file and the command that repairs it.
"""

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from embeddings.folder_build import FileProblem, check_files, read_listed

COLLECTION_NAMES = ("capabilities", "needs")
MANIFEST = "manifest.json"
# 1: lexical retrievers pickled beside the collection folders, no checksums; 2: no per-document lexical analyses,
# the dense index compacted at every save (3 keeps dead rows in alive.npy until a quarter are dead)
INDEX_FORMAT = 3
BUILD_COMMAND = "cxy index build"
REBUILD_COMMAND = "cxy index build --rebuild"
COLLECTION_FILES = (
    "meta.json",
    "vectors.npy",
    "ids.json",
    "documents.json",
    "owners.json",
    "lexical.json",
    "lexical-char.npz",
    "lexical-bm25.npz",
    "lexical-docs.json",
    "lexical-docs.npz",
    "alive.npy",
)
DENSE_FILES = ("vectors.npy", "ids.json", "alive.npy")  # not there when the vectors are in pgvector (dense_backend)


class IndexNotBuilt(RuntimeError):
    pass


class IndexDamaged(IndexNotBuilt):
    """A file of the index (or the folder itself) is missing, altered, unreadable or of an old format."""

    def __init__(self, path: Path, why: str, what: str = "索引文件"):
        self.path, self.why = Path(path), why
        super().__init__(f"{what} {self.path} {why}；请运行：{REBUILD_COMMAND} 重建索引")


def index_dir(db_url: str) -> Path:
    """A SQLite file's index lies beside it; a server database's is ``CXY_INDEX_DIR`` (default ./cxy-index),
    where ``{database}`` stands for the database's name, so one setting serves several databases of a server."""
    backend, database = url_parts(db_url)
    if backend == "sqlite" and database and database != ":memory:":
        return Path(database + ".index")
    return Path(os.environ.get("CXY_INDEX_DIR", "cxy-index").replace("{database}", database or "default"))


def url_parts(db_url: str) -> tuple[str, str | None]:
    """(backend, database) of a SQLAlchemy URL as sqlalchemy.engine.make_url reads them, with the standard
    library: the command line's fast paths (a wrong id, a running server's discovery file) must not import
    SQLAlchemy."""
    scheme, rest = db_url.split("://", 1)
    if scheme.split("+")[0] == "sqlite":
        return "sqlite", rest[1:].split("?")[0] or None
    path = urlsplit("x://" + rest).path.lstrip("/")
    return scheme.split("+")[0], unquote(path) or None


def is_built(folder: Path) -> bool:
    """Something is there: an index (intact or damaged, which a build then repairs), not nothing."""
    if not os.path.lexists(folder):
        return False
    try:
        return not folder.is_dir() or any(folder.iterdir())
    except OSError:
        return True  # unreadable: a build replaces it


def _legacy(folder: Path) -> bool:
    # Format 1 kept each collection's lexical retrievers beside its folder: capabilities.lexical.pkl / .json.
    return any(folder.glob("*.lexical.pkl")) or any(folder.glob("*.lexical.json"))


def verify_index(folder: Path, deep: bool = False) -> dict:
    """The manifest of an intact index in ``folder``; IndexNotBuilt when there is none, IndexDamaged when a
    file is missing, of another size (or, with ``deep``, other content) than the manifest says, or not in it."""
    folder = Path(folder)
    try:
        if not os.path.lexists(folder):
            raise IndexNotBuilt(f"还没有建立索引（{folder} 不存在）；请运行：{BUILD_COMMAND}")
        if not folder.is_dir():
            raise IndexDamaged(folder, "不是文件夹", "索引文件夹")
        os.listdir(folder)  # rglob skips what it may not read; an unreadable index must not look empty
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    except OSError as exc:  # no permission, a symlink loop, an I/O error
        raise IndexDamaged(folder, f"无法读取（{exc.strerror or exc}）", "索引文件夹") from exc
    if MANIFEST not in present:
        if not present:
            raise IndexNotBuilt(f"还没有建立索引（{folder} 是空的）；请运行：{BUILD_COMMAND}")
        if _legacy(folder):
            raise IndexDamaged(folder, "是旧格式（第 1 版，词法索引为 pickle，不再读取），需要重建", "索引文件夹")
        raise IndexDamaged(folder / MANIFEST, "缺失（构建被中断，或不是本程序建立的索引）")
    manifest = _read_manifest(folder)
    in_db = manifest.get("dense_backend") == "pgvector"  # embeddings.pgvector_index: only meta.json here
    names = [n for n in COLLECTION_FILES if not (in_db and n in DENSE_FILES)]
    required = tuple(f"{c}/{name}" for c in COLLECTION_NAMES for name in names)
    try:
        check_files(folder, manifest["files"], required, deep)
    except FileProblem as problem:
        raise IndexDamaged(folder / problem.rel, problem.why) from None
    stray = sorted(present - set(manifest["files"]) - {MANIFEST})
    if stray:
        raise IndexDamaged(folder / stray[0], "不在清单中（不是索引构建写下的文件）")
    return manifest


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IndexDamaged(path, f"无法读取（{exc.strerror or exc}）") from exc
    except ValueError as exc:  # not UTF-8, not JSON (a truncated write)
        raise IndexDamaged(path, f"无法解析（{exc}）") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IndexDamaged(path, "中没有文件列表")
    found = manifest.get("format")
    if found != INDEX_FORMAT:
        older = isinstance(found, int) and found < INDEX_FORMAT
        why = "是旧格式" if older else "是本程序不认识的格式"
        raise IndexDamaged(path, f"{why}（第 {found!r} 版，本程序读写第 {INDEX_FORMAT} 版），需要重建")
    if not isinstance(manifest.get("model_id"), str):
        raise IndexDamaged(path, "中没有模型编号")
    return manifest


class IndexReader:
    """Reads the files of one collection of a verified index, each once and checked against the manifest;
    ``parsing(name)`` turns what goes wrong while a file is parsed into an IndexDamaged naming it."""

    def __init__(self, folder: Path, collection: str, manifest: dict):
        self.folder, self.collection, self.files = Path(folder), collection, manifest["files"]
        self.last = ""

    def __call__(self, name: str) -> bytes:
        self.last = name
        try:
            return read_listed(self.folder, self.files, f"{self.collection}/{name}")
        except FileProblem as problem:
            raise IndexDamaged(self.folder / problem.rel, problem.why) from None

    def json(self, name: str):
        data = self(name)
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as exc:
            raise IndexDamaged(self.folder / self.collection / name, f"无法解析（{exc}）") from exc

    def damaged(self, exc: Exception) -> IndexDamaged:
        """What a parse error of the file read last means."""
        return IndexDamaged(self.folder / self.collection / self.last, f"内容无效（{exc}）")
