"""The writer the concurrency test runs in threads and in spawned processes. Kept apart from
tests/test_feedback.py so that a spawned process imports only the store, not the API and the CLI."""

from matcher.feedback.events import record
from matcher.settings import database_url
from matcher.store.db import open_database, write_session

PAIRS = [("N101", "T301"), ("N102", "T107"), ("N201", "T104"), ("N301", "T205")]


def write_events(db: str, worker: int, n: int) -> None:
    engine = open_database(database_url(db))
    for i in range(n):
        need, team = PAIRS[i % len(PAIRS)]
        for _ in range(2):  # every event is sent twice, as a retry would
            with write_session(engine) as session:
                record(session, need, team, "contacted", date="2026-11-01", source="test",
                       idempotency_key=f"w{worker}-{i}")
    engine.dispose()
