"""Write data/sample/outcomes.csv: synthetic follow-up of 12 months of recommendation lists
(2025-12 .. 2026-11), so the feedback loop has something to learn from. THE OUTCOMES ARE SYNTHETIC:
they show that the machinery works, never that it beats a bureau's judgement.

How the bureau is simulated (fixed seed, reproducible):
- The log predates this tool: lists came from the staff's keyword search. Each month the bureau sends
  NEEDS_PER_MONTH enterprises a list for one open need. Staff pick LIST_LENGTH teams from the search's
  top POOL (favouring the top, skipping teams at capacity), send them in the search's order and
  often append a team they know themselves: a relevant one (mostly local; it may sit anywhere in the
  ranking) or just one of the same field. Each event
  carries the team's position in that list (推荐位次).
- The enterprise reads down the list: it looks at position r with probability r^-EXAMINE_DECAY
  (position bias) and contacts a team it looked at with a probability set by the true relevance
  (the expert grade from data/sample/labels; unlabelled pairs are grade 0).
- Negotiation and signing are likelier for relevant pairs, for teams in 江西 (local follow-up is easy)
  and for teams with mature results (TRL >= 6): the preferences a bureau learns and the transparent
  scorer weighs only lightly. Rejections carry reasons: 技术不对口 mostly for irrelevant pairs, budget
  and timing reasons at random. A list left unanswered is closed as 企业暂缓 after a month or so.

Run (needs the model; builds a scratch database and index, about a minute):
    .venv/bin/python scripts/make_sample_outcomes.py
"""

import csv
import json
import random
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "data" / "sample"
FIRST_MONTH, TODAY = date(2025, 12, 1), date(2026, 11, 22)
SEED = 2026
NEEDS_PER_MONTH, LIST_LENGTH, POOL = 10, 5, 20
KNOWN_PICK, FIELD_PICK = 0.6, 0.3  # chance that staff add a relevant team they know / any team of the field
PICK_DECAY = 0.2  # staff favour the top of the search's list, mildly
EXAMINE_DECAY = 0.5
LOCAL, AWAY, MATURE, YOUNG = 1.5, 0.4, 1.2, 0.85  # conversion multipliers at negotiation and signing
CONTACT = (0.25, 0.6, 0.85, 0.95)  # by grade 0..3, once the enterprise looked at the team
NEGOTIATE = (0.1, 0.5, 0.7, 0.8)
SIGN = (0.15, 0.5, 0.65, 0.75)

REASONS = {
    "技术不对口": ["团队方向偏基础研究，解决不了产线问题", "对方做的是另一类材料，企业觉得不对路", "技术不对口"],
    "报价过高": ["团队报价超出企业预算一倍", "企业预算只有报价的一半", "报价过高"],
    "周期太长": ["团队说要两年，企业希望半年见效", "研发周期太长，赶不上客户交期"],
    "企业暂缓": ["企业今年效益下滑，项目暂缓", "企业忙于搬迁新厂区，先放一放", "企业暂缓"],
    "已有合作方": ["企业已和另一所高校签了协议", "企业找了设备厂家直接解决", "已有合作方"],
}
STAGE_WORDS = {"proposed": "已推荐", "contacted": "已联系", "negotiating": "洽谈中",
               "contract_signed": "已签约", "rejected": "未成功", "declined": "团队婉拒"}


