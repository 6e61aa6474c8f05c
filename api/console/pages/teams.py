"""团队与成果: search teams and achievements by name; a team page with achievements, capacity, load,
history and 哪些企业需要我们 (the team's firm list). A researcher's home is their own team's page;
other teams' pages are refused, and enterprise contacts show only where the enterprise made them
public (exactly as the API hides the sensitive columns)."""

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from api.console.auth import ConsoleUser, Forbidden, StaffUser, settings, short_session
from api.console.lookups import name_index
from api.console.plain import INSTITUTION_TYPES
from api.console.render import render
from matcher.accounts.sessions import SignedIn
from matcher.feedback.pipeline import pipeline, records
from matcher.matching.explain import KIND_LABELS
from matcher.matching.options import MatchOptions, OptionError
from matcher.matching.search import IndexNotBuilt
from matcher.store import models

router = APIRouter(include_in_schema=False)


@router.get("/console/teams")
def team_search(request: Request, user: StaffUser, q: str = ""):
    q = q.strip()[:100]
    with short_session(request) as session:
        teams = {t.id: t for t in session.scalars(select(models.Team))}
        institutions = {i.id: i for i in session.scalars(select(models.Institution))}
        achievements = []
        if q:
            hits = name_index(request, "achievements").search(q, limit=30)
            found = {a.id: a for a in session.scalars(select(models.Achievement)
                                                      .where(models.Achievement.id.in_([h.id for h in hits])))}
            achievements = [found[h.id] for h in hits if h.id in found]
    if q:
        team_rows = [teams[h.id] for h in name_index(request, "teams").search(q, limit=50) if h.id in teams]
    else:
        team_rows = sorted(teams.values(), key=lambda t: (t.institution_id, t.name))
    return render(request, "console/teams.html", title="团队与成果", section="teams", q=q, teams=team_rows,
                  institutions=institutions, achievements=achievements, team_names={t: teams[t].name for t in teams},
                  kinds=KIND_LABELS)


def _check_team(user: SignedIn, team_id: str) -> None:
    if user.role == "researcher" and user.team_id != team_id:
        raise Forbidden("科研人员只能查看本团队的页面")


@router.get("/console/my-team")
def my_team(user: ConsoleUser):
    if user.role != "researcher" or not user.team_id:
        return RedirectResponse("/console/teams", status_code=303)
    return RedirectResponse(f"/console/teams/{user.team_id}", status_code=303)


@router.get("/console/teams/{team_id}")
def team_page(request: Request, user: ConsoleUser, team_id: str, top: int = 10):
    _check_team(user, team_id)
    with short_session(request) as session:
        team = session.get(models.Team, team_id)
        if team is None:
            return render(request, "console/error.html", title="找不到团队", status=404,
                          message=f"没有编号为 {team_id} 的团队")
        institution = session.get(models.Institution, team.institution_id)
        achievements = list(session.scalars(select(models.Achievement).where(models.Achievement.team_id == team_id)
                                            .order_by(models.Achievement.year.desc(), models.Achievement.id)))
        pairs = pipeline(session, dt.date.today(), settings(request).followup_days)
    history = records(pairs[pairs["team_id"] == team_id]) if len(pairs) else []
    service = request.app.state.service
    load = service.catalog.team_load(team_id) if team_id in service.catalog.teams else 0
    result, problem = None, None
    try:
        result = service.firms_team(team_id, MatchOptions(top=min(max(top, 1), 50), level="need"))
    except (OptionError, IndexNotBuilt) as exc:
        problem = str(exc)
    return render(request, "console/team.html", title=team.name, section="myteam" if user.role == "researcher"
                  else "teams", team=team, institution=institution, achievements=achievements, load=load,
                  history=history if user.role != "researcher" else [], result=result, problem=problem,
                  rows=firm_rows(request, user, result.results) if result else [], kinds=KIND_LABELS,
                  types=INSTITUTION_TYPES, top=top)


@router.get("/console/achievements/{achievement_id}")
def achievement_page(request: Request, user: ConsoleUser, achievement_id: str):
    with short_session(request) as session:
        achievement = session.get(models.Achievement, achievement_id)
        if achievement is None:
            return render(request, "console/error.html", title="找不到成果", status=404,
                          message=f"没有编号为 {achievement_id} 的成果")
        _check_team(user, achievement.team_id)
        team = session.get(models.Team, achievement.team_id)
    return render(request, "console/achievement.html", title=achievement.title, section="teams", a=achievement,
                  team=team, kinds=KIND_LABELS)


def firm_rows(request: Request, user: SignedIn, results: list[dict]) -> list[dict]:
    """Firm-list results with the contacts the user may see: staff see them; researchers only where the
    enterprise made them public."""
    ids = {r["enterprise_id"] for r in results}
    with short_session(request) as session:
        enterprises = {e.id: e for e in session.scalars(select(models.Enterprise)
                                                        .where(models.Enterprise.id.in_(ids)))}
    rows = []
    for r in results:
        e = enterprises.get(r["enterprise_id"])
        visible = e is not None and (user.role != "researcher" or bool(e.contacts_public))
        contact = {"person": e.contact_person, "phone": e.contact_phone} if visible else None
        rows.append({**r, "contact": contact, "link": user.role != "researcher"})
    return rows
