"""Each need's own query over the capability documents, kept per process for the researchers' direction.

A firm list asks, for every candidate need, how well the team fits it *as the need's own match list
scores it*: the need's text searched over the capability documents, each component z-scored against
that need's top 100 documents. Measured on the blind set (5-fold by team, bench/firm_lists.py) this view
beat the team's documents searched over the needs (the old firm-list evidence) by about 0.05 nDCG@10:
a need's scores are calibrated against every team, so a need that every team matches loosely no longer
floods the lists.

Searching the whole capability collection once per candidate need would cost a list ~20 ms per need,
so what a need's query needs beyond one team's documents is kept: its vector, its z statistics, and its
lexical query terms. A team's documents are then scored from those alone (the postings of the need's
own terms, restricted to the team's rows), giving the same z-scores the full query gives
(tests/test_firm_lists.py checks them against the need's match list).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embeddings.lexical import Bm25Retriever, CharTfidfRetriever, _ngram_text
from matcher.documents import need_text
from matcher.matching.search import CollectionSearch

if TYPE_CHECKING:
    from matcher.matching.service import MatchService

MAX_KEPT = 50_000  # needs kept per process (~5 KB each); beyond it the cache starts over


@dataclass(frozen=True)
class NeedQuery:
    """What scoring a need's query against any capability rows needs (duck-types ``QueryScores``)."""

    search: CollectionSearch
    text: str
    vector: np.ndarray
    terms: dict[str, tuple[np.ndarray, np.ndarray]]  # lexical component -> (term columns, weights)
    stats: dict[str, tuple[float, float]]  # component -> (mean, std) over the need's top documents
    key_terms: tuple[tuple[str, float], ...]  # the need's key terms (explanations mark them)

    def components(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Component -> z-scores of the given capability rows, as ``QueryScores.components`` gives them."""
        rows = np.asarray(rows, dtype=np.int64)
        raw = {"dense": self.search.dense.vectors[self.search.dense_rows[rows]] @ self.vector}
        for name, (columns, weights) in self.terms.items():
            if len(columns):
                terms, block = _block(self.search, name, rows)
                at = np.minimum(np.searchsorted(terms, columns), len(terms) - 1)
                hit = terms[at] == columns if len(terms) else np.zeros(len(columns), dtype=bool)
                raw[name] = (weights[hit] @ block[at[hit]]).astype(np.float32)
            else:
                raw[name] = np.zeros(len(rows), dtype=np.float32)
        return {name: (values - self.stats[name][0]) / self.stats[name][1] for name, values in raw.items()}


def _block(search: CollectionSearch, name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The postings of a few documents (one team's) as (their terms, sorted; dense term x row weights),
    sliced once: a firm list scores its ~150 candidate needs against the same rows, and slicing the
    whole sparse postings per need cost ~20 ms each."""
    blocks = search.__dict__.setdefault("_row_blocks", {})
    key = (name, rows.tobytes())
    block = blocks.get(key)
    if block is None:
        if len(blocks) >= 256:
            blocks.clear()
        sliced = search.lexical[name]._postings[:, rows].tocsr()
        terms = np.flatnonzero(np.diff(sliced.indptr))
        block = blocks[key] = (terms, sliced[terms].toarray().astype(np.float32))
    return block


def query_terms(retriever, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The term columns and weights a retriever's ``scores(text)`` reads (its own analysis, unchanged)."""
    if isinstance(retriever, CharTfidfRetriever):
        columns, weights = retriever._query_terms(_ngram_text(text))
    elif isinstance(retriever, Bm25Retriever):
        known = Counter(retriever.vocabulary_[t] for t in retriever.analyze(text) if t in retriever.vocabulary_)
        columns, weights = np.fromiter(known.keys(), np.int64), np.fromiter(known.values(), np.float32)
    else:  # an unknown retriever: no cheap path, so no lexical evidence rather than a wrong one
        raise TypeError(f"不支持的词法检索器：{type(retriever).__name__}")
    return np.asarray(columns, dtype=np.int64), np.asarray(weights, dtype=np.float32)


def need_query(service: "MatchService", need_id: str) -> NeedQuery:
    """The need's query over the capability documents, searched once per process (and again when the
    need's text changes); the cache lives on the loaded collection, so a reload starts it afresh."""
    caps = service.capabilities
    kept: dict[str, NeedQuery] = caps.__dict__.setdefault("_need_queries", {})
    text = need_text(service.catalog.needs[need_id])
    found = kept.get(need_id)
    if found is not None and found.text == text:
        return found
    vector = service.vector(text, f"need:{need_id}", service.needs_search)
    scores = caps.query(text, vector)  # the match list's own query: its statistics are the need's scale
    terms = {name: query_terms(retriever, text) for name, retriever in caps.lexical.items()}
    if len(kept) >= MAX_KEPT:
        kept.clear()
    key_terms = service.key_terms(text, service.catalog.needs[need_id].keywords)
    kept[need_id] = found = NeedQuery(caps, text, scores.vector, terms, scores.stats, key_terms)
    return found


WARM_NEEDS = 2_000  # open needs searched at start-up (~10 ms each); beyond them, on first use


def warm(service: "MatchService", stop: Callable[[], bool] = lambda: False) -> None:
    """Search the first open needs' queries now, so the first firm lists a service serves are not the
    ones that pay for them (a cold list of 150 candidates cost ~2 s on 2 cores); ``stop`` ends it early."""
    open_ids = [n.id for n in service.catalog.needs.values() if n.status == "open"][:WARM_NEEDS]
    indexed = {d[5:] for d in service.needs_search.doc_ids if d.startswith("need:")}
    for need_id in open_ids:
        if stop():
            return
        if need_id in indexed:
            need_query(service, need_id)
