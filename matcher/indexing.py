"""Building and loading the on-disk indexes of a database: dense vectors per collection, kept in
step with the store incrementally (only new or changed documents are encoded; deleted ones removed). The
lexical retrievers are refitted over all documents (IDF is global), but from the stored per-document
analyses (``embeddings.lexical_docs``): only new or changed texts are normalised and segmented again.

The index folder sits beside a SQLite file (``demo.db`` -> ``demo.db.index/``); for other databases
it is ``CXY_INDEX_DIR`` (default ``./cxy-index``).

A build writes a whole new folder beside the old one and swaps it in (``embeddings.folder_build``): a build
killed at any point leaves the old index or none, never half of one. What the old index holds is reused
only after every file passed its checksum; a damaged index is rebuilt from scratch, so ``cxy index build``
repairs whatever ``cxy index status`` reports.
"""

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from embeddings import lexical_docs
from embeddings.dense_index import IndexModelMismatch
from embeddings.encoder import VECTOR_KIND, Encoder
from embeddings.folder_build import build_atomically, file_entries, fsync_dir
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever
from embeddings.vector_index import FaissBuild, load_dense, open_build
from matcher.documents import COLLECTIONS, Document, documents, domain_terms
from matcher.index_location import (
    INDEX_FORMAT,
    MANIFEST,
    REBUILD_COMMAND,
    IndexDamaged,
    IndexNotBuilt,
    IndexReader,
    index_dir,
    is_built,
    verify_index,
)
from matcher.matching.search import CollectionSearch, ids_digest, lexical_digest, save_lexical

__all__ = [
    "REBUILD_COMMAND",
    "index_dir",
    "is_built",
    "build_all",
    "build_collection",
    "check_index",
    "collection_status",
    "update_after_import",
]

LEXICAL_FILES = ("lexical.json", "lexical-char.npz", "lexical-bm25.npz", *lexical_docs.FILES)
_PARSE_ERRORS = (ValueError, KeyError, TypeError, RuntimeError)


@dataclass
class BuildReport:
    collection: str
    documents: int
    encoded: int
    removed: int
    unchanged: int
    kind: str
    note: str = ""  # why the old index was not reused (it was damaged), if it was not
    analysed: int = 0  # documents whose lexical analysis (normalisation, jieba) was not reused
    seconds: dict[str, float] = field(default_factory=dict)  # encoding, dense, lexical, bookkeeping


def read_digests(folder: Path) -> dict[str, str]:
    """Document id -> digest of the text indexed in a collection folder (empty if never built);
    IndexDamaged when the index is there but not as it was written."""
    try:
        manifest = verify_index(folder.parent)
    except IndexDamaged:
        raise
    except IndexNotBuilt:
        return {}
    read = IndexReader(folder.parent, folder.name, manifest)
    digests = read.json("documents.json")
    if not isinstance(digests, dict):
        raise read.damaged(TypeError("不是编号到摘要的对照表"))
    return digests


ENCODE_BATCH = 256


# indexes written before the manifest said how their vectors were computed were the torch backend's
LEGACY_VECTOR_KIND = VECTOR_KIND["torch"]


def _reusable(folder: Path, model_id: str, vector_kind: str) -> tuple[dict | None, str]:
    """(manifest of the old index if every file passed its checksum and its vectors are this encoder's, else
    None; a note when it was damaged or encoded another way)."""
    try:
        manifest = verify_index(folder, deep=True)
    except IndexDamaged as exc:
        return None, f"原有索引不能沿用（{exc.path} {exc.why}），已从头重建"
    except IndexNotBuilt:
        return None, ""
    if manifest["model_id"] != model_id:
        raise IndexModelMismatch(
            f"{folder} 中的索引是用模型 {manifest['model_id']!r} 建立的，而现在的编码模型是 "
            f"{model_id!r}；请运行：{REBUILD_COMMAND}"
        )
    if manifest.get("vectors", LEGACY_VECTOR_KIND) != vector_kind:
        return None, (f"原有索引的向量由另一种编码方式（{manifest.get('vectors', LEGACY_VECTOR_KIND)}）算出，"
                      f"现在是 {vector_kind}：已全部重新编码（向量缓存中已有的不再计算）")
    return manifest, ""


