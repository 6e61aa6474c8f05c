"""Lexical retrievers over Chinese technical text: character n-gram TF-IDF and BM25 over jieba words.

Both follow one small scikit-learn style protocol (``fit`` / ``scores`` / ``search``) so hybrid retrieval can
fuse their scores with the dense index at score level: ``scores(query)`` gives a float32 score for every
fitted document in fit order, ``search(query, k)`` the best ``k`` as ``(id, score)`` with score > 0.

Texts are read in the lexical normal form of ``embeddings.lexical_text`` (normalised, lower-cased; jieba
words with private user dictionaries), n-grams counted by ``embeddings.char_ngrams``; every public name of
those modules is importable from here too. Document weights are precomputed as a (vocabulary x documents)
CSR matrix, so a query reads only the postings of its own terms (~0.3-0.6 ms a query over 1,000-2,000 documents).

BM25's fit time is nearly all jieba (~1 s per 1,000 abstracts of ~210 characters): ``fit_tokens`` and
``fit_ngram_texts`` fit from analyses made earlier, which ``embeddings.lexical_docs`` keeps per document
between index builds.

Defaults are the best measured on the CSL dev set (shared/data/csl-dev, 1,000 real abstracts): known-item
retrieval, docs = abstracts, MRR@10 for queries = titles / "novel" author keywords (the keywords found verbatim
in neither title nor abstract, 468 papers):
    CharTfidf char_wb (1,3) 0.984 / 0.494    char (1,2) [default] 0.987 / 0.522
    BM25 jieba 0.981 / 0.484    + user terms = all corpus keywords kept whole 0.957 / 0.050
    BM25 jieba (no HMM) + user terms + their parts + CJK bigrams [default] 0.985 / 0.534
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, Self

import jieba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from embeddings.char_ngrams import _CharNgramCounter, sorted_codes
from embeddings.lexical_text import (
    _CJK_RUN,
    DEFAULT_STOPWORDS,
    _as_stopwords,
    _base_tokenizer,
    _clean_terms,
    _jieba_tokens,
    _ngram_text,
    _tokenizer_for,
    make_tokenizer,
    ngram_text_of,
    prepare_text,
    tokenize,
)

if TYPE_CHECKING:  # scikit-learn is imported where a retriever is fitted or uses TfidfVectorizer, not here: a
    # loaded char retriever scores queries with its idf array alone, so a serving process never imports it (~0.7 s)
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "DEFAULT_STOPWORDS",
    "Bm25Retriever",
    "CharTfidfRetriever",
    "LexicalRetriever",
    "make_tokenizer",
    "ngram_text_of",
    "prepare_text",
    "tokenize",
]
# Re-exported for the modules that used them from here before the split.
_REEXPORTED = (_CharNgramCounter, _base_tokenizer, _clean_terms, _jieba_tokens, _ngram_text, _tokenizer_for)


class LexicalRetriever(Protocol):
    def fit(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> Self: ...

    def scores(self, query: str) -> np.ndarray: ...

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]: ...


# ----------------------------------------------------------------------------------------- retrievers


class _SparseRetriever:
    """Shared plumbing: ids, the (vocabulary x documents) weight matrix, and top-k selection."""

    ids_: list[str]
    _postings: sp.csr_matrix  # (n_terms, n_docs) float32

    def _set_ids(self, n_docs: int, ids: Sequence[str] | None) -> None:
        if ids is None:
            self.ids_ = [str(i) for i in range(n_docs)]
            return
        if len(ids) != n_docs:
            raise ValueError(f"{len(ids)} ids for {n_docs} texts")
        self.ids_ = [str(i) for i in ids]
        if len(set(self.ids_)) != n_docs:
            raise ValueError("ids must be unique")

    def _check_fitted(self) -> None:
        if not hasattr(self, "_postings"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(texts) first")

    def _score_terms(self, terms: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """sum_i weights[i] * postings[terms[i]]: only the postings of the query's own terms are read."""
        if len(terms) == 0:
            return np.zeros(self._postings.shape[1], dtype=np.float32)
        return np.asarray(self._postings[terms].T @ weights.astype(np.float32), dtype=np.float32).ravel()

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The best ``k`` documents as ``(id, score)``, best first, ties in fit order; only scores > 0."""
        scores = self.scores(query)
        if k <= 0:
            return []
        positive = np.flatnonzero(scores > 0)
        if positive.size > k:  # keep the k best (plus anything tied with the k-th) before the exact sort
            kth = np.partition(scores[positive], positive.size - k)[positive.size - k]
            positive = positive[scores[positive] >= kth]
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return [(self.ids_[i], float(scores[i])) for i in order]


class _NonBlankGrams:
    """Wraps a scikit-learn analyzer and drops n-grams made only of spaces (char_wb pads words with them),
    which would otherwise give every query a small positive score against every document."""

    def __init__(self, analyzer):
        self.analyzer = analyzer

    def __call__(self, text: str) -> list[str]:
        return [gram for gram in self.analyzer(text) if not gram.isspace()]


class CharTfidfRetriever(_SparseRetriever):
    """Cosine similarity of character n-gram TF-IDF vectors (no segmentation, robust to unseen words).

    Same weighting as ``TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=sublinear_tf,
    min_df=min_df, max_df=max_df)`` on prepared (normalised, lower-cased) text with punctuation and symbols
    turned into spaces (so a query of only punctuation scores 0; measured neutral), except that the all-space
    n-gram is not a feature. "char" and "char_wb" n-grams are counted by a vectorised counter (~10x faster than
    scikit-learn's); any other ``analyzer`` goes to TfidfVectorizer itself.

    Default ``analyzer="char", ngram_range=(1, 2)``: the best measured on the CSL dev set (module docstring).
    Known-item MRR@10 for novel keywords / titles: char (1,2) 0.522 / 0.987, char_wb (1,2) 0.510 / 0.986,
    char (1,3) 0.502 / 0.984, char_wb (1,3) 0.494 / 0.984, char_wb (2,4) 0.450 / 0.978, char_wb (1,4)
    0.492 / 0.983; raw tf instead of sublinear: char_wb (1,3) 0.445 / 0.980. Keeping punctuation as n-grams:
    char (1,2) 0.521 / 0.985, char_wb (1,3) 0.505 / 0.983.
    """

    def __init__(
        self,
        analyzer: str = "char",
        ngram_range: tuple[int, int] = (1, 2),
        sublinear_tf: bool = True,
        min_df: float | int = 1,
        max_df: float | int = 1.0,
    ):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df
        self.max_df = max_df

    def fit(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> Self:
        return self.fit_ngram_texts([_ngram_text(t) for t in texts], ids)

    def fit_ngram_texts(self, prepared: Sequence[str], ids: Sequence[str] | None = None) -> Self:
        """``fit`` on texts already through ``ngram_text_of(prepare_text(text))`` (the same result)."""
        prepared = list(prepared)
        self._set_ids(len(prepared), ids)
        self.counter_ = self.vectorizer_ = None
        if self.analyzer in ("char", "char_wb"):
            counter = _CharNgramCounter(self.analyzer, self.ngram_range).fit(prepared)
            if counter.fits_in_int64(len(counter.alphabet_)):
                self.counter_ = counter
        matrix = self._fit_counter(prepared) if self.counter_ is not None else self._fit_vectorizer(prepared)
        self._postings = matrix.T.tocsr().astype(np.float32)
        return self

    def _fit_counter(self, prepared: list[str]) -> sp.csr_matrix:
        docs, keys = self.counter_.count(prepared)
        self.keys_, columns = sorted_codes(keys)
        counts = sp.csr_matrix(
            (np.ones(len(keys), dtype=np.float64), (docs, columns)), shape=(len(prepared), len(self.keys_))
        )
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        n_docs = len(prepared)
        low = self.min_df if isinstance(self.min_df, int) else self.min_df * n_docs
        high = self.max_df if isinstance(self.max_df, int) else self.max_df * n_docs
        keep = np.flatnonzero((df >= low) & (df <= high))
        if len(keep) < len(self.keys_):
            self.keys_, counts = self.keys_[keep], counts[:, keep]
        if not len(self.keys_):  # nothing to index (no documents, only blank ones, or all pruned): all scores 0
            return counts.astype(np.float32)
        from sklearn.feature_extraction.text import TfidfTransformer

        transformer = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(counts)
        self.idf_ = transformer.idf_
        return transformer.transform(counts)

    def _new_vectorizer(self) -> TfidfVectorizer:
        """The configured, unfitted TfidfVectorizer (also what ``embeddings.lexical_store`` restores into)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        options = {"analyzer": self.analyzer, "ngram_range": self.ngram_range}
        if self.analyzer in ("char", "char_wb"):
            grams = TfidfVectorizer(lowercase=False, **options)
            options = {"analyzer": _NonBlankGrams(grams.build_analyzer())}
        return TfidfVectorizer(
            **options,
            sublinear_tf=self.sublinear_tf,
            min_df=self.min_df,
            max_df=self.max_df,
            lowercase=False,
            dtype=np.float32,
        )

    def _fit_vectorizer(self, prepared: list[str]) -> sp.csr_matrix:
        vectorizer = self._new_vectorizer()
        try:
            matrix = vectorizer.fit_transform(prepared)
        except ValueError:  # empty vocabulary: no documents, only blank ones, or everything pruned
            return sp.csr_matrix((len(prepared), 0), dtype=np.float32)
        self.vectorizer_ = vectorizer
        return matrix

    def _query_terms(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Columns and l2-normalised TF-IDF weights of ``text``'s known n-grams (what ``transform`` gives)."""
        if self.vectorizer_ is not None:
            vector = self.vectorizer_.transform([text]).tocsr()
            return vector.indices, vector.data
        if self.counter_ is None or not len(self.keys_):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        _, keys = self.counter_.count([text])
        slot = np.minimum(np.searchsorted(self.keys_, keys), len(self.keys_) - 1)
        columns, counts = np.unique(slot[self.keys_[slot] == keys], return_counts=True)
        tf = 1.0 + np.log(counts) if self.sublinear_tf else counts.astype(np.float64)
        weights = tf * self.idf_[columns]
        norm = np.sqrt(weights @ weights)
        return columns, (weights / norm if norm > 0 else weights)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity (0..1) of ``query`` with every fitted document, in fit order."""
        self._check_fitted()
        return self._score_terms(*self._query_terms(_ngram_text(query)))


class Bm25Retriever(_SparseRetriever):
    """Okapi BM25 over jieba words (user terms kept whole), their parts, and CJK character bigrams.

    A document or query becomes (see ``analyze``):
    - the jieba words of ``tokenize(text, user_terms, stopwords, hmm)``;
    - ``term_parts``: after each user term found whole, its words under the default dictionary
      (锂云母 -> 锂云母 锂 云母), so a text that says only 云母 still meets it while the whole term scores extra;
    - ``char_bigrams``: every pair of adjacent CJK characters (in the same vocabulary as the words).
    Defaults are the best measured on the CSL dev set (known-item retrieval over 1,000 abstracts, MRR@10 for
    "novel" author keywords / titles): jieba with HMM 0.484 / 0.981, without 0.495 / 0.982; with user terms =
    all keywords kept whole only 0.050 / 0.957 (a whole term never meets a text that words it differently);
    + term parts 0.487 / 0.983; + CJK bigrams 0.534 / 0.985 (the same without user terms: 0.535 / 0.984).

    Scores are Lucene's BM25 (the variant Elasticsearch and ``bm25s(method="lucene")`` use):
    ``sum over query tokens t of idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))`` with
    ``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))``; a query token repeated counts again.
    """

    def __init__(
        self,
        user_terms: Iterable[str] = (),
        k1: float = 1.5,
        b: float = 0.75,
        stopwords: Iterable[str] = DEFAULT_STOPWORDS,
        *,
        hmm: bool = False,
        term_parts: bool = True,
        char_bigrams: bool = True,
    ):
        self.user_terms = tuple(user_terms)
        self.k1 = k1
        self.b = b
        self.stopwords = _as_stopwords(stopwords)
        self.hmm = hmm
        self.term_parts = term_parts
        self.char_bigrams = char_bigrams
        self._tokenizer: jieba.Tokenizer | None = None
        self._parts: dict[str, list[str]] | None = None

    # The jieba tokenizer holds a lock and cannot be pickled; it is rebuilt from user_terms on demand.
    # (Indexes are stored with ``embeddings.lexical_store``, not pickled; this serves copies in memory.)
    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tokenizer": None, "_parts": None}

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = _tokenizer_for(self.user_terms)
        return self._tokenizer

    @property
    def parts(self) -> dict[str, list[str]]:
        """User term -> its words under the default dictionary (terms that the default would not split are absent)."""
        if self._parts is None:
            # Filled aside and published whole: a thread that reads it meanwhile (requests run in a pool, the
            # service warms its caches in another thread) must never see a half-filled table.
            parts = {}
            if self.term_parts:
                base = _base_tokenizer()
                for term in _clean_terms(self.user_terms):
                    words = _jieba_tokens(term, base, self.stopwords, self.hmm)
                    if len(words) > 1 or (words and words[0] != term):
                        parts[term] = words
            self._parts = parts
        return self._parts

    def analyze(self, text: str | None) -> list[str]:
        """The tokens BM25 counts for ``text`` (documents and queries alike)."""
        return self.analyze_prepared(prepare_text(text))

    def analyze_prepared(self, prepared: str) -> list[str]:
        """``analyze`` of a text already through ``prepare_text``."""
        parts = self.parts
        tokens: list[str] = []
        for word in _jieba_tokens(prepared, self.tokenizer, self.stopwords, self.hmm):
            tokens.append(word)
            if word in parts:
                tokens.extend(parts[word])
        if self.char_bigrams:
            for run in _CJK_RUN.findall(prepared):
                tokens.extend(pair for pair in map(operator.add, run, run[1:]) if pair not in self.stopwords)
        return tokens

    def fit(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> Self:
        return self.fit_tokens([self.analyze(text) for text in texts], ids)  # jieba: nearly all of the time

    def fit_tokens(self, documents: Sequence[Sequence[str]], ids: Sequence[str] | None = None) -> Self:
        """``fit`` on each document's ``analyze`` tokens (the same result)."""
        lengths = np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))
        flat = np.fromiter(itertools.chain.from_iterable(documents), dtype=object, count=int(lengths.sum()))
        codes, terms = pd.factorize(flat)
        return self.fit_coded(codes, lengths, np.asarray(terms, dtype=object), ids)

    def fit_coded(
        self, codes: np.ndarray, lengths: np.ndarray, terms: np.ndarray, ids: Sequence[str] | None = None
    ) -> Self:
        """``fit`` on the documents' tokens as ``terms[codes]``, cut into documents by ``lengths``. The vocabulary
        is numbered in order of first appearance, as ``fit`` numbers it, whatever order ``terms`` is in."""
        n_docs = len(lengths)
        self._set_ids(n_docs, ids)
        columns, first = pd.factorize(np.asarray(codes, dtype=np.int64))  # hashing, not a dict per token
        self.vocabulary_ = dict(zip(np.asarray(terms, dtype=object)[first].tolist(), range(len(first)), strict=True))
        counts = sp.csr_matrix(
            (np.ones(len(columns), dtype=np.float64), (np.repeat(np.arange(n_docs), lengths), columns)),
            shape=(n_docs, len(self.vocabulary_)),
        )
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=len(self.vocabulary_))
        self.idf_ = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avgdl = lengths.mean() if lengths.any() else 1.0
        tf = counts.data
        norm = self.k1 * (1.0 - self.b + self.b * np.repeat(lengths, np.diff(counts.indptr)) / avgdl)
        counts.data = self.idf_[counts.indices] * tf / (tf + norm)
        self._postings = counts.T.tocsr().astype(np.float32)
        return self

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every fitted document, in fit order (0 where no term matches)."""
        self._check_fitted()
        known = Counter(self.vocabulary_[t] for t in self.analyze(query) if t in self.vocabulary_)
        return self._score_terms(np.fromiter(known.keys(), np.int64), np.fromiter(known.values(), np.float32))
