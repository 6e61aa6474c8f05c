"""Find records by what staff type: an id, a fragment of a name, a short name, a typo or pinyin initials.

``NameIndex((id, name), ...)`` is built once (20,000 names in well under a second) and answers a
search in milliseconds. Matches come in tiers, each with its own score band so the best come first:

=========== ======================================================================== ===========
how         when                                                                     score
=========== ======================================================================== ===========
编号        the query is an id (case does not matter)                                 1.0
名称相同    the same name, ignoring legal form (有限公司...) and leading places         0.97-0.99
名称包含    the query is part of the name (鑫瑞; 芦溪华源 in 萍乡市芦溪县华源粉体...)       0.70-0.95
拼音首字母  Latin letters that are the name's pinyin initials (xrhg)                 0.60-0.69
近似名称    close in characters or in sound (鑫锐化工; 汇鼎环宝)                        up to 0.59
=========== ======================================================================== ===========

Within 名称包含 and 拼音首字母 a query that covers more of the name's distinctive part (without places
and legal form) ranks higher. 近似名称 uses rapidfuzz over the names' sounds (a homophone typo costs
nothing there), then reranks the closest by their characters; a query's place that the name does
not carry costs a tenth of the score.
"""

import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from matcher.lookup.forms import Forms, forms, forms_of, initials_of, initials_pattern, is_initials_query, sounds_of

BY_ID, SAME, CONTAINS, INITIALS, FUZZY = "编号", "名称相同", "名称包含", "拼音首字母", "近似名称"
FUZZY_BAND = 0.59
RERANK = 60  # near names reranked by their characters
CLEAR_MARGIN = 8  # similarity points by which one near name must beat the next to be "the" match
SHOWN = 5  # candidates named in an ambiguity message


@dataclass(frozen=True)
class Hit:
    id: str
    name: str
    score: float
    how: str


class _Column:
    """One text per record joined into a single string, for fast substring search over all of them."""

    def __init__(self, texts: list[str]):
        self.starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0)) if texts else []
        self.text = "\x00".join(texts)

    def containing(self, part: str) -> list[int]:
        return self._each(lambda start: self.text.find(part, start))

    def matching(self, pattern: re.Pattern) -> list[int]:
        def search(start: int) -> int:
            found = pattern.search(self.text, start)
            return -1 if found is None else found.start()

        return self._each(search)

    def _each(self, find) -> list[int]:
        """Every record where ``find(from)`` (the next position at or after ``from``, -1 for none) lands."""
        found, at = [], find(0)
        while at != -1:
            record = bisect_right(self.starts, at) - 1
            found.append(record)
            if record + 1 >= len(self.starts):
                break
            at = find(self.starts[record + 1])
        return found


