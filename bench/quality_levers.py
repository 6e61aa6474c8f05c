"""Retrieval levers of issue 17 item 3, measured blind: each lever's constant is chosen by cross-validation
(leave-one-industry-out over the blind needs, bench/evaluation.cross_validate) and only held-out folds are
reported, paired against the ranking without the lever, overall and on the card's groups.

The ranking measured is the service's semantic evidence without the business features: every capability
document scored by dense (e5) + 0.5 char TF-IDF + BM25 (z-scores over each query's top 100, as
matcher/matching/search.py), teams by the top-3 mean of their documents (candidates.py). A lever that does
not move this ranking cannot move the served list's semantic part either.

Levers:
- rare characters: the dense side sees embeddings.rare_chars.dense_text (element symbol or English name)
  on both the need and the documents; grid none / symbol / name (also on e5 alone and the char+e5 z-fusion);
- PRF: RM3-style feedback on BM25 from the first pass's fused top k documents; grid k x terms x lambda;
- field weighting: a second lexical field per document (achievement title + keywords; team name + discipline)
  added with weight g;
- key phrases: the need's title + keywords as a second query for every component, added with weight g;
- fusion weights: char and BM25 weights beside dense 1; aggregation: top-k mean for k in 1..5;
- scorer weights: the transparent scorer's term_overlap, best_evidence, lexical and dense weights, on the
  served features of the 150 scored candidates (ranked by raw score: no diversity or exploration place).
- hubness (documents that score high for every need): reference statistics of each document over every
  need in the database (sample + blind, unlabelled texts only), either CSLS (s - beta x the mean of the
  document's top-K fused scores, or of each component's top-K) or a per-document z (the document's scores
  over its top-K reference needs, or all of them) blended with the per-query z by alpha;
- query sentences: each sentence of the need a query of its own, + g x the max (or mean) over the
  sentences of each document's fused score.

Run: .venv/bin/python bench/quality_levers.py [--db PATH] [--only hubness|sentences]
(default: the blind bench database)
"""

import argparse
import itertools
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.evaluation import bootstrap, cross_validate, group_folds, paired_difference, query_metrics  # noqa: E402
from bench.match_quality import blind_database, labelled_sets  # noqa: E402
from embeddings.encoder import Encoder  # noqa: E402
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever  # noqa: E402
from embeddings.normalize import normalize_text  # noqa: E402
from embeddings.rare_chars import dense_text  # noqa: E402
from matcher.documents import _join, need_text  # noqa: E402
from matcher.matching.features import FEATURE_NAMES  # noqa: E402
from matcher.matching.rank import DEFAULT_WEIGHTS  # noqa: E402
from matcher.matching.service import MatchService  # noqa: E402


def z_top(raw: np.ndarray) -> np.ndarray:
    """Rows z-scored against their own top 100 (embeddings.hybrid's "zscore-top")."""
    raw = np.atleast_2d(raw)
    head = -np.partition(-raw, 99, axis=1)[:, :100]
    return (raw - head.mean(1, keepdims=True)) / np.maximum(head.std(1, keepdims=True), 1e-6)


class TeamRanker:
    """Teams ranked by the top-k mean of their documents' scores (padded owner x document matrix)."""

    def __init__(self, owners_of_docs: list[str]):
        self.owners = sorted(set(owners_of_docs))
        index = {o: i for i, o in enumerate(self.owners)}
        self.group = np.array([index[o] for o in owners_of_docs])
        self.pos = np.zeros(len(self.group), dtype=int)
        counts = np.zeros(len(self.owners), dtype=int)
        for j, g in enumerate(self.group):
            self.pos[j], counts[g] = counts[g], counts[g] + 1
        self.width = int(counts.max())

    def affinity(self, values: np.ndarray, k: int = 3) -> np.ndarray:
        matrix = np.full((len(self.owners), self.width), -np.inf)
        matrix[self.group, self.pos] = values
        top = -np.sort(-matrix, axis=1)[:, :k]
        finite = np.isfinite(top)
        return np.where(finite, top, 0).sum(1) / np.maximum(finite.sum(1), 1)

    def __call__(self, values: np.ndarray, k: int = 3) -> list[str]:
        affinity = self.affinity(values, k)
        return [self.owners[i] for i in sorted(range(len(self.owners)), key=lambda i: (-affinity[i], self.owners[i]))]


