"""Speed of the console's pages on the bundled sample, as a signed-in clerk and admin would load them
(in-process over ASGI, the model and indexes loaded once, warm): p50/p95 per page against the targets
of the console issue (every page except lists p95 <= 200 ms; a match-list page p95 <= 1 s warm).

Run: .venv/bin/python bench/console.py [--db demo.db] [--repeat 20]
Without --db the sample is imported and indexed once into ~/.cache/cxy/bench/console/.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from matcher.accounts.audit import Actor  # noqa: E402
from matcher.accounts.users import create_user, get_user  # noqa: E402
from matcher.settings import database_url  # noqa: E402
from matcher.store.db import open_database, write_session  # noqa: E402

CACHE = Path.home() / ".cache" / "cxy" / "bench" / "console"
# (page, path, is a list, who)
PAGES = [
    ("工作台", "/", False, "clerk"), ("企业列表", "/console/enterprises", False, "clerk"),
    ("企业搜索 鑫瑞", "/console/enterprises?q=鑫瑞", False, "clerk"),
    ("企业页（含推荐清单）", "/console/enterprises/E101", True, "clerk"),
    ("需求匹配（文本）", "/console/match?text=AOI误判太多，想用深度学习复判", True, "clerk"),
    ("团队页（含企业清单）", "/console/teams/T101", True, "clerk"),
    ("团队搜索", "/console/teams?q=陶瓷", False, "clerk"),
    ("揭榜挂帅列表", "/console/challenges", False, "clerk"),
    ("榜单页（候选与联合体）", "/console/challenges/C11", True, "clerk"),
    ("跟进", "/console/followup", False, "clerk"), ("配对时间线", "/console/pairs/N101/T101", False, "clerk"),
    ("月报列表", "/console/reports", False, "clerk"), ("导入", "/console/imports", False, "boss"),
    ("模型", "/console/models", False, "boss"), ("账号", "/console/users", False, "boss"),
    ("操作记录", "/console/audit", False, "boss"),
]
PASSWORDS = {"clerk": ("bureau", "bench-clerk-1"), "boss": ("admin", "bench-admin-1")}


def sample_db() -> Path:
    db = CACHE / "sample.db"
    if not db.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        cxy = [sys.executable, "-m", "matcher", "--db", str(db)]
        subprocess.run([*cxy, "import", "all", str(ROOT / "data" / "sample")], check=True, capture_output=True)
        subprocess.run([*cxy, "index", "build"], check=True, capture_output=True)
    return db


def signed_in(app, name: str) -> TestClient:
    import re

    client = TestClient(app, client=(f"127.0.0.{len(name)}", 1))
    client.__enter__()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": PASSWORDS[name][1], "csrf_token": token})
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    db = args.db or sample_db()
    engine = open_database(database_url(str(db)))
    with write_session(engine) as session:
        for name, (role, password) in PASSWORDS.items():
            if get_user(session, name) is None:
                create_user(session, name, role, password, Actor("bench", "cli"))
    from api.app import create_app

    started = time.perf_counter()
    app = create_app(str(db))
    clients = {name: signed_in(app, name) for name in PASSWORDS}
    print(f"database {db}; start-up with model and indexes {time.perf_counter() - started:.1f} s; "
          f"{args.repeat} requests per page after one warm-up\n")
    print("| page | p50 ms | p95 ms | target p95 | met |\n|---|---:|---:|---:|---|")
    for label, path, is_list, who in PAGES:
        client = clients[who]
        assert client.get(path).status_code == 200, path
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        target = 1000 if is_list else 200
        met = "是" if p95 <= target else "否"
        print(f"| {label} | {statistics.median(times):.0f} | {p95:.0f} | {target} | {met} |")


if __name__ == "__main__":
    main()
