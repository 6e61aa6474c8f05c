"""揭榜挂帅 over HTTP: eligible candidates and consortium proposals (bureau and admin keys)."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CanMatch, ServiceDep
from api.routers.match import send
from api.schemas import ChallengeResponse
from matcher.challenges.service import ChallengeOptions, ChallengeService

router = APIRouter(tags=["challenges"])


@router.get("/challenges/{challenge_id}/candidates", response_model=ChallengeResponse,
            summary="Eligible teams for a challenge, with the targets each covers")
def candidates(challenge_id: str, service: ServiceDep, _: CanMatch,
               top: Annotated[int, Query(ge=1, le=200)] = 10,
               show_ineligible: Annotated[bool, Query(description="Also list excluded teams with the rule")] = False):
    opts = ChallengeOptions(top=top, show_ineligible=show_ineligible)
    return send(ChallengeService(service).candidates(challenge_id, opts))


@router.get("/challenges/{challenge_id}/consortium", response_model=ChallengeResponse,
            summary="A consortium of eligible teams covering the challenge's targets")
def consortium(challenge_id: str, service: ServiceDep, _: CanMatch,
               max_teams: Annotated[int, Query(ge=1, le=5)] = 3,
               pool: Annotated[int, Query(ge=2, le=25)] = 20):
    return send(ChallengeService(service).consortium(challenge_id, ChallengeOptions(max_teams=max_teams, pool=pool)))
