"""Speed of finding enterprises by name (matcher.lookup.names.NameIndex) over synthetic registers of
1,000 / 20,000 / 100,000 names shaped like real ones (place + brand + trade + legal form:
萍乡市湘东区鑫瑞化工填料有限公司), the sample's 90 names planted among them.

Build: a new index from (id, name) pairs, once with the process's one-off loads (place list, pinyin
table) and then warm. Search: p50 / p95 / max of each kind of query a clerk types.

Run: .venv/bin/python bench/name_search.py [--sizes 1000 20000 100000] [--repeat 20]
"""

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matcher.lookup.names import NameIndex  # noqa: E402

PLACES = ["", "江西", "江西省", "萍乡", "萍乡市", "萍乡市湘东区", "萍乡市安源区", "萍乡市芦溪县", "芦溪县",
          "上栗县", "莲花县", "宜春市", "新余市", "吉安市", "九江市", "南昌市", "赣州市", "江西芦溪", "江西上栗"]
BRAND = ("鑫瑞汇鼎恒钰磊晶泓通晟岚腾焰宏泰富金石智陶华源振兴科力瓷赣盾正衡联固台昇鼎力众捷协丰净清"
         "新垣宇鹏辰铜锦博银润云数星图乾元循储永明澜烯创固德铂锐")
TRADE = ["化工填料", "环保陶瓷", "精密陶瓷", "耐磨材料", "电子陶瓷科技", "新材料科技", "工业窑炉", "电气",
         "避雷器", "开关设备", "压缩机", "流体机械", "过滤设备", "再生资源", "电路科技", "电子材料", "表面处理",
         "软件", "锂业科技", "电池材料", "碳素材料", "食品", "药业", "医疗器械", "生物科技", "复合材料科技",
         "精密铸件", "智能装备"]
LEGAL = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "厂", "集团有限公司"]


def sample_names() -> list[tuple[str, str]]:
    """The sample's enterprises, read after importing data/sample into a scratch database."""
    from typer.testing import CliRunner

    from matcher.cli import app

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "names.db"
        result = CliRunner().invoke(app, ["--db", str(db), "import", "all", str(ROOT / "data" / "sample"),
                                          "--no-index"])
        if result.exit_code:  # an importer without --no-index
            result = CliRunner().invoke(app, ["--db", str(db), "import", "all", str(ROOT / "data" / "sample")])
        with sqlite3.connect(db) as conn:
            return list(conn.execute("SELECT id, name FROM enterprises"))


def register(size: int, planted: list[tuple[str, str]], rng: random.Random) -> list[tuple[str, str]]:
    names = list(planted)
    while len(names) < size:
        brand = "".join(rng.sample(BRAND, 2))
        names.append((f"X{len(names):06d}", rng.choice(PLACES) + brand + rng.choice(TRADE) + rng.choice(LEGAL)))
    return names


QUERIES = {  # kind -> what a clerk types (all find E102 / E101 in the sample part)
    "编号": "E102",
    "片段（2 字）": "鑫瑞",
    "简称": "鑫瑞化工",
    "地名 + 简称": "芦溪华源",
    "全称": "萍乡市汇鼎环保陶瓷有限公司",
    "错字（同音）": "汇鼎环宝",
    "错字（别字）": "鑫端化工",
    "拼音首字母": "hdhb",
    "无此名称": "芦溪华电",
}


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000, 100000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(13)
    planted = sample_names()
    registers = {size: register(size, planted, rng) for size in args.sizes}

    start = time.perf_counter()
    NameIndex(registers[args.sizes[0]])
    first = time.perf_counter() - start
    print(f"first index in this process (with the one-off loads: places, pinyin table): {first * 1000:.0f} ms "
          f"for {args.sizes[0]:,} names\n")
    rows = []
    for size, pairs in registers.items():
        build = min(timed(lambda p=pairs: NameIndex(p), 3))
        index = NameIndex(pairs)
        for kind, query in QUERIES.items():
            index.search(query)  # first call loads rapidfuzz
            times = sorted(timed(lambda q=query, i=index: i.search(q), args.repeat))
            hits = index.search(query, limit=3)
            rows.append((size, build, kind, query, statistics.median(times), times[int(0.95 * (len(times) - 1))],
                         times[-1], ", ".join(f"{h.id}:{h.how}" for h in hits) or "—"))
    print("| names | build (ms) | query | text | p50 (ms) | p95 (ms) | max (ms) | top 3 |")
    print("|---:|---:|---|---|---:|---:|---:|---|")
    for size, build, kind, query, p50, p95, top, hits in rows:
        print(f"| {size:,} | {build:.0f} | {kind} | {query} | {p50:.2f} | {p95:.2f} | {top:.2f} | {hits} |")


if __name__ == "__main__":
    main()
