"""Read endpoints for every stored entity and for recommendation runs.

Researchers see enterprises and needs without contact person, phone or budget (the columns marked
sensitive in the schema) unless the enterprise marked its contacts public, never the survey answers
(marked bureau-only); of teams, only their own.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import inspect, select

from api.deps import CanRead, CanSeeRuns, SessionDep
from api.keys import Principal
from matcher.store import models

router = APIRouter(tags=["entities"])
MAX_OFFSET = 1_000_000_000  # beyond SQLite's integer range the database raised (500)

RESOURCES = {"institutions": models.Institution, "teams": models.Team, "achievements": models.Achievement,
             "enterprises": models.Enterprise, "needs": models.Need, "challenges": models.Challenge}
NOUNS = {"institutions": "机构", "teams": "团队", "achievements": "成果", "enterprises": "企业", "needs": "需求",
         "challenges": "榜单"}
LIST_FILTERS = {"teams": ("institution_id",), "achievements": ("team_id",), "needs": ("enterprise_id", "status"),
                "enterprises": ("county", "industry", "city")}


def _public(session, row, principal: Principal) -> dict[str, Any]:
    """A row as a dict, without sensitive columns for roles that may not see them."""
    if principal.role != "researcher":
        return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs}
    hidden = {models.BUREAU_ONLY} | ({True} if not _contacts_public(session, row) else set())
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs
            if c.columns[0].info.get("sensitive", False) not in hidden}


def _contacts_public(session, row) -> bool:
    if isinstance(row, models.Enterprise):
        return bool(row.contacts_public)
    if isinstance(row, models.Need):
        enterprise = session.get(models.Enterprise, row.enterprise_id)
        return bool(enterprise and enterprise.contacts_public)
    return True


def _check_team_access(resource: str, row, principal: Principal) -> None:
    if principal.role != "researcher" or resource not in ("teams", "achievements"):
        return
    team_id = row.id if resource == "teams" else row.team_id
    if team_id != principal.team_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"科研人员的密钥只能查看本团队（{principal.team_id}）的信息")


def _make_routes(resource: str, model) -> None:
    filters = LIST_FILTERS.get(resource, ())

    def list_rows(session: SessionDep, principal: CanRead,
                  limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                  field: str | None = Query(None, description=f"filter column: {', '.join(filters) or 'none'}"),
                  value: str | None = Query(None, description="value the filter column must equal")):
        statement = select(model).order_by(model.id).limit(limit).offset(offset)
        if field is not None:
            if field not in filters:
                allowed = f"只能按 {'、'.join(filters)} 筛选" if filters else "不支持筛选"
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                    f"查询参数 field：{resource} {allowed}，不能按 {field[:64]!r}")
            statement = statement.where(getattr(model, field) == value)
        if principal.role == "researcher" and resource in ("teams", "achievements"):
            column = model.id if resource == "teams" else model.team_id
            statement = statement.where(column == principal.team_id)
        return [_public(session, row, principal) for row in session.scalars(statement)]

    router.add_api_route(f"/{resource}", list_rows, methods=["GET"], summary=f"List {resource}",
                         name=f"list_{resource}")

    def get_row(item_id: str, session: SessionDep, principal: CanRead):
        row = session.get(model, item_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有编号为 {item_id[:64]!r} 的{NOUNS[resource]}")
        _check_team_access(resource, row, principal)
        return _public(session, row, principal)

    router.add_api_route(f"/{resource}/{{item_id}}", get_row, methods=["GET"], summary=f"One of {resource}",
                         name=f"get_{resource}")


for _resource, _model in RESOURCES.items():
    _make_routes(_resource, _model)


@router.get("/runs/{run_id}", summary="A stored recommendation run with its items")
def get_run(run_id: str, session: SessionDep, _: CanSeeRuns):
    run = session.get(models.RecommendationRun, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有编号为 {run_id[:64]!r} 的推荐批次")
    items = session.scalars(select(models.RecommendationItem).where(models.RecommendationItem.run_id == run_id)
                            .order_by(models.RecommendationItem.rank))
    return {"id": run.id, "kind": run.kind, "query": run.query, "model_version": run.model_version,
            "ranker_version": run.ranker_version, "params": run.params, "created_at": run.created_at,
            "items": [{"rank": i.rank, "team_id": i.team_id, "need_id": i.need_id, "score": i.score,
                       "explanation": i.explanation} for i in items]}
