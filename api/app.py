"""The HTTP service: `cxy serve` runs ``create_app`` under uvicorn.

The match service (model, indexes, catalog) is loaded once at start-up and shared by all requests;
errors from the matcher become 4xx responses whose detail says what to fix.
"""

from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import console
from api.limits import Admission, Busy, TrainGuard, is_heavy
from api.routers import admin, challenges, entities, feedback, match
from api.validation import declare_errors, http_error_handler, validation_handler
from embeddings.dense_index import IndexModelMismatch
from matcher.matching.options import OptionError
from matcher.matching.search import IndexNotBuilt
from matcher.matching.service import MatchService, NotFound
from matcher.settings import Settings, database_url
from matcher.store.db import open_database

# The matcher's own errors, whose messages already say what to fix, as HTTP statuses.
ERROR_STATUS = {NotFound: status.HTTP_404_NOT_FOUND, OptionError: status.HTTP_422_UNPROCESSABLE_CONTENT,
                IndexNotBuilt: status.HTTP_503_SERVICE_UNAVAILABLE,
                IndexModelMismatch: status.HTTP_503_SERVICE_UNAVAILABLE}


MAX_BODY_BYTES = 1024 * 1024  # a 50 MB JSON body used to be read and parsed


def _status_handler(code: int):
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, code)

    return handler


def create_app(db: str | None = None, service: MatchService | None = None, warm: bool = True,
               settings: Settings | None = None, admission: Admission | None = None,
               train_guard: TrainGuard | None = None) -> FastAPI:
    """Parameters: db (URL or SQLite path; default CXY_DB); service (an already loaded MatchService);
    warm: load the model and indexes before serving the first request; settings (default: from CXY_*);
    admission: how many heavy requests run and wait (default CXY_MAX_ACTIVE, CXY_MAX_WAITING);
    train_guard: how often POST /admin/train may train on unchanged data (CXY_TRAIN_INTERVAL_MINUTES)."""
    settings = settings or Settings()
    engine = service.engine if service is not None else open_database(database_url(db or settings.db))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = engine
        app.state.settings = settings
        app.state.service = service or MatchService(engine)
        if warm:
            with suppress(IndexNotBuilt):  # then each match request answers 503 with the fix
                app.state.service.warm()
        yield
        app.state.service.stop_warming()

    # Swagger UI and ReDoc from the assets installed with fastapi-offline: /docs works with no network.
    app = FastAPIOffline(title="cxy-matcher", version="0.1.0", lifespan=lifespan,
                  description="产学研 matchmaking: explained team lists for needs and enterprises, firm lists for "
                              "researchers. Send an API key in `X-API-Key` (roles: bureau, researcher, admin).")
    for router in (match.router, challenges.router, feedback.router, entities.router, admin.router):
        app.include_router(router)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):
        # JSON bodies and forms are small; only the two upload routes take files (their own limit, 50 MB).
        declared = request.headers.get("content-length", "")
        uploads = request.url.path.startswith(("/admin/import/", "/console/imports"))
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES and not uploads:
            message = f"请求体过大（{int(declared) // 1024} KB），最多 {MAX_BODY_BYTES // 1024} KB"
            return JSONResponse({"detail": message}, status.HTTP_413_CONTENT_TOO_LARGE)
        return await call_next(request)

    @app.middleware("http")
    async def _notice_changes(request: Request, call_next):
        # Data imported or an index built by another process (cxy import, a second server) is picked up
        # without a restart; the check itself runs at most every 2 s, in a worker thread.
        from starlette.concurrency import run_in_threadpool

        svc = getattr(request.app.state, "service", None)
        if svc is not None:
            await run_in_threadpool(svc.refresh_if_stale)
        return await call_next(request)

    app.state.admission = admission or Admission.from_env()
    app.state.train_guard = train_guard or TrainGuard()

    @app.middleware("http")
    async def _admit(request: Request, call_next):
        # Outermost: a full queue is refused before any other work (key check, change check, body read).
        if not is_heavy(request.method, request.url.path):
            return await call_next(request)
        try:
            async with request.app.state.admission.slot():
                return await call_next(request)
        except Busy as busy:
            headers = {"Retry-After": str(busy.retry_after)}
            if request.url.path.startswith("/console"):  # a person's browser: the sentence, not JSON
                return PlainTextResponse(str(busy), status.HTTP_503_SERVICE_UNAVAILABLE, headers)
            return JSONResponse({"detail": str(busy)}, status.HTTP_503_SERVICE_UNAVAILABLE, headers)

    console.install(app)
    app.state.settings = settings
    declare_errors(app)

    for error, code in ERROR_STATUS.items():
        app.add_exception_handler(error, _status_handler(code))
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)

    @app.get("/health", tags=["service"], summary="Liveness and what is loaded")
    def health(request: Request):
        svc = request.app.state.service
        # warming: the per-team and per-need caches still fill behind the first requests, which are slower
        return {"status": "ok", "model": svc.encoder.model_id, "ranker": svc.ranker.version,
                "warming": svc.warming}

    return app
