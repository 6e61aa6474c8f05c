"""Match quality on the labelled sets: the full ranker (as served) against dense-only, BM25-only and
char-TF-IDF-only retrieval, the fused semantic score alone, and the per-query z-fusion of char TF-IDF
and e5 with its weight chosen by cross-validation (and, labelled as such, its best weight in hindsight).

Sets (--set sample|blind|all):
- sample: data/sample/labels/match_needs.jsonl (48 needs, 0-3, pooled from the simple methods),
  need_teams.jsonl (the writers' 123 needs, 0-2), match_teams.jsonl (15 teams); sample database.
- blind: data/blind/ (76 needs B001-B076 judged over the teams of their fields, 24 teams over the B
  needs and the sample needs of their fields; see its DATA_CARD.md); a database with the sample plus
  data/blind/needs.csv, so firm lists rank sample and B needs together.
Metrics per query: nDCG@10 (gain 2^grade - 1), MRR and R@10 of "relevant" = grade >= 2 (>= 1 on the
writers' 0-2 scale); unjudged pairs count as 0 and "holes" is the share of the top 10 nobody judged.
Means carry 95% bootstrap intervals over queries (bench/evaluation.py). Baselines rank every item by the
top-3 mean of one component's per-query z-scores over its documents, as the service aggregates evidence.
z-fusion w = w * z(char TF-IDF) + (1 - w) * z(e5); its CV weight is picked from 0..1 step 0.1 by nDCG@10
on the other folds: leave-one-industry-out for needs (the enterprise's industry), 5-fold for teams.

Run: .venv/bin/python bench/match_quality.py [--set sample|blind|all] [--db PATH] [--weights JSON |
     --model VERSION|newest] [--diversity cap:3] [--json]
The databases and indexes are built once under ~/.cache/cxy/bench/ unless --db is given (then every
chosen set is read from that database).
"""

import argparse
import hashlib
import json
import re
import shutil
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.evaluation import (  # noqa: E402
    METRICS,
    best_value,
    bootstrap,
    cross_validate,
    group_folds,
    hole_rate,
    kfold,
    paired_difference,
    query_metrics,
    weight_grid,
)
from matcher.documents import need_text  # noqa: E402
from matcher.matching.options import MatchOptions  # noqa: E402
from matcher.matching.rank import WeightedScorer, weights_from_env  # noqa: E402
from matcher.matching.service import MatchService  # noqa: E402

LABELS = ROOT / "data" / "sample" / "labels"
BLIND = ROOT / "data" / "blind"
POOL_PAIRS = BLIND / "pools" / "pairs.jsonl"  # second-pass pairs; "grade" null until judged
BASELINES = ("dense", "bm25", "char")
GRID = weight_grid(0.1)
SERVED, CV = "full ranker", "z-fusion char+e5 (CV)"
GROUPS = ("traditional", "abbreviations", "cross-field", "rare characters", "sample-topic overlap")


def fusion_name(w: float) -> str:
    return f"z-fusion char+e5 w={w:.1f}"


# ---- labelled sets ----------------------------------------------------------------------------------
@dataclass
class LabelledSet:
    title: str
    direction: str  # "needs" (need -> teams) or "teams" (team -> needs)
    grades: dict[str, dict[str, int]]  # query -> item -> grade (judged pairs only)
    relevant_from: int
    groups: dict[str, set[str]] = field(default_factory=dict)


def read_grades(path: Path, query_key: str, item_key: str) -> dict[str, dict[str, int]]:
    grades: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.open(encoding="utf-8"):
        row = json.loads(line)
        grades[row[query_key]][row[item_key]] = int(row["grade"])
    return dict(grades)


def blind_pairs() -> dict[tuple[str, str], int]:
    """Every judged (need, team) pair of the blind set, from both files (they agree where both judged),
    plus the second pass's grades once the judge has filled them into pools/pairs.jsonl."""
    pairs = {}
    for path in (BLIND / "need_teams.jsonl", BLIND / "team_needs.jsonl", POOL_PAIRS):
        for line in path.open(encoding="utf-8") if path.exists() else ():
            row = json.loads(line)
            if row.get("grade") is not None:
                pairs[row["need_id"], row["team_id"]] = int(row["grade"])
    return pairs


