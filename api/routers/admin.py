"""Administration over HTTP (admin role): imports and index builds, the same as the command line."""

import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.deps import IsAdmin, ServiceDep, SessionDep
from api.schemas import ImportResponse
from matcher.accounts.audit import record_audit
from matcher.ingest.loader import KINDS
from matcher.ingest.problems import ImportFailed
from matcher.store.db import write_session

router = APIRouter(prefix="/admin", tags=["admin"])
SUFFIXES = (".csv", ".xlsx", ".jsonl")


@router.post("/import/{kind}", response_model=list[ImportResponse],
             summary="Import a file (the request body) of one kind; all or nothing")
async def import_file(kind: str, request: Request, service: ServiceDep, principal: IsAdmin,
                      filename: str = Query(..., description="the file's name; its suffix (.csv, .xlsx, .jsonl) "
                                            "says how to read the body")):
    from matcher.ingest.loader import import_file as load_file
    from matcher.ingest.survey import import_survey

    if kind not in (*KINDS, "survey"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown kind {kind!r}; use one of {', '.join(KINDS)}, survey")
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"filename {filename!r}: use a .csv, .xlsx or .jsonl file")
    body = await request.body()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(body)
        try:
            with write_session(request.app.state.engine) as session:
                reports = import_survey(session, path) if kind == "survey" else [load_file(session, kind, path)]
                for r in reports:
                    record_audit(session, principal.actor, "import", Path(filename).name[:120],
                                 {"kind": r.kind, "rows": r.rows, "inserted": r.inserted, "updated": r.updated})
        except ImportFailed as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                {"message": f"{len(exc.problems)} problem(s); nothing was written",
                                 "problems": [str(p).replace(folder + "/", "") for p in exc.problems]}) from None
    service.reload()
    return [{"kind": r.kind, "rows": r.rows, "inserted": r.inserted, "updated": r.updated,
             "unchanged": r.unchanged, "warnings": r.warnings} for r in reports]


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
             "the scorer")
def train_ranker(request: Request, service: ServiceDep, principal: IsAdmin,
                 test_months: int = Query(3, ge=1, le=24, description="calendar months held out for the test")):
    from matcher.learning.train import train
    from matcher.matching.service import MatchService

    # Features are computed in a service of its own (its catalog moves back in time while it works).
    trainer = MatchService(request.app.state.engine, encoder=service.encoder, store_runs=False)
    report = train(request.app.state.engine, trainer, test_months)
    service.reload()
    with write_session(request.app.state.engine) as audit:
        record_audit(audit, principal.actor, "train", report.version, {"beat_scorer": report.beat_scorer})
    return {**report.as_dict(), "serving": service.ranker.version, "serving_note": service.ranker_note}


@router.get("/models", summary="Trained rankers, newest first, with their time-split metrics and data window")
def ranker_models(session: SessionDep, _: IsAdmin):
    from matcher.learning.registry import list_models

    return list_models(session)
