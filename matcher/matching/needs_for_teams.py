"""Open needs (and their enterprises) for a team or a text: the researchers' direction.

For a team, each of its documents (introduction, achievements) is a query over the open needs; a
need's forward affinity (the top-3 mean over the team's documents) only picks the candidates. Each
candidate is scored by the evidence its own match list would give the team: the need's text searched
over the capability documents, z-scored on the need's own top documents, top-3 mean over the team's
documents (need_queries), then the pair features. That view won on the held-out folds of every
labelled set (bench/firm_lists.py; README). Candidates widen with ``--top`` until the list is full.
A text is one query over the needs and is scored by its evidence alone. The list is then filtered (the
enterprise's place and industry, pairs already proposed), kept varied (or one need per enterprise),
given its exploration place for enterprises with no history, and ``--why`` says for any named need
what kept it out.

Every function takes the MatchService whose catalog, indexes, model and ranker it uses.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from embeddings.lexical import prepare_text
from matcher.documents import achievement_text, need_text, team_text
from matcher.ingest.values import city_name, province_name
from matcher.matching.candidates import TOP_K, combine, evidence_from_matrix, owner_evidence
from matcher.matching.catalog import Catalog
from matcher.matching.diversity import Policy, diversify
from matcher.matching.explain import best_sentence, contributions, document_evidence, explain_pair, mark
from matcher.matching.exploration import explore
from matcher.matching.features import FEATURE_NAMES, QueryContext, pair_features, term_overlap
from matcher.matching.lists import NotFound, Scored, clipped_z, mark_explored, score_rows
from matcher.matching.need_queries import need_query
from matcher.matching.options import MatchOptions, OptionError
from matcher.matching.rank import display_score
from matcher.matching.runs import MatchList, record

if TYPE_CHECKING:
    from matcher.matching.service import MatchService

CANDIDATES = 150  # needs scored in full per team, at least
WIDEN = 2  # and at least this many per result asked for (--top 500: 1,000)
# Discipline-industry fit is left at 0 (no information) in firm lists: with it, held-out nDCG@10 was
# lower on both labelled team sets (blind 0.916 -> 0.923, sample 0.917 -> 0.931 without; 5-fold CV,
# bench/firm_lists.py). Match lists keep it.
FIELD_FIT = False


# ---- the lists ------------------------------------------------------------------------------------
def firms_team(service: "MatchService", team_id: str, opts: MatchOptions | None) -> MatchList:
    """Open needs a team could serve. Candidates come from the team's documents searched over the open
    needs; each candidate is then scored by the need's own query over the team's documents (the
    evidence the need's match list gives the team: need_queries). The more results asked for, the more
    candidates are scored, until the list is full or every need that passes the filters is scored."""
    opts = opts or MatchOptions(level="need")
    policy = opts.check("firms")
    catalog = service.catalog
    if team_id not in catalog.teams:
        raise NotFound(f"没有编号为 {team_id} 的团队")
    order = forward_order(service, team_id)
    if not order:
        return record(service, "firms_team", {"kind": "team", "team_id": team_id}, [], [], opts)
    passing = [n for n in order if firm_filter(service, n, opts, team_id) is None]
    field = field_scores(service, team_id, order) if FIELD_FIT else {}
    named = [n for n in opts.why if n in catalog.needs and catalog.needs[n].status == "open"]
    limit = max(CANDIDATES, WIDEN * opts.top)
    scored: dict[str, Scored] = {}
    terms_of: dict[str, tuple] = {}
    while True:
        wanted = [n for n in dict.fromkeys(order[:limit] + passing[:limit] + named) if n not in scored]
        scored.update(score_needs(service, team_id, wanted, field, terms_of))
        ranked = sorted(scored.values(), key=lambda s: (-s.raw, s.key))
        # Diversity may hold needs back, so widen until the list is full or every passing need is in.
        if limit >= len(passing) or len(choose(service, ranked, opts, policy, team_id)[1]) >= opts.top:
            break
        limit *= 2
    query = {"kind": "team", "team_id": team_id, "team_name": catalog.teams[team_id].name}
    return finish(service, "firms_team", query, ranked, terms_of, opts, policy, team_id)


def score_needs(
    service: "MatchService", team_id: str, need_ids: Sequence[str], field: dict[str, float], terms_of: dict
) -> dict[str, Scored]:
    """The needs scored in full for the team: each need's own evidence for it and the pair features
    (``terms_of`` receives each need's key terms, which its explanation marks)."""
    catalog = service.catalog
    rows = []
    for need_id in need_ids:
        query = need_query(service, need_id)
        evidence = owner_evidence(query, [team_id]).get(team_id)
        if evidence is None:
            continue
        need = catalog.needs[need_id]
        terms = terms_of[need_id] = query.key_terms
        ctx = QueryContext(query.text, need_id, need.enterprise_id, terms, {team_id: field.get(need_id, 0.0)})
        features = pair_features(catalog, ctx, team_id, evidence, service.team_text(team_id))
        rows.append((need_id, team_id, need_id, evidence, features))
    return {s.key: s for s in score_rows(service.ranker, rows)}


def firms_text(service: "MatchService", text: str, opts: MatchOptions | None, query_id: str | None) -> MatchList:
    """Open needs for a description of what a team can do, scored by their evidence for it alone."""
    opts = opts or MatchOptions(level="need")
    policy = opts.check("firms")
    text = (text or "").strip()
    if not text:
        raise OptionError("查询内容为空：请用一两句话描述团队能做什么")
    search = service.needs_search
    # The head (each component's best documents) widens with --top, so a long list is not cut short.
    scores = search.query(text, service.vector(text), depth=max(200, WIDEN * opts.top))
    open_rows = set(open_need_rows(service).tolist())
    rows_ = np.array(sorted(set(scores.head.tolist()) & open_rows), dtype=np.int64)
    terms = service.key_terms(text)
    rows, terms_of = [], {}
    if len(rows_):
        z = scores.components(rows_)
        for j, row in enumerate(rows_):
            doc_id = search.doc_ids[row]
            ev = evidence_from_matrix(doc_id[5:], [doc_id], {n: v[j : j + 1] for n, v in z.items()}, search.weights)
            need = service.catalog.needs[doc_id[5:]]
            need_plain = prepare_text(need_text(need))
            values = dict.fromkeys(FEATURE_NAMES, 0.0)
            values.update(
                semantic=ev.affinity,
                dense=ev.dense,
                lexical=ev.lexical,
                best_evidence=ev.best[1],
                term_overlap=term_overlap(terms, need_plain),
            )
            terms_of[need.id] = terms
            rows.append((need.id, None, need.id, ev, values))
    query = {"kind": "text", "text": text, **({"id": query_id} if query_id else {})}
    return finish(service, "firms_text", query, score_rows(service.ranker, rows), terms_of, opts, policy, None)


# ---- candidates -----------------------------------------------------------------------------------
def forward_order(service: "MatchService", team_id: str) -> list[str]:
    """Open needs, best first (ties by id), by the team's documents searched over the needs index: a
    need's forward affinity is the top-3 mean of its fused scores over the team's documents. This only
    picks the candidates; they are scored by their own queries (score_needs)."""
    caps, search = service.capabilities, service.needs_search
    team_rows = caps.rows_of_owner.get(team_id)
    need_rows = open_need_rows(service)
    if team_rows is None or not len(need_rows):
        return []
    fused = []
    for doc_id in (caps.doc_ids[r] for r in team_rows):
        z = search.query(capability_text(service.catalog, doc_id), caps.dense.vector(doc_id)).components(need_rows)
        fused.append(combine(z, search.weights)[0])
    affinity = -np.sort(-np.vstack(fused), axis=0)[:TOP_K].mean(axis=0)
    need_ids = [search.doc_ids[r][5:] for r in need_rows]
    return [need_ids[j] for j in np.lexsort((need_ids, -affinity))]


def open_need_rows(service: "MatchService") -> np.ndarray:
    """Rows of the needs index that are open needs of the catalog."""
    search, needs = service.needs_search, service.catalog.needs
    return np.array(
        [
            r
            for r, d in enumerate(search.doc_ids)
            if d.startswith("need:") and needs.get(d[5:]) is not None and needs[d[5:]].status == "open"
        ],
        dtype=np.int64,
    )


def capability_text(catalog: Catalog, doc_id: str) -> str:
    """The text of a capability document (``team:ID`` or ``ach:ID``) as it was indexed."""
    kind, _, key = doc_id.partition(":")
    return team_text(catalog.teams[key]) if kind == "team" else achievement_text(catalog.achievements[key])


def field_scores(service: "MatchService", team_id: str, need_ids: Sequence[str]) -> dict[str, float]:
    """How well each need's industry fits the team's discipline, z-scored over all the open needs given
    (not over the candidates, so that asking for more results does not move the first ones)."""
    catalog = service.catalog
    team = catalog.teams[team_id]
    industries = [catalog.enterprise_of(n).industry for n in need_ids]
    if len(need_ids) < 2 or not any(industries) or not team.discipline:
        return {}
    label = service.label_vector(team.discipline)
    fit = {i: float(service.label_vector(i) @ label) for i in set(industries) if i}  # few industries
    return clipped_z(need_ids, [fit[i] if i else np.nan for i in industries])


# ---- from a ranking to the list served ------------------------------------------------------------
def firm_filter(service: "MatchService", need_id: str, opts: MatchOptions, team_id: str | None) -> str | None:
    """Why a need is filtered out of this list (None: it passes)."""
    catalog = service.catalog
    enterprise = catalog.enterprise_of(need_id)
    # Places compare by their normalised names (江西省 = 江西, 萍乡市 = 萍乡), as imports store them.
    for label, wanted, have, norm in (
        ("省份", opts.province, enterprise.province, province_name),
        ("城市", opts.city, enterprise.city, city_name),
        ("县区", opts.county, enterprise.county, str.strip),
    ):
        if wanted and (have is None or norm(have) != norm(wanted)):
            return f"企业在{have or '未知' + label}，不在筛选的{label} {wanted}"
    if opts.industry and opts.industry not in (enterprise.industry or ""):
        return f"企业行业为 {enterprise.industry or '未知'}，不含 {opts.industry}"
    if opts.exclude_proposed and team_id and catalog.history.latest(need_id, team_id) is not None:
        return "该配对已有记录，按要求排除已推荐/已结束的配对"
    return None


def firm_result(service: "MatchService", s: Scored, rank: int, terms_of: dict[str, tuple], team_id: str | None) -> dict:
    catalog = service.catalog
    need = catalog.needs[s.key]
    enterprise = catalog.enterprise_of(s.key)
    terms = terms_of[s.key]
    sentence, hits = best_sentence(need.description or need.title, terms)
    need_card = {
        "need_title": need.title,
        "enterprise_name": enterprise.name,
        "industry": enterprise.industry,
        "province": enterprise.province,
        "city": enterprise.city,
        "county": enterprise.county,
        "sentence": mark(sentence, hits),
    }
    if team_id:
        explanation = explain_pair(
            catalog, team_id, s.evidence, terms, s.values, s.parts, s.key, service.team_text(team_id)
        )
        explanation["summary"] = f"{enterprise.name}：{need.title}；" + explanation["summary"]
    else:
        docs = [document_evidence(catalog, d, m, terms) for d, m in s.evidence.documents[:1]]
        shared = docs[0]["terms"] if docs else []
        explanation = {
            "summary": f"{enterprise.name}：{need.title}"
            + (f"；共同关键词：{'、'.join(shared[:5])}" if shared else ""),
            "evidence": docs,
            "matched_terms": shared,
            "contributions": contributions(s.values, s.parts),
        }
    explanation["need"] = need_card
    return {
        "rank": rank,
        "need_id": need.id,
        "enterprise_id": enterprise.id,
        "score": display_score(s.raw),
        "explanation": explanation,
    }


def choose(
    service: "MatchService", ranked: list[Scored], opts: MatchOptions, policy: Policy, team_id: str | None
) -> tuple[dict[str, str], list[str], dict[str, str], set[str]]:
    """The list made from a ranking: (filtered need -> reason, chosen needs in order, held back by
    diversity -> reason, needs placed by exploration)."""
    catalog = service.catalog
    filtered = {s.key: r for s in ranked if (r := firm_filter(service, s.key, opts, team_id))}
    passing = [s for s in ranked if s.key not in filtered]
    if opts.level == "enterprise":
        seen, chosen = set(), []
        for s in passing:
            enterprise_id = catalog.needs[s.key].enterprise_id
            if enterprise_id not in seen:
                seen.add(enterprise_id)
                chosen.append(s.key)
        chosen, held = chosen[: opts.top], {}
    else:
        items = [(s.key, catalog.needs[s.key].enterprise_id, s.raw) for s in passing]
        chosen, held = diversify(items, opts.top, policy)
    seen = catalog.history.enterprises_seen
    chosen, explored = explore(
        chosen,
        [(s.key, s.raw) for s in passing],
        lambda n: catalog.needs[n].enterprise_id not in seen,
        opts.top,
        opts.explore,
    )
    return filtered, chosen, held, explored


def finish(
    service: "MatchService",
    kind: str,
    query: dict,
    ranked: list[Scored],
    terms_of,
    opts: MatchOptions,
    policy: Policy,
    team_id: str | None,
) -> MatchList:
    """Filter, diversify (or one need per enterprise), explore, explain ``--why``, and record the list."""
    filtered, chosen, held, explored = choose(service, ranked, opts, policy, team_id)
    by_key = {s.key: s for s in ranked}
    results = [firm_result(service, by_key[k], i + 1, terms_of, team_id) for i, k in enumerate(chosen)]
    mark_explored(results, explored, "need_id", "企业")
    why = [why_need(service.catalog, need_id, ranked, chosen, filtered, held, opts.top) for need_id in opts.why]
    return record(service, kind, query, results, why, opts)


def why_need(
    catalog: Catalog,
    need_id: str,
    ranked: list[Scored],
    chosen: list[str],
    filtered: dict[str, str],
    held: dict[str, str],
    top: int,
) -> dict:
    """Where a named need stood and what kept it out of the list."""
    position = next((i + 1 for i, s in enumerate(ranked) if s.key == need_id), None)
    reasons = [r for r in (filtered.get(need_id), held.get(need_id)) if r]
    if need_id not in catalog.needs:
        reasons = [f"没有编号为 {need_id} 的需求"]
    elif catalog.needs[need_id].status != "open":
        reasons.append("需求已关闭")
    elif need_id in chosen:
        reasons.append(f"已在列表第 {chosen.index(need_id) + 1} 位")
    elif position is None:
        reasons.append("与查询的相关度不足以进入候选")
    elif not reasons:
        reasons.append(f"排在第 {position} 位，列表只取前 {top} 个")
    return {"need_id": need_id, "position_before_filters": position, "reasons": reasons}