def card_groups() -> dict[str, set[str]]:
    """The id groups of data/blind/DATA_CARD.md (its Groups table, and the sample-topic overlap list)."""
    card = (BLIND / "DATA_CARD.md").read_text(encoding="utf-8")
    starts = {
        "traditional": "| traditional",
        "abbreviations": "| English abbreviations",
        "cross-field": "| cross-field",
        "rare characters": "| rare technical",
    }
    groups = {
        name: set(re.findall(r"B\d{3}", next(line for line in card.splitlines() if line.startswith(start))))
        for name, start in starts.items()
    }
    overlap = card[card.index("Remaining partial topic overlap") :].split("\n- ")[0]
    groups["sample-topic overlap"] = set(re.findall(r"B\d{3}", overlap))
    return groups


def labelled_sets(which: str) -> list[LabelledSet]:
    if which == "sample":
        return [
            LabelledSet(
                "needs -> teams (48 needs, 0-3)",
                "needs",
                read_grades(LABELS / "match_needs.jsonl", "need_id", "team_id"),
                2,
            ),
            LabelledSet(
                "needs -> teams, writers' labels (0-2)",
                "needs",
                read_grades(LABELS / "need_teams.jsonl", "need_id", "team_id"),
                1,
            ),
            LabelledSet(
                "teams -> needs (15 teams, 0-3)",
                "teams",
                read_grades(LABELS / "match_teams.jsonl", "team_id", "need_id"),
                2,
            ),
        ]
    pairs, groups = blind_pairs(), card_groups()
    need_queries = set(read_grades(BLIND / "need_teams.jsonl", "need_id", "team_id"))
    team_queries = set(read_grades(BLIND / "team_needs.jsonl", "team_id", "need_id"))
    by_need: dict[str, dict[str, int]] = defaultdict(dict)
    by_team: dict[str, dict[str, int]] = defaultdict(dict)
    for (need, team), grade in pairs.items():
        if need in need_queries:
            by_need[need][team] = grade
        if team in team_queries:
            by_team[team][need] = grade
    return [
        LabelledSet(f"blind needs -> teams ({len(by_need)} needs, 0-3)", "needs", dict(by_need), 2, groups),
        LabelledSet(f"blind teams -> needs ({len(by_team)} teams, 0-3)", "teams", dict(by_team), 2),
    ]


# ---- rankings ---------------------------------------------------------------------------------------
def top3_by_owner(values: np.ndarray, rows_of_owner: dict[str, np.ndarray]) -> list[str]:
    affinity = {owner: float(np.sort(values[rows])[::-1][:3].mean()) for owner, rows in rows_of_owner.items()}
    return sorted(affinity, key=lambda o: (-affinity[o], o))


def component_rankings(z: dict[str, np.ndarray], weights: dict[str, float], rank) -> dict[str, list[str]]:
    """One ranking per component, the service's fused semantic score, and z-fusion at every grid weight."""
    ranked = {name: rank(z[name]) for name in BASELINES}
    ranked["fused semantic only"] = rank(sum(weights[n] * z[n] for n in z))
    for w in GRID:
        ranked[fusion_name(w)] = rank(w * z["char"] + (1 - w) * z["dense"])
    return ranked


def baseline_teams(service: MatchService, need_id: str) -> dict[str, list[str]]:
    """Every team (all industries) ranked by one component's top-3 mean of per-query z-scores."""
    caps = service.capabilities
    text = need_text(service.catalog.needs[need_id])
    scores = caps.query(text, service.vector(text, f"need:{need_id}", service.needs_search))
    z = scores.components(np.arange(len(caps)))
    return component_rankings(z, caps.weights, lambda values: top3_by_owner(values, caps.rows_of_owner))


def baseline_needs(service: MatchService, team_id: str) -> dict[str, list[str]]:
    """Open needs ranked for a team by one component: top-3 mean over the team's documents as queries.
    Uses the service's private _open_need_rows and _capability_text, as firms_team does, so the
    baselines rank exactly the needs and texts the served list ranks."""
    caps, search = service.capabilities, service.needs_search
    need_rows = service._open_need_rows()
    per_component: dict[str, list[np.ndarray]] = defaultdict(list)
    for doc_id in (caps.doc_ids[r] for r in caps.rows_of_owner[team_id]):
        z = search.query(service._capability_text(doc_id), caps.dense.vector(doc_id)).components(need_rows)
        for name, values in z.items():
            per_component[name].append(values)
    need_ids = [search.doc_ids[r][5:] for r in need_rows]
    matrices = {name: np.vstack(rows) for name, rows in per_component.items()}  # (team docs, needs)

    def rank(matrix: np.ndarray) -> list[str]:
        affinity = -np.sort(-matrix, axis=0)[:3].mean(axis=0)
        return [need_ids[j] for j in sorted(range(len(need_ids)), key=lambda j: (-affinity[j], need_ids[j]))]

    return component_rankings(matrices, search.weights, rank)


