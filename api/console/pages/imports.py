"""导入 (admin): upload a file and choose its kind; every problem in one table (sheet, row, column,
value, reason) with nothing written, or the summary of what was added and updated. The new rows become
searchable without anyone typing `cxy index build`: the index is brought up to date incrementally in
a background job whose progress the page shows, and the running service reloads when it is done."""

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from api.console.auth import AdminUser, CheckedForm, actor, short_session
from api.console.jobs import Busy, Job, jobs
from api.console.render import redirect, render
from api.uploads import MAX_UPLOAD_BYTES, BadUpload, clean_filename, import_upload
from matcher.accounts.audit import record_audit
from matcher.ingest.problems import ImportFailed
from matcher.store.db import write_session

router = APIRouter(include_in_schema=False)
KIND_LABELS = {"needs": "企业技术需求（汇总表）", "enterprises": "企业", "survey": "三清零摸底表",
               "outcomes": "跟进记录", "institutions": "高校院所", "teams": "团队", "achievements": "成果",
               "challenges": "揭榜挂帅榜单"}
MAX_PROBLEMS_SHOWN = 500
COLLECTION_LABELS = {"capabilities": "团队与成果", "needs": "企业需求"}
DUPLICATE_KINDS = {"enterprises": "企业", "institutions": "高校院所", "teams": "团队"}


def _page(request: Request, status: int = 200, **context):
    from matcher.ingest.dedupe import find_duplicates

    with short_session(request) as session:
        duplicates = find_duplicates(session)
    recent = jobs(request).recent("index")
    running = any(j.state == "running" for j in recent)
    context.setdefault("problems", None)
    context.setdefault("reports", None)
    context.setdefault("problem_total", 0)
    quiet = status == 200 and context["problems"] is None and context["reports"] is None
    return render(request, "console/imports.html", title="导入", section="imports", status=status,
                  kinds=KIND_LABELS, jobs=recent, duplicates=duplicates, duplicate_kinds=DUPLICATE_KINDS,
                  refresh_seconds=3 if running and quiet else 0, **context)


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
    from matcher.indexing import update_after_import

    engine, service = request.app.state.engine, request.app.state.service
    who = actor(user)
    state = request.app.state

    def work(job: Job) -> str:
        encoded = 0
        while True:  # another import while this ran: its rows are indexed by one more pass
            state.index_pending = False
            reports = update_after_import(engine, service.encoder, folder=service.index_folder,
                                          progress=lambda done, total, label: job.progress(
                                              done, total, "编码：" + COLLECTION_LABELS.get(label, label)))
            encoded += sum(r.encoded for r in reports)
            job.stage = "重新载入"
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


@router.post("/console/merge")
def merge(request: Request, user: AdminUser, form: CheckedForm):
    from matcher.ingest.merge import MergeError, merge_records

    keep, drop = form.get("keep", ""), form.get("drop", "")
    try:
        with write_session(request.app.state.engine) as session:
            moved = merge_records(session, form.get("kind") or None, keep, drop, actor(user))
    except MergeError as exc:
        return redirect("/console/imports", f"没有合并：{exc}", "error")
    request.app.state.service.reload()
    summary = "，".join(f"{table} {count} 条" for table, count in moved.items()) if moved else "无关联记录"
    return redirect("/console/imports", f"已把 {drop} 合并到 {keep}（改指向：{summary}）")
