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


def combine(z: dict[str, np.ndarray], weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Fused scores (all components) and lexical scores (all but dense), each as a weighted mean."""
    fused = sum(weights[name] * values for name, values in z.items()) / sum(weights.values())
    lexical_weight = sum(w for name, w in weights.items() if name != "dense") or 1.0
    lexical = sum(weights[name] * values for name, values in z.items() if name != "dense") / lexical_weight
    return fused, lexical


def evidence_from_matrix(owner: str, doc_ids: list[str], z: dict[str, np.ndarray], weights: dict[str, float]
                         ) -> Evidence:
    """Evidence from per-document z-scores (component -> array aligned with doc_ids)."""
    fused, lexical = combine(z, weights)
    order = np.argsort(-fused, kind="stable")[:TOP_K]
    return Evidence(owner, _top_mean(fused), _top_mean(z["dense"]),
                    _top_mean(lexical) if np.ndim(lexical) else 0.0,
                    tuple((doc_ids[i], float(fused[i])) for i in order))


def _grouped_top_mean(values: np.ndarray, group: np.ndarray, position: np.ndarray, shape: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per group: mean of its TOP_K largest values, and the positions of those values (best first)."""
    matrix = np.full(shape, -np.inf)
    matrix[group, position] = values
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :TOP_K]
    top = np.take_along_axis(matrix, order, axis=1)
    finite = np.isfinite(top)
    return np.where(finite, top, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1), order


def owner_evidence(scores: QueryScores, owners: Iterable[str]) -> dict[str, Evidence]:
    """Evidence for each named owner of the query's collection (owners without documents are skipped).

    All owners' documents are scored in one pass and aggregated as a padded (owner x document) matrix:
    the per-owner Python loop this replaces was a third of a request's time.
    """
    search = scores.search
    owners = [o for o in owners if o in search.rows_of_owner]
    if not owners:
        return {}
    row_lists = [search.rows_of_owner[o] for o in owners]
    lengths = np.array([len(r) for r in row_lists])
    rows = np.concatenate(row_lists)
    group = np.repeat(np.arange(len(owners)), lengths)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    shape = (len(owners), int(lengths.max()))
    z = scores.components(rows)
    fused, lexical = combine(z, search.weights)
    affinity, best = _grouped_top_mean(fused, group, position, shape)
    dense, _ = _grouped_top_mean(z["dense"], group, position, shape)
    lexical_mean, _ = (_grouped_top_mean(lexical, group, position, shape) if np.ndim(lexical)
                       else (np.zeros(len(owners)), None))
    starts = np.cumsum(lengths) - lengths
    result = {}
    for i, owner in enumerate(owners):
        picked = [int(p) for p in best[i] if p < lengths[i]]
        documents = tuple((search.doc_ids[rows[starts[i] + p]], float(fused[starts[i] + p])) for p in picked)
        result[owner] = Evidence(owner, float(affinity[i]), float(dense[i]), float(lexical_mean[i]), documents)
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