def served_teams(service: MatchService, need_id: str, diversity: str) -> list[str]:
    return [r["team_id"] for r in service.match_need(need_id, MatchOptions(top=10, diversity=diversity)).results]


def served_needs(service: MatchService, team_id: str, diversity: str) -> list[str]:
    opts = MatchOptions(top=10, level="need", diversity=diversity)
    return [r["need_id"] for r in service.firms_team(team_id, opts).results]


# ---- evaluation -------------------------------------------------------------------------------------
@dataclass
class SetResult:
    title: str
    rows: dict[str, dict[str, dict]]  # method -> query -> metrics
    holes: dict[str, dict[str, float]]  # method -> query -> share of the top 10 unjudged
    chosen: list[tuple[str, float]]  # (fold label, weight chosen on the other folds)
    hindsight: float
    folds: str
    groups: dict[str, set[str]]


def evaluate_set(service: MatchService, lset: LabelledSet, diversity: str) -> SetResult:
    rows: dict[str, dict[str, dict]] = defaultdict(dict)
    holes: dict[str, dict[str, float]] = defaultdict(dict)
    known = service.catalog.needs if lset.direction == "needs" else service.catalog.teams
    queries = sorted(q for q in lset.grades if q in known)
    for q in queries:
        grades = lset.grades[q]
        if lset.direction == "needs":
            ranked = {SERVED: served_teams(service, q, diversity), **baseline_teams(service, q)}
        else:
            ranked = {SERVED: served_needs(service, q, diversity), **baseline_needs(service, q)}
        for name, items in ranked.items():
            rows[name][q] = query_metrics(items, grades, lset.relevant_from)
            holes[name][q] = hole_rate(items, grades)
    table = {q: {w: rows[fusion_name(w)][q] for w in GRID} for q in queries}
    if lset.direction == "needs":
        industry = {q: service.catalog.enterprise_of(q).industry or "?" for q in queries}
        folds, how = group_folds(queries, industry.get), "leave-one-industry-out"
        label = lambda fold: industry[fold[0]]  # noqa: E731
    else:
        folds, how = kfold(queries, 5), "5-fold by team"
        label = lambda fold: ",".join(fold)  # noqa: E731
    cv = cross_validate(table, folds, GRID)
    rows[CV] = cv.held_out
    holes[CV] = {q: holes[fusion_name(w)][q] for fold, w in cv.chosen for q in fold}
    best = best_value(table, queries, GRID)
    hindsight = f"z-fusion char+e5 best in hindsight (w={best:.1f})"
    rows[hindsight], holes[hindsight] = rows[fusion_name(best)], holes[fusion_name(best)]
    shown = (SERVED, "dense", "bm25", "char", "fused semantic only", CV, hindsight)
    return SetResult(
        lset.title,
        {m: rows[m] for m in shown},
        {m: holes[m] for m in shown},
        [(label(fold), w) for fold, w in cv.chosen],
        best,
        how,
        lset.groups,
    )


def summary(result: SetResult) -> dict:
    """Means with intervals per method and metric, holes, served - CV difference, per-group nDCG@10."""
    queries = sorted(result.rows[SERVED])
    out = {"methods": {}, "folds": result.folds, "chosen": result.chosen, "hindsight_weight": result.hindsight}
    for name, per_query in result.rows.items():
        cells = {m: bootstrap([per_query[q][m] for q in queries]) for m in METRICS}
        cells["holes@10"] = bootstrap([result.holes[name][q] for q in queries])
        out["methods"][name] = cells
    out["served - CV"] = {
        m: paired_difference([result.rows[SERVED][q][m] for q in queries], [result.rows[CV][q][m] for q in queries])
        for m in METRICS
    }
    out["groups"] = {
        group: {
            name: bootstrap([per_query[q]["nDCG@10"] for q in queries if q in ids])
            for name, per_query in result.rows.items()
        }
        for group, ids in result.groups.items()
    }
    return out


