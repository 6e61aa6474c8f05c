"""The researchers' direction (teams -> needs): which evidence a firm list should rank by, chosen by
cross-validation on the labelled team sets.

For every labelled team and every open need it computes two views of the same pairs, component by
component (e5, char TF-IDF, BM25; z-scores per query, top-3 mean over the team's documents):
- forward: the team's documents searched over the needs index (the firm-list evidence until 2026-12);
- reverse: the need's own query over the capability documents (need_queries; the match list's view).
A blend ``a`` mixes them per document (0 forward, 1 reverse) before the service's pair features are
added (weights as served; field fit with its served weight or 0), and the list is made as served
(cap:3 per enterprise, one exploration place). ``a`` and the field weight are chosen by 5-fold CV by
team (bench/evaluation.py); held-out nDCG@10 is shown with bootstrap intervals and paired differences
against char TF-IDF alone in both views, beside the served list itself.

Run: .venv/bin/python bench/firm_lists.py [--set sample|blind|all]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import match_quality as mq  # noqa: E402
from bench.evaluation import bootstrap, cross_validate, kfold, paired_difference, query_metrics  # noqa: E402
from matcher.matching import needs_for_teams as nft  # noqa: E402
from matcher.matching.candidates import owner_evidence  # noqa: E402
from matcher.matching.diversity import Policy, diversify  # noqa: E402
from matcher.matching.exploration import explore  # noqa: E402
from matcher.matching.features import QueryContext, pair_features  # noqa: E402
from matcher.matching.need_queries import need_query  # noqa: E402
from matcher.matching.rank import DEFAULT_WEIGHTS, WeightedScorer  # noqa: E402
from matcher.matching.service import MatchService  # noqa: E402
from matcher.store.db import open_database  # noqa: E402

BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)
FIELD = (DEFAULT_WEIGHTS["field_fit"], 0.0)
COMPONENTS = ("dense", "char", "bm25")
OTHER = ("term_overlap", "region", "history_enterprise", "history_industry", "history_pair", "readiness", "recency")


def team_views(service: MatchService, team_id: str, need_ids: list[str], need_rows: np.ndarray) -> dict:
    caps, search, catalog = service.capabilities, service.needs_search, service.catalog
    docs = [caps.doc_ids[r] for r in caps.rows_of_owner[team_id]]
    forward = {c: [] for c in COMPONENTS}
    for d in docs:
        z = search.query(nft.capability_text(catalog, d), caps.dense.vector(d)).components(need_rows)
        for c in COMPONENTS:
            forward[c].append(z[c])
    reverse = {c: np.zeros((len(docs), len(need_ids))) for c in COMPONENTS}
    other = np.zeros((len(OTHER), len(need_ids)))
    for j, n in enumerate(need_ids):
        query = need_query(service, n)
        z = query.components(caps.rows_of_owner[team_id])
        for c in COMPONENTS:
            reverse[c][:, j] = z[c]
        need = catalog.needs[n]
        ctx = QueryContext(query.text, n, need.enterprise_id, service.key_terms(query.text, need.keywords), {})
        evidence = owner_evidence(query, [team_id])[team_id]
        values = pair_features(catalog, ctx, team_id, evidence, service.team_text(team_id))
        other[:, j] = [values[f] for f in OTHER]
    field = nft.field_scores(service, team_id, need_ids)
    return {"forward": {c: np.vstack(v) for c, v in forward.items()}, "reverse": reverse, "other": other,
            "field": np.array([field.get(n, 0.0) for n in need_ids])}


def score(view: dict, blend: float, field_weight: float, weights: dict) -> np.ndarray:
    z = {c: (1 - blend) * view["forward"][c] + blend * view["reverse"][c] for c in COMPONENTS}
    fused = sum(weights[c] * z[c] for c in COMPONENTS) / sum(weights[c] for c in COMPONENTS)
    semantic, best = -np.sort(-fused, axis=0)[:3].mean(axis=0), fused.max(axis=0)
    other = np.array([DEFAULT_WEIGHTS[f] for f in OTHER]) @ view["other"]
    return semantic + DEFAULT_WEIGHTS["best_evidence"] * best + other + field_weight * view["field"]


def as_list(service: MatchService, need_ids: list[str], values: np.ndarray) -> list[str]:
    """The list as served from these scores: cap:3 per enterprise, one exploration place."""
    catalog = service.catalog
    order = sorted(range(len(need_ids)), key=lambda j: (-values[j], need_ids[j]))
    items = [(need_ids[j], catalog.needs[need_ids[j]].enterprise_id, float(values[j])) for j in order]
    chosen, _ = diversify(items, 10, Policy.parse("cap:3"))
    seen = catalog.history.enterprises_seen
    chosen, _ = explore(chosen, [(k, s) for k, _, s in items], lambda n: catalog.needs[n].enterprise_id not in seen,
                        10, 1)
    return chosen


def top3_ranking(need_ids: list[str], matrix: np.ndarray) -> list[str]:
    affinity = -np.sort(-matrix, axis=0)[:3].mean(axis=0)
    return [need_ids[j] for j in sorted(range(len(need_ids)), key=lambda j: (-affinity[j], need_ids[j]))]


def evaluate(which: str) -> None:
    url = mq.sample_database() if which == "sample" else mq.blind_database()
    service = MatchService(open_database(url), ranker=WeightedScorer(), store_runs=False).warm()
    lset = next(s for s in mq.labelled_sets(which) if s.direction == "teams")
    need_rows = nft.open_need_rows(service)
    need_ids = [service.needs_search.doc_ids[r][5:] for r in need_rows]
    weights = service.needs_search.weights
    queries = sorted(q for q in lset.grades if q in service.catalog.teams)
    grid = [(a, f) for a in BLENDS for f in FIELD]
    table, rows = {}, {name: {} for name in ("served", "char (forward)", "char (reverse)", "e5 (reverse)")}
    for q in queries:
        grades = lset.grades[q]
        view = team_views(service, q, need_ids, need_rows)
        table[q] = {g: query_metrics(as_list(service, need_ids, score(view, *g, weights)), grades, 2) for g in grid}
        rows["served"][q] = query_metrics(mq.served_needs(service, q, "cap:3"), grades, 2)
        rows["char (forward)"][q] = query_metrics(top3_ranking(need_ids, view["forward"]["char"]), grades, 2)
        rows["char (reverse)"][q] = query_metrics(top3_ranking(need_ids, view["reverse"]["char"]), grades, 2)
        rows["e5 (reverse)"][q] = query_metrics(top3_ranking(need_ids, view["reverse"]["dense"]), grades, 2)
    folds = kfold(queries, 5)
    for name, subgrid in (("blend a (CV), field 0.1", [g for g in grid if g[1] == FIELD[0]]),
                          ("blend a and field weight (CV)", grid)):
        cv = cross_validate(table, folds, subgrid)
        rows[name] = cv.held_out
        print(f"{which}: {name}: chosen per fold " + ", ".join(f"a={a:g} field={f:g}" for _, (a, f) in cv.chosen))
    for g in ((0.0, FIELD[0]), (1.0, FIELD[0]), (1.0, 0.0)):
        rows[f"fixed a={g[0]:g} field={g[1]:g} (not CV)"] = {q: table[q][g] for q in queries}
    char = [rows["char (forward)"][q]["nDCG@10"] for q in queries]
    print(f"\n{lset.title}\n| method | nDCG@10 | minus char TF-IDF alone (forward), paired |\n|---|---|---|")
    for name, per_query in rows.items():
        values = [per_query[q]["nDCG@10"] for q in queries]
        print(f"| {name} | {bootstrap(values)} | {paired_difference(values, char)} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("sample", "blind", "all"), default="blind", dest="which")
    args = parser.parse_args()
    for which in ("sample", "blind") if args.which == "all" else (args.which,):
        evaluate(which)


if __name__ == "__main__":
    main()
