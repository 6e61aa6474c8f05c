"""Retrieval benchmark: BM25, char TF-IDF, dense (e5) and hybrid on CSL dev (1,000 real Chinese
abstracts), plus team-profile aggregation on the sample's labelled needs, and speed figures.

Run: .venv/bin/python bench/retrieval.py [--papers PATH] [--skip-speed]
Known-item retrieval: docs = abstracts; queries = titles, and "novel keywords" (author keywords
that occur verbatim in neither title nor abstract). Routing: leave-one-out majority discipline of
the 10 nearest abstracts. Vectors are cached on disk, so a second run only re-measures speed.
"""

import argparse
import csv
import json
import resource
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embeddings.dense_index import DenseIndex  # noqa: E402
from embeddings.encoder import Encoder  # noqa: E402
from embeddings.hybrid import HybridRetriever, default_hybrid, normalise  # noqa: E402
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever  # noqa: E402
from embeddings.profiles import AGGREGATIONS, owner_scores  # noqa: E402

PAPERS = ROOT.parent / "shared" / "data" / "csl-dev" / "papers.tsv"
HYBRID = "hybrid (default): z-score over top 100; dense 1, char .5, BM25 1"


def load_papers(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        keywords = [k.strip() for k in row["keywords"].split(";") if k.strip()]
        row["novel"] = " ".join(k for k in keywords if k not in row["title"] and k not in row["abstract"])
        row["keyword_list"] = keywords
    return rows


def rank_metrics(scores: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """MRR@10, R@1, R@10 for score rows whose relevant doc is targets[i]."""
    target_scores = scores[np.arange(len(targets)), targets]
    ranks = (scores > target_scores[:, None]).sum(axis=1) + 1
    return {"MRR@10": float(np.where(ranks <= 10, 1.0 / ranks, 0).mean()), "R@1": float((ranks == 1).mean()),
            "R@10": float((ranks <= 10).mean())}


def routing_accuracy(similarity: np.ndarray, labels: list[str], k: int = 10) -> float:
    sim = similarity.copy()
    np.fill_diagonal(sim, -np.inf)
    nearest = np.argsort(-sim, axis=1)[:, :k]
    hits = [Counter(labels[j] for j in row).most_common(1)[0][0] == labels[i] for i, row in enumerate(nearest)]
    return float(np.mean(hits))


def fused(parts: list[tuple[np.ndarray, float]], how: str = "zscore-top") -> np.ndarray:
    return sum(w * normalise(s, how) for s, w in parts)


def csl_quality(papers: list[dict], encoder: Encoder) -> dict:
    abstracts = [p["abstract"] for p in papers]
    labels = [p["discipline"] for p in papers]
    keywords = sorted({k for p in papers for k in p["keyword_list"]})
    char = CharTfidfRetriever().fit(abstracts)
    bm25 = Bm25Retriever(user_terms=keywords).fit(abstracts)
    passages = {"query-both": encoder.encode(abstracts, kind="query")}
    passage_encoder = Encoder(prompt_scheme="query-passage")
    passages["query-passage"] = passage_encoder.encode(abstracts, kind="passage")
    sets = {"title": (list(range(len(papers))), [p["title"] for p in papers])}
    novel = [i for i, p in enumerate(papers) if p["novel"]]
    sets["novel keywords"] = (novel, [papers[i]["novel"] for i in novel])

    table: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for name, (targets, queries) in sets.items():
        targets = np.array(targets)
        qv = encoder.encode(queries, kind="query")
        s_char = np.vstack([char.scores(q) for q in queries])
        s_bm25 = np.vstack([bm25.scores(q) for q in queries])
        s_dense = qv @ passages["query-both"].T
        s_dense_qp = qv @ passages["query-passage"].T
        candidates = {
            "BM25 (jieba + keyword dictionary)": s_bm25,
            "char TF-IDF": s_char,
            "dense e5, query->passage": s_dense_qp,
            "dense e5, query prompt both sides": s_dense,
            "RRF(BM25, dense)": fused([(s_bm25, 1), (s_dense, 1)], "rrf"),
            "z-score over all docs (dense 1, char .5, BM25 1)": fused([(s_dense, 1), (s_char, .5), (s_bm25, 1)],
                                                                       "zscore"),
            HYBRID: fused([(s_dense, 1), (s_char, .5), (s_bm25, 1)]),
        }
        for method, scores in candidates.items():
            table[method][name] = rank_metrics(scores, targets)

    doc_dense = passages["query-both"] @ passages["query-both"].T
    doc_char = np.vstack([char.scores(a) for a in abstracts])
    doc_bm25 = np.vstack([bm25.scores(a) for a in abstracts])
    routing = {
        "BM25 (jieba + keyword dictionary)": routing_accuracy(doc_bm25, labels),
        "char TF-IDF": routing_accuracy(doc_char, labels),
        "dense e5, query prompt both sides": routing_accuracy(doc_dense, labels),
        "dense e5, query->passage": routing_accuracy(passages["query-passage"] @ passages["query-passage"].T, labels),
        HYBRID: routing_accuracy(fused([(doc_dense, 1), (doc_char, .5), (doc_bm25, 1)]), labels),
    }
    return {"table": table, "routing": routing, "n_novel": len(novel)}


def sample_profiles(encoder: Encoder) -> dict[str, dict[str, float]]:
    """nDCG@10 of team rankings for the sample's labelled needs, per profile aggregation."""
    sample = ROOT / "data" / "sample"
    with (sample / "teams.csv").open(encoding="utf-8") as f:
        teams = list(csv.DictReader(f))
    achievements = [json.loads(line) for line in (sample / "achievements.jsonl").open(encoding="utf-8")]
    with (sample / "needs.csv").open(encoding="utf-8-sig") as f:
        needs = {row["编号"]: row for row in csv.DictReader(f)}
    grades: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (sample / "labels" / "need_teams.jsonl").open(encoding="utf-8"):
        label = json.loads(line)
        grades[label["need_id"]][label["team_id"]] = label["grade"]
    docs = [(f"team:{t['id']}", t["id"], "。".join(filter(None, (t["name"], t["discipline"], t["description"]))))
            for t in teams]
    docs += [(f"ach:{a['id']}", a["team_id"], "。".join(filter(None, (a["title"], a.get("keywords"), a["abstract"]))))
             for a in achievements]
    ids, owners, texts = zip(*docs, strict=True)
    owner_of = dict(zip(ids, owners, strict=True))
    keywords = sorted({k for a in achievements for k in (a.get("keywords") or "").split(";") if k})
    methods = {
        "dense": HybridRetriever(encoder, [], 1.0),
        "char TF-IDF": HybridRetriever(None, [(CharTfidfRetriever(), 1.0)], 0.0),
        "BM25": HybridRetriever(None, [(Bm25Retriever(user_terms=keywords), 1.0)], 0.0),
        "hybrid (default)": default_hybrid(encoder, keywords),
    }
    need_ids = sorted(grades)
    queries = ["。".join(filter(None, (needs[n]["需求名称"], needs[n]["关键词"], needs[n]["需求描述"])))
               for n in need_ids]
    results: dict[str, dict[str, float]] = {}
    for name, retriever in methods.items():
        retriever.fit(list(texts), list(ids))
        scores = retriever.scores(queries)
        for how in AGGREGATIONS:
            values = []
            for row, need in zip(scores, need_ids, strict=True):
                affinity = owner_scores(ids, row, owner_of, how)
                ranked = sorted(affinity, key=affinity.get, reverse=True)[:10]
                values.append(ndcg(ranked, grades[need]))
            results.setdefault(name, {})[how] = float(np.mean(values))
    return results


def ndcg(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    gain = sum((2 ** grades.get(t, 0) - 1) / np.log2(i + 2) for i, t in enumerate(ranked[:k]))
    ideal = sum((2 ** g - 1) / np.log2(i + 2) for i, g in enumerate(sorted(grades.values(), reverse=True)[:k]))
    return gain / ideal if ideal else 0.0


def speed(papers: list[dict]) -> dict[str, float]:
    abstracts = [p["abstract"] for p in papers[:400]]
    out = {}
    for backend in ("torch", "onnx-int8"):
        encoder = Encoder(cache=False, max_seq_length=256, backend=backend)
        encoder.encode(abstracts[:16])  # warm-up: load the model
        start = time.perf_counter()
        vectors = encoder.encode(abstracts)
        out[f"encode abstracts/s ({backend}, 256 tokens, {len(abstracts)} CSL abstracts)"] = (
            len(abstracts) / (time.perf_counter() - start))
        if backend == "torch":
            base = vectors
    rng = np.random.default_rng(0)
    n = 100_000
    cloud = base[rng.integers(0, len(base), n)] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    cloud /= np.linalg.norm(cloud, axis=1, keepdims=True)
    queries = cloud[rng.integers(0, n, 200)] + rng.normal(0, 0.02, (200, base.shape[1])).astype(np.float32)
    ids = [str(i) for i in range(n)]
    for label, threshold in (("flat", 10**9), ("hnsw", 1)):
        index = DenseIndex(base.shape[1], "bench", hnsw_from=threshold)
        start = time.perf_counter()
        index.add(ids, cloud)
        out[f"{label} index build s (100k vectors)"] = time.perf_counter() - start
        start = time.perf_counter()
        found = index.search(queries, 10)
        out[f"{label} search ms/query (100k)"] = (time.perf_counter() - start) / len(queries) * 1000
        if label == "flat":
            truth = found
    out["hnsw recall@10 vs exact (100k)"] = float(np.mean(
        [len({i for i, _ in t} & {i for i, _ in f}) / 10 for t, f in zip(truth, found, strict=True)]))
    out["peak memory MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=Path, default=PAPERS)
    parser.add_argument("--skip-speed", action="store_true")
    options = parser.parse_args()
    papers = load_papers(options.papers)
    encoder = Encoder()
    quality = csl_quality(papers, encoder)
    print(f"\nCSL dev ({len(papers)} abstracts; {quality['n_novel']} papers with novel keywords), "
          f"model {encoder.model_id}")
    print("\n| method | title MRR@10 | R@1 | R@10 | novel kw MRR@10 | R@1 | R@10 | routing acc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, sets in quality["table"].items():
        t, n = sets["title"], sets["novel keywords"]
        routing = quality["routing"].get(method)
        print(f"| {method} | {t['MRR@10']:.3f} | {t['R@1']:.3f} | {t['R@10']:.3f} | {n['MRR@10']:.3f} | "
              f"{n['R@1']:.3f} | {n['R@10']:.3f} | {'' if routing is None else f'{routing:.3f}'} |")
    profiles = sample_profiles(encoder)
    print("\nTeam profiles on data/sample labels (nDCG@10 over labelled needs), by aggregation:")
    print("\n| method | " + " | ".join(AGGREGATIONS) + " |")
    print("|---|" + "---:|" * len(AGGREGATIONS))
    for method, row in profiles.items():
        print(f"| {method} | " + " | ".join(f"{row[a]:.3f}" for a in AGGREGATIONS) + " |")
    if not options.skip_speed:
        print("\n| speed (2 cores) | value |\n|---|---:|")
        for name, value in speed(papers).items():
            print(f"| {name} | {value:,.3f} |")


if __name__ == "__main__":
    main()
