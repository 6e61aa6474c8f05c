"""Who is signed in to the console, and what they may do.

The session cookie is HttpOnly, SameSite=Lax and Secure when ``CXY_COOKIE_SECURE`` is set; it expires
after ``CXY_SESSION_IDLE_HOURS`` without a request. Every state-changing form carries the session's
CSRF token (synchroniser-token pattern; the login form, before any session exists, a double-submit
cookie). Each check opens its own short database session and closes it before the page is built, so
a request never holds a pooled connection while it waits for another.
"""

import datetime as dt
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from matcher.accounts.audit import Actor
from matcher.accounts.sessions import SignedIn, csrf_matches, lookup, touch
from matcher.settings import Settings
from matcher.store.db import session_factory, write_session

COOKIE = "cxy_session"
LOGIN_CSRF_COOKIE = "cxy_login_csrf"


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page (and back here afterwards)."""

    def __init__(self, next_url: str):
        self.next_url = next_url


class Forbidden(Exception):
    """Signed in, but this page is not for this role or team; the message says why (in Chinese)."""


class BadCsrf(Exception):
    """A form posted without the session's token: refused, nothing written."""


def settings(request: Request) -> Settings:
    return request.app.state.settings


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def signed_in(request: Request) -> SignedIn:
    token = request.cookies.get(COOKIE)
    idle = dt.timedelta(hours=settings(request).session_idle_hours)
    engine = request.app.state.engine
    with session_factory(engine)() as session:
        user, stale = lookup(session, token, idle)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    if stale:
        with write_session(engine) as session:
            touch(session, token)
    request.state.user = user
    return user


ConsoleUser = Annotated[SignedIn, Depends(signed_in)]


def require_roles(*roles: str):
    def check(user: ConsoleUser) -> SignedIn:
        if user.role not in roles:
            raise Forbidden("此页面仅限" + "、".join(ROLE_NAMES[r] for r in roles) + "使用")
        return user

    return Depends(check)


ROLE_NAMES = {"bureau": "科技局工作人员", "researcher": "科研人员", "admin": "管理员"}
StaffUser = Annotated[SignedIn, require_roles("bureau", "admin")]
AdminUser = Annotated[SignedIn, require_roles("admin")]


async def checked_form(request: Request, user: ConsoleUser) -> dict:
    """The posted form, after its CSRF token was checked against the session's (else BadCsrf)."""
    form = await request.form()
    if not csrf_matches(user.csrf_token, form.get("csrf_token")):
        raise BadCsrf()
    return {k: v for k, v in form.multi_items()}


CheckedForm = Annotated[dict, Depends(checked_form)]


def actor(user: SignedIn) -> Actor:
    return Actor(user.name, "user")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_url(next_url: str | None) -> str:
    return "/login" + (f"?next={quote(next_url)}" if next_url and next_url != "/" else "")


def safe_next(next_url: str | None) -> str:
    """Only a path on this site (never //host or a scheme), so the login page cannot redirect away."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return "/"
    return next_url


def short_session(request: Request) -> Session:
    return session_factory(request.app.state.engine)()
