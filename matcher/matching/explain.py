"""Explanations a clerk can repeat on the phone: the matched evidence (which achievement, which
sentence, the shared terms marked with 【】), each feature's contribution, and a one-line summary."""

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from embeddings.lexical import prepare_text as _prepare_text
from matcher.matching.candidates import Evidence
from matcher.matching.catalog import Catalog
from matcher.matching.features import FEATURES, matched_terms
from matcher.store.models import STAGE_WORDS

# The same titles and sentences are explained in list after list: their lexical normal form (OpenCC and
# NFKC, ~0.03 ms each) was a tenth of a need list's time at 100k achievements.
prepare_text = lru_cache(maxsize=50_000)(_prepare_text)

KIND_LABELS = {"patent": "专利", "paper": "论文", "project": "项目", "result": "成果"}
STAGE_LABELS = STAGE_WORDS  # one vocabulary: what a list shows is what the follow-up sheet accepts
_SENTENCE_END = re.compile(r"(?<=[。；;！!？?\n])")


def mark(sentence: str, terms: Sequence[str]) -> str:
    """Wrap each occurrence of the terms in 【】, longest terms first, never inside another mark."""
    if not terms:
        return sentence
    lowered = prepare_text(sentence)
    if len(lowered) != len(sentence):  # normalisation changed the length: match on the original text only
        lowered = sentence.lower()
    taken = np.zeros(len(sentence), dtype=bool)
    spans = []
    # Longest first; ties by the term itself, so a stored run's marks are the same in every process.
    for term in sorted(set(terms), key=lambda t: (-len(t), t)):
        start = lowered.find(term)
        while start >= 0:
            end = start + len(term)
            if not taken[start:end].any():
                taken[start:end] = True
                spans.append((start, end))
            start = lowered.find(term, end)
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(sentence[last:start] + "【" + sentence[start:end] + "】")
        last = end
    return "".join(out) + sentence[last:]


def best_sentence(text: str, terms: Sequence[tuple[str, float]]) -> tuple[str, list[str]]:
    """The sentence of ``text`` carrying most key-term weight, with the terms it contains."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text or "") if s.strip()] or [text or ""]
    scored = []
    for position, sentence in enumerate(sentences):
        lowered = prepare_text(sentence)
        hits = [(t, w) for t, w in terms if t in lowered]
        scored.append((sum(w for _, w in hits), -position, sentence, [t for t, _ in hits]))
    _, _, sentence, hits = max(scored)
    return sentence, hits


def document_evidence(catalog: Catalog, doc_id: str, match: float, terms: Sequence[tuple[str, float]]) -> dict:
    kind, _, key = doc_id.partition(":")
    if kind == "ach":
        ach = catalog.achievements[key]
        sentence, hits = best_sentence(ach.abstract or ach.title, terms)
        title_hits = matched_terms(terms, prepare_text(ach.title))
        return {"document": doc_id, "achievement_id": ach.id, "kind": ach.kind, "title": mark(ach.title, title_hits),
                "year": ach.year, "trl": ach.trl, "match": round(match, 3), "sentence": mark(sentence, hits),
                "terms": sorted(set(hits) | set(title_hits))}
    if kind == "team":
        team = catalog.teams[key]
        sentence, hits = best_sentence(team.description or team.name, terms)
        return {"document": doc_id, "kind": "team_profile", "title": team.name, "match": round(match, 3),
                "sentence": mark(sentence, hits), "terms": hits}
    if kind == "need":
        need = catalog.needs[key]
        sentence, hits = best_sentence(need.description or need.title, terms)
        return {"document": doc_id, "kind": "need", "title": need.title, "match": round(match, 3),
                "sentence": mark(sentence, hits), "terms": hits}
    enterprise = catalog.enterprises[key]
    sentence, hits = best_sentence(enterprise.description or enterprise.name, terms)
    return {"document": doc_id, "kind": "enterprise_profile", "title": enterprise.name, "match": round(match, 3),
            "sentence": mark(sentence, hits), "terms": hits}


def contributions(values: dict[str, float], parts: dict[str, float]) -> list[dict]:
    """Non-zero feature contributions, largest effect first, each with its value and sign."""
    rows = [{"feature": name, "label": FEATURES[name], "value": round(values[name], 3),
             "contribution": round(part, 3)} for name, part in parts.items() if abs(part) >= 0.0005]
    return sorted(rows, key=lambda r: -abs(r["contribution"]))


def team_card(catalog: Catalog, team_id: str) -> dict:
    team, inst = catalog.teams[team_id], catalog.institution_of(team_id)
    return {"team_name": team.name, "institution": inst.name, "institution_type": inst.type,
            "province": inst.province, "city": inst.city, "discipline": team.discipline,
            "capacity": team.capacity, "current_load": catalog.team_load(team_id)}


def pair_history(catalog: Catalog, need_id: str | None, team_id: str) -> list[dict]:
    if not need_id:
        return []
    return [{"stage": e.stage, "label": STAGE_LABELS.get(e.stage, e.stage),
             "date": e.date.isoformat() if e.date else None, "reason": e.reason_code}
            for e in catalog.history.pair_events.get((need_id, team_id), [])]


def summary(catalog: Catalog, team_id: str, evidence: list[dict], terms: list[str], values: dict[str, float],
            history: list[dict]) -> str:
    """One line: the best evidence, shared terms, and the structured facts that moved the score."""
    team, inst = catalog.teams[team_id], catalog.institution_of(team_id)
    parts = [f"{team.name}（{inst.name}）"]
    if evidence:
        top = evidence[0]
        if top.get("achievement_id"):
            facts = [KIND_LABELS.get(top["kind"], top["kind"] or "成果")]
            facts += [str(top["year"])] if top.get("year") else []
            facts += [f"TRL{top['trl']}"] if top.get("trl") else []
            parts.append(f"代表成果《{top['title'].replace('【', '').replace('】', '')}》（{'，'.join(facts)}）")
        else:
            parts.append("团队介绍与需求相符")
    if terms:
        parts.append("共同关键词：" + "、".join(terms[:5]))
    if values.get("region", 0) >= 1:
        parts.append(f"同城（{inst.city}）")
    elif values.get("region", 0) > 0:
        parts.append(f"同省（{inst.province}）")
    if values.get("history_enterprise", 0) >= 1:
        parts.append("曾与该企业签约")
    elif values.get("history_enterprise", 0) > 0:
        parts.append("曾与该企业接洽")
    if values.get("spare_capacity", 0) <= 0:
        parts.append(f"团队当前满负荷（{catalog.team_load(team_id)}/{team.capacity or 3}）")
    if history:
        parts.append(f"本需求已有记录：{history[-1]['label']}")
    return "；".join(parts)


def explain_pair(catalog: Catalog, team_id: str, evidence: Evidence, terms: Sequence[tuple[str, float]],
                 values: dict[str, float], parts: dict[str, float], need_id: str | None,
                 team_text: str) -> dict:
    docs = [document_evidence(catalog, doc_id, match, terms) for doc_id, match in evidence.documents]
    shared = matched_terms(terms, team_text)
    history = pair_history(catalog, need_id, team_id)
    return {"summary": summary(catalog, team_id, docs, shared, values, history),
            "evidence": docs, "matched_terms": shared, "contributions": contributions(values, parts),
            "team": team_card(catalog, team_id), "history": history}
