"""The staff console (工作台): server-rendered pages served by `cxy serve` beside the API, using the
same loaded match service. Templates and the stylesheet live in ``matcher/web``; each page group is a
module in ``pages/``. ``install(app)`` adds the static files, the pages and the error pages."""

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from api.console.auth import BadCsrf, Forbidden, LoginRequired, login_url
from api.console.pages import (
    admin_pages,
    challenges,
    enterprises,
    followup,
    home,
    imports,
    login,
    reports,
    teams,
    textmatch,
)
from api.console.render import error_page, redirect
from matcher.web import STATIC

PAGES = (login, home, enterprises, textmatch, teams, challenges, followup, reports, imports, admin_pages)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for page in PAGES:
        app.include_router(page.router)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired):
        return redirect(login_url(exc.next_url), "请先登录" if exc.next_url not in ("/", "/console/my-team") else None,
                        "info")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        return error_page(request, 403, "无权访问", str(exc))

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, _: BadCsrf):
        return error_page(request, 403, "表单已失效",
                          "表单校验码不正确或已过期，没有保存任何内容。请刷新页面后重新提交。")
