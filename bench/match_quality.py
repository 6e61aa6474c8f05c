"""Match quality on the sample's labelled sets: the full ranker (as served) against dense-only and
BM25-only retrieval (and char TF-IDF-only and the fused semantic score alone, for reference).

Labels: data/sample/labels/match_needs.jsonl (48 needs, graded 0-3 over pooled teams),
match_teams.jsonl (15 teams, graded needs), and the writers' need_teams.jsonl (123 needs, 0-2).
Metrics: nDCG@10 (gain 2^grade - 1), MRR and Recall@10 of "relevant" = grade >= 2 (>= 1 for the
writers' 0-2 scale). Baselines rank every team by the top-3 mean of one component's per-query
z-scores over its documents, exactly as the service aggregates evidence.

Run: .venv/bin/python bench/match_quality.py [--db PATH] [--weights JSON | --model VERSION|newest]
     [--diversity cap:3]
The sample database and index are built once under ~/.cache/cxy/bench/ unless --db is given.
"""

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matcher.documents import need_text  # noqa: E402
from matcher.learning.metrics import ndcg, recall  # noqa: E402
from matcher.matching.options import MatchOptions  # noqa: E402
from matcher.matching.rank import WeightedScorer, weights_from_env  # noqa: E402
from matcher.matching.service import MatchService  # noqa: E402

LABELS = ROOT / "data" / "sample" / "labels"
BASELINES = ("dense", "bm25", "char")


def read_grades(path: Path, query_key: str, item_key: str) -> dict[str, dict[str, int]]:
    grades: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.open(encoding="utf-8"):
        row = json.loads(line)
        grades[row[query_key]][row[item_key]] = int(row["grade"])
    return dict(grades)


def metrics(ranked: list[str], grades: dict[str, int], relevant_from: int, k: int = 10) -> dict[str, float]:
    relevant = {t for t, g in grades.items() if g >= relevant_from}
    first = next((i + 1 for i, t in enumerate(ranked) if t in relevant), None)
    return {"nDCG@10": ndcg(ranked, grades, k) or 0.0, "MRR": 1.0 / first if first else 0.0,
            "R@10": recall(ranked, relevant, k) or 0.0}


