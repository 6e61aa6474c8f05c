"""Candidates and their semantic evidence.

A team is a set of documents; its affinity to a query is the mean of its best three documents'
fused scores (top-3 mean beat max and mean: embeddings/profiles.py). Candidates are the owners of
any document in some component's top ``depth``; a team asked about by name (``--why``) can be scored
the same way without being a candidate.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from matcher.matching.search import QueryScores

TOP_K = 3


@dataclass(frozen=True)
class Evidence:
    """Why one owner (team, or need in the reverse direction) fits one query, in z-score units.

    affinity: top-3 mean of fused document scores divided by the total weight (about -1..4);
    dense / lexical: the same for the dense component and the weighted lexical components alone;
    documents: (document id, fused score / total weight), best first, at most TOP_K.
    """

    owner: str
    affinity: float
    dense: float
    lexical: float
    documents: tuple[tuple[str, float], ...]

    @property
    def best(self) -> tuple[str, float]:
        return self.documents[0]


def _top_mean(values: np.ndarray) -> float:
    return float(np.sort(values)[::-1][:TOP_K].mean())


def evidence_from_matrix(owner: str, doc_ids: list[str], z: dict[str, np.ndarray], weights: dict[str, float]
                         ) -> Evidence:
    """Evidence from per-document z-scores (component -> array aligned with doc_ids)."""
    total = sum(weights.values())
    fused = sum(weights[name] * values for name, values in z.items()) / total
    lexical_weight = sum(w for name, w in weights.items() if name != "dense") or 1.0
    lexical = sum(weights[name] * values for name, values in z.items() if name != "dense") / lexical_weight
    order = np.argsort(-fused, kind="stable")[:TOP_K]
    return Evidence(owner, _top_mean(fused), _top_mean(z["dense"]),
                    _top_mean(lexical) if np.ndim(lexical) else 0.0,
                    tuple((doc_ids[i], float(fused[i])) for i in order))


def owner_evidence(scores: QueryScores, owners: Iterable[str]) -> dict[str, Evidence]:
    """Evidence for each named owner of the query's collection (owners without documents are skipped)."""
    search = scores.search
    result = {}
    for owner in owners:
        rows = search.rows_of_owner.get(owner)
        if rows is None:
            continue
        result[owner] = evidence_from_matrix(owner, [search.doc_ids[r] for r in rows], scores.components(rows),
                                             search.weights)
    return result


def candidate_owners(scores: QueryScores, limit: int = 150) -> list[str]:
    """Owners of the query's head documents, best document first, at most ``limit``."""
    head = scores.head
    if not len(head):
        return []
    fused = scores.fused(head)
    owners: list[str] = []
    seen: set[str] = set()
    for row in head[np.argsort(-fused, kind="stable")]:
        owner = scores.search.owner[row]
        if owner not in seen:
            seen.add(owner)
            owners.append(owner)
            if len(owners) == limit:
                break
    return owners
