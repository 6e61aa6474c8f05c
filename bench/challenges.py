"""揭榜挂帅 quality on the sample: does a team's evidence cover a target, and do the lists and consortia
follow from that?

Labels: data/sample/labels/challenge_teams.jsonl, written with the sample (before any challenge code):
for 12 challenges, the teams that can address them, graded 2 (all-round) / 1 (partial), with
``covers`` = the targets each one's evidence addresses. The writers judged the teams of their own two
industries, so a covering team from another field counts as a false positive here.

Tables:
1. target-level coverage: precision / recall / F1 of (challenge, team, target) triples predicted
   covered among the teams a challenge assesses (its 40 best by overall fit), against the labels; also
   restricted to labelled teams (where the labels are complete), and for the single-signal rule
   "best document score >= 2.5" the combined rule replaced.
2. candidate ranking (eligibility ignored, so the rules do not hide labelled teams): nDCG@10 of overall
   fit alone and of fit + coverage (the shipped order), graded by the labels.
3. consortium per challenge: targets covered by the proposed consortium (k=3) and by the eligible
   labelled teams together (what a perfect proposer could reach under the same rules); "confirmed"
   counts the proposal's targets whose assigned member the labels say covers them.

Run: .venv/bin/python bench/challenges.py [--db URL]
"""

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from match_quality import metrics, sample_database  # noqa: E402

from matcher.challenges.eligibility import exclusions, team_readiness  # noqa: E402
from matcher.challenges.service import ChallengeOptions, ChallengeService  # noqa: E402
from matcher.matching.service import MatchService  # noqa: E402

LABELS = ROOT / "data" / "sample" / "labels" / "challenge_teams.jsonl"
SINGLE_SIGNAL = 2.5


def read_labels() -> dict[str, dict[str, tuple[int, set[int]]]]:
    labels: dict[str, dict[str, tuple[int, set[int]]]] = defaultdict(dict)
    for line in LABELS.open(encoding="utf-8"):
        row = json.loads(line)
        labels[row["challenge_id"]][row["team_id"]] = (int(row["grade"]), set(row["covers"]))
    return dict(labels)


def prf(predicted: set, truth: set) -> dict[str, float]:
    hit = len(predicted & truth)
    p = hit / len(predicted) if predicted else 0.0
    r = hit / len(truth) if truth else 0.0
    return {"precision": p, "recall": r, "F1": 2 * p * r / (p + r) if p + r else 0.0, "predicted": len(predicted)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="a database with the sample imported and indexed (default: built once)")
    args = parser.parse_args()
    from matcher.settings import database_url
    from matcher.store.db import open_database

    url = database_url(args.db) if args.db else sample_database()
    service = ChallengeService(MatchService(open_database(url), store_runs=False).warm())
    labels = read_labels()
    truth, combined, single, combined_l, single_l = set(), set(), set(), set(), set()
    ranking = defaultdict(list)
    consortia = []
    for challenge_id, teams in sorted(labels.items()):
        a = service.assess(challenge_id)
        truth |= {(challenge_id, t, i) for t, (_, covers) in teams.items() for i in covers}
        for c in a.candidates:
            team = c.scored.key
            for r in c.targets:
                triple = (challenge_id, team, r.target)
                if r.covered:
                    combined.add(triple)
                    if team in teams:
                        combined_l.add(triple)
                if r.match >= SINGLE_SIGNAL:
                    single.add(triple)
                    if team in teams:
                        single_l.add(triple)
        grades = {t: g for t, (g, _) in teams.items()}
        by_fit = sorted(a.candidates, key=lambda c: (-c.scored.raw, c.scored.key))
        ranking["overall fit alone"].append(metrics([c.scored.key for c in by_fit], grades, 2))
        ranking["fit + coverage (shipped)"].append(metrics([c.scored.key for c in a.candidates], grades, 2))
        proposal = service.consortium(challenge_id, ChallengeOptions(max_teams=3)).extra["consortium"]
        reachable = set()
        for t, (_, covers) in teams.items():
            if t in service.catalog.teams:
                readiness = team_readiness(service.catalog, t, [])
                if not exclusions(service.catalog, a.rules, t, readiness):
                    reachable |= covers
        assigned = [x for x in proposal["assignment"] if x["team_id"]] if proposal else []
        confirmed = sum(1 for x in assigned if x["index"] in teams.get(x["team_id"], (0, set()))[1])
        members = " + ".join(proposal["members"]) if proposal else "—"
        consortia.append((challenge_id, len(a.targets), len(assigned), confirmed, len(reachable), members))

    labelled_truth = truth
    print("Target-level coverage, sample challenges (12 challenges, 46 labelled teams, "
          f"{len(truth)} labelled covered targets)")
    print("| rule | teams judged | precision | recall | F1 | predicted |\n|---|---|---|---|---|---|")
    for name, predicted, scope in (("best doc + 0.7 x team fit >= 4.7 (shipped)", combined, "40 assessed"),
                                   (f"best document alone >= {SINGLE_SIGNAL}", single, "40 assessed"),
                                   ("best doc + 0.7 x team fit >= 4.7 (shipped)", combined_l, "labelled only"),
                                   (f"best document alone >= {SINGLE_SIGNAL}", single_l, "labelled only")):
        m = prf(predicted, labelled_truth)
        print(f"| {name} | {scope} | {m['precision']:.3f} | {m['recall']:.3f} | {m['F1']:.3f} | {m['predicted']} |")
    print("\nCandidate ranking (eligibility ignored), graded 2/1 by the labels\n| order | nDCG@10 | MRR | R@10 |\n"
          "|---|---|---|---|")
    for name, rows in ranking.items():
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        print(f"| {name} | {mean['nDCG@10']:.3f} | {mean['MRR']:.3f} | {mean['R@10']:.3f} |")
    print("\nConsortium (k=3) per challenge\n| challenge | targets | covered by proposal | of which the labels "
          "confirm | coverable by eligible labelled teams | members (lead first) |\n|---|---|---|---|---|---|")
    for row in consortia:
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