def prf_bm25(bm25: Bm25Retriever, text: str, first: np.ndarray, k: int, terms: int, lam: float) -> np.ndarray:
    """BM25 of the query mixed with the ``terms`` heaviest terms of its ``k`` best first-pass documents (RM3:
    (1 - lam) x the query's term distribution + lam x the feedback docs' mean BM25 term weights)."""
    known = Counter(bm25.vocabulary_[t] for t in bm25.analyze(text) if t in bm25.vocabulary_)
    weights: Counter = Counter({t: (1 - lam) * c / max(sum(known.values()), 1) for t, c in known.items()})
    if lam:
        feedback = np.asarray(bm25._postings[:, np.argsort(-first)[:k]].sum(axis=1)).ravel() / k
        top = np.argpartition(-feedback, terms)[:terms]
        for t, w in zip(top, feedback[top] / feedback[top].sum(), strict=True):
            weights[int(t)] += lam * w
    columns = np.fromiter(weights.keys(), np.int64)
    return np.asarray(bm25._postings[columns].T @ np.fromiter(weights.values(), np.float32)).ravel()


def components(service: MatchService, queries: list[str], only: str = "") -> dict:
    """Every matrix the levers need, (queries x capability documents), z-scored per query; with ``only``
    (levers named so), just the fused ranking's components and the hubness reference."""
    cat, caps = service.catalog, service.capabilities
    encoder = Encoder()
    docs = [service._capability_text(d) for d in caps.doc_ids]
    texts = [need_text(cat.needs[q]) for q in queries]
    keyphrases = [_join(cat.needs[q].title, cat.needs[q].keywords) for q in queries]

    def head(doc_id: str) -> str:
        kind, _, key = doc_id.partition(":")
        record = cat.teams[key] if kind == "team" else cat.achievements[key]
        return _join(record.name, record.discipline) if kind == "team" else _join(record.title, record.keywords)

    heads = [head(d) for d in caps.doc_ids]
    char, bm25 = caps.lexical["char"], caps.lexical["bm25"]
    head_char = CharTfidfRetriever().fit(heads)
    head_bm25 = Bm25Retriever(user_terms=sorted({k for a in cat.achievements.values() for k in a.keywords or ()}))
    head_bm25.fit(heads)
    if only:
        passages = encoder.encode(docs, kind="passage")
        extra = reference(service, encoder, passages) if "hubness" in only else {}
        if "sentences" in only:
            extra.update(sentence_components(service, encoder, texts, passages))
        return {"dense_none": z_top(encoder.encode(texts) @ passages.T),
                "char": z_top(np.vstack([char.scores(t) for t in texts])),
                "bm25": z_top(np.vstack([bm25.scores(t) for t in texts])), **extra}
    m = {
        "char": z_top(np.vstack([char.scores(t) for t in texts])),
        "bm25": z_top(np.vstack([bm25.scores(t) for t in texts])),
        "char_kp": z_top(np.vstack([char.scores(t) for t in keyphrases])),
        "bm25_kp": z_top(np.vstack([bm25.scores(t) for t in keyphrases])),
        "dense_kp": z_top(encoder.encode(keyphrases) @ caps.dense.vectors[caps.dense_rows].T),
        "head": z_top(np.vstack([0.5 * z_top(head_char.scores(t))[0] + z_top(head_bm25.scores(t))[0] for t in texts])),
    }
    for style in ("none", "symbol", "name"):
        show = (lambda t: t) if style == "none" else (lambda t, s=style: dense_text(normalize_text(t), s))
        passages = encoder.encode([show(t) for t in docs], kind="passage")
        m[f"dense_{style}"] = z_top(encoder.encode([show(t) for t in texts]) @ passages.T)
    first = m["dense_none"] + 0.5 * m["char"] + m["bm25"]
    m.update(reference(service, encoder, encoder.encode(docs, kind="passage")))
    m.update(sentence_components(service, encoder, texts, encoder.encode(docs, kind="passage")))
    for k, terms, lam in PRF_GRID[1:]:
        m["prf", k, terms, lam] = z_top(np.vstack([prf_bm25(bm25, t, f, k, terms, lam) for t, f in zip(texts, first,
                                                                                                       strict=True)]))
    return m