def read_csv(name: str, encoding: str = "utf-8") -> list[dict]:
    with (SAMPLE / name).open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def true_grades() -> dict[tuple[str, str], int]:
    """Relevance on the 0..3 scale: the pooled expert labels, else the writers' (0..2) labels."""
    grades = {}
    for name, scale in (("need_teams.jsonl", {1: 1, 2: 2}), ("match_needs.jsonl", {0: 0, 1: 1, 2: 2, 3: 3})):
        for line in (SAMPLE / "labels" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            grades[(row["need_id"], row["team_id"])] = scale[row["grade"]]
    return grades


def keyword_lists() -> dict[str, list[str]]:
    """What staff found before this tool: the top POOL teams of a plain keyword (BM25) search for every
    need (a scratch copy of the sample; the same ranking bench/match_quality.py calls "bm25")."""
    sys.path.insert(0, str(ROOT / "bench"))
    from match_quality import baseline_teams

    from matcher.indexing import build_all, index_dir
    from matcher.ingest.folder import import_folder
    from matcher.matching.service import MatchService
    from matcher.store.db import open_database, session_factory, write_session

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sample.db"
        engine = open_database(url)
        with write_session(engine) as session:
            import_folder(session, SAMPLE)
        service = MatchService(engine, store_runs=False)
        with session_factory(engine)() as session:
            build_all(session, service.encoder, index_dir(url))
        service.warm()
        return {need_id: baseline_teams(service, need_id)["bm25"][:POOL] for need_id in sorted(service.catalog.needs)}


class Loads:
    """What each team has on its plate on a given day (open proposals and this year's contracts)."""

    def __init__(self):
        self.spans: dict[str, list[tuple[date, date]]] = defaultdict(list)

    def add(self, team_id: str, start: date, end: date) -> None:
        self.spans[team_id].append((start, end))

    def on(self, team_id: str, day: date) -> int:
        return sum(1 for start, end in self.spans[team_id] if start <= day < end)


def follow(rng: random.Random, grade: int, boost: float, rank: int, day: date) -> list[tuple]:
    """One proposed pair's trail of (stage, day, amount, reason)."""
    trail = [("proposed", day, None, None)]
    looked = rng.random() < rank ** -EXAMINE_DECAY
    if not (looked and rng.random() < CONTACT[grade]):
        if rng.random() < 0.7:
            closed = day + timedelta(days=rng.randint(25, 45))
            trail.append(("rejected", closed, None, ("企业暂缓", "企业未回复，视为暂缓")))
        return trail
    day += timedelta(days=rng.randint(2, 7))
    trail.append(("contacted", day, None, None))
    if rng.random() < min(0.95, NEGOTIATE[grade] * boost):
        day += timedelta(days=rng.randint(4, 14))
        trail.append(("negotiating", day, None, None))
        day += timedelta(days=rng.randint(7, 25))
        if rng.random() < min(0.95, SIGN[grade] * boost):
            trail.append(("contract_signed", day, None, None))
        else:
            code = rng.choice(["报价过高", "周期太长", "企业暂缓", "已有合作方"])
            trail.append(("rejected", day, None, (code, rng.choice(REASONS[code]))))
        return trail
    day += timedelta(days=rng.randint(5, 25))
    if rng.random() < 0.15:
        trail.append(("declined", day, None, ("其他", "团队任务已满，暂不承接")))
    else:
        code = "技术不对口" if grade == 0 or rng.random() < 0.4 else rng.choice(["企业暂缓", "已有合作方", "周期太长"])
        trail.append(("rejected", day, None, (code, rng.choice(REASONS[code]))))
    return trail


def main() -> None:
    rng = random.Random(SEED)
    institutions = {row["id"]: row for row in read_csv("institutions.csv")}
    teams = {row["id"]: row for row in read_csv("teams.csv")}
    needs = {row["编号"]: row for row in read_csv("needs.csv", "utf-8-sig")}
    best_trl: dict[str, int] = defaultdict(int)
    for line in (SAMPLE / "achievements.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        best_trl[record["team_id"]] = max(best_trl[record["team_id"]], record.get("trl") or 0)
    grades = true_grades()
    lists = keyword_lists()
    loads = Loads()

    events, queue = [], []
    proposed: dict[str, set[str]] = defaultdict(set)  # staff never propose a pair twice
    month = FIRST_MONTH
    while month <= TODAY:
        if len(queue) < NEEDS_PER_MONTH:
            queue += rng.sample(sorted(needs), len(needs))
        chosen, queue = queue[:NEEDS_PER_MONTH], queue[NEEDS_PER_MONTH:]
        for need_id in chosen:
            day = month + timedelta(days=rng.randrange(25))
            if day > TODAY:
                continue
            free = {t for t in teams if loads.on(t, day) < int(teams[t]["capacity"] or 3)} - proposed[need_id]
            pool = [(r, t) for r, t in enumerate(lists[need_id], 1) if t in free]
            picked = []
            while pool and len(picked) < LIST_LENGTH:
                r, t = rng.choices(pool, weights=[r ** -PICK_DECAY for r, _ in pool])[0]
                picked.append((r, t))
                pool.remove((r, t))
            sent = [t for _, t in sorted(picked)]
            known = [t for (n, t), g in sorted(grades.items())
                     if n == need_id and g >= 1 and t not in sent and t in free]
            same_field = [t for t in sorted(free) if t[1] == need_id[1] and t not in sent]
            if known and rng.random() < KNOWN_PICK:
                local = [3.0 if institutions[teams[t]["institution_id"]]["province"] == "江西" else 1.0 for t in known]
                sent.append(rng.choices(known, weights=local)[0])
            elif same_field and rng.random() < FIELD_PICK:
                sent.append(rng.choice(same_field))
            proposed[need_id].update(sent)
            for rank, team_id in enumerate(sent, 1):
                g = grades.get((need_id, team_id), 0)
                local = institutions[teams[team_id]["institution_id"]]["province"] == "江西"
                boost = (LOCAL if local else AWAY) * (MATURE if best_trl[team_id] >= 6 else YOUNG)
                trail = [step for step in follow(rng, g, boost, rank, day) if step[1] <= TODAY]
                last_stage, last_day = trail[-1][0], trail[-1][1]
                busy_until = (last_day + timedelta(days=365) if last_stage == "contract_signed" else
                              TODAY + timedelta(days=1) if last_stage in ("proposed", "contacted", "negotiating")
                              else last_day)
                loads.add(team_id, day, min(busy_until, day + timedelta(days=180))
                          if last_stage != "contract_signed" else busy_until)
                for stage, when, _, reason in trail:
                    amount = None
                    if stage == "contract_signed":
                        budget = float(needs[need_id]["预算（万元）"] or 0) or rng.uniform(10, 80)
                        amount = round(budget * rng.uniform(0.5, 1.0) * 2) / 2
                    events.append((need_id, team_id, stage, when, amount, reason, rank))
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)

    events.sort(key=lambda e: (e[3], e[0], e[1], list(STAGE_WORDS).index(e[2])))
    with (SAMPLE / "outcomes.csv").open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["需求编号", "团队编号", "阶段", "合同金额（万元）", "日期", "原因", "推荐位次"])
        for need_id, team_id, stage, day, amount, reason, rank in events:
            text = None if reason is None else (reason[1] if reason[1].startswith(reason[0]) else
                                                f"{reason[0]}：{reason[1]}")
            when = f"{day.year}年{day.month}月{day.day}日"
            writer.writerow([need_id, team_id, STAGE_WORDS[stage], amount or "", when, text or "", rank])
    pairs = {(e[0], e[1]) for e in events}
    signed = sum(1 for e in events if e[2] == "contract_signed")
    print(f"{len(events)} events, {len(pairs)} pairs, {signed} signed -> {SAMPLE / 'outcomes.csv'}")


if __name__ == "__main__":
    main()
