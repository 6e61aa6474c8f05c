"""需求匹配 (staff): paste a need in plain words, get the explained team list; 找企业需求 (researchers
and staff): describe what a team can do, get the open needs that fit. Both lists are stored runs."""

from fastapi import APIRouter, Request

from api.console.auth import ConsoleUser, StaffUser
from api.console.pages.enterprises import decorate
from api.console.plain import INSTITUTION_TYPES
from api.console.render import render
from matcher.matching.options import MatchOptions, OptionError
from matcher.matching.search import IndexNotBuilt

router = APIRouter(include_in_schema=False)
MAX_TEXT = 2000


def _answer(ask, text: str, top: int, level: str):
    """(text as shown, the list or None, a problem to show or None) for a free-text query."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT], None, f"描述最多 {MAX_TEXT} 字，请精简后再试"
    if not text:
        return text, None, None
    try:
        return text, ask(text, MatchOptions(top=min(max(top, 1), 50), level=level)), None
    except (OptionError, IndexNotBuilt) as exc:
        return text, None, str(exc)


@router.get("/console/match")
def text_match(request: Request, user: StaffUser, text: str = "", top: int = 10):
    text, result, problem = _answer(request.app.state.service.match_text, text, top, "team")
    return render(request, "console/textmatch.html", title="需求匹配", section="textmatch", text=text, top=top,
                  result=result, results=decorate(result.results) if result else [], problem=problem,
                  types=INSTITUTION_TYPES)


@router.get("/console/firms")
def firm_search(request: Request, user: ConsoleUser, text: str = "", top: int = 10):
    from api.console.pages.teams import firm_rows

    text, result, problem = _answer(request.app.state.service.firms_text, text, top, "need")
    rows = firm_rows(request, user, result.results) if result else []
    return render(request, "console/firms.html", title="找企业需求", section="firmsearch", text=text, top=top,
                  result=result, rows=rows, problem=problem)