def sentences(text: str) -> list[str]:
    """A need's sentences (of 4 characters or more); the whole text when it has one."""
    parts = [p.strip() for p in re.split(r"[。！？；!?;\n]+", text) if len(p.strip()) >= 4]
    return parts if len(parts) > 1 else [text]


def sentence_components(service: MatchService, encoder: Encoder, texts: list[str], passages: np.ndarray) -> dict:
    """Each need's sentences as queries of their own (a cross-field need says its product in one sentence and
    what it wants done in another): per document the max and the mean over the sentences of the fused score
    (dense + 0.5 char + BM25, each z-scored per sentence over its top 100)."""
    caps = service.capabilities
    best, mean = [], []
    for text in texts:
        parts = sentences(text)
        fused = (z_top(encoder.encode(parts) @ passages.T)
                 + 0.5 * z_top(np.vstack([caps.lexical["char"].scores(t) for t in parts]))
                 + z_top(np.vstack([caps.lexical["bm25"].scores(t) for t in parts])))
        best.append(fused.max(0))
        mean.append(fused.mean(0))
    return {"sent_max": np.vstack(best), "sent_mean": np.vstack(mean)}


def reference(service: MatchService, encoder: Encoder, passages: np.ndarray) -> dict:
    """Each document's hubness statistics over every need in the database (the reference queries): per
    component, its scores (z over each need's top 100) sorted down the needs, so a top-K mean is one slice."""
    cat, caps = service.catalog, service.capabilities
    texts = [need_text(cat.needs[q]) for q in sorted(cat.needs)]
    dense = z_top(encoder.encode(texts) @ passages.T)
    char = z_top(np.vstack([caps.lexical["char"].scores(t) for t in texts]))
    bm25 = z_top(np.vstack([caps.lexical["bm25"].scores(t) for t in texts]))
    down = lambda x: -np.sort(-x, axis=0)  # noqa: E731
    fused = dense + 0.5 * char + bm25
    return {"ref_raw": fused, "ref_fused": down(fused), "ref_dense": down(dense), "ref_char": down(char),
            "ref_bm25": down(bm25)}


def hubness(m: dict, fused, rank: TeamRanker) -> dict[str, tuple[list, object]]:
    """The hubness levers (see the module docstring); K = None: every reference need. The team-level one
    subtracts the team's CSLS term from each of its documents, which shifts its top-3 mean by exactly that."""
    top = lambda name, k: m[name][:k].mean(0)  # noqa: E731
    teams = -np.sort(-np.vstack([rank.affinity(row) for row in m["ref_raw"]]), axis=0)
    team_top = lambda k: teams[:k].mean(0)[rank.group]  # noqa: E731
    csls = [(0, 0.0)] + [(k, b) for k in (5, 10, 20, 50) for b in (0.25, 0.5, 0.75, 1.0)]
    per = lambda k: top("ref_dense", k) + 0.5 * top("ref_char", k) + top("ref_bm25", k)  # noqa: E731

    def doc_z(g, i):
        k, a = g
        head = m["ref_fused"][:k]
        return (1 - a) * fused(i) + a * (fused(i) - head.mean(0)) / np.maximum(head.std(0), 1e-6)

    return {
        "hubness CSLS on fused: s - beta x top-K mean (K, beta)": (
            csls, lambda g, i: fused(i) - g[1] * top("ref_fused", g[0]) if g[0] else fused(i)),
        "hubness CSLS per component (K, beta)": (csls, lambda g, i: fused(i) - g[1] * per(g[0]) if g[0] else fused(i)),
        "hubness CSLS on teams' top-3 mean (K, beta)": (
            csls, lambda g, i: fused(i) - g[1] * team_top(g[0]) if g[0] else fused(i)),
        "hubness joint: per-document z (all needs, alpha) then teams' CSLS (K, beta, alpha)": (
            [(0, 0.0, 0.0)] + [(k, b, a) for k in (5, 10, 20) for b in (0, 0.25, 0.5, 0.75) for a in (0, 0.25, 0.5)
                               if b or a][:35],
            lambda g, i: doc_z((None, g[2]), i) - (g[1] * team_top(g[0]) if g[1] else 0)),
        "hubness per-document z over its top-K needs, blend alpha (K, alpha)": (
            [(None, 0.0)] + [(k, a) for k in (20, 50, None) for a in (0.1, 0.25, 0.5, 0.75, 1.0)], doc_z),
    }


