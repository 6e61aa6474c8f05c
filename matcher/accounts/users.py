"""Console accounts: create, change password, disable, and check a sign-in.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile); a hash
made with older parameters is upgraded on the next successful sign-in.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.accounts.audit import Actor, now, record_audit
from matcher.store import models

ROLES = {"bureau": "科技局工作人员", "researcher": "科研人员", "admin": "管理员"}
MIN_PASSWORD = 8
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about an account that cannot be done; the message (Chinese) says why."""


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 位")
    if len(password) > 256:
        raise AccountError("密码不能超过 256 位")


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(session: Session, name: str) -> models.User | None:
    return session.scalar(select(models.User).where(models.User.name == name))


def _require(session: Session, name: str) -> models.User:
    user = get_user(session, name)
    if user is None:
        raise AccountError(f"没有名为 {name} 的账号")
    return user


def create_user(session: Session, name: str, role: str, password: str, actor: Actor, team_id: str | None = None,
                display_name: str | None = None) -> models.User:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise AccountError("账号名不能为空，且不超过 64 个字符")
    if role not in ROLES:
        raise AccountError(f"角色 {role!r} 无效，可选：" + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))
    if role == "researcher" and not team_id:
        raise AccountError("科研人员账号须属于一个团队：请给出团队编号（--team）")
    if role != "researcher" and team_id:
        raise AccountError("只有科研人员账号属于团队")
    if team_id and session.get(models.Team, team_id) is None:
        raise AccountError(f"没有编号为 {team_id} 的团队")
    if get_user(session, name) is not None:
        raise AccountError(f"账号 {name} 已存在")
    user = models.User(name=name, role=role, team_id=team_id, password_hash=hash_password(password),
                       display_name=(display_name or "").strip() or None, password_changed_at=now())
    session.add(user)
    session.flush()
    record_audit(session, actor, "user.create", name, {"role": role, "team_id": team_id})
    return user


def set_password(session: Session, name: str, password: str, actor: Actor) -> None:
    user = _require(session, name)
    user.password_hash = hash_password(password)
    user.password_changed_at = now()
    # Every browser signed in with the old password is signed out.
    session.query(models.UserSession).filter(models.UserSession.user_id == user.id).delete()
    record_audit(session, actor, "user.passwd", name)


def set_disabled(session: Session, name: str, disabled: bool, actor: Actor) -> None:
    user = _require(session, name)
    user.disabled = disabled
    if disabled:
        session.query(models.UserSession).filter(models.UserSession.user_id == user.id).delete()
    record_audit(session, actor, "user.disable" if disabled else "user.enable", name)


def check_credentials(session: Session, name: str, password: str) -> models.User | None:
    """The user when the name and password are right and the account is active, else None. The hash is
    computed even for an unknown name, so timing does not tell which names exist."""
    user = get_user(session, name)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


_DUMMY_HASH = _hasher.hash("cxy-no-such-user")
