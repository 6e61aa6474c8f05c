"""Signing in and out. Failed sign-ins are counted per account and per address; after five within 15
minutes the next try waits (throttle.py). Each sign-in and sign-out is in the audit log."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from api.console.auth import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    CheckedForm,
    ConsoleUser,
    actor,
    client_address,
    new_login_csrf,
    safe_next,
    settings,
)
from api.console.render import render
from matcher.accounts import throttle
from matcher.accounts.audit import Actor, record_audit
from matcher.accounts.sessions import csrf_matches, end_session, start_session
from matcher.accounts.users import check_credentials
from matcher.store.db import write_session

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, message: str = "", name: str = "", next_url: str = "/", status: int = 200):
    token = new_login_csrf()
    response = render(request, "console/login.html", title="登录", status=status, user=None, message=message,
                      name=name, next_url=safe_next(next_url), login_csrf=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=settings(request).cookie_secure)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return _login_page(request, next_url=next)


@router.post("/login")
def login(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    name = name.strip()[:64]
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE) or "", csrf_token):
        return _login_page(request, "登录页面已过期，请重新输入", name, next, 400)
    address = client_address(request)
    with write_session(request.app.state.engine) as session:
        wait = throttle.wait_needed(session, name, address)
        if wait is not None:
            return _login_page(request, throttle.describe_wait(wait), name, next, 429)
        user = check_credentials(session, name, password)
        throttle.note_attempt(session, name, address, user is not None)
        if user is None:
            failed = True
        else:
            failed = False
            token = start_session(session, user, address)
            record_audit(session, Actor(user.name, "user"), "login", user.name, {"address": address})
    if failed:
        return _login_page(request, "账号或密码不正确，或账号已停用", name, next, 401)
    target = safe_next(next)
    if user.role == "researcher" and target == "/":
        target = "/console/my-team"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=settings(request).cookie_secure)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, user: ConsoleUser, form: CheckedForm):
    with write_session(request.app.state.engine) as session:
        end_session(session, request.cookies.get(COOKIE))
        record_audit(session, actor(user), "logout", user.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
