"""Name search indexes for the console's search boxes (enterprises, teams, achievements, challenges),
rebuilt only when the table changed (a count and the newest update time, one cheap query)."""

import threading

from fastapi import Request
from sqlalchemy import func, select

from matcher.lookup.names import NameIndex
from matcher.store import models

NAMED = {"enterprises": (models.Enterprise, models.Enterprise.name), "teams": (models.Team, models.Team.name),
         "achievements": (models.Achievement, models.Achievement.title),
         "challenges": (models.Challenge, models.Challenge.title), "needs": (models.Need, models.Need.title)}
_lock = threading.Lock()


def name_index(request: Request, kind: str) -> NameIndex:
    model, column = NAMED[kind]
    cache = request.app.state.__dict__.setdefault("name_indexes", {})
    with request.app.state.engine.connect() as conn:
        signature = tuple(conn.execute(select(func.count(), func.max(model.updated_at)).select_from(model)).one())
        cached = cache.get(kind)
        if cached is not None and cached[0] == signature:
            return cached[1]
        pairs = conn.execute(select(model.id, column)).all()
    with _lock:
        index = NameIndex((str(i), n or "") for i, n in pairs)
        cache[kind] = (signature, index)
    return index
