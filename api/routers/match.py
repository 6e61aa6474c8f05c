"""Match and firm lists over HTTP: the same operations and options as `cxy match` / `cxy firms`."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse

from api.deps import CanFirms, CanMatch, ServiceDep
from api.schemas import ListOptions, MatchResponse, TextQuery

router = APIRouter(tags=["match"])


def send(match_list) -> JSONResponse:
    # Returned as-is: the lists are built by the service in MatchResponse's shape (documented by
    # response_model); validating every nested explanation again cost ~10 ms a request.
    return JSONResponse(match_list.as_dict())
ListQuery = Annotated[ListOptions, Query()]


@router.get("/match/need/{need_id}", response_model=MatchResponse, summary="Teams for a need")
def match_need(need_id: str, service: ServiceDep, options: ListQuery, _: CanMatch):
    return send(service.match_need(need_id, options.to_options("team")))


@router.get("/match/enterprise/{enterprise_id}", response_model=MatchResponse,
            summary="Teams for all open needs of an enterprise")
def match_enterprise(enterprise_id: str, service: ServiceDep, options: ListQuery, _: CanMatch):
    return send(service.match_enterprise(enterprise_id, options.to_options("team")))


@router.post("/match/text", response_model=MatchResponse, summary="Teams for a need in plain words")
def match_text(body: TextQuery, service: ServiceDep, _: CanMatch):
    return send(service.match_text(body.text, body.to_options("team")))


@router.get("/firms/team/{team_id}", response_model=MatchResponse, summary="Open needs a team could serve")
def firms_team(team_id: str, service: ServiceDep, options: ListQuery, principal: CanFirms):
    if principal.role == "researcher" and principal.team_id != team_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"科研人员的密钥只能为本团队（{principal.team_id}）查找企业需求")
    return send(service.firms_team(team_id, options.to_options("need")))


@router.post("/firms/text", response_model=MatchResponse, summary="Open needs for a capability in plain words")
def firms_text(body: TextQuery, service: ServiceDep, _: CanFirms):
    return send(service.firms_text(body.text, body.to_options("need")))
