"""揭榜挂帅 lists: eligible candidates for a challenge with per-target coverage, and a consortium proposal.

    service = ChallengeService(MatchService(engine))
    service.candidates("C11", ChallengeOptions(top=10, show_ineligible=True)).as_dict()
    service.consortium("C11", ChallengeOptions(max_teams=3)).as_dict()

The challenge's whole text (title, description, targets) is ranked like a need by the match service,
with the issuer as the enterprise (region, history); each target is then matched on its own
(coverage.py). Candidates are ordered by overall fit plus COVERAGE_WEIGHT x the share of targets
covered; both lists are stored as recommendation runs.
"""

from dataclasses import dataclass, field

from matcher.challenges.consortium import MAX_K, MAX_POOL, best_consortium
from matcher.challenges.coverage import TargetEvidence, coverage, covered
from matcher.challenges.eligibility import Rules, exclusions, team_readiness
from matcher.challenges.targets import Target, split_targets
from matcher.matching.explain import document_evidence, explain_pair, team_card
from matcher.matching.features import QueryContext
from matcher.matching.options import OptionError
from matcher.matching.rank import display_score
from matcher.matching.service import MatchList, MatchService, NotFound, Scored
from matcher.store import models
from matcher.store.db import session_factory

COVERAGE_WEIGHT = 2.0
ASSESSED = 40  # teams (by overall fit) whose targets are matched one by one


@dataclass
class ChallengeOptions:
    top: int = 10
    show_ineligible: bool = False
    max_teams: int = 3  # consortium size
    pool: int = 20  # eligible candidates a consortium is chosen from

    def check(self) -> None:
        if not 1 <= self.top <= 200:
            raise OptionError(f"列表长度 top 应在 1 到 200 之间，现为 {self.top}")
        if not 1 <= self.max_teams <= MAX_K:
            raise OptionError(f"联合体应有 1 到 {MAX_K} 个团队，现为 {self.max_teams}")
        if not 2 <= self.pool <= MAX_POOL:
            raise OptionError(f"联合体候选池应为 2 到 {MAX_POOL} 个团队，现为 {self.pool}")

    def as_params(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False)}


@dataclass
class Candidate:
    scored: Scored
    targets: list[TargetEvidence]
    covers: frozenset[int]
    readiness: int | None
    reasons: list[str] = field(default_factory=list)  # why it is ineligible; empty = eligible

    @property
    def score(self) -> float:
        return self.scored.raw + COVERAGE_WEIGHT * (len(self.covers) / max(len(self.targets), 1))


@dataclass
class Assessment:
    challenge: models.Challenge
    targets: list[Target]
    rules: Rules
    context: QueryContext
    target_terms: dict[int, tuple]  # Target.index -> its key terms (marked in the evidence sentences)
    candidates: list[Candidate]  # best first

    @property
    def eligible(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.reasons]

    @property
    def ineligible(self) -> list[Candidate]:
        return [c for c in self.candidates if c.reasons]


