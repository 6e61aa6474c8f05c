"""Login throttling: after FAILURES failed sign-ins for one account or from one address within WINDOW,
further tries are refused (without checking the password) until the oldest of them leaves the window."""

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.accounts.audit import now
from matcher.store import models

FAILURES = 5
WINDOW = dt.timedelta(minutes=15)


def wait_needed(session: Session, name: str, address: str | None) -> dt.timedelta | None:
    """How long the caller must wait before trying again, or None when a try is allowed."""
    since = now() - WINDOW
    waits = []
    for column, value in ((models.LoginAttempt.name, name), (models.LoginAttempt.address, address)):
        if not value:
            continue
        failures = select(models.LoginAttempt.at).where(column == value, models.LoginAttempt.at >= since,
                                                         models.LoginAttempt.succeeded.is_(False))
        times = sorted(session.scalars(failures))
        if len(times) >= FAILURES:
            waits.append(times[-FAILURES] + WINDOW - now())
    return max(waits) if waits else None


def note_attempt(session: Session, name: str, address: str | None, succeeded: bool) -> None:
    session.add(models.LoginAttempt(name=name[:64], address=(address or "")[:64] or None, succeeded=succeeded,
                                    at=now()))
    # Keep the table small: attempts older than a day say nothing about throttling.
    old = now() - dt.timedelta(days=1)
    if session.scalar(select(func.count()).select_from(models.LoginAttempt)
                      .where(models.LoginAttempt.at < old)):
        session.query(models.LoginAttempt).filter(models.LoginAttempt.at < old).delete()


def describe_wait(wait: dt.timedelta) -> str:
    minutes = max(1, int(wait.total_seconds() // 60) + (1 if wait.total_seconds() % 60 else 0))
    return f"登录失败次数过多，请 {minutes} 分钟后再试"