PRF_GRID = [(0, 0, 0.0)] + [(k, t, lam) for k in (3, 5, 10) for t in (10, 20, 40) for lam in (0.1, 0.2, 0.3)]
WEIGHTS = [(0.5, 1.0)] + [(c, b) for c in (0, 0.25, 0.5, 1, 1.5) for b in (0, 0.5, 0.75, 1, 1.5)
                          if (c, b) != (0.5, 1.0)]


def levers(m: dict, rank: TeamRanker) -> dict[str, tuple[list, object]]:
    """Lever -> (grid, first value = without the lever; score(value, query row) -> document scores)."""
    d, c, b = m["dense_none"], m["char"], m["bm25"]
    fused = lambda i: d[i] + 0.5 * c[i] + b[i]  # noqa: E731
    rare = lambda s, i: m[f"dense_{s}"][i] + 0.5 * c[i] + b[i]  # noqa: E731
    return {
        "rare characters (fused)": (["none", "symbol", "name"], rare),
        "rare characters (e5 alone)": (["none", "symbol", "name"], lambda s, i: m[f"dense_{s}"][i]),
        "PRF on BM25 (k, terms, lambda)": (
            PRF_GRID, lambda g, i: d[i] + 0.5 * c[i] + (b if not g[0] else m["prf", *g])[i]),
        "field weighting: + g x lexical(title+keywords)": (
            [0, 0.1, 0.2, 0.3, 0.5, 1], lambda g, i: fused(i) + g * m["head"][i]),
        "key phrases: + g x all components(title+keywords)": (
            [0, 0.25, 0.5, 1],
            lambda g, i: fused(i) + g * (m["dense_kp"][i] + 0.5 * m["char_kp"][i] + m["bm25_kp"][i])),
        "fusion weights (char, BM25) beside dense 1": (WEIGHTS, lambda g, i: d[i] + g[0] * c[i] + g[1] * b[i]),
        **({"query sentences: + g x max over the need's sentences of the fused score": (
            [0, 0.25, 0.5, 1, 2], lambda g, i: fused(i) + g * m["sent_max"][i]),
            "query sentences: + g x mean over the need's sentences of the fused score": (
            [0, 0.25, 0.5, 1, 2], lambda g, i: fused(i) + g * m["sent_mean"][i])} if "sent_max" in m else {}),
        **({} if "ref_raw" not in m else hubness(m, fused, rank)),
    }