class ChallengeService:
    def __init__(self, match: MatchService):
        self.match = match

    @property
    def catalog(self):
        return self.match.catalog

    def _challenge(self, challenge_id: str) -> models.Challenge:
        with session_factory(self.match.engine)() as session:
            challenge = session.get(models.Challenge, challenge_id)
            if challenge is None:
                raise NotFound(f"没有编号为 {challenge_id} 的榜单")
            session.expunge(challenge)
        return challenge

    def assess(self, challenge_id: str) -> Assessment:
        challenge = self._challenge(challenge_id)
        targets = split_targets(challenge.indicators)
        text = "。".join(p for p in (challenge.title, challenge.description, challenge.indicators) if p)
        issuer = challenge.issuer_enterprise_id if challenge.issuer_enterprise_id in self.catalog.enterprises else None
        ctx, ranked = self.match.rank_teams(QueryContext(text, None, issuer), self.match.vector(text))
        assessed = ranked[:ASSESSED]
        per_team = coverage(self.match, targets, {s.key: s.raw for s in assessed})
        rules = Rules.of(challenge)
        candidates = []
        for s in assessed:
            rows = per_team.get(s.key, [])
            matched = [d[4:] for d, _ in s.evidence.documents if d.startswith("ach:")]
            readiness = team_readiness(self.catalog, s.key, matched)
            candidates.append(Candidate(s, rows, covered(rows), readiness,
                                        exclusions(self.catalog, rules, s.key, readiness)))
        candidates.sort(key=lambda c: (-c.score, c.scored.key))
        terms = {t.index: self.match.key_terms(t.words) for t in targets}
        return Assessment(challenge, targets, rules, ctx, terms, candidates)

    # ---- explanations ---------------------------------------------------------------------------
    def _target_rows(self, a: Assessment, c: Candidate) -> list[dict]:
        by_index = {r.target: r for r in c.targets}
        rows = []
        for target in a.targets:
            r = by_index.get(target.index)
            row = {"index": target.index, "target": target.text, "covered": bool(r and r.covered),
                   "score": round(r.score, 3) if r else None}
            if r and r.covered:
                row["evidence"] = document_evidence(self.catalog, r.document, r.match, a.target_terms[target.index])
            rows.append(row)
        return rows

    def _candidate_result(self, a: Assessment, c: Candidate, rank: int) -> dict:
        s = c.scored
        explanation = explain_pair(self.catalog, s.key, s.evidence, a.context.terms, s.values, s.parts, None,
                                   self.match.team_text(s.key))
        listed = "、".join(str(i + 1) for i in sorted(c.covers))
        head = f"覆盖指标 {len(c.covers)}/{len(a.targets)}" + (f"（第 {listed} 项）" if listed else "")
        explanation["summary"] = f"{head}；{explanation['summary']}"
        explanation.update(coverage=self._target_rows(a, c), covered_targets=sorted(c.covers),
                           readiness=c.readiness, eligibility=c.reasons or "符合")
        return {"rank": rank, "team_id": s.key, "institution_id": self.catalog.teams[s.key].institution_id,
                "score": display_score(c.score), "explanation": explanation}

    def _query(self, a: Assessment) -> dict:
        ch = a.challenge
        return {"kind": "challenge", "challenge_id": ch.id, "title": ch.title,
                "issuer_enterprise_id": ch.issuer_enterprise_id, "rules": a.rules.as_dict(),
                "targets": [t.as_dict() for t in a.targets]}

    def _record(self, kind: str, a: Assessment, results: list[dict], opts: ChallengeOptions, extra: dict) -> MatchList:
        out = MatchList(kind, self._query(a), results, [], self.match.encoder.model_id, self.match.ranker.version,
                        {**opts.as_params(), **self.match.ranker_params()}, extra=extra,
                        ranker_note=self.match.ranker_note)
        if self.match.store_runs:
            self.match.save(out)
        return out

    # ---- lists ----------------------------------------------------------------------------------
    def candidates(self, challenge_id: str, opts: ChallengeOptions | None = None) -> MatchList:
        """Eligible teams, best first, each with which targets its evidence covers."""
        opts = opts or ChallengeOptions()
        opts.check()
        a = self.assess(challenge_id)
        results = [self._candidate_result(a, c, i + 1) for i, c in enumerate(a.eligible[: opts.top])]
        extra = {}
        if opts.show_ineligible:
            extra["ineligible"] = [
                {"team_id": c.scored.key, **{k: v for k, v in team_card(self.catalog, c.scored.key).items()
                                             if k in ("team_name", "institution", "institution_type", "province")},
                 "score": display_score(c.score), "covered_targets": sorted(c.covers), "readiness": c.readiness,
                 "reasons": c.reasons} for c in a.ineligible[: opts.top]]
        return self._record("challenge_candidates", a, results, opts, extra)

    def consortium(self, challenge_id: str, opts: ChallengeOptions | None = None) -> MatchList:
        """Up to ``max_teams`` eligible teams that together cover the most targets with the best evidence."""
        opts = opts or ChallengeOptions()
        opts.check()
        a = self.assess(challenge_id)
        pool = a.eligible[: opts.pool]
        scores = {c.scored.key: {r.target: r.score for r in c.targets} for c in pool}
        chosen = best_consortium([t.index for t in a.targets], scores, {c.scored.key: c.covers for c in pool},
                                 {c.scored.key: c.score for c in pool}, opts.max_teams)
        by_team = {c.scored.key: c for c in pool}
        results, extra = [], {"consortium": None}
        if chosen is not None:
            for rank, team_id in enumerate(chosen.members, 1):
                result = self._candidate_result(a, by_team[team_id], rank)
                serves = sorted(t for t, m in chosen.assignment.items() if m == team_id)
                result["explanation"]["role"] = "lead" if rank == 1 else "member"
                result["explanation"]["serves_targets"] = serves
                results.append(result)
            names = {m: self.catalog.teams[m].name for m in chosen.members}
            extra["consortium"] = {
                "lead": chosen.members[0], "members": list(chosen.members), "combined_fit": chosen.fit,
                "sets_considered": chosen.sets_considered,
                "assignment": [{"index": t.index, "target": t.text, "team_id": chosen.assignment.get(t.index),
                                "team_name": names.get(chosen.assignment.get(t.index))} for t in a.targets],
                "uncovered": [{"index": i, "target": a.targets[i].text} for i in chosen.uncovered]}
        else:
            extra["uncovered"] = [{"index": t.index, "target": t.text} for t in a.targets]
        return self._record("challenge_consortium", a, results, opts, extra)