def mean_table(per_query: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {name: {m: float(np.mean([row[m] for row in rows])) for m in rows[0]} for name, rows in per_query.items()}


def top3(values: np.ndarray) -> float:
    return float(np.sort(values)[::-1][:3].mean())


def baseline_teams(service: MatchService, need_id: str) -> dict[str, list[str]]:
    """Every team ranked by one component's top-3 mean (per-query z-scores)."""
    caps = service.capabilities
    need = service.catalog.needs[need_id]
    text = need_text(need)
    scores = caps.query(text, service.vector(text, f"need:{need_id}", service.needs_search))
    rows = np.arange(len(caps))
    z = scores.components(rows)
    ranked = {}
    for name in BASELINES:
        affinity = {team: top3(z[name][r]) for team, r in caps.rows_of_owner.items()}
        ranked[name] = sorted(affinity, key=lambda t: (-affinity[t], t))
    fused = sum(caps.weights[n] * z[n] for n in z)
    affinity = {team: top3(fused[r]) for team, r in caps.rows_of_owner.items()}
    ranked["fused semantic only"] = sorted(affinity, key=lambda t: (-affinity[t], t))
    return ranked


def baseline_needs(service: MatchService, team_id: str) -> dict[str, list[str]]:
    """Open needs ranked for a team by one component: top-3 mean over the team's documents as queries."""
    caps, search = service.capabilities, service.needs_search
    need_rows = service._open_need_rows()
    doc_ids = [caps.doc_ids[r] for r in caps.rows_of_owner[team_id]]
    per_component: dict[str, list[np.ndarray]] = defaultdict(list)
    for doc_id in doc_ids:
        z = search.query(service._capability_text(doc_id), caps.dense.vector(doc_id)).components(need_rows)
        for name, values in z.items():
            per_component[name].append(values)
        per_component["fused"].append(sum(search.weights[n] * z[n] for n in z))
    need_ids = [search.doc_ids[r][5:] for r in need_rows]
    ranked = {}
    for name in (*BASELINES, "fused"):
        matrix = np.vstack(per_component[name])
        affinity = {n: top3(matrix[:, j]) for j, n in enumerate(need_ids)}
        ranked["fused semantic only" if name == "fused" else name] = sorted(affinity, key=lambda n: (-affinity[n], n))
    return ranked


def evaluate(service: MatchService, diversity: str) -> dict[str, dict[str, dict[str, float]]]:
    tables = {}
    for label_file, relevant_from, title in (("match_needs.jsonl", 2, "needs -> teams (48 needs, 0-3)"),
                                             ("need_teams.jsonl", 1, "needs -> teams, writers' labels (0-2)")):
        grades = read_grades(LABELS / label_file, "need_id", "team_id")
        per_query: dict[str, list] = defaultdict(list)
        for need_id, need_grades in sorted(grades.items()):
            if need_id not in service.catalog.needs:
                continue
            for name, ranked in baseline_teams(service, need_id).items():
                per_query[name].append(metrics(ranked, need_grades, relevant_from))
            served = service.match_need(need_id, MatchOptions(top=10, diversity=diversity))
            per_query["full ranker"].append(metrics([r["team_id"] for r in served.results], need_grades,
                                                    relevant_from))
        tables[title] = mean_table(per_query)
    grades = read_grades(LABELS / "match_teams.jsonl", "team_id", "need_id")
    per_query = defaultdict(list)
    for team_id, team_grades in sorted(grades.items()):
        for name, ranked in baseline_needs(service, team_id).items():
            per_query[name].append(metrics(ranked, team_grades, 2))
        served = service.firms_team(team_id, MatchOptions(top=10, level="need", diversity=diversity))
        per_query["full ranker"].append(metrics([r["need_id"] for r in served.results], team_grades, 2))
    tables["teams -> needs (15 teams, 0-3)"] = mean_table(per_query)
    return tables


def sample_database() -> str:
    from matcher.indexing import build_all, index_dir
    from matcher.ingest.folder import import_folder
    from matcher.store.db import open_database, session_factory, write_session

    folder = Path.home() / ".cache" / "cxy" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sample.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        engine = open_database(url)
        with write_session(engine) as session:
            import_folder(session, ROOT / "data" / "sample")
        from embeddings.encoder import Encoder

        with session_factory(engine)() as session:
            build_all(session, Encoder(), index_dir(url))
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="a database with the sample imported and indexed (default: built once)")
    parser.add_argument("--weights", help="JSON feature weights overriding the defaults", default=None)
    parser.add_argument("--model", help="a stored ranker version from `cxy train` (or 'newest') instead of the "
                        "transparent scorer", default=None)
    parser.add_argument("--diversity", default="cap:3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from matcher.settings import database_url
    from matcher.store.db import open_database

    url = database_url(args.db) if args.db else sample_database()
    ranker = WeightedScorer(weights_from_env(json.loads(args.weights) if args.weights else None))
    if args.model:
        from matcher.learning.registry import list_models
        from matcher.store.db import session_factory

        with session_factory(open_database(url))() as session:
            stored = [m for m in list_models(session) if args.model in ("newest", m["version"]) and m["weights"]]
        if not stored:
            sys.exit(f"no stored ranker {args.model!r} with weights in {url} (run cxy --db ... train)")
        ranker = WeightedScorer(stored[0]["weights"], version=stored[0]["version"])
    service = MatchService(open_database(url), ranker=ranker, store_runs=False).warm()
    tables = evaluate(service, args.diversity)
    if args.json:
        print(json.dumps(tables, ensure_ascii=False, indent=1))
        return
    print(f"ranker: {ranker.version}\ndiversity: {args.diversity}")
    for title, table in tables.items():
        print(f"\n{title}\n| method | nDCG@10 | MRR | R@10 |\n|---|---|---|---|")
        for name, row in table.items():
            print(f"| {name} | {row['nDCG@10']:.3f} | {row['MRR']:.3f} | {row['R@10']:.3f} |")


if __name__ == "__main__":
    main()
