"""Fitted lexical retrievers to and from plain data, so that loading an index can never run code.

A pickle runs whatever its writer put in it: whoever could write the index folder could run code in the
server. Here parameters and vocabularies are JSON and arrays are ``.npz`` read with ``allow_pickle=False``
(numbers only). ``dump`` / ``restore`` give back the fitted retriever exactly (the same arrays, dtypes
included, so the same scores to the last bit) with no refit: one read per file.

Files of one collection: ``lexical.json`` (each retriever's parameters and vocabulary, plus what the caller
adds, e.g. the digest it was fitted for) and ``lexical-<name>.npz`` (its arrays).
"""

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from embeddings.array_files import npz_arrays, npz_bytes
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever, _CharNgramCounter

STATE_FORMAT = 1


def _need(ok: bool, why: str) -> None:
    if not ok:
        raise ValueError(why)


def _by_column(vocabulary: dict[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    return terms


def _vocabulary(terms, n_terms: int) -> dict[str, int]:
    _need(isinstance(terms, list), "词表不是列表")  # a non-string term could only never match: not checked
    vocabulary = dict(zip(terms, range(len(terms)), strict=True))
    _need(len(vocabulary) == len(terms) == n_terms, "词表的长度与权重矩阵不符或有重复")
    return vocabulary


def dump(retriever) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON-able parameters and vocabulary, arrays) of a fitted CharTfidf or BM25 retriever."""
    postings = retriever._postings
    state = {"format": STATE_FORMAT, "ids": list(retriever.ids_), "shape": list(postings.shape)}
    arrays = {"data": postings.data, "indices": postings.indices, "indptr": postings.indptr}
    if isinstance(retriever, Bm25Retriever):
        state.update(
            kind="bm25",
            user_terms=list(retriever.user_terms),
            k1=float(retriever.k1),
            b=float(retriever.b),
            stopwords=sorted(retriever.stopwords),
            hmm=bool(retriever.hmm),
            term_parts=bool(retriever.term_parts),
            char_bigrams=bool(retriever.char_bigrams),
            vocabulary=_by_column(retriever.vocabulary_),
        )
        arrays["idf"] = retriever.idf_
        return state, arrays
    _need(isinstance(retriever, CharTfidfRetriever), f"{type(retriever).__name__} 不能存储")
    state.update(
        kind="char",
        analyzer=retriever.analyzer,
        ngram_range=list(retriever.ngram_range),
        sublinear_tf=bool(retriever.sublinear_tf),
        min_df=retriever.min_df,
        max_df=retriever.max_df,
    )
    if retriever.counter_ is not None:
        counter = retriever.counter_
        state.update(mode="counter", base=int(counter.base_))
        arrays.update(alphabet=counter.alphabet_, space_digits=counter.space_digits_, keys=retriever.keys_)
        if len(retriever.keys_):
            arrays["idf"] = retriever.idf_
    elif retriever.vectorizer_ is not None:
        state.update(mode="vectorizer", vocabulary=_by_column(retriever.vectorizer_.vocabulary_))
        arrays["idf"] = retriever.vectorizer_.idf_
    else:
        state["mode"] = "empty"
    return state, arrays


def restore(state: dict, arrays: dict[str, np.ndarray]):
    """The retriever ``dump`` described; ValueError (a Chinese reason) when the data do not fit together."""
    try:
        return _restore(state, arrays)
    except (KeyError, TypeError, IndexError) as exc:  # a field missing or of the wrong type
        raise ValueError(f"数据不完整或类型不符（{exc!r}）") from exc


def _restore(state: dict, arrays: dict[str, np.ndarray]):
    _need(isinstance(state, dict) and state.get("format") == STATE_FORMAT, "词法索引的格式版本不符")
    ids, shape = state.get("ids"), state.get("shape")
    _need(
        isinstance(ids, list) and all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids),
        "文档编号不是不重复的字符串列表",
    )
    _need(
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(n, int) and n >= 0 for n in shape)
        and shape[1] == len(ids),
        "权重矩阵的形状与文档数不符",
    )
    for name in ("data", "indices", "indptr"):
        _need(name in arrays, f"缺少数组 {name}")
    _need(arrays["data"].dtype == np.float32, "权重不是 float32")
    postings = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(shape))
    postings.check_format(full_check=True)  # indices in range, indptr monotone: no out-of-bounds reads later
    n_terms = shape[0]
    if state.get("kind") == "bm25":
        retriever = Bm25Retriever(
            user_terms=state["user_terms"],
            k1=state["k1"],
            b=state["b"],
            stopwords=frozenset(state["stopwords"]),
            hmm=state["hmm"],
            term_parts=state["term_parts"],
            char_bigrams=state["char_bigrams"],
        )
        retriever.vocabulary_ = _vocabulary(state["vocabulary"], n_terms)
        retriever.idf_ = _idf(arrays, n_terms)
    else:
        _need(state.get("kind") == "char", f"未知的检索器类型 {state.get('kind')!r}")
        retriever = CharTfidfRetriever(
            analyzer=state["analyzer"],
            ngram_range=tuple(state["ngram_range"]),
            sublinear_tf=state["sublinear_tf"],
            min_df=state["min_df"],
            max_df=state["max_df"],
        )
        retriever.counter_ = retriever.vectorizer_ = None
        _restore_char(retriever, state, arrays, n_terms)
    retriever.ids_ = list(ids)
    retriever._postings = postings
    return retriever


def _idf(arrays: dict[str, np.ndarray], n_terms: int) -> np.ndarray:
    idf = arrays.get("idf")
    _need(idf is not None and idf.dtype.kind == "f" and idf.shape == (n_terms,), "idf 数组缺失或长度不符")
    return idf


def _restore_char(retriever: CharTfidfRetriever, state: dict, arrays: dict[str, np.ndarray], n_terms: int) -> None:
    mode = state.get("mode")
    if mode == "counter":
        counter = _CharNgramCounter(retriever.analyzer, retriever.ngram_range)
        counter.alphabet_, counter.space_digits_ = arrays["alphabet"], arrays["space_digits"]
        counter.base_ = state["base"]
        _need(counter.alphabet_.dtype == np.uint32 and counter.base_ == len(counter.alphabet_) + 1, "字符表不符")
        keys = arrays["keys"]
        _need(keys.dtype == np.int64 and keys.shape == (n_terms,), "n-gram 键的长度与权重矩阵不符")
        retriever.counter_, retriever.keys_ = counter, keys
        if n_terms:
            retriever.idf_ = _idf(arrays, n_terms)  # all a query needs (TfidfTransformer's weights)
    elif mode == "vectorizer":
        vectorizer = retriever._new_vectorizer()
        vectorizer.vocabulary_ = _vocabulary(state["vocabulary"], n_terms)
        vectorizer.idf_ = _idf(arrays, n_terms)
        retriever.vectorizer_ = vectorizer
    else:
        _need(mode == "empty" and n_terms == 0, f"未知的字符检索器模式 {mode!r}")


def save(folder: Path, retrievers: dict, **extra) -> None:
    """Write ``lexical.json`` and one ``lexical-<name>.npz`` per retriever into ``folder``."""
    states = {}
    for name, retriever in retrievers.items():
        states[name], arrays = dump(retriever)
        (folder / f"lexical-{name}.npz").write_bytes(npz_bytes(arrays))
    document = {**extra, "retrievers": states}
    (folder / "lexical.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def load(read: Callable[[str], bytes]) -> tuple[dict, dict]:
    """(``lexical.json``, the retrievers by name), each file fetched once with ``read(file name)``."""
    document = json.loads(read("lexical.json").decode("utf-8"))
    _need(isinstance(document, dict) and isinstance(document.get("retrievers"), dict), "lexical.json 中没有检索器")
    retrievers = {}
    for name, state in document["retrievers"].items():
        _need(isinstance(name, str) and re.fullmatch(r"[a-z0-9_]+", name) is not None, f"检索器名称无效：{name!r}")
        arrays = npz_arrays(read(f"lexical-{name}.npz"))
        retrievers[name] = restore(state, arrays)
    return document, retrievers
