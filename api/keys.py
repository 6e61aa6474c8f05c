"""API keys: created by `cxy key create`, shown once, stored as SHA-256, checked per request."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.models import API_ROLES, ApiKey


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, and for researchers the team they belong to."""

    key_id: int
    name: str
    role: str
    team_id: str | None

    @property
    def actor(self):
        """Who this key is in the audit log."""
        from matcher.accounts.audit import Actor

        return Actor(f"接口密钥:{self.name}", "api_key")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, role: str, name: str, team_id: str | None = None) -> tuple[ApiKey, str]:
    if role not in API_ROLES:
        raise ValueError(f"角色 {role!r} 不可用；可用：{'、'.join(API_ROLES)}")
    if role == "researcher" and not team_id:
        raise ValueError("科研人员的密钥属于一个团队：请用 --team 团队编号 指定")
    key = "cxy_" + secrets.token_urlsafe(24)
    row = ApiKey(name=name, role=role, team_id=team_id, key_hash=digest(key))
    session.add(row)
    session.flush()
    return row, key


def principal_for(session: Session, key: str) -> Principal | None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key), ApiKey.revoked.is_(False)))
    return Principal(row.id, row.name, row.role, row.team_id) if row else None