class NameIndex:
    def __init__(self, items: Iterable[tuple[str, str]]):
        pairs = [(str(id_), name or "") for id_, name in items]
        self._ids = [id_ for id_, _ in pairs]
        self._names = [name for _, name in pairs]
        self._forms = forms_of(self._names)
        self._ids_exact = set(self._ids)
        self._by_id: dict[str, list[int]] = defaultdict(list)
        self._equal: dict[str, set[int]] = defaultdict(set)  # any form of a name -> the names having it
        for i, (id_, f) in enumerate(zip(self._ids, self._forms, strict=True)):
            self._by_id[id_.strip().lower()].append(i)
            self._equal[f.full].add(i)
            self._equal[f.body].add(i)
            self._equal[f.core].add(i)
        bodies = [f.body for f in self._forms]
        self._cores = [f.core for f in self._forms]
        self._full = _Column([f.full for f in self._forms])
        self._body = _Column(bodies)
        self._core = _Column(self._cores)
        self._initials = _Column(initials_of(bodies))
        self._sounds = sounds_of(self._cores)
        self._core_len = np.array([len(c) for c in self._cores], dtype=np.int32)
        postings: dict[str, list[int]] = defaultdict(list)
        for i, heard in enumerate(self._sounds):
            for symbol in set(heard):
                postings[symbol].append(i)
        self._postings = {symbol: np.array(rows, dtype=np.int32) for symbol, rows in postings.items()}

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """The best ``limit`` records for ``query``, best first; [] for a blank query."""
        text = (query or "").strip()
        if not text or limit <= 0:
            return []
        best: dict[int, tuple[float, str]] = {}

        def offer(i: int, score: float, how: str) -> None:
            if i not in best or best[i][0] < score:
                best[i] = (score, how)

        for i in self._by_id.get(text.lower(), ()):
            offer(i, 1.0, BY_ID)
        q = forms(text)
        if q.full:
            self._same(q, offer)
            self._contains(q, offer)
            if is_initials_query(q.full):
                pattern = initials_pattern(q.full)
                for i in self._initials.matching(pattern):
                    skip = len(self._forms[i].body) - len(self._cores[i])  # where the core begins (汇鼎 in 萍乡市汇鼎)
                    starts = pattern.match(self._initials.text, self._initials.starts[i] + skip) is not None
                    offer(i, 0.60 + 0.04 * starts + 0.05 * self._coverage(q.full, i), INITIALS)
            elif len(q.core) >= 2:
                for i, similarity in self._near(q):
                    offer(i, FUZZY_BAND * similarity / 100, FUZZY)
        order = sorted(best, key=lambda i: (-best[i][0], len(self._names[i]), self._ids[i]))[:limit]
        return [Hit(self._ids[i], self._names[i], round(best[i][0], 4), best[i][1]) for i in order]

    def resolve(self, query: str, what: str) -> str:
        """The id ``query`` stands for: an exact id, or the one clear best name match; otherwise LookupError
        in Chinese naming up to five candidates as "名称 (编号)". ``what`` names the kind, e.g. "企业"."""
        text = (query or "").strip()
        if text in self._ids_exact:
            return text
        hits = self.search(text, limit=max(SHOWN + 1, 20))
        if not hits:
            raise LookupError(f"没有找到与「{text}」相符的{what}（可输入名称的一部分、简称、拼音首字母或编号）")
        top = hits[0]
        if top.how == BY_ID:
            return top.id
        tier = [h for h in hits if h.how == top.how]
        if len(tier) == 1:
            return top.id
        if top.how == FUZZY and (top.score - tier[1].score) * 100 / FUZZY_BAND >= CLEAR_MARGIN:
            return top.id
        shown = "、".join(f"{h.name} ({h.id})" for h in tier[:SHOWN])
        more = f"等 {len(tier)} 个" if len(tier) > SHOWN else ""
        same = len({h.name for h in tier}) == 1
        hint = "；这些记录名称完全相同，可能是重复录入，请用编号" if same else "；请写得更完整，或直接用编号"
        raise LookupError(f"与「{text}」相符的{what}不止一个：{shown}{more}{hint}")

    # ---- tiers ----------------------------------------------------------------------------------------
    def _coverage(self, part: str, i: int) -> float:
        return min(1.0, len(part) / max(1, len(self._cores[i])))

    def _same(self, q: Forms, offer) -> None:
        for i in set().union(*(self._equal.get(form, ()) for form in (q.full, q.body, q.core))):
            f = self._forms[i]
            if q.full == f.full or q.body == f.body:
                offer(i, 0.99, SAME)
            elif q.core == f.core and q.fits_places(f.full):
                offer(i, 0.97, SAME)

    def _contains(self, q: Forms, offer) -> None:
        def score(i: int) -> float:
            return 0.70 + 0.25 * self._coverage(q.core, i)

        for i in self._full.containing(q.full):
            offer(i, score(i), CONTAINS)
        if q.body != q.full:
            for i in self._body.containing(q.body):
                offer(i, score(i), CONTAINS)
        if q.core != q.body and len(q.core) >= 2:
            for i in self._core.containing(q.core):
                if q.fits_places(self._forms[i].full):
                    offer(i, score(i), CONTAINS)

    def _near(self, q: Forms) -> list[tuple[int, float]]:
        """(record, similarity 0-100) of the names close to the query's core: found by sound, at most one
        slip in three characters (a two-character query: homophones only), ranked by sound and characters."""
        from rapidfuzz import fuzz, process

        heard_query = sounds_of([q.core])[0]
        size, symbols = len(heard_query), set(heard_query)
        need = size - size // 3  # characters of the query that must be found in order
        # Only names sharing enough of the query's syllables can reach ``need`` (partial_ratio's shorter
        # windows at the edges included): a posting count instead of a scan of every name.
        common = max(1, math.ceil(need * size / (2 * size - need) - 1e-9) - (size - len(symbols)))
        counts = np.zeros(len(self._cores), dtype=np.int16)
        for symbol in symbols:
            if symbol in self._postings:
                counts[self._postings[symbol]] += 1
        pool = np.flatnonzero(counts >= common)
        if not len(pool):
            return []
        fit, heard = _similarity(heard_query, [self._sounds[i] for i in pool], self._core_len[pool], process, fuzz)
        keep = np.flatnonzero(fit >= 100 * need / size - 0.01)
        keep = keep[np.argsort(-heard[keep], kind="stable")][:RERANK]
        close = pool[keep]
        if not len(close):
            return []
        _, written = _similarity(q.core, [self._cores[i] for i in close], self._core_len[close], process, fuzz)
        return [(i, (h + w) / 2 * (1.0 if q.fits_places(self._forms[i].full) else 0.9))
                for i, h, w in zip(close.tolist(), heard[keep].tolist(), written.tolist(), strict=True)]


def _similarity(query: str, texts: list[str], lengths: np.ndarray, process, fuzz) -> tuple[np.ndarray, np.ndarray]:
    """How well the query fits inside each text (a text shorter than the query is compared whole, so a
    short name does not fit every query), and the score to rank by: mostly that fit, a little the whole."""
    partial = process.cdist([query], texts, scorer=fuzz.partial_ratio, dtype=np.float32, score_cutoff=50)[0]
    whole = process.cdist([query], texts, scorer=fuzz.ratio, dtype=np.float32)[0]
    longer = lengths >= len(query)
    return np.where(longer, partial, whole), np.where(longer, 0.8 * partial + 0.2 * whole, whole)
