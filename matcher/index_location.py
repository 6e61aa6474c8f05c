"""Where a database's index lives, and whether one has been built, without loading the encoder stack
(an import checks this after every file; torch and faiss load only when there is an index to update)."""

import os
from pathlib import Path

from sqlalchemy.engine import make_url

COLLECTION_NAMES = ("capabilities", "needs")


def index_dir(db_url: str) -> Path:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".index")
    return Path(os.environ.get("CXY_INDEX_DIR", "cxy-index"))


def is_built(folder: Path) -> bool:
    return any((folder / c / "meta.json").exists() for c in COLLECTION_NAMES)
