"""Administration over HTTP (admin role): imports and index builds, the same as the command line."""

from fastapi import APIRouter, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from api.deps import IsAdmin, ServiceDep, SessionDep
from api.limits import Busy
from api.schemas import ImportRefusal, ImportResponse
from api.uploads import MAX_PROBLEMS_RETURNED, BadUpload, check_size, clean_filename, import_upload
from matcher.accounts.audit import record_audit
from matcher.ingest.loader import KINDS
from matcher.ingest.problems import ImportFailed
from matcher.store.db import write_session

router = APIRouter(prefix="/admin", tags=["admin"])


# The file is the raw request body (not a form): declared so that clients and the fuzzer send one.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}}


@router.post("/import/{kind}", response_model=list[ImportResponse], openapi_extra=UPLOAD_BODY,
             responses={422: {"model": ImportRefusal}},
             summary="Import a file (the request body) of one kind; all or nothing")
async def import_upload_route(kind: str, request: Request, service: ServiceDep, principal: IsAdmin,
                              filename: str = Query(..., description="the file's name; its suffix (.csv, .xlsx, "
                                                    ".xls, .ods, .jsonl) says how to read the body")):
    if kind not in (*KINDS, "survey"):
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"没有 {kind[:40]} 这种导入类型，可选：{'、'.join(KINDS)}、survey")
    try:
        name = clean_filename(filename)
        check_size(int(request.headers.get("content-length") or 0))
        body = await request.body()
        # Parsing a large sheet takes seconds: in a worker thread, so /health and other requests still answer.
        reports = await run_in_threadpool(import_upload, request.app.state.engine, kind, name, body, principal.actor)
    except BadUpload as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except ImportFailed as exc:
        shown = exc.problems[:MAX_PROBLEMS_RETURNED]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"message": f"发现 {len(exc.problems)} 处问题，没有写入任何数据"
                                        + (f"（只列出前 {len(shown)} 处）" if len(shown) < len(exc.problems) else ""),
                             "problems": [_relative(p, name) for p in shown]}) from None
    await run_in_threadpool(service.reload)
    return [{"kind": r.kind, "rows": r.rows, "inserted": r.inserted, "updated": r.updated,
             "unchanged": r.unchanged, "warnings": r.warnings} for r in reports]


def _relative(problem, name: str) -> str:
    """A problem as text, naming the uploaded file rather than the temporary folder it was read from."""
    text = str(problem)
    return text.replace(str(problem.path), name) if problem.path else text


@router.post("/index/build", summary="Embed new or changed documents (incremental), then reload the service")
def build_index(request: Request, session: SessionDep, service: ServiceDep, principal: IsAdmin):
    from matcher.indexing import build_all

    reports = build_all(session, service.encoder, service.index_folder)
    service.reload()
    with write_session(request.app.state.engine) as audit:
        record_audit(audit, principal.actor, "index.build", None, {"encoded": sum(r.encoded for r in reports)})
    return [r.__dict__ for r in reports]


@router.get("/index/status", summary="What is indexed and what changed since")
def index_status(session: SessionDep, service: ServiceDep, _: IsAdmin):
    from matcher.documents import COLLECTIONS
    from matcher.indexing import collection_status

    return [collection_status(session, service.index_folder, c) for c in COLLECTIONS]


@router.post("/train", summary="Learn a ranker from the outcomes (time split), store it, and serve it if it beat "
             "the scorer; unchanged data gives the same model, trained at most once per CXY_TRAIN_INTERVAL_MINUTES",
             responses={429: {"description": "已有训练在进行，或数据自上次训练以来没有变化且未满间隔"}})
def train_ranker(request: Request, service: ServiceDep, principal: IsAdmin,
                 test_months: int = Query(3, ge=1, le=24, description="calendar months held out for the test")):
    from matcher.learning.train import train
    from matcher.matching.service import MatchService

    signature = service.training_signature()
    guard = request.app.state.train_guard
    try:
        with guard.turn(signature):
            # Features are computed in a service of its own (its catalog moves back in time while it works).
            trainer = MatchService(request.app.state.engine, encoder=service.encoder, store_runs=False)
            report = train(request.app.state.engine, trainer, test_months)
            guard.trained(signature, report.version)
    except Busy as busy:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(busy),
                            {"Retry-After": str(busy.retry_after)}) from None
    service.reload()
    with write_session(request.app.state.engine) as audit:
        record_audit(audit, principal.actor, "train", report.version, {"beat_scorer": report.beat_scorer})
    return {**report.as_dict(), "serving": service.ranker.version, "serving_note": service.ranker_note}


@router.get("/models", summary="Trained rankers, newest first, with their time-split metrics and data window")
def ranker_models(session: SessionDep, _: IsAdmin):
    from matcher.learning.registry import list_models

    return list_models(session)