def scorer_weights(service: MatchService, queries: list[str], grades: dict, folds: list) -> str:
    """One table row: the semantic feature weights of the weighted scorer, chosen by CV."""
    names = ("term_overlap", "best_evidence", "lexical", "dense")
    base = tuple(DEFAULT_WEIGHTS[n] for n in names)
    grid = [base] + [g for g in itertools.product((0, 0.25, 0.5, 1, 1.5), (0, 0.3, 0.6, 1), (0, 0.25, 0.5),
                                                  (0, 0.25, 0.5)) if g != base]
    features = {}
    for q in queries:
        ranked = service.need_ranking(q)[1]
        features[q] = [s.key for s in ranked], np.array([[s.values[n] for n in FEATURE_NAMES] for s in ranked])
    per: dict = {}
    for g in grid:
        weights = np.array([dict(DEFAULT_WEIGHTS, **dict(zip(names, g, strict=True)))[n] for n in FEATURE_NAMES])
        for q, (keys, X) in features.items():
            score = X @ weights
            top = sorted(range(len(keys)), key=lambda i: (-score[i], keys[i]))[:10]
            per.setdefault(g, {})[q] = query_metrics([keys[i] for i in top], grades[q], 2)
    cv = cross_validate({q: {g: per[g][q] for g in grid} for q in queries}, folds, grid)
    held, without = [cv.held_out[q]["nDCG@10"] for q in queries], [per[base][q]["nDCG@10"] for q in queries]
    diff = paired_difference(held, without)
    chosen = ", ".join(f"{v} x{n}" for v, n in Counter(v for _, v in cv.chosen).most_common(2))
    return (f"| scorer weights {names} (now {base}) | {chosen} | {np.mean(without):.3f} / {np.mean(held):.3f} | | | "
            f"{diff.mean:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}] |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a database holding the sample and the blind needs, indexed")
    parser.add_argument("--only", default="", help="run only the levers whose name holds this (e.g. hubness)")
    args = parser.parse_args()
    from matcher.settings import database_url
    from matcher.store.db import open_database

    service = MatchService(open_database(database_url(args.db) if args.db else blind_database()), store_runs=False)
    lset = labelled_sets("blind")[0]
    queries = sorted(q for q in lset.grades if q in service.warm().catalog.needs)
    folds = group_folds(queries, lambda q: service.catalog.enterprise_of(q).industry or "?")
    rank = TeamRanker(service.capabilities.owner)
    m = components(service, queries, args.only)
    groups = {"all": set(queries), **{g: lset.groups[g] for g in ("rare characters", "cross-field")}}
    print(f"blind needs -> teams, {len(queries)} needs; nDCG@10, held-out folds (leave-one-industry-out)")
    print("| lever | chosen per fold | " + " | ".join(f"without / with ({g})" for g in groups)
          + " | with - without (all), paired |\n|---|---|" + "---|" * (len(groups) + 1))
    for name, (grid, score) in levers(m, rank).items():
        if args.only not in name:
            continue
        per = {g: {q: query_metrics(rank(score(g, i))[:10], lset.grades[q], 2) for i, q in enumerate(queries)}
               for g in grid}
        cv = cross_validate({q: {g: per[g][q] for g in grid} for q in queries}, folds, grid)
        chosen = Counter(str(v) for _, v in cv.chosen).most_common()
        cells = [f"{bootstrap([per[grid[0]][q]['nDCG@10'] for q in queries if q in ids]).mean:.3f} / "
                 f"{bootstrap([cv.held_out[q]['nDCG@10'] for q in queries if q in ids]).mean:.3f}"
                 for ids in groups.values()]
        diff = paired_difference([cv.held_out[q]["nDCG@10"] for q in queries],
                                 [per[grid[0]][q]["nDCG@10"] for q in queries])
        print(f"| {name} | " + ", ".join(f"{v} x{n}" for v, n in chosen) + " | " + " | ".join(cells)
              + f" | {diff.mean:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}] |")
    if args.only:
        return
    aggregation = {k: {q: query_metrics(rank(m["dense_none"][i] + 0.5 * m["char"][i] + m["bm25"][i], k)[:10],
                                        lset.grades[q], 2) for i, q in enumerate(queries)} for k in (3, 1, 2, 4, 5)}
    cv = cross_validate({q: {k: aggregation[k][q] for k in aggregation} for q in queries}, folds, list(aggregation))
    diff = paired_difference([cv.held_out[q]["nDCG@10"] for q in queries],
                             [aggregation[3][q]["nDCG@10"] for q in queries])
    print(scorer_weights(service, queries, lset.grades, folds))
    print(f"| aggregation: top-k mean (k=3 served) | {Counter(v for _, v in cv.chosen).most_common()} | "
          f"{diff.mean:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}] |")


if __name__ == "__main__":
    main()
