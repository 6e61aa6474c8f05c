"""What the lexical retrievers read: the lexical normal form of a text, and its jieba words.

Every text (documents, queries, user terms) goes through ``embeddings.normalize.normalize_text``
(traditional -> simplified, full-width -> half-width, one space) and is lower-cased here, so 鋰雲母 meets
锂云母 and ＰＣＢ meets pcb.

jieba: each set of user terms gets its own ``jieba.Tokenizer`` (never the global ``jieba.dt``), so
retrievers built with different dictionaries do not interfere. The main dictionary is loaded once per
process (~1 s, from jieba's own cache file) into a private base tokenizer; a retriever's tokenizer copies its
word table (~15 ms) and adds the user terms.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from math import log

import jieba

from embeddings.normalize import normalize_text

logging.getLogger("jieba").setLevel(logging.WARNING)  # jieba logs its dictionary loading at DEBUG/INFO

# Function words only: content words common in abstracts (研究, 方法, 提出) are left to IDF.
_STOPWORDS = """
的 地 得 了 着 过 和 与 及 以及 并 并且 或 或者 而 而且 且 在 是 对 对于 等 等等 中 为 为了
一种 一个 一些 我们 我 你 他 她 它 其 其中 该 这 这些 这种 这个 那 那些 之 之间 被 把 将 从
由 于 以 也 都 就 但 但是 又 及其 可 可以 能 能够 所 向 各 每 此 因此 因为 所以 如 如何 即 则
其他 已 已经 还 很 更 最 使 使得 让 给 个 们 上 下 后 前 时
"""
DEFAULT_STOPWORDS: frozenset[str] = frozenset(_STOPWORDS.split())

_WORD_CHAR = re.compile(r"[^\W_]")  # a token must contain a letter, digit or CJK character
_NON_WORD = re.compile(r"[^\w\s]+|_+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
_RE_HAN, _RE_SKIP, _RE_ENG = jieba.re_han_default, jieba.re_skip_default, jieba.re_eng  # jieba.cut's own


def prepare_text(text: str | None) -> str:
    """The lexical normal form: ``normalize_text`` then lower case (ASCII abbreviations match any case)."""
    return normalize_text(text).lower()


def ngram_text_of(prepared: str) -> str:
    """What character n-grams are taken from, given prepared text: punctuation and symbols turned into spaces."""
    return " ".join(_NON_WORD.sub(" ", prepared).split())


def _ngram_text(text: str | None) -> str:
    return ngram_text_of(prepare_text(text))


@lru_cache(maxsize=1)
def _base_tokenizer() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _clean_terms(terms: Iterable[str]) -> frozenset[str]:
    """Normalised, lower-cased user terms for the dictionary.

    jieba cannot match across spaces, so spaced terms are split. Pure-ASCII terms (PCB, NdFeB) are left out:
    jieba keeps ASCII runs whole anyway, and as dictionary words they would split longer runs (pcb | a in pcba).
    """
    return frozenset(part for term in terms for part in prepare_text(term).split(" ") if part and not part.isascii())


def make_tokenizer(user_terms: Iterable[str] = ()) -> jieba.Tokenizer:
    """A new private jieba tokenizer: the default dictionary plus ``user_terms`` kept whole.

    The global ``jieba.dt`` is never touched. The default dictionary is loaded once per process and copied.
    """
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(base.FREQ), base.total
    tokenizer.initialized = True
    for term in sorted(_clean_terms(user_terms)):
        tokenizer.add_word(term)  # frequency suggested by jieba so the term is not split
    return tokenizer


@lru_cache(maxsize=4)
def _shared_tokenizer(terms: frozenset[str]) -> jieba.Tokenizer:
    # Identical term sets share one tokenizer; it is never mutated after construction.
    return make_tokenizer(terms)


def _tokenizer_for(user_terms: Iterable[str] | jieba.Tokenizer) -> jieba.Tokenizer:
    if isinstance(user_terms, jieba.Tokenizer):
        return user_terms
    return _shared_tokenizer(_clean_terms(user_terms))


def _route(block: str, freq: dict, logtotal: float) -> list[int]:
    """For each position of a Chinese block, where jieba's best path goes next: ``get_DAG`` and ``calc`` of
    ``jieba.Tokenizer`` fused into one loop with the same arithmetic (so the same floats, the same ties: the
    longer word wins), ~2x faster, as building the BM25 index is nearly all this."""
    n = len(block)
    score = [0.0] * (n + 1)
    step = list(range(1, n + 1)) + [0]
    for start in range(n - 1, -1, -1):
        best, end = None, start
        i, frag = start, block[start]
        while i < n:
            f = freq.get(frag)
            if f is None:
                break
            if f:
                s = log(f) - logtotal + score[i + 1]
                if best is None or s >= best:
                    best, end = s, i
            i += 1
            frag = block[start : i + 1]
        if best is None:  # no dictionary word starts here: the character alone
            best = log(freq.get(block[start]) or 1) - logtotal + score[start + 1]
        score[start], step[start] = best, end + 1
    return step


def _cut_no_hmm(tokenizer: jieba.Tokenizer, sentence: str):
    """``tokenizer.cut(sentence, HMM=False)``, word for word (tests/test_lexical.py compares them)."""
    tokenizer.check_initialized()
    freq, logtotal = tokenizer.FREQ, log(tokenizer.total)
    for block in _RE_HAN.split(sentence):
        if not block:
            continue
        if not _RE_HAN.match(block):
            for part in _RE_SKIP.split(block):
                if _RE_SKIP.match(part):
                    yield part
                else:
                    yield from part
            continue
        step, x, n, buf = _route(block, freq, logtotal), 0, len(block), ""
        while x < n:
            y = step[x]
            word = block[x:y]
            if y - x == 1 and _RE_ENG.match(word):  # single letters and digits run together, as jieba does
                buf += word
            else:
                if buf:
                    yield buf
                    buf = ""
                yield word
            x = y
        if buf:
            yield buf


def _jieba_tokens(text: str, tokenizer: jieba.Tokenizer, stopwords: frozenset[str], hmm: bool) -> list[str]:
    """Segment already-prepared text; drop whitespace, punctuation-only tokens and stopwords."""
    words = tokenizer.cut(text, HMM=True) if hmm else _cut_no_hmm(tokenizer, text)
    return [t for t in words if t not in stopwords and _WORD_CHAR.search(t)]


def _as_stopwords(stopwords: Iterable[str]) -> frozenset[str]:
    return stopwords if isinstance(stopwords, frozenset) else frozenset(stopwords)


def tokenize(
    text: str | None,
    user_terms: Iterable[str] | jieba.Tokenizer = (),
    stopwords: Iterable[str] = DEFAULT_STOPWORDS,
    hmm: bool = False,
) -> list[str]:
    """jieba words of the normalised, lower-cased ``text``: user terms kept whole, punctuation and stopwords dropped.

    ``user_terms`` is a collection of domain terms (or a tokenizer from ``make_tokenizer``); ASCII runs such as
    PCB, NdFeB, 5G come out as single lower-case tokens. ``hmm``: jieba's HMM guessing of unknown words (off by
    default: out-of-dictionary runs come out as single characters, deterministic and what measured best).
    """
    return _jieba_tokens(prepare_text(text), _tokenizer_for(user_terms), _as_stopwords(stopwords), hmm)
