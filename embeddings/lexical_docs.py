"""Per-document lexical analyses kept between index builds, so a build re-analyses only what changed.

Fitting the lexical retrievers is nearly all analysis: ``prepare_text`` (OpenCC, NFKC) for both, then jieba for
BM25 (~1 s per 1,000 abstracts). Both depend only on a document's text and BM25's settings, so each
document's prepared text and BM25 tokens are stored under its text digest; the next build takes them for the
documents whose digest it finds and analyses only the others. The fit itself (counts, IDF, weights) is always
redone over all documents from the analyses: IDF is global, and a fresh fit gives the same arrays bit for bit.

Stored as plain data, like the retrievers: ``lexical-docs.json`` (settings key, digests, prepared texts, the
token table) and ``lexical-docs.npz`` (each document's tokens as numbers into the table).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np
import opencc

from embeddings.array_files import npz_arrays, npz_bytes
from embeddings.char_ngrams import sorted_codes
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever
from embeddings.lexical_text import _clean_terms, ngram_text_of, prepare_text

FILES = ("lexical-docs.json", "lexical-docs.npz")
ANALYSIS_FORMAT = 1  # bump when prepare_text or Bm25Retriever.analyze_prepared change what they give


def settings_key(bm25: Bm25Retriever) -> str:
    """What the stored analyses depend on besides the text: BM25's settings, its dictionary and the libraries."""
    settings = {
        "format": ANALYSIS_FORMAT,
        "jieba": jieba.__version__,
        "opencc": getattr(opencc, "__version__", ""),
        "user_terms": sorted(_clean_terms(bm25.user_terms)),
        "stopwords": sorted(bm25.stopwords),
        "hmm": bm25.hmm,
        "term_parts": bm25.term_parts,
        "char_bigrams": bm25.char_bigrams,
    }
    return hashlib.sha256(json.dumps(settings, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Analyses:
    """One row per document: its digest, prepared text and BM25 tokens (``terms[codes[offsets[i]:offsets[i+1]]]``)."""

    key: str
    digests: list[str]
    prepared: list[str]
    terms: list[str]
    codes: np.ndarray  # int64
    offsets: np.ndarray  # int64, len(digests) + 1

    def rows_by_digest(self) -> dict[str, int]:
        return {digest: row for row, digest in enumerate(self.digests)}


PARALLEL_FROM = 20_000  # texts to analyse before two processes pay for their start (~2 s each: imports, jieba)
CHUNK = 5_000


def _bm25_settings(bm25: Bm25Retriever) -> dict:
    return {"user_terms": list(bm25.user_terms), "k1": bm25.k1, "b": bm25.b, "stopwords": sorted(bm25.stopwords),
            "hmm": bm25.hmm, "term_parts": bm25.term_parts, "char_bigrams": bm25.char_bigrams}


def _analyse_chunk(texts: list[str], settings: dict) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(prepared texts, the chunk's token table, tokens as numbers into it, tokens per text): compact to send
    back from a worker process."""
    bm25 = Bm25Retriever(**settings)
    number: dict[str, int] = {}
    prepared, codes, lengths = [], [], []
    for text in texts:
        text = prepare_text(text)
        prepared.append(text)
        tokens = bm25.analyze_prepared(text)
        codes.extend(number.setdefault(t, len(number)) for t in tokens)
        lengths.append(len(tokens))
    return prepared, list(number), np.asarray(codes, dtype=np.int64), np.asarray(lengths, dtype=np.int64)


def _analyse_all(texts: list[str], bm25: Bm25Retriever):
    """``_analyse_chunk`` of each chunk of ``texts``, in two processes when there are many (jieba is pure
    Python: one core per process) and the machine has two cores."""
    chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
    settings = _bm25_settings(bm25)
    workers = min(2, os.cpu_count() or 1, len(chunks))
    if len(texts) < PARALLEL_FROM or workers < 2:
        return [_analyse_chunk(chunk, settings) for chunk in chunks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the builder may be a server with threads (torch, faiss) that a fork would copy mid-work
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_analyse_chunk, chunks, [settings] * len(chunks)))


def analyse(texts: Sequence[str], digests: Sequence[str], bm25: Bm25Retriever, old: Analyses | None) -> tuple[
    Analyses, int
]:
    """The analyses of ``texts`` (in order), reusing ``old``'s for digests it holds when it was made with the same
    settings; also how many texts were analysed anew."""
    key = settings_key(bm25)
    reuse = old.rows_by_digest() if old is not None and old.key == key else {}
    terms: list[str] = list(old.terms) if reuse else []
    number = {term: code for code, term in enumerate(terms)}
    todo = [i for i, digest in enumerate(digests) if digest not in reuse]
    prepared: list[str] = [""] * len(digests)
    pieces: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(digests)
    for i, digest in enumerate(digests):
        row = reuse.get(digest)
        if row is not None:
            prepared[i] = old.prepared[row]
            pieces[i] = old.codes[old.offsets[row] : old.offsets[row + 1]]
    done = 0
    for chunk_prepared, chunk_terms, chunk_codes, chunk_lengths in _analyse_all([texts[i] for i in todo], bm25):
        recode = np.fromiter((number.setdefault(t, len(number)) for t in chunk_terms), np.int64, len(chunk_terms))
        bounds = np.concatenate(([0], np.cumsum(chunk_lengths)))
        codes = recode[chunk_codes]
        for j, text in enumerate(chunk_prepared):
            prepared[todo[done + j]] = text
            pieces[todo[done + j]] = codes[bounds[j] : bounds[j + 1]]
        done += len(chunk_prepared)
    terms.extend(list(number)[len(terms) :])
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    used, codes = sorted_codes(codes)  # drop the terms of documents gone since (the table would only grow)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    return Analyses(key, list(digests), prepared, [terms[u] for u in used.tolist()], codes, offsets), len(todo)


def fit(analyses: Analyses, ids: Sequence[str], char: CharTfidfRetriever, bm25: Bm25Retriever) -> dict:
    """Fit both retrievers from the analyses (the same as ``char.fit(texts, ids)`` and ``bm25.fit(texts, ids)``)."""
    char.fit_ngram_texts([ngram_text_of(text) for text in analyses.prepared], ids)
    terms = np.asarray(analyses.terms, dtype=object)
    bm25.fit_coded(analyses.codes, np.diff(analyses.offsets), terms, ids)
    return {"char": char, "bm25": bm25}


def save(folder: Path, analyses: Analyses) -> None:
    document = {
        "format": ANALYSIS_FORMAT,
        "key": analyses.key,
        "digests": analyses.digests,
        "prepared": analyses.prepared,
        "terms": analyses.terms,
    }
    (folder / FILES[0]).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    arrays = {"codes": analyses.codes, "offsets": analyses.offsets}
    (folder / FILES[1]).write_bytes(npz_bytes(arrays))


def load(read: Callable[[str], bytes]) -> Analyses | None:
    """The analyses a build stored (each file fetched once with ``read``), or None when they are not usable:
    they only save time, so anything odd about them means analysing afresh, never an error."""
    try:
        document = json.loads(read(FILES[0]).decode("utf-8"))
        arrays = npz_arrays(read(FILES[1]))
        digests, prepared, terms = document["digests"], document["prepared"], document["terms"]
        codes, offsets = arrays["codes"], arrays["offsets"]
        lists = (digests, prepared, terms)
        ok = (
            document.get("format") == ANALYSIS_FORMAT
            and isinstance(document.get("key"), str)
            and all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists)
            and len(digests) == len(prepared)
            and codes.dtype == np.int64
            and offsets.dtype == np.int64
            and offsets.shape == (len(digests) + 1,)
            and offsets[0] == 0
            and offsets[-1] == len(codes)
            and bool(np.all(np.diff(offsets) >= 0))
            and (not len(codes) or (codes.min() >= 0 and codes.max() < len(terms)))
        )
    except (ValueError, KeyError, TypeError, AttributeError, OSError, RuntimeError):  # RuntimeError: IndexDamaged
        return None
    return Analyses(document["key"], digests, prepared, terms, codes, offsets) if ok else None
