"""Build the judging pools for bench/match_quality.py's labelled set (run once, before any tuning).

Pooling as in TREC: for each chosen need, the union of the top 10 teams of dense-only, BM25-only and
char-TF-IDF-only retrieval plus the teams the sample writers labelled; for each chosen team, the union
of the top 10 needs of the same three methods. Pools are shuffled (by a hash) so judges see no ranking.
Writes one Markdown file per judging batch into OUT, for human (or assistant) judges.

Run: .venv/bin/python scripts/make_label_pools.py OUT [--needs-per-slice 8] [--teams 15]
"""

import argparse
import csv
import hashlib
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embeddings.encoder import Encoder  # noqa: E402
from embeddings.hybrid import HybridRetriever  # noqa: E402
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever  # noqa: E402
from embeddings.profiles import owner_scores  # noqa: E402

SAMPLE = ROOT / "data" / "sample"


def slice_of(team_id: str) -> str:
    return "s" + team_id[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--needs-per-slice", type=int, default=8)
    parser.add_argument("--teams", type=int, default=15)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(20261123)

    institutions = {r["id"]: r for r in csv.DictReader((SAMPLE / "institutions.csv").open(encoding="utf-8"))}
    teams = {r["id"]: r for r in csv.DictReader((SAMPLE / "teams.csv").open(encoding="utf-8"))}
    achievements = [json.loads(line) for line in (SAMPLE / "achievements.jsonl").open(encoding="utf-8")]
    needs = {r["编号"]: r for r in csv.DictReader((SAMPLE / "needs.csv").open(encoding="utf-8-sig"))}
    writer_labels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (SAMPLE / "labels" / "need_teams.jsonl").open(encoding="utf-8"):
        label = json.loads(line)
        writer_labels[label["need_id"]][label["team_id"]] = label["grade"]
    by_team = defaultdict(list)
    for a in achievements:
        by_team[a["team_id"]].append(a)

    docs = [(f"team:{t['id']}", t["id"], "。".join(filter(None, (t["name"], t["discipline"], t["description"]))))
            for t in teams.values()]
    docs += [(f"ach:{a['id']}", a["team_id"], "。".join(filter(None, (a["title"], a.get("keywords"), a["abstract"]))))
             for a in achievements]
    ids, owners, texts = (list(x) for x in zip(*docs, strict=True))
    owner_of = dict(zip(ids, owners, strict=True))
    keywords = sorted({k for a in achievements for k in (a.get("keywords") or "").split(";") if k})
    need_ids = sorted(needs)
    queries = ["。".join(filter(None, (needs[n]["需求名称"], needs[n]["关键词"], needs[n]["需求描述"])))
               for n in need_ids]
    encoder = Encoder()
    methods = [HybridRetriever(encoder, [], 1.0),
               HybridRetriever(None, [(Bm25Retriever(user_terms=keywords), 1.0)], 0.0),
               HybridRetriever(None, [(CharTfidfRetriever(), 1.0)], 0.0)]
    affinity = []  # per method: need -> team -> score
    for method in methods:
        method.fit(texts, ids)
        scores = method.scores(queries)
        affinity.append({n: owner_scores(ids, row, owner_of) for n, row in zip(need_ids, scores, strict=True)})

    slices = defaultdict(list)
    for n in need_ids:
        slices[slice_of(teams[next(iter(writer_labels[n]), "T1")]["id"]) if writer_labels[n] else "s?"].append(n)
    chosen_needs = sorted(n for s in sorted(slices) if s != "s?"
                          for n in rng.sample(slices[s], min(args.needs_per_slice, len(slices[s]))))
    chosen_teams = sorted(rng.sample(sorted(teams), args.teams))

    def shuffled(items: set[str], salt: str) -> list[str]:
        return sorted(items, key=lambda x: hashlib.sha1((salt + x).encode()).hexdigest())

    def team_block(t: str) -> str:
        team, inst = teams[t], institutions[teams[t]["institution_id"]]
        lines = [f"#### team {t}: {team['name']} ({inst['name']}, {inst['type']}, {inst['province']})",
                 f"discipline: {team['discipline']}", f"description: {team['description']}"]
        for a in by_team[t]:
            lines.append(f"- [{a['kind']}, {a.get('year')}, TRL {a.get('trl')}] {a['title']}"
                         f" — 关键词 {a.get('keywords')} — {a['abstract'][:160]}")
        return "\n".join(lines)

    def need_block(n: str) -> str:
        need = needs[n]
        return (f"#### need {n} (enterprise {need['企业编号']}): {need['需求名称']}\n关键词: {need['关键词']}\n"
                f"{need['需求描述']}")

    args.out.mkdir(parents=True, exist_ok=True)
    batches = [chosen_needs[i::args.batches] for i in range(args.batches)]
    for b, batch in enumerate(batches, 1):
        parts = []
        for n in batch:
            pool = set(writer_labels[n])
            for method in affinity:
                pool |= set(sorted(method[n], key=method[n].get, reverse=True)[:10])
            parts.append(f"## NEED {n}\n\n{need_block(n)}\n\n### pool ({len(pool)} teams)\n\n"
                         + "\n\n".join(team_block(t) for t in shuffled(pool, n)))
        (args.out / f"needs_batch{b}.md").write_text("\n\n".join(parts), encoding="utf-8")
    parts = []
    for t in chosen_teams:
        pool: set[str] = set()
        for method in affinity:
            column = {n: method[n][t] for n in need_ids if t in method[n]}
            pool |= set(sorted(column, key=column.get, reverse=True)[:10])
        pool |= {n for n in need_ids if writer_labels[n].get(t)}
        parts.append(f"## TEAM {t}\n\n{team_block(t)}\n\n### pool ({len(pool)} needs)\n\n"
                     + "\n\n".join(need_block(n) for n in shuffled(pool, t)))
    (args.out / "teams_batch.md").write_text("\n\n".join(parts), encoding="utf-8")
    print(f"{len(chosen_needs)} needs in {args.batches} batches, {len(chosen_teams)} teams -> {args.out}")


if __name__ == "__main__":
    main()
