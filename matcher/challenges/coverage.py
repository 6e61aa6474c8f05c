"""Which targets a team's evidence addresses.

Each target's words (numbers taken out) are searched over the capability documents like any query:
dense, character TF-IDF and BM25, z-scored against that target's own top 100 documents. A team's
evidence for the target is its best-matching document. A target counts as covered when

    best document score + TEAM_WEIGHT * the team's overall fit to the challenge >= THRESHOLD

so a document that happens to share a generic target ("批量合格率") does not make an unrelated team
a candidate, and a strong specialist is not required to repeat every target verbatim. TEAM_WEIGHT and
THRESHOLD are the rounded coefficients of a logistic regression fitted leave-one-challenge-out on the
sample's target-level labels (data/sample/labels/challenge_teams.jsonl; bench/challenges.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.challenges.targets import Target
from matcher.matching.candidates import owner_evidence

TEAM_WEIGHT = 0.7
THRESHOLD = 4.7


@dataclass(frozen=True)
class TargetEvidence:
    target: int  # Target.index
    score: float  # best document score + TEAM_WEIGHT * team fit
    document: str  # the team's best document for the target
    match: float  # that document's own score for the target
    covered: bool


def coverage(service, targets: Sequence[Target], team_fit: dict[str, float]) -> dict[str, list[TargetEvidence]]:
    """Team id -> one TargetEvidence per target (teams without documents are left out)."""
    teams = list(team_fit)
    result: dict[str, list[TargetEvidence]] = {t: [] for t in teams}
    if not targets:
        return result
    words = [t.words or t.text for t in targets]
    vectors = service.encoder.encode(words, kind="query")
    for target, text, vector in zip(targets, words, vectors, strict=True):
        evidence = owner_evidence(service.capabilities.query(text, np.asarray(vector)), teams)
        for team in teams:
            if team not in evidence:
                continue
            document, match = evidence[team].best
            score = match + TEAM_WEIGHT * team_fit[team]
            result[team].append(TargetEvidence(target.index, score, document, match, score >= THRESHOLD))
    return {t: rows for t, rows in result.items() if rows}


def covered(rows: Sequence[TargetEvidence]) -> frozenset[int]:
    return frozenset(r.target for r in rows if r.covered)
