"""Rendering a console page: the shared frame (top bar, the role's menu), one-time messages carried
across a redirect (post, redirect, get), and the few helpers every page handler uses."""

from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.auth import ROLE_NAMES
from matcher.accounts.sessions import SignedIn
from matcher.web import environment

FLASH_COOKIE = "cxy_flash"

# The menu: (key, label, href, roles).
MENU = (
    ("home", "工作台", "/", ("bureau", "admin")),
    ("enterprises", "企业", "/console/enterprises", ("bureau", "admin")),
    ("textmatch", "需求匹配", "/console/match", ("bureau", "admin")),
    ("myteam", "我的团队", "/console/my-team", ("researcher",)),
    ("firmsearch", "找企业需求", "/console/firms", ("researcher",)),
    ("teams", "团队与成果", "/console/teams", ("bureau", "admin")),
    ("challenges", "揭榜挂帅", "/console/challenges", ("bureau", "admin")),
    ("followup", "跟进", "/console/followup", ("bureau", "admin")),
    ("reports", "月报", "/console/reports", ("bureau", "admin")),
    ("imports", "导入", "/console/imports", ("admin",)),
    ("models", "模型", "/console/models", ("admin",)),
    ("users", "账号", "/console/users", ("admin",)),
    ("audit", "操作记录", "/console/audit", ("admin",)),
)


def menu_for(role: str) -> list[dict]:
    return [{"key": k, "label": label, "href": href, "group": None} for k, label, href, roles in MENU if role in roles]


def render(request: Request, template: str, *, title: str, section: str = "", status: int = 200,
           user: SignedIn | None = None, **context) -> HTMLResponse:
    user = user or getattr(request.state, "user", None)
    flashes = _read_flashes(request)
    html = environment().get_template(template).render(
        title=title, section=section, user=user, role_label=ROLE_NAMES.get(user.role, "") if user else "",
        nav=menu_for(user.role) if user else [], flashes=flashes, csrf=user.csrf_token if user else "",
        request=request, **context)
    response = HTMLResponse(html, status)
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, message: str | None = None, kind: str = "ok") -> RedirectResponse:
    """A 303 to ``url`` (so a reload does not post again) carrying a one-time message."""
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(FLASH_COOKIE, quote(f"{kind}|{message}"), max_age=60, path="/", httponly=True,
                            samesite="lax")
    return response


def _read_flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    kind, _, text = unquote(raw).partition("|")
    return [(kind if kind in ("ok", "error", "info") else "info", text[:500])]


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "console/error.html", title=title, status=status, message=message)


def pager_base(request: Request) -> str:
    """This page's URL with its filters and without ``page=``, ready for ``page=N`` to be appended."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page" and v])
    return request.url.path + "?" + (query + "&" if query else "")
