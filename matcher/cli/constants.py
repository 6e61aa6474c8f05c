"""Values the commands' help and argument checks show, copied from the modules that own them so that
``cxy`` starts without importing SQLAlchemy, pydantic or openpyxl (a wrong id then answers in a fraction
of a second). tests/test_cli_fast.py checks that every copy still equals its source."""

# matcher.ingest.loader.KINDS, and the two kinds `cxy import` adds
IMPORT_KINDS = ("institutions", "teams", "achievements", "enterprises", "needs", "challenges", "outcomes",
                "survey", "all")
# matcher.ingest.schemas.REJECTION_REASONS, worded as matcher.feedback.events.REASON_HELP
REJECTION_REASONS = ("技术不对口", "报价过高", "周期太长", "企业暂缓", "已有合作方", "其他")
REASON_HELP = "未成功需要原因：" + "、".join(REJECTION_REASONS) + " 之一，可在后面补充说明（报价过高：预算只有20万）"
# matcher.matching.options
MAX_QUERY_TEXT = 5000
MAX_QUERIES = 1000


def database_url(db: str) -> str:
    """matcher.settings.database_url (that module imports pydantic-settings): a bare path is a SQLite file."""
    from pathlib import Path

    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def default_db() -> str:
    """What matcher.settings.Settings().db gives, read without pydantic when CXY_DB is spelled as usual."""
    import os

    if "CXY_DB" in os.environ:
        return os.environ["CXY_DB"]
    if not any(name.upper() == "CXY_DB" for name in os.environ):  # pydantic-settings ignores the case
        return "cxy.db"
    from matcher.settings import Settings

    return Settings().db
