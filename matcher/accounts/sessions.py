"""Sign-in sessions: a random token in an HttpOnly cookie, its SHA-256 in the database, a CSRF token
per session (the synchroniser-token pattern: every state-changing form carries it), idle expiry."""

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from matcher.accounts.audit import now
from matcher.store import models

# last_seen is written at most this often, so reading pages does not turn into a write per request.
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    """A valid session's user as the console needs it (detached from the database session)."""

    user_id: int
    name: str
    display_name: str
    role: str
    team_id: str | None
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: models.User, address: str | None) -> str:
    """A new session for ``user``; returns the token for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    at = now()
    session.add(models.UserSession(token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                                   created_at=at, last_seen=at, address=(address or "")[:64] or None))
    return token


def lookup(session: Session, token: str | None, idle: dt.timedelta) -> tuple[SignedIn | None, bool]:
    """The signed-in user for a cookie token (None when unknown, expired or disabled), and whether the
    session's last_seen is due a refresh (the caller writes it with ``touch``)."""
    if not token or len(token) > 200:
        return None, False
    row = session.get(models.UserSession, _digest(token))
    if row is None:
        return None, False
    user = session.get(models.User, row.user_id)
    if user is None or user.disabled or now() - row.last_seen > idle:
        return None, False
    signed = SignedIn(user.id, user.name, user.display_name or user.name, user.role, user.team_id, row.csrf_token)
    return signed, now() - row.last_seen > TOUCH_EVERY


def touch(session: Session, token: str) -> None:
    row = session.get(models.UserSession, _digest(token))
    if row is not None:
        row.last_seen = now()


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(models.UserSession).where(models.UserSession.token_hash == _digest(token)))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())
