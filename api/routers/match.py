"""Match and firm lists over HTTP: the same operations and options as `cxy match` / `cxy firms`."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import CanFirms, CanMatch, ServiceDep
from api.schemas import ListOptions, MatchResponse, TextQuery

router = APIRouter(tags=["match"])
ListQuery = Annotated[ListOptions, Query()]


@router.get("/match/need/{need_id}", response_model=MatchResponse, summary="Teams for a need")
def match_need(need_id: str, service: ServiceDep, options: ListQuery, _: CanMatch):
    return service.match_need(need_id, options.to_options("team")).as_dict()


@router.get("/match/enterprise/{enterprise_id}", response_model=MatchResponse,
            summary="Teams for all open needs of an enterprise")
def match_enterprise(enterprise_id: str, service: ServiceDep, options: ListQuery, _: CanMatch):
    return service.match_enterprise(enterprise_id, options.to_options("team")).as_dict()


@router.post("/match/text", response_model=MatchResponse, summary="Teams for a need in plain words")
def match_text(body: TextQuery, service: ServiceDep, _: CanMatch):
    return service.match_text(body.text, body.to_options("team")).as_dict()


@router.get("/firms/team/{team_id}", response_model=MatchResponse, summary="Open needs a team could serve")
def firms_team(team_id: str, service: ServiceDep, options: ListQuery, principal: CanFirms):
    if principal.role == "researcher" and principal.team_id != team_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"a researcher key may list firms for its own team ({principal.team_id}) only")
    return service.firms_team(team_id, options.to_options("need")).as_dict()


@router.post("/firms/text", response_model=MatchResponse, summary="Open needs for a capability in plain words")
def firms_text(body: TextQuery, service: ServiceDep, _: CanFirms):
    return service.firms_text(body.text, body.to_options("need")).as_dict()
