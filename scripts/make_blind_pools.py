"""Judging pools for the blind set's second pass (issue 17): what every method puts in its top 10 across
all industries that the blind writer has not judged yet.

Methods pooled: the served ranker (`match_need`, `firms_team`), char TF-IDF, BM25 and e5 alone, and the
per-query z-fusion of char TF-IDF and e5 at weights 0.3, 0.5 and 0.7 (bench/match_quality.py ranks them
exactly as it evaluates them). Queries: every B need of data/blind/needs.csv -> teams, and the 24 teams of
data/blind/team_needs.jsonl -> open needs (sample and B). Pairs judged in data/blind/*.jsonl are left out.

Written for a judge who has never seen system output: each batch holds a query's full text and its
candidates' texts in a hashed random order, with no score, rank or method. data/blind/pools/pairs.jsonl
lists the same pairs with "grade": null for the judge to fill in.

Run: .venv/bin/python scripts/make_blind_pools.py [--out data/blind/pools] [--per-batch 10]
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.match_quality import (  # noqa: E402
    BLIND,
    baseline_needs,
    baseline_teams,
    blind_database,
    blind_pairs,
    fusion_name,
    read_grades,
    served_needs,
    served_teams,
)
from matcher.matching.catalog import Catalog  # noqa: E402
from matcher.matching.rank import WeightedScorer, weights_from_env  # noqa: E402
from matcher.matching.service import MatchService  # noqa: E402

POOLED = ("char", "bm25", "dense", *(fusion_name(w) for w in (0.3, 0.5, 0.7)))
DEPTH = 10


def hashed_order(items: set[str], salt: str) -> list[str]:
    """A fixed pseudo-random order that says nothing about any method's ranking."""
    return sorted(items, key=lambda x: hashlib.sha1(f"blind-pool:{salt}:{x}".encode()).hexdigest())


def team_block(catalog: Catalog, team_id: str, heading: str = "####") -> str:
    team = catalog.teams[team_id]
    lines = [
        f"{heading} team {team_id}: {team.name}（{catalog.institutions[team.institution_id].name}）",
        f"简介：{team.description or '—'}",
        "成果：",
    ]
    for a in sorted(catalog.achievements_by_team.get(team_id, [])):
        ach = catalog.achievements[a]
        lines.append(f"- {ach.title}（关键词：{'；'.join(ach.keywords) or '—'}）")
    return "\n".join(lines)


def need_block(catalog: Catalog, need_id: str, heading: str = "####") -> str:
    need, firm = catalog.needs[need_id], catalog.enterprise_of(need_id)
    return (
        f"{heading} need {need_id}: {need.title}\n企业：{firm.name}（行业：{firm.industry or '—'}）\n"
        f"关键词：{'；'.join(need.keywords) or '—'}\n描述：{need.description or '—'}"
    )


def pools(service: MatchService, diversity: str = "cap:3") -> tuple[dict, dict]:
    """(need -> unjudged teams, team -> unjudged needs) from every pooled method's top 10."""
    judged = blind_pairs()
    need_ids = sorted(n for n in service.catalog.needs if n.startswith("B"))
    by_need = {}
    for n in need_ids:
        ranked = baseline_teams(service, n)
        pool = set(served_teams(service, n, diversity)).union(*(ranked[m][:DEPTH] for m in POOLED))
        by_need[n] = {t for t in pool if (n, t) not in judged}
    by_team = {}
    for t in sorted(read_grades(BLIND / "team_needs.jsonl", "team_id", "need_id")):
        ranked = baseline_needs(service, t)
        pool = set(served_needs(service, t, diversity)).union(*(ranked[m][:DEPTH] for m in POOLED))
        by_team[t] = {n for n in pool if (n, t) not in judged}
    return by_need, by_team


INTRO = """# Blind judging, second pass: {what}

Grade each candidate for technical fit with the query only (ignore region, capacity, maturity and history):
3 = call this one first, it can clearly solve it · 2 = clearly relevant, could solve it ·
1 = long shot / partially relevant · 0 = not relevant.
Candidates are in no particular order. Write the grade into `pairs.jsonl` (the line with both ids).
"""


def write_pools(catalog: Catalog, by_need: dict, by_team: dict, out: Path, per_batch: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    pairs = out / "pairs.jsonl"
    if pairs.exists() and any(json.loads(line).get("grade") is not None for line in pairs.open(encoding="utf-8")):
        sys.exit(f"{pairs} already holds grades; move it away before building new pools")
    for old in out.glob("*.md"):
        old.unlink()  # a rerun replaces the batches, never leaves a stale one beside them
    written, lines = [], []
    kinds = (
        ("needs", "needs -> teams", by_need, need_block, team_block, "need_id", "team_id"),
        ("teams", "teams -> needs", by_team, team_block, need_block, "team_id", "need_id"),
    )
    for prefix, what, by_query, query_block, item_block, query_key, item_key in kinds:
        queries = [q for q in sorted(by_query) if by_query[q]]
        for b, start in enumerate(range(0, len(queries), per_batch), 1):
            parts = [INTRO.format(what=what)]
            for q in queries[start : start + per_batch]:
                items = hashed_order(by_query[q], q)
                parts.append(
                    f"## QUERY\n\n{query_block(catalog, q, '###')}\n\n### candidates ({len(items)})\n\n"
                    + "\n\n".join(item_block(catalog, i) for i in items)
                )
                lines += [json.dumps({query_key: q, item_key: i, "grade": None}, ensure_ascii=False) for i in items]
            path = out / f"{prefix}_batch{b:02d}.md"
            path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
            written.append(path)
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BLIND / "pools")
    parser.add_argument("--per-batch", type=int, default=10, help="queries per Markdown batch")
    args = parser.parse_args()
    from matcher.store.db import open_database

    # The transparent scorer with the configured weights, as bench/match_quality.py evaluates it.
    ranker = WeightedScorer(weights_from_env(None))
    service = MatchService(open_database(blind_database()), ranker=ranker, store_runs=False).warm()
    by_need, by_team = pools(service)
    written = write_pools(service.catalog, by_need, by_team, args.out, args.per_batch)
    for name, by_query in (("needs -> teams", by_need), ("teams -> needs", by_team)):
        sizes = [len(v) for v in by_query.values()]
        print(
            f"{name}: {sum(sizes)} pairs to judge over {sum(1 for s in sizes if s)} of {len(sizes)} queries "
            f"(max {max(sizes)} per query)"
        )
    print(f"{len(written)} batches and pairs.jsonl -> {args.out}")


if __name__ == "__main__":
    main()
