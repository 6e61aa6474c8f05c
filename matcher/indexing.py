"""Building and loading the on-disk indexes of a database: dense vectors per collection, kept in
step with the store incrementally (only new or changed documents are encoded; deleted ones removed).

The index folder sits beside a SQLite file (``demo.db`` -> ``demo.db.index/``); for other databases
it is ``CXY_INDEX_DIR`` (default ``./cxy-index``).
"""

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from embeddings.dense_index import DenseIndex
from embeddings.encoder import Encoder
from matcher.documents import COLLECTIONS, Document, documents, domain_terms
from matcher.index_location import index_dir, is_built
from matcher.matching.search import fit_lexical, ids_digest, lexical_digest, save_lexical

__all__ = ["index_dir", "is_built", "build_all", "build_collection", "collection_status", "update_after_import"]

REBUILD_COMMAND = "cxy index build --rebuild"


@dataclass
class BuildReport:
    collection: str
    documents: int
    encoded: int
    removed: int
    unchanged: int
    kind: str


def read_digests(folder: Path) -> dict[str, str]:
    """Document id -> digest of the text indexed in a collection folder (empty if never built)."""
    path = folder / "documents.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


ENCODE_BATCH = 256


def build_collection(session: Session, encoder: Encoder, folder: Path, collection: str,
                     rebuild: bool = False, progress=None) -> BuildReport:
    docs = documents(session, collection)
    target = folder / collection
    model_id = encoder.model_id
    if target.exists() and not rebuild:
        index = DenseIndex.load(target, model_id, REBUILD_COMMAND)
        digests = read_digests(target)
    else:
        index, digests = DenseIndex(encoder.dimension, model_id), {}
    current = {doc.id: doc for doc in docs}
    changed: list[Document] = [doc for doc in docs if digests.get(doc.id) != doc.digest or doc.id not in index]
    gone = [doc_id for doc_id in list(index.row_of) if doc_id not in current]
    index.remove(gone)
    for start in range(0, len(changed), ENCODE_BATCH):
        batch = changed[start:start + ENCODE_BATCH]
        index.add([d.id for d in batch], encoder.encode([d.text for d in batch], kind="passage"))
        if progress:
            progress(start + len(batch), len(changed), collection)
    index.save(target)
    meta = {doc.id: doc.digest for doc in docs}
    (target / "documents.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    owners = {doc.id: doc.owner for doc in docs}
    (target / "owners.json").write_text(json.dumps(owners, ensure_ascii=False), encoding="utf-8")
    ids = [doc.id for doc in docs]
    terms = domain_terms(session)
    digest = ids_digest(ids + sorted(terms), meta)
    if rebuild or lexical_digest(folder, collection) != digest:
        save_lexical(folder, collection, fit_lexical([d.text for d in docs], ids, terms), ids, digest)
    return BuildReport(collection, len(docs), len(changed), len(gone), len(docs) - len(changed), index.kind)


def build_all(session: Session, encoder: Encoder, folder: Path, rebuild: bool = False,
              progress=None) -> list[BuildReport]:
    return [build_collection(session, encoder, folder, c, rebuild, progress) for c in COLLECTIONS]


def pending(session: Session, folder: Path) -> int:
    """Documents new, changed or deleted since the index was built (0: nothing to encode or drop)."""
    total = 0
    for collection in COLLECTIONS:
        status = collection_status(session, folder, collection)
        total += status.get("new_or_changed", status.get("documents_in_store", 0)) + status.get(
            "deleted_since_build", 0)
    return total


def update_after_import(engine, encoder: Encoder | None = None, progress=None,
                        folder: Path | None = None) -> list[BuildReport]:
    """After an import: bring the index beside ``engine``'s database up to date, encoding only what is
    new or changed (as ``cxy index build``). ``progress(done, total, label)`` is called after each batch
    of encoded documents (``label`` is the collection: needs, teams …; ``total`` counts that collection's
    changed documents). Returns [] without loading the encoder when no index has been built yet (build
    one with ``cxy index build``) or when nothing changed."""
    from matcher.store.db import session_factory

    folder = folder or index_dir(engine.url.render_as_string(hide_password=False))
    with session_factory(engine)() as session:
        if not is_built(folder) or pending(session, folder) == 0:
            return []
        return build_all(session, encoder or Encoder(), folder, progress=progress)


def collection_status(session: Session, folder: Path, collection: str) -> dict:
    target = folder / collection
    docs = documents(session, collection)
    if not (target / "meta.json").exists():
        return {"collection": collection, "built": False, "documents_in_store": len(docs)}
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    digests = read_digests(target)
    stale = sum(1 for d in docs if digests.get(d.id) != d.digest)
    removed = len(set(digests) - {d.id for d in docs})
    return {"collection": collection, "built": True, "model_id": meta["model_id"], "kind": meta["kind"],
            "indexed": meta["count"], "documents_in_store": len(docs), "new_or_changed": stale,
            "deleted_since_build": removed}
