"""Authorisation as a property: every route of the app, for every caller that may not use it, is
refused before it runs. A new route that forgets its guard fails here."""

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.keys import create_key
from matcher.settings import database_url
from matcher.store.db import open_database, write_session

OPEN = {"/health", "/login", "/logout", "/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"}
# What each role may reach (paths as declared, {params} unfilled); everything else is 403 for it.
RESEARCHER = {"/firms/team/{team_id}", "/firms/text"} | {f"/{r}" for r in (
    "institutions", "teams", "achievements", "enterprises", "needs", "challenges")} | {
    f"/{r}/{{item_id}}" for r in ("institutions", "teams", "achievements", "enterprises", "needs", "challenges")}
SAMPLE_PARAMS = {"need_id": "N101", "team_id": "T101", "enterprise_id": "E101", "challenge_id": "C11",
                 "item_id": "x", "run_id": "x", "kind": "teams", "report_id": "x", "achievement_id": "x", "fmt": "csv"}


def _url(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: SAMPLE_PARAMS.get(m.group(1), "x"), path)


def _routes(app):
    """(method, path) of every route, also those inside included routers."""
    def walk(routes, prefix=""):
        for route in routes:
            if isinstance(route, APIRoute):
                yield prefix + route.path, route.methods
            elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.120)
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "routes") and not hasattr(route, "app"):
                yield from walk(route.routes, prefix)

    for path, methods in walk(app.routes):
        if path not in OPEN:
            for method in sorted(methods - {"HEAD"}):
                yield method, path


@pytest.fixture(scope="module")
def setting(console_app):
    app, cli = console_app
    with write_session(open_database(database_url(str(cli.db)))) as session:
        keys = {role: create_key(session, role, f"authz {role}", "T301" if role == "researcher" else None)[1]
                for role in ("researcher", "bureau")}
        revoked_row, revoked = create_key(session, "admin", "authz revoked")
        revoked_row.revoked = True
    keys["revoked"] = revoked
    with TestClient(app, client=("10.8.0.1", 1)) as client:
        yield app, client, keys


def test_every_api_route_refuses_callers_without_a_valid_key_and_roles_outside_its_rights(setting):
    app, client, keys = setting
    checked = 0
    for method, path in _routes(app):
        if path == "/" or path.startswith("/console"):
            continue
        url = _url(path)
        for key in (None, "cxy_not-a-key", keys["revoked"]):
            response = client.request(method, url, headers={"X-API-Key": key} if key else {}, json={})
            assert response.status_code == 401, (method, path, key, response.status_code)
        if path not in RESEARCHER:
            response = client.request(method, url, headers={"X-API-Key": keys["researcher"]}, json={})
            assert response.status_code == 403, (method, path, "researcher", response.status_code)
        if path.startswith("/admin"):
            response = client.request(method, url, headers={"X-API-Key": keys["bureau"]}, json={})
            assert response.status_code == 403, (method, path, "bureau", response.status_code)
        checked += 1
    assert checked >= 25


def test_every_console_page_sends_a_stranger_to_login_and_refuses_posts(setting):
    app, client, _ = setting
    client.cookies.clear()
    checked = 0
    for method, path in _routes(app):
        if not (path == "/" or path.startswith("/console")):
            continue
        response = client.request(method, _url(path), follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), (method, path)
        checked += 1
    assert checked >= 25
