"""企业: search by a fragment of the name, a short name or a typo (with filters), and the enterprise
page: profile and 三清零 flags, contacts, open needs, and the match list merged over its needs, stored
as a recommendation run so follow-up recorded from it is attributed to the run and the shown rank."""

import datetime as dt
import math
import secrets

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.console.auth import StaffUser, short_session
from api.console.lookups import name_index
from api.console.plain import INSTITUTION_TYPES, raised_lowered
from api.console.render import pager_base, render
from matcher.ingest.schemas import REJECTION_REASONS
from matcher.matching.options import MatchOptions, OptionError
from matcher.matching.search import IndexNotBuilt
from matcher.reports.status import snapshot
from matcher.store import models

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FLAG_FILTERS = {"platform": "科研条件平台", "high_tech": "高新技术企业", "cooperation": "产学研合作"}


@router.get("/console/enterprises")
def enterprise_list(request: Request, user: StaffUser, q: str = "", county: str = "", industry: str = "",
                    key: str = "", platform: str = "", high_tech: str = "", cooperation: str = "",
                    has_needs: str = "", page: int = 1):
    q = q.strip()[:100]
    with short_session(request) as session:
        rows = {e.id: e for e in session.scalars(select(models.Enterprise))}
        open_counts: dict[str, int] = {}
        for need in session.scalars(select(models.Need).where(models.Need.status == "open")):
            open_counts[need.enterprise_id] = open_counts.get(need.enterprise_id, 0) + 1
        flags = snapshot(session, list(rows), dt.date.today() + dt.timedelta(days=1))
    hits = {}
    if q:
        found = name_index(request, "enterprises").search(q, limit=200)
        hits = {h.id: h for h in found}
        order = [h.id for h in found if h.id in rows]
    else:
        order = sorted(rows, key=lambda i: (not rows[i].key_enterprise, rows[i].county or "", rows[i].name))
    wanted = {"platform": platform, "high_tech": high_tech, "cooperation": cooperation}

    def keep(eid: str) -> bool:
        e = rows[eid]
        if county and (e.county or "") != county or industry and (e.industry or "") != industry:
            return False
        if key == "1" and not e.key_enterprise or has_needs == "1" and not open_counts.get(eid):
            return False
        return all(not want or flags[eid][item] == (want == "1") for item, want in wanted.items())

    order = [e for e in order if keep(e)]
    pages = max(1, math.ceil(len(order) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = [{"e": rows[i], "open": open_counts.get(i, 0), "flags": flags[i], "hit": hits.get(i)}
             for i in order[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    counties = sorted({e.county for e in rows.values() if e.county})
    industries = sorted({e.industry for e in rows.values() if e.industry})
    return render(request, "console/enterprises.html", title="企业", section="enterprises", q=q, rows=shown,
                  total=len(order), page=page, pages=pages, base=pager_base(request),
                  counties=counties, industries=industries, f={"county": county, "industry": industry, "key": key,
                                                               "has_needs": has_needs, **wanted},
                  flag_filters=FLAG_FILTERS)


@router.get("/console/enterprises/{enterprise_id}")
def enterprise_page(request: Request, user: StaffUser, enterprise_id: str, top: int = 10, why: str = ""):
    service = request.app.state.service
    with short_session(request) as session:
        enterprise = session.get(models.Enterprise, enterprise_id)
        if enterprise is None:
            return render(request, "console/error.html", title="找不到企业", status=404,
                          message=f"没有编号为 {enterprise_id} 的企业")
        needs = list(session.scalars(select(models.Need).where(models.Need.enterprise_id == enterprise_id)
                                     .order_by(models.Need.status.desc(), models.Need.id)))
        flags = snapshot(session, [enterprise_id], dt.date.today() + dt.timedelta(days=1))[enterprise_id]
    why_id, why_note = _why_team(request, why)
    top = min(max(top, 1), 50)
    result, problem = None, None
    try:
        result = service.match_enterprise(enterprise_id, MatchOptions(top=top, why=[why_id] if why_id else []))
    except (OptionError, IndexNotBuilt) as exc:
        problem = str(exc)
    results = decorate(result.results) if result else []
    return render(request, "console/enterprise.html", title=enterprise.name, section="enterprises",
                  e=enterprise, needs=needs, flags=flags, flag_names=FLAG_FILTERS, result=result, results=results,
                  problem=problem, why=why, why_note=why_note, why_rows=result.why if result else [],
                  reasons=REJECTION_REASONS, top=top, types=INSTITUTION_TYPES, next_url=str(request.url.path))


def _why_team(request: Request, query: str) -> tuple[str | None, str | None]:
    """The team a clerk typed into “为什么没有…” (an id or a name), or a note saying what was not found."""
    query = query.strip()[:100]
    if not query:
        return None, None
    try:
        return name_index(request, "teams").resolve(query, "团队"), None
    except LookupError as exc:
        return None, str(exc)


def decorate(results: list[dict]) -> list[dict]:
    """Add what the page shows beside the service's explanation: plain reasons and a form key."""
    out = []
    for r in results:
        up, down = raised_lowered(r["explanation"].get("contributions", []))
        out.append({**r, "up": up, "down": down, "form_key": secrets.token_urlsafe(12)})
    return out
