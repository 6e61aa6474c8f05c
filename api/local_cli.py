"""The running server answering the command line on the same machine (issue 16): `cxy serve` builds its
app here, with one more route, ``POST /match/local-batch``, that takes a batch of list requests as
`cxy match|firms|challenge` would compute them (matcher/list_requests.py) and answers with exactly the
lists the command line's own process would print: the data reloaded first when it changed, every list
computed before any is stored (all or nothing, as the command line does), each stored once.

Only a caller holding the server's token (written for its owner alone in the discovery file, see
matcher/local_server.py) and connecting over loopback may use it; it acts with the command line's
rights, the database owner's. Not in the OpenAPI schema: it is no part of the HTTP contract."""

import copy
import datetime as dt
import hmac
import os
import sys
from functools import cached_property
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from matcher.local_server import BATCH_PATH, TOKEN_ENV, TOKEN_HEADER, fingerprint, source_stamps

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
router = APIRouter(include_in_schema=False)


def create_served_app() -> FastAPI:
    """What `cxy serve` runs under uvicorn (also in each worker process): the app, plus the command line's
    route when `cxy serve` gave this process a token."""
    from api.app import create_app

    app = create_app()
    token = os.environ.get(TOKEN_ENV)
    if token:
        app.state.local_token = token
        app.state.local_sources = source_stamps(list(sys.modules.values()))  # the code as this process loaded it
        app.include_router(router)
    return app


def local_caller(request: Request) -> None:
    sent = request.headers.get(TOKEN_HEADER, "")
    token = getattr(request.app.state, "local_token", "")
    host = request.client.host if request.client else ""
    if not token or host not in LOOPBACK or not hmac.compare_digest(sent.encode(), token.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只接受本机命令行（cxy）的请求")


def _same_program(app: FastAPI, sent: object) -> bool:
    """Whether this process runs what the command line would: the same settings, and no source file it
    loaded changed since (files first loaded later are taken as they are then)."""
    if sent != fingerprint():
        return False
    loaded, now = app.state.local_sources, source_stamps(list(sys.modules.values()))
    if any(loaded.get(path, stamp) != stamp for path, stamp in now.items()):
        return False
    loaded.update(now)
    return True


def _current(service) -> None:
    """The lists as a fresh process would make them: another process's import, index build or training
    picked up now (not within 2 s), and a catalog loaded on an earlier day (its "today") reloaded."""
    service.refresh_if_stale(every=0.0)
    if service.catalog.today < dt.date.today():
        service.reload()


def _not_storing(service):
    """The service as a view that stores no runs of its own (the batch stores them once all succeeded);
    it shares the loaded model, indexes and catalog."""
    view = copy.copy(service)
    view.store_runs = False
    return view


def _keep_loaded(view, service) -> None:
    # What the view loaded on first use (an index the server could not load at start) stays loaded.
    for name, attribute in vars(type(service)).items():
        if isinstance(attribute, cached_property) and name in vars(view) and name not in vars(service):
            vars(service)[name] = vars(view)[name]


@router.post(BATCH_PATH)
def local_batch(request: Request, payload: Annotated[dict, Body()], _: Annotated[None, Depends(local_caller)]):
    from embeddings.dense_index import IndexModelMismatch
    from matcher.list_requests import Batch, answer
    from matcher.matching.options import OptionError
    from matcher.matching.search import IndexNotBuilt
    from matcher.matching.service import NotFound

    if not _same_program(request.app, payload.get("fingerprint")):
        return JSONResponse({"detail": "服务启动后程序或设置有变化", "stale": True}, status.HTTP_409_CONFLICT)
    try:
        batch = Batch.from_dict(payload["batch"])
    except (KeyError, TypeError, ValueError):
        return JSONResponse({"detail": "请求格式不对"}, status.HTTP_400_BAD_REQUEST)
    service = request.app.state.service
    try:
        _current(service)
        view = _not_storing(service)
        try:
            lists = answer(view, batch)
        finally:
            _keep_loaded(view, service)
    except (NotFound, OptionError, IndexNotBuilt, IndexModelMismatch) as exc:
        # The message the command line prints itself ("错误：…", exit 1), as its own process would say it.
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__},
                            status.HTTP_422_UNPROCESSABLE_CONTENT)
    for match_list in lists:
        service.save(match_list)
    return JSONResponse({"lists": [m.as_dict() for m in lists]})