def print_summary(title: str, s: dict) -> None:
    print(f"\n{title}\n| method | nDCG@10 | MRR | R@10 | holes@10 |\n|---|---|---|---|---|")
    for name, cells in s["methods"].items():
        print(f"| {name} | " + " | ".join(str(cells[m]) for m in METRICS) + f" | {cells['holes@10'].mean:.2f} |")
    diff = s["served - CV"]
    print(
        "| served - z-fusion (CV), paired | "
        + " | ".join(f"{diff[m].mean:+.3f} [{diff[m].low:+.3f}, {diff[m].high:+.3f}]" for m in METRICS)
        + " | |"
    )
    n = {m: s["methods"][SERVED][m].n for m in METRICS}
    print(
        f"queries: {n['nDCG@10']} (MRR/R@10 over the {n['MRR']} with a relevant item); "
        f"CV {s['folds']}, weight per held-out fold: " + ", ".join(f"{label} {w:.1f}" for label, w in s["chosen"])
    )
    if s["groups"]:
        groups = list(s["groups"])
        sizes = [next(iter(s["groups"][g].values())).n for g in groups]
        print(
            f"\nnDCG@10 by group ({title.split(' (')[0]})\n| method | "
            + " | ".join(f"{g} ({k})" for g, k in zip(groups, sizes, strict=True))
            + " |\n|---|"
            + "---|" * len(groups)
        )
        for name in s["methods"]:
            print(f"| {name} | " + " | ".join(str(s["groups"][g][name]) for g in groups) + " |")


def as_json(s: dict) -> dict:
    return {
        "methods": {n: {m: asdict(i) for m, i in c.items()} for n, c in s["methods"].items()},
        "served - CV": {m: asdict(i) for m, i in s["served - CV"].items()},
        "groups": {g: {n: asdict(i) for n, i in c.items()} for g, c in s["groups"].items()},
        "folds": s["folds"],
        "chosen": s["chosen"],
        "hindsight_weight": s["hindsight_weight"],
    }


# ---- databases --------------------------------------------------------------------------------------
def _current_index(folder: Path) -> bool:
    """An index of today's format (an older one is rebuilt rather than read, as `cxy` would refuse it)."""
    from matcher.index_location import INDEX_FORMAT

    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("format") == INDEX_FORMAT
    except (OSError, ValueError):
        return False


def bench_database(name: str, extra_needs: tuple[Path, ...] = ()) -> str:
    """The sample (plus extra need files) imported and indexed once under ~/.cache/cxy/bench/. A database
    with extra needs starts from a copy of the sample's index, so only the new needs are encoded."""
    from embeddings.encoder import Encoder
    from matcher.indexing import build_all, index_dir
    from matcher.ingest.folder import import_folder
    from matcher.ingest.loader import import_reports
    from matcher.store.db import open_database, session_factory, write_session

    folder = Path.home() / ".cache" / "cxy" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.db"
    url = f"sqlite:///{path}"
    if not path.exists() or not _current_index(index_dir(url)):
        seed = index_dir(bench_database("sample")) if extra_needs else None
        path.unlink(missing_ok=True)
        shutil.rmtree(index_dir(url), ignore_errors=True)
        engine = open_database(url)
        with write_session(engine) as session:
            import_folder(session, ROOT / "data" / "sample")
            for needs in extra_needs:
                import_reports(session, "needs", needs)
        if seed is not None and not index_dir(url).exists():
            shutil.copytree(seed, index_dir(url))
        with session_factory(engine)() as session:
            build_all(session, Encoder(), index_dir(url))
    return url


def sample_database() -> str:
    return bench_database("sample")


def blind_database() -> str:
    """Sample plus data/blind/needs.csv; named by the file's digest so an edited file gets a new one."""
    needs = BLIND / "needs.csv"
    return bench_database(f"blind-{hashlib.sha1(needs.read_bytes()).hexdigest()[:10]}", (needs,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("sample", "blind", "all"), default="sample", dest="which")
    parser.add_argument("--db", help="a database with the set(s) imported and indexed (default: built once)")
    parser.add_argument("--weights", help="JSON feature weights overriding the defaults", default=None)
    parser.add_argument(
        "--model",
        help="a stored ranker version from `cxy train` (or 'newest') instead of the transparent scorer",
        default=None,
    )
    parser.add_argument("--diversity", default="cap:3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from matcher.settings import database_url
    from matcher.store.db import open_database

    outputs = {}
    for which in ("sample", "blind") if args.which == "all" else (args.which,):
        url = database_url(args.db) if args.db else (sample_database() if which == "sample" else blind_database())
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
        if not args.json:
            print(f"set: {which}\nranker: {ranker.version}\ndiversity: {args.diversity}")
        for lset in labelled_sets(which):
            s = summary(evaluate_set(service, lset, args.diversity))
            if args.json:
                outputs[lset.title] = as_json(s)
            else:
                print_summary(lset.title, s)
                sys.stdout.flush()
    if args.json:
        print(json.dumps(outputs, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