def _old_collection(old: Path, collection: str, manifest: dict, model_id: str, engine=None):
    """(dense index, digests, lexical digest) of a collection of the verified old index (its vectors from the
    backend it was built with; a pgvector table of another build than the folder is not reused)."""
    read = IndexReader(old, collection, manifest)
    try:
        dense = load_dense(old / collection, collection, model_id, REBUILD_COMMAND, read, lambda: engine)
        digests = read.json("documents.json")
        if not isinstance(digests, dict):
            raise TypeError("documents.json")
    except IndexModelMismatch:
        raise
    except (IndexNotBuilt, *_PARSE_ERRORS):  # checksums right but contents not ours: start it afresh
        return None
    return dense, digests, lexical_digest(old / collection)


def build_collection(
    session: Session,
    encoder: Encoder,
    out: Path,
    collection: str,
    old: Path | None = None,
    manifest: dict | None = None,
    progress=None,
    backend=None,
    terms: list[str] | None = None,
) -> BuildReport:
    """Write ``collection`` into the new index folder ``out``, reusing what the old index ``old`` (with its
    verified ``manifest``) holds for documents that did not change; the vectors go to ``backend`` (the
    build side of embeddings.vector_index's faiss or pgvector, default faiss); ``terms``: the store's domain
    terms when the caller has read them already (they are the same for every collection)."""
    clock = _Clock()
    backend = backend or FaissBuild()
    docs = documents(session, collection)
    target = out / collection
    model_id = encoder.model_id
    owners = {doc.id: doc.owner for doc in docs}
    reused = _old_collection(old, collection, manifest, model_id, session.get_bind()) if old is not None else None
    index, digests, fitted_for = reused or (backend.new(collection, encoder.dimension, model_id), {}, None)
    index = backend.adopt(collection, index, owners)
    index.set_owners(owners)  # pgvector's filter column follows documents that moved to another owner
    current = {doc.id: doc for doc in docs}
    changed: list[Document] = [doc for doc in docs if digests.get(doc.id) != doc.digest or doc.id not in index]
    gone = [doc_id for doc_id in list(index.row_of) if doc_id not in current]
    clock.lap("bookkeeping")
    index.remove(gone)
    clock.lap("dense")
    for start in range(0, len(changed), ENCODE_BATCH):
        batch = changed[start : start + ENCODE_BATCH]
        vectors = encoder.encode([d.text for d in batch], kind="passage")
        clock.lap("encoding")
        index.add([d.id for d in batch], vectors, [d.owner for d in batch])
        clock.lap("dense")
        if progress:
            progress(start + len(batch), len(changed), collection)
    index.save(target)
    clock.lap("dense")
    meta = {doc.id: doc.digest for doc in docs}
    (target / "documents.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    (target / "owners.json").write_text(json.dumps(owners, ensure_ascii=False), encoding="utf-8")
    ids = [doc.id for doc in docs]
    terms = domain_terms(session) if terms is None else terms
    digest = ids_digest(ids + sorted(terms), meta)
    clock.lap("bookkeeping")
    analysed = 0
    if fitted_for == digest:  # same documents and terms: the old retrievers, byte for byte (checksums passed)
        for name in LEXICAL_FILES:
            shutil.copyfile(old / collection / name, target / name)
    else:
        previous = lexical_docs.load(IndexReader(old, collection, manifest)) if old is not None else None
        char, bm25 = CharTfidfRetriever(), Bm25Retriever(user_terms=terms)  # as search.fit_lexical makes them
        analyses, analysed = lexical_docs.analyse([d.text for d in docs], [d.digest for d in docs], bm25, previous)
        save_lexical(target, lexical_docs.fit(analyses, ids, char, bm25), digest)
        lexical_docs.save(target, analyses)
    clock.lap("lexical")
    report = BuildReport(collection, len(docs), len(changed), len(gone), len(docs) - len(changed), index.kind)
    report.analysed, report.seconds = analysed, clock.seconds
    return report


class _Clock:
    """Wall seconds spent in each part of a build (the benchmark's breakdown)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, part: str) -> None:
        now = time.perf_counter()
        self.seconds[part] = self.seconds.get(part, 0.0) + now - self.last
        self.last = now


def _write_manifest(folder: Path, model_id: str, vector_kind: str, backend: str = "faiss") -> None:
    files = file_entries(folder, skip=(MANIFEST,), algorithm="xxh3_128")  # checked at every load: a fast checksum
    manifest = {"format": INDEX_FORMAT, "model_id": model_id, "vectors": vector_kind, "files": files}
    if backend != "faiss":  # the collections then hold no vector files (index_location.DENSE_FILES)
        manifest["dense_backend"] = backend
    with (folder / MANIFEST).open("w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())  # the manifest is what says the folder is whole
    fsync_dir(folder)


def build_all(
    session: Session, encoder: Encoder, folder: Path, rebuild: bool = False, progress=None
) -> list[BuildReport]:
    """Build the whole index of ``folder`` anew beside it (reusing the old one's vectors unless ``rebuild``
    or it is damaged) and swap it in; IndexModelMismatch (nothing changed) when the old one is another
    model's and not ``rebuild``. The vectors go where CXY_VECTOR_BACKEND says (VectorBackendError, a kind
    of IndexModelMismatch, when it cannot serve this database)."""
    from matcher.settings import Settings

    folder = Path(folder)
    reports: list[BuildReport] = []
    backend = open_build(Settings().vector_backend, session.get_bind())

    def build(tmp: Path) -> None:
        manifest, note = (None, "") if rebuild else _reusable(folder, encoder.model_id, encoder.vector_kind)
        old = folder if manifest is not None else None
        tmp.mkdir(parents=True)
        terms = domain_terms(session)
        reports[:] = [
            build_collection(session, encoder, tmp, c, old, manifest, progress, backend, terms) for c in COLLECTIONS
        ]
        _write_manifest(tmp, encoder.model_id, encoder.vector_kind, backend.name)
        verify_index(tmp)
        if note:
            reports[0].note = note
        # pgvector: the tables change when the folder is complete, just before it is swapped in (a load in
        # between finds the generations differ and refuses; a build then refills the tables)
        backend.commit()

    try:
        build_atomically(folder, build, lambda _: False, force=True)
    finally:
        backend.rollback()  # a build that failed leaves the tables as they were (after a commit: nothing)
    return reports


def check_index(folder: Path, engine=None) -> dict:
    """What can be told without the database: every file's size and checksum, then each collection loaded as
    a search loads it (files that pass their checksums but do not fit together are caught too). Returns the
    manifest; IndexNotBuilt, IndexDamaged or IndexModelMismatch (files of two models) otherwise."""
    manifest = verify_index(folder, deep=True)
    for collection in COLLECTIONS:
        CollectionSearch.load(folder, collection, manifest["model_id"], REBUILD_COMMAND, manifest, engine)
    return manifest


def pending(session: Session, folder: Path) -> int:
    """Documents new, changed or deleted since the index was built (0: nothing to encode or drop)."""
    total = 0
    for collection in COLLECTIONS:
        status = collection_status(session, folder, collection)
        total += status.get("new_or_changed", status.get("documents_in_store", 0)) + status.get(
            "deleted_since_build", 0
        )
    return total


def update_after_import(
    engine, encoder: Encoder | None = None, progress=None, folder: Path | None = None
) -> list[BuildReport]:
    """After an import: bring the index beside ``engine``'s database up to date, encoding only what is
    new or changed (as ``cxy index build``; a damaged index is rebuilt). ``progress(done, total, label)``
    is called after each batch of encoded documents (``label`` is the collection: needs, teams …; ``total``
    counts that collection's changed documents). Returns [] without loading the encoder when no index has
    been built yet (build one with ``cxy index build``) or when nothing changed."""
    from matcher.store.db import session_factory

    folder = folder or index_dir(engine.url.render_as_string(hide_password=False))
    with session_factory(engine)() as session:
        if not is_built(folder):
            return []
        try:
            if pending(session, folder) == 0:
                return []
        except IndexDamaged:
            pass  # the build below replaces it
        return build_all(session, encoder or Encoder(), folder, progress=progress)


def collection_status(session: Session, folder: Path, collection: str) -> dict:
    """What is indexed of ``collection`` and what changed in the store since (a cheap check of the index
    against its manifest first: IndexDamaged when it fails)."""
    docs = documents(session, collection)
    try:
        manifest = verify_index(folder)
    except IndexDamaged:
        raise
    except IndexNotBuilt:
        return {"collection": collection, "built": False, "documents_in_store": len(docs)}
    read = IndexReader(folder, collection, manifest)
    meta, digests = read.json("meta.json"), read_digests(folder / collection)
    try:
        info = {"model_id": meta["model_id"], "kind": meta["kind"], "indexed": meta["count"]}
    except (KeyError, TypeError) as exc:
        raise read.damaged(exc) from exc
    stale = sum(1 for d in docs if digests.get(d.id) != d.digest)
    removed = len(set(digests) - {d.id for d in docs})
    return {
        "collection": collection,
        "built": True,
        **info,
        "documents_in_store": len(docs),
        "new_or_changed": stale,
        "deleted_since_build": removed,
    }
