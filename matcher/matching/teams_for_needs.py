"""Teams for a need, an enterprise or a text: the enterprises' direction.

A query (a need's text, all of an enterprise's open needs, or free text) is searched over the
capability documents; the owners of the best documents are the candidate teams, each scored with
the pair features (evidence, field fit, region, readiness, history...). The list is then filtered
(place, institution type, TRL, pairs already proposed), kept varied (one institution does not fill
it), given its exploration place, and rolled up to institutions when asked. ``--why`` says for any
named team where it stood and what kept it out.

Every function takes the MatchService whose catalog, indexes, model and ranker it uses.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from matcher.documents import need_text
from matcher.ingest.values import city_name, province_name
from matcher.matching.candidates import candidate_owners, owner_evidence
from matcher.matching.diversity import Policy, diversify
from matcher.matching.explain import explain_pair
from matcher.matching.exploration import explore
from matcher.matching.features import FEATURE_NAMES, FEATURES, QueryContext, evidence_achievements, pair_features
from matcher.matching.lists import NotFound, Scored, clipped_z, mark_explored, score_rows
from matcher.matching.options import MatchOptions, OptionError
from matcher.matching.rank import display_score
from matcher.matching.runs import MatchList, record

if TYPE_CHECKING:
    from matcher.matching.service import MatchService

CANDIDATES = 150  # teams scored in full per query
INSTITUTION_PEER = 1.5  # a second team is named at institution level only from this raw score up


# ---- ranking --------------------------------------------------------------------------------------
def rank_teams(
    service: "MatchService",
    ctx: QueryContext,
    vector: np.ndarray,
    keywords: Sequence[str] = (),
    extra: Sequence[str] = (),
    within: Sequence[str] | None = None,
) -> tuple[QueryContext, list[Scored]]:
    """Candidate teams for a query, scored best first, and the query context that explains them
    (``extra``: teams to score even when retrieval does not reach them; ``within``: retrieve only these
    teams' documents, see ``teams_within``)."""
    catalog = service.catalog
    scores = service.capabilities.query(ctx.text, vector, owners=within)
    owners = candidate_owners(scores, CANDIDATES)
    owners += [t for t in extra if t in catalog.teams and t not in owners]
    evidence = owner_evidence(scores, owners)
    industry = catalog.enterprises[ctx.enterprise_id].industry if ctx.enterprise_id else None
    ctx = QueryContext(
        ctx.text,
        ctx.need_id,
        ctx.enterprise_id,
        service.key_terms(ctx.text, keywords),
        field_scores(service, industry, list(evidence)),
    )
    rows = [
        (t, t, ctx.need_id, ev, pair_features(catalog, ctx, t, ev, service.team_text(t))) for t, ev in evidence.items()
    ]
    return ctx, score_rows(service.ranker, rows)


def field_scores(service: "MatchService", industry: str | None, team_ids: Sequence[str]) -> dict[str, float]:
    """How well each team's discipline fits the enterprise's industry, z-scored over the candidates."""
    if not industry or len(team_ids) < 2:
        return {}
    # Disciplines only: there are few, so their vectors are encoded once per process (team names are
    # unique, and encoding 150 of them per request cost seconds at 100k achievements).
    teams = service.catalog.teams
    target = service.label_vector(industry)
    raw = [service.label_vector(teams[t].discipline) @ target if teams[t].discipline else np.nan for t in team_ids]
    return clipped_z(team_ids, raw)


def need_of(service: "MatchService", need_id: str):
    need = service.catalog.needs.get(need_id)
    if need is None:
        raise NotFound(f"没有编号为 {need_id} 的需求")
    return need


def need_ranking(service: "MatchService", need_id: str, extra: Sequence[str] = ()) -> tuple[QueryContext, list[Scored]]:
    """Every candidate team for a need with its features, scored by the current ranker, and the query
    context that explains them (``extra``: teams to include even when retrieval does not reach them)."""
    need = need_of(service, need_id)
    text = need_text(need)
    return rank_teams(
        service,
        QueryContext(text, need.id, need.enterprise_id),
        service.vector(text, f"need:{need.id}", service.needs_search),
        need.keywords,
        extra,
    )


# ---- the lists ------------------------------------------------------------------------------------
def match_need(service: "MatchService", need_id: str, opts: MatchOptions | None) -> MatchList:
    opts = opts or MatchOptions()
    policy = opts.check("match")
    need = need_of(service, need_id)
    text = need_text(need)
    ctx = QueryContext(text, need.id, need.enterprise_id)
    vector = service.vector(text, f"need:{need.id}", service.needs_search)
    ctx, ranked = rank_teams(service, ctx, vector, need.keywords, opts.why, teams_within(service, opts))
    query = {"kind": "need", "need_id": need.id, "enterprise_id": need.enterprise_id, "title": need.title}
    return finish(service, "match_need", query, ranked, {need.id: ctx}, opts, policy, [need.id])


def match_enterprise(service: "MatchService", enterprise_id: str, opts: MatchOptions | None) -> MatchList:
    """Teams for all of an enterprise's open needs, merged; each result names the need it serves."""
    opts = opts or MatchOptions()
    policy = opts.check("match")
    catalog = service.catalog
    enterprise = catalog.enterprises.get(enterprise_id)
    if enterprise is None:
        raise NotFound(f"没有编号为 {enterprise_id} 的企业")
    need_ids = catalog.open_needs(enterprise_id)
    within = teams_within(service, opts)
    contexts: dict[str | None, QueryContext] = {}
    best: dict[str, Scored] = {}
    serves: dict[str, list[str]] = {}
    if not need_ids:
        if not enterprise.description:
            raise OptionError(
                f"企业 {enterprise_id} 没有开放的技术需求，也没有可供匹配的企业简介；"
                "请先导入其需求（cxy import needs 文件）或三清零摸底表"
            )
        text = "。".join(filter(None, (enterprise.industry, enterprise.description)))
        ctx, ranked = rank_teams(
            service,
            QueryContext(text, None, enterprise_id),
            service.vector(text, f"ent:{enterprise_id}", service.needs_search),
            (),
            opts.why,
            within,
        )
        contexts[None] = ctx
        best = {s.key: s for s in ranked}
    for need_id in need_ids:
        need = catalog.needs[need_id]
        text = need_text(need)
        ctx, ranked = rank_teams(
            service,
            QueryContext(text, need_id, enterprise_id),
            service.vector(text, f"need:{need_id}", service.needs_search),
            need.keywords,
            opts.why,
            within,
        )
        contexts[need_id] = ctx
        for s in ranked:
            serves.setdefault(s.key, []).append(need_id)
            if s.key not in best or s.raw > best[s.key].raw:
                best[s.key] = s
    for key, s in best.items():
        need_id = s.need_id
        s.note = {
            "need_id": need_id,
            "need_title": catalog.needs[need_id].title if need_id else None,
            "also_serves": [n for n in serves.get(key, []) if n != need_id][:5],
        }
    ranked = sorted(best.values(), key=lambda s: (-s.raw, s.key))
    query = {"kind": "enterprise", "enterprise_id": enterprise_id, "name": enterprise.name, "open_needs": need_ids}
    return finish(service, "match_enterprise", query, ranked, contexts, opts, policy, need_ids)


def match_text(service: "MatchService", text: str, opts: MatchOptions | None, query_id: str | None) -> MatchList:
    opts = opts or MatchOptions()
    policy = opts.check("match")
    text = (text or "").strip()
    if not text:
        raise OptionError("查询内容为空：请用一两句话描述技术需求")
    within = teams_within(service, opts)
    ctx, ranked = rank_teams(service, QueryContext(text), service.vector(text), (), opts.why, within)
    query = {"kind": "text", "text": text, **({"id": query_id} if query_id else {})}
    return finish(service, "match_text", query, ranked, {None: ctx}, opts, policy, [])


# ---- from a ranking to the list served ------------------------------------------------------------
def place_reason(inst, opts: MatchOptions) -> str | None:
    """Why an institution's teams are outside the list's province, city or institution type (None: inside)."""
    if opts.province and province_name(inst.province) != province_name(opts.province):
        return f"单位在{inst.province or '未知省份'}，不在筛选的省份 {opts.province}"
    if opts.city and city_name(inst.city) != city_name(opts.city):
        return f"单位在{inst.city or '未知城市'}，不在筛选的城市 {opts.city}"
    if opts.institution_type and inst.type != opts.institution_type:
        return f"单位类型为 {inst.type or '未知'}，不是 {opts.institution_type}"
    return None


def teams_within(service: "MatchService", opts: MatchOptions) -> list[str] | None:
    """The teams a list's place and type filters leave (None without such filters). Retrieval searches only
    their documents (a WHERE clause in pgvector), so a selective filter still fills the list with the best
    teams inside it instead of keeping the few that made the unfiltered candidates."""
    if not (opts.province or opts.city or opts.institution_type):
        return None
    catalog = service.catalog
    return [t for t in catalog.teams if place_reason(catalog.institution_of(t), opts) is None]


def team_filter(service: "MatchService", scored: Scored, opts: MatchOptions, need_ids: Sequence[str]) -> str | None:
    """Why a team is filtered out of this list (None: it passes)."""
    catalog, team_id = service.catalog, scored.team_id
    reason = place_reason(catalog.institution_of(team_id), opts)
    if reason:
        return reason
    if opts.min_trl:
        trls = [a.trl for a in evidence_achievements(catalog, scored.evidence) if a.trl]
        if not trls or max(trls) < opts.min_trl:
            return f"相关成果最高 TRL {max(trls) if trls else '未知'}，低于要求的 {opts.min_trl}"
    if opts.exclude_proposed:
        for need_id in need_ids:
            last = catalog.history.latest(need_id, team_id)
            if last is not None:
                return f"需求 {need_id} 已有记录（{last.stage}），按要求排除已推荐/已结束的配对"
    return None


def _explain(service: "MatchService", scored: Scored, ctx: QueryContext) -> dict:
    return explain_pair(
        service.catalog,
        scored.team_id,
        scored.evidence,
        ctx.terms,
        scored.values,
        scored.parts,
        scored.need_id,
        service.team_text(scored.team_id),
    )


def team_result(service: "MatchService", scored: Scored, ctx: QueryContext, rank: int) -> dict:
    explanation = _explain(service, scored, ctx)
    if scored.note:
        explanation = {**scored.note, **explanation}
    return {
        "rank": rank,
        "team_id": scored.team_id,
        "institution_id": service.catalog.teams[scored.team_id].institution_id,
        "score": display_score(scored.raw),
        "explanation": explanation,
    }


def finish(
    service: "MatchService",
    kind: str,
    query: dict,
    ranked: list[Scored],
    contexts: dict[str | None, QueryContext],
    opts: MatchOptions,
    policy: Policy,
    need_ids: Sequence[str],
) -> MatchList:
    """Filter, diversify, explore (or roll up to institutions), explain ``--why``, and record the list."""
    catalog = service.catalog
    filtered: dict[str, str] = {}
    passing: list[Scored] = []
    for s in ranked:
        reason = team_filter(service, s, opts, need_ids)
        if reason:
            filtered[s.key] = reason
        else:
            passing.append(s)
    if opts.level == "institution":
        results, held = institution_results(service, passing, contexts, opts)
    else:
        by_key = {s.key: s for s in passing}
        items = [(s.key, catalog.teams[s.key].institution_id, s.raw) for s in passing]
        chosen, held = diversify(items, opts.top, policy)
        seen = catalog.history.teams_seen
        chosen, explored = explore(
            chosen, [(s.key, s.raw) for s in passing], lambda t: t not in seen, opts.top, opts.explore
        )
        results = [team_result(service, by_key[k], contexts[by_key[k].need_id], i + 1) for i, k in enumerate(chosen)]
        mark_explored(results, explored, "team_id", "团队")
    why = [why_team(service, t, ranked, results, filtered, held, contexts) for t in opts.why]
    return record(service, kind, query, results, why, opts)


def institution_results(service: "MatchService", passing: list[Scored], contexts, opts: MatchOptions):
    """Institutions ranked by their best team, each with its best teams listed (diversity is moot)."""
    catalog = service.catalog
    grouped: dict[str, list[Scored]] = {}
    for s in passing:
        grouped.setdefault(catalog.teams[s.key].institution_id, []).append(s)
    order = sorted(grouped, key=lambda i: (-grouped[i][0].raw, i))[: opts.top]
    results = []
    for rank, inst_id in enumerate(order, 1):
        best = grouped[inst_id][0]
        result = team_result(service, best, contexts[best.need_id], rank)
        result["explanation"]["teams"] = [
            {"team_id": s.key, "team_name": catalog.teams[s.key].name, "score": display_score(s.raw)}
            for s in grouped[inst_id][:3]
            if s is best or s.raw >= INSTITUTION_PEER
        ]
        result["explanation"]["institution_name"] = catalog.institutions[inst_id].name
        results.append(result)
    return results, {}


def why_team(
    service: "MatchService",
    team_id: str,
    ranked: list[Scored],
    results: list[dict],
    filtered: dict[str, str],
    held: dict[str, str],
    contexts,
) -> dict:
    """Where a named team stood, what kept it out of the list, and how far it was from the last listed."""
    if team_id not in service.catalog.teams:
        return {"team_id": team_id, "found": False, "reasons": [f"没有编号为 {team_id} 的团队"]}
    listed = [r["team_id"] for r in results]
    position = next((i + 1 for i, s in enumerate(ranked) if s.key == team_id), None)
    out = {"team_id": team_id, "found": True, "in_list": team_id in listed, "position_before_filters": position}
    scored = next((s for s in ranked if s.key == team_id), None)
    if scored is None:
        out["reasons"] = ["该团队没有可比对的文档（无介绍和成果）"]
        return out
    out["score"] = display_score(scored.raw)
    reasons = []
    if team_id in listed:
        reasons.append(f"已在列表第 {listed.index(team_id) + 1} 位")
    if team_id in filtered:
        reasons.append(filtered[team_id])
    if team_id in held:
        reasons.append(held[team_id])
    last = next((s for s in ranked if results and s.key == results[-1]["team_id"]), None)
    if last is not None and team_id not in listed:
        gaps = sorted(((last.parts[n] - scored.parts[n], n) for n in FEATURE_NAMES), reverse=True)
        out["gap_to_last_listed"] = [
            {
                "feature": n,
                "label": FEATURES[n],
                "this_team": round(scored.parts[n], 3),
                "last_listed": round(last.parts[n], 3),
                "difference": round(d, 3),
            }
            for d, n in gaps
            if d > 0.005
        ][:5]
        if team_id not in filtered and team_id not in held:
            worst = out["gap_to_last_listed"][:2]
            reasons.append(
                "得分低于列表末位（"
                + last.key
                + "）：主要差在"
                + "、".join(f"{g['label']}（{g['this_team']:+.2f} 对 {g['last_listed']:+.2f}）" for g in worst)
            )
    out["reasons"] = reasons
    out["explanation"] = _explain(service, scored, contexts[scored.need_id])
    return out
