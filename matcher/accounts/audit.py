"""The audit log: who made which write, when. Every write through the console, the API or an account
command adds one entry in the same transaction as the write itself, so a write is never unaudited."""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store import models

# What each action is called on the admin's audit page.
ACTION_LABELS = {
    "feedback.record": "登记跟进", "import": "导入数据", "index.build": "更新索引", "train": "训练排序模型",
    "report.monthly": "生成月报", "user.create": "新建账号", "user.passwd": "修改密码", "user.disable": "停用账号",
    "user.enable": "启用账号", "key.create": "新建接口密钥", "key.revoke": "吊销接口密钥", "merge": "合并重复记录",
    "login": "登录", "logout": "退出",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a console user, an API key or the command line (the operating-system user)."""

    name: str
    kind: str  # user | api_key | cli

    @classmethod
    def cli(cls) -> "Actor":
        import getpass

        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry in some containers
            who = "unknown"
        return cls(f"命令行:{who}", "cli")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_audit(session: Session, actor: Actor, action: str, target: str | None = None,
                 detail: dict | None = None) -> None:
    """Add one audit entry to the caller's transaction."""
    session.add(models.AuditEntry(at=now(), actor=actor.name[:100], actor_kind=actor.kind, action=action,
                                  target=(target or None) and target[:200], detail=detail))


def audit_entries(session: Session, limit: int = 200, action: str | None = None) -> list[models.AuditEntry]:
    statement = select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(limit)
    if action:
        statement = statement.where(models.AuditEntry.action == action)
    return list(session.scalars(statement))
