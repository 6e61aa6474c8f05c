"""Settings read from the environment (CXY_*), with zero-set-up defaults."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration.

    db: SQLAlchemy URL or a plain file path (taken as SQLite). Default: ``cxy.db`` in the working
        directory.
    session_idle_hours: a console sign-in expires after this long without a request (default 8).
    cookie_secure: send the session cookie only over TLS (set it when served behind HTTPS).
    followup_days: a proposed or contacted pair with no later event for this many days is 待跟进.
    vector_backend: where ``cxy index build`` puts the dense vectors: ``faiss`` (files in the index folder,
        the default) or ``pgvector`` (tables in the PostgreSQL store; embeddings.pgvector_index). A search
        reads them from wherever its index was built to.
    """

    model_config = SettingsConfigDict(env_prefix="CXY_", extra="ignore")

    db: str = "cxy.db"
    session_idle_hours: float = 8.0
    cookie_secure: bool = False
    followup_days: int = 14
    vector_backend: str = "faiss"  # checked with the database by embeddings.vector_index.check_backend


def database_url(db: str) -> str:
    """Turn a ``--db`` value into a SQLAlchemy URL: a bare path means a SQLite file."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"
