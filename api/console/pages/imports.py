"""导入 (admin): upload a file and choose its kind; every problem in one table (sheet, row, column,
value, reason) with nothing written, or the summary of what was added and updated. The new rows become
searchable without anyone typing `cxy index build`: the index is brought up to date incrementally in
a background job whose progress the page shows, and the running service reloads when it is done."""

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from api.console.auth import AdminUser, CheckedForm, actor
from api.console.jobs import Busy, Job
from api.console.pages.reports import jobs
from api.console.render import render
from api.uploads import MAX_UPLOAD_BYTES, BadUpload, clean_filename, import_upload
from matcher.accounts.audit import record_audit
from matcher.ingest.problems import ImportFailed
from matcher.store.db import session_factory, write_session

router = APIRouter(include_in_schema=False)
KIND_LABELS = {"needs": "企业技术需求（汇总表）", "enterprises": "企业", "survey": "三清零摸底表",
               "outcomes": "跟进记录", "institutions": "高校院所", "teams": "团队", "achievements": "成果",
               "challenges": "揭榜挂帅榜单"}
MAX_PROBLEMS_SHOWN = 500
COLLECTION_LABELS = {"capabilities": "团队与成果", "needs": "企业需求"}


def _page(request: Request, status: int = 200, **context):
    recent = jobs(request).recent("index")
    running = any(j.state == "running" for j in recent)
    context.setdefault("problems", None)
    context.setdefault("reports", None)
    context.setdefault("problem_total", 0)
    return render(request, "console/imports.html", title="导入", section="imports", status=status,
                  kinds=KIND_LABELS, jobs=recent, refresh_seconds=3 if running and status == 200 and
                  context["problems"] is None and context["reports"] is None else 0, **context)


@router.get("/console/imports")
def import_page(request: Request, user: AdminUser):
    return _page(request)


@router.post("/console/imports")
def upload(request: Request, user: AdminUser, form: CheckedForm):
    kind = form.get("kind", "")
    upload_file = form.get("file")
    if kind not in KIND_LABELS:
        return _page(request, 422, message="请选择文件类型")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        return _page(request, 422, message="请选择要上传的文件")
    try:
        name = clean_filename(upload_file.filename)
        body = upload_file.file.read(MAX_UPLOAD_BYTES + 1)
        reports = import_upload(request.app.state.engine, kind, name, body, actor(user))
    except BadUpload as exc:
        return _page(request, exc.status, message=str(exc), kind=kind)
    except ImportFailed as exc:
        problems = [{**p.as_dict(), "file": name} for p in exc.problems]
        return _page(request, 422, problems=problems[:MAX_PROBLEMS_SHOWN], problem_total=len(problems),
                     file_name=name, kind=kind)
    request.app.state.service.reload()
    _start_index_update(request, user)
    return _page(request, reports=reports, file_name=name, kind=kind)


def _start_index_update(request: Request, user) -> None:
    from matcher.documents import COLLECTIONS
    from matcher.indexing import build_collection

    engine, service = request.app.state.engine, request.app.state.service
    who = actor(user)

    state = request.app.state

    def work(job: Job) -> str:
        encoded = 0
        while True:  # another import while this ran: its rows are indexed by one more pass
            state.index_pending = False
            for i, collection in enumerate(COLLECTIONS):
                job.progress(i, len(COLLECTIONS), f"更新索引：{COLLECTION_LABELS.get(collection, collection)}")
                with session_factory(engine)() as session:
                    encoded += build_collection(session, service.encoder, service.index_folder, collection).encoded
            job.progress(len(COLLECTIONS), len(COLLECTIONS), "重新载入")
            service.reload()
            if not getattr(state, "index_pending", False):
                break
        with write_session(engine) as session:
            record_audit(session, who, "index.build", None, {"encoded": encoded, "after": "import"})
        return f"索引已更新：新编码 {encoded} 篇文档，新数据已可检索"

    try:
        jobs(request).start("index", "导入后更新索引", user.name, work)
    except Busy:
        state.index_pending = True  # the running update makes one more pass for this import
