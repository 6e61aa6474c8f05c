"""揭榜挂帅: the challenge list; a challenge page with the eligible candidates, a target × team coverage
matrix (✓/✗, the evidence on demand), the ineligible teams with the rule each fails, and the
consortium: which member covers which target and what stays uncovered. Both lists are stored runs."""

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.console.auth import StaffUser, short_session
from api.console.plain import INSTITUTION_TYPES
from api.console.render import render
from matcher.challenges.service import ChallengeOptions, ChallengeService
from matcher.matching.search import IndexNotBuilt
from matcher.matching.service import NotFound
from matcher.store import models

router = APIRouter(include_in_schema=False)


@router.get("/console/challenges")
def challenge_list(request: Request, user: StaffUser):
    with short_session(request) as session:
        rows = list(session.scalars(select(models.Challenge).order_by(models.Challenge.deadline, models.Challenge.id)))
        issuers = {e.id: e.name for e in session.scalars(select(models.Enterprise).where(
            models.Enterprise.id.in_({c.issuer_enterprise_id for c in rows if c.issuer_enterprise_id})))}
    return render(request, "console/challenges.html", title="揭榜挂帅", section="challenges", rows=rows,
                  issuers=issuers)


@router.get("/console/challenges/{challenge_id}")
def challenge_page(request: Request, user: StaffUser, challenge_id: str, top: int = 10, max_teams: int = 3):
    service = ChallengeService(request.app.state.service)
    top, max_teams = min(max(top, 1), 30), min(max(max_teams, 1), 5)
    try:
        candidates = service.candidates(challenge_id, ChallengeOptions(top=top, show_ineligible=True))
        consortium = service.consortium(challenge_id, ChallengeOptions(max_teams=max_teams))
    except NotFound:
        return render(request, "console/error.html", title="找不到榜单", status=404,
                      message=f"没有编号为 {challenge_id} 的榜单")
    except IndexNotBuilt as exc:
        return render(request, "console/error.html", title="索引未建立", status=503, message=str(exc))
    with short_session(request) as session:
        challenge = session.get(models.Challenge, challenge_id)
        issuer = session.get(models.Enterprise, challenge.issuer_enterprise_id) if challenge.issuer_enterprise_id \
            else None
    targets = candidates.query["targets"]
    matrix = [{"team_id": r["team_id"], "name": r["explanation"]["team"]["team_name"],
               "cells": {c["index"]: c for c in r["explanation"]["coverage"]}} for r in candidates.results]
    return render(request, "console/challenge.html", title=challenge.title, section="challenges", c=challenge,
                  issuer=issuer, targets=targets, candidates=candidates, matrix=matrix, consortium=consortium,
                  rules=candidates.query["rules"], types=INSTITUTION_TYPES, top=top, max_teams=max_teams)
