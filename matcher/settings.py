"""Settings read from the environment (CXY_*), with zero-set-up defaults."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration.

    db: SQLAlchemy URL or a plain file path (taken as SQLite). Default: ``cxy.db`` in the working
        directory.
    """

    model_config = SettingsConfigDict(env_prefix="CXY_", extra="ignore")

    db: str = "cxy.db"


def database_url(db: str) -> str:
    """Turn a ``--db`` value into a SQLAlchemy URL: a bare path means a SQLite file."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"
