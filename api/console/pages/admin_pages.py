"""Admin pages: 模型 (train a ranker in the background, the stored models, which one serves and why),
账号 (create, change password, disable and enable accounts) and 操作记录 (the audit log)."""

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.console.auth import AdminUser, CheckedForm, actor, short_session
from api.console.jobs import Busy, Job, jobs
from api.console.render import redirect, render
from api.limits import Busy as TrainRefused
from matcher.accounts.audit import ACTION_LABELS, audit_entries, record_audit
from matcher.accounts.users import ROLES, AccountError, create_user, set_disabled, set_password
from matcher.learning.registry import list_models
from matcher.matching.features import FEATURES
from matcher.store import models
from matcher.store.db import write_session

router = APIRouter(include_in_schema=False)


@router.get("/console/models")
def model_page(request: Request, user: AdminUser):
    service = request.app.state.service
    with short_session(request) as session:
        stored = list_models(session)
    recent = jobs(request).recent("train")
    return render(request, "console/models.html", title="模型", section="models", stored=stored, jobs=recent,
                  serving=service.ranker.version, note=service.ranker_note or "透明评分（默认权重）",
                  weights=getattr(service.ranker, "weights", {}), features=FEATURES,
                  refresh_seconds=3 if any(j.state == "running" for j in recent) else 0)


@router.post("/console/models/train")
def train_model(request: Request, user: AdminUser, form: CheckedForm):
    from matcher.learning.train import train

    engine, service = request.app.state.engine, request.app.state.service
    who = actor(user)
    # The same turn as POST /admin/train: one training at a time, unchanged data not retrained within the
    # interval. Taken here, so a refusal is the page's message; the job gives it back when it ends.
    guard, signature = request.app.state.train_guard, service.training_signature()

    def work(job: Job) -> str:
        try:
            job.stage = "按时间切分训练与检验"
            report = train(engine, service.detached())
            guard.trained(signature, report.version)
        finally:
            guard.release()
        service.reload()
        with write_session(engine) as session:
            record_audit(session, who, "train", report.version, {"beat_scorer": report.beat_scorer})
        verdict = "新模型胜过透明评分，已启用" if report.beat_scorer else "新模型未胜过透明评分，继续使用原排序"
        return f"{verdict}：{report.note}"

    try:
        guard.claim(signature)
    except TrainRefused as exc:
        return redirect("/console/models", str(exc), "error")
    try:
        jobs(request).start("train", "训练排序模型", user.name, work)
    except Busy as exc:
        guard.release()
        return redirect("/console/models", str(exc), "error")
    return redirect("/console/models", "已开始训练，页面会自动刷新", "info")


@router.get("/console/users")
def user_page(request: Request, user: AdminUser):
    with short_session(request) as session:
        users = list(session.scalars(select(models.User).order_by(models.User.name)))
        teams = {t.id: t.name for t in session.scalars(select(models.Team))}
    return render(request, "console/users.html", title="账号", section="users", users=users, roles=ROLES,
                  teams=teams)


@router.post("/console/users")
def user_change(request: Request, user: AdminUser, form: CheckedForm):
    action, name = form.get("action", ""), (form.get("name") or "").strip()
    try:
        with write_session(request.app.state.engine) as session:
            if action == "create":
                create_user(session, name, form.get("role", ""), form.get("password", ""), actor(user),
                            form.get("team_id") or None, form.get("display_name") or None)
                done = f"已新建账号 {name}"
            elif action == "passwd":
                set_password(session, name, form.get("password", ""), actor(user))
                done = f"已修改 {name} 的密码"
            elif action in ("disable", "enable"):
                if name == user.name and action == "disable":
                    raise AccountError("不能停用自己正在使用的账号")
                set_disabled(session, name, action == "disable", actor(user))
                done = f"已{'停用' if action == 'disable' else '启用'}账号 {name}"
            else:
                raise AccountError("未知的操作")
    except AccountError as exc:
        return redirect("/console/users", f"没有保存：{exc}", "error")
    return redirect("/console/users", done)


@router.get("/console/audit")
def audit_page(request: Request, user: AdminUser, action: str = ""):
    with short_session(request) as session:
        entries = audit_entries(session, 300, action or None)
    return render(request, "console/audit.html", title="操作记录", section="audit", entries=entries,
                  labels=ACTION_LABELS, action=action)
