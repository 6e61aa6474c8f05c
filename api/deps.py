"""Dependencies declared once: the database session, the match service, and the calling principal."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from api.keys import Principal, principal_for
from matcher.matching.service import MatchService
from matcher.store.db import session_factory

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="A key from `cxy key create --role bureau|researcher|admin`.")


def get_session(request: Request) -> Iterator[Session]:
    with session_factory(request.app.state.engine)() as session:
        yield session


def get_service(request: Request) -> MatchService:
    return request.app.state.service


SessionDep = Annotated[Session, Depends(get_session)]
ServiceDep = Annotated[MatchService, Depends(get_service)]


def current_principal(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> Principal:
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "缺少 API 密钥：请在请求头 X-API-Key 中发送密钥"
                            "（创建密钥：cxy key create --role bureau --name 名称）")
    # A session of its own, closed before the endpoint runs: a request that held this connection for its
    # whole life and took a second one to store its run deadlocked the pool at ~15 requests in flight.
    with session_factory(request.app.state.engine)() as session:
        principal = principal_for(session, key)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "API 密钥未知或已吊销：请向管理员索取新密钥")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

# What each role may do. Admin may do everything a bureau key may, plus imports, indexing and training.
ROLE_RIGHTS = {"bureau": {"match", "firms", "read", "runs", "feedback"},
               "researcher": {"firms", "read"},
               "admin": {"match", "firms", "read", "runs", "feedback", "admin"}}


def require(right: str):
    def check(principal: CurrentPrincipal) -> Principal:
        if right not in ROLE_RIGHTS.get(principal.role, set()):
            allowed = "、".join(r for r, rights in ROLE_RIGHTS.items() if right in rights)
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"{principal.role} 角色的密钥不能使用此接口（需要以下角色之一：{allowed}）")
        return principal

    return Depends(check)


CanMatch = Annotated[Principal, require("match")]
CanFirms = Annotated[Principal, require("firms")]
CanRead = Annotated[Principal, require("read")]
CanSeeRuns = Annotated[Principal, require("runs")]
IsAdmin = Annotated[Principal, require("admin")]
CanRecord = Annotated[Principal, require("feedback")]
