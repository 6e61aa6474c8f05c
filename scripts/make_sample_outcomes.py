"""Write data/sample/outcomes.csv: synthetic follow-up events for 12 months (2025-12 .. 2026-11).

Pairs are drawn from the expert labels (data/sample/labels/need_teams.jsonl) plus unlabelled pairs
of the same field; each pair walks the funnel 已推荐 -> 已联系 -> 洽谈中 -> 已签约 or stops with a
reason. Progress is likelier for better-graded pairs, for teams in 江西 and for teams with mature
results (TRL >= 6), so the outcomes carry a learnable signal. They are synthetic: they show that the
feedback machinery works, never that it beats a bureau's judgement. Reproducible: fixed seed.
"""

import csv
import json
import random
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FIRST_MONTH, TODAY = date(2025, 12, 1), date(2026, 11, 22)
SEED, LABELLED_PAIRS, UNLABELLED_PAIRS = 2026, 62, 22

# Free text staff add to a rejection, by reason code.
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


def main() -> None:
    rng = random.Random(SEED)
    institutions = {row["id"]: row for row in read_csv("institutions.csv")}
    teams = {row["id"]: row for row in read_csv("teams.csv")}
    needs = {row["编号"]: row for row in read_csv("needs.csv", "utf-8-sig")}
    best_trl: dict[str, int] = defaultdict(int)
    for line in (SAMPLE / "achievements.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        best_trl[record["team_id"]] = max(best_trl[record["team_id"]], record.get("trl") or 0)
    labels = [json.loads(line) for line in (SAMPLE / "labels" / "need_teams.jsonl").read_text().splitlines()]
    grade = {(label["need_id"], label["team_id"]): label["grade"] for label in labels}

    pairs = rng.sample(sorted(grade), LABELLED_PAIRS)
    while len(pairs) < LABELLED_PAIRS + UNLABELLED_PAIRS:
        need = rng.choice(sorted(needs))
        same_field = [t for t in sorted(teams) if t[1] == need[1]]  # T1xx teams <-> N1xx needs
        pair = (need, rng.choice(same_field))
        if pair not in grade and pair not in pairs:
            pairs.append(pair)

    events = []
    for need_id, team_id in pairs:
        g = grade.get((need_id, team_id), 0)
        boost = (1.25 if institutions[teams[team_id]["institution_id"]]["province"] == "江西" else 1.0) * (
            1.15 if best_trl[team_id] >= 6 else 0.9)
        day = FIRST_MONTH + timedelta(days=rng.randrange(350))
        trail = [("proposed", day, None, None)]
        if rng.random() < 0.85:
            day += timedelta(days=rng.randint(3, 20))
            trail.append(("contacted", day, None, None))
            if rng.random() < min(0.95, (0.15, 0.45, 0.7)[g] * boost):
                day += timedelta(days=rng.randint(10, 45))
                trail.append(("negotiating", day, None, None))
                day += timedelta(days=rng.randint(15, 60))
                if rng.random() < min(0.95, (0.2, 0.4, 0.62)[g] * boost):
                    budget = float(needs[need_id]["预算（万元）"] or 0) or rng.uniform(10, 80)
                    trail.append(("contract_signed", day, round(budget * rng.uniform(0.5, 1.0) * 2) / 2, None))
                else:
                    code = rng.choice(["报价过高", "周期太长", "企业暂缓", "已有合作方"])
                    trail.append(("rejected", day, None, (code, rng.choice(REASONS[code]))))
            else:
                day += timedelta(days=rng.randint(5, 30))
                if rng.random() < 0.2:
                    trail.append(("declined", day, None, ("其他", "团队任务已满，暂不承接")))
                else:
                    code = "技术不对口" if g == 0 or rng.random() < 0.3 else rng.choice(["企业暂缓", "已有合作方"])
                    trail.append(("rejected", day, None, (code, rng.choice(REASONS[code]))))
        events += [(need_id, team_id, *step) for step in trail if step[1] <= TODAY]

    events.sort(key=lambda e: (e[3], e[0], e[1]))
    with (SAMPLE / "outcomes.csv").open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["需求编号", "团队编号", "阶段", "合同金额（万元）", "日期", "原因"])
        for need_id, team_id, stage, day, amount, reason in events:
            text = None if reason is None else (reason[1] if reason[1].startswith(reason[0]) else
                                                f"{reason[0]}：{reason[1]}")
            writer.writerow([need_id, team_id, STAGE_WORDS[stage], amount or "",
                             f"{day.year}年{day.month}月{day.day}日", text or ""])
    months = {e[3].strftime("%Y-%m") for e in events}
    print(f"{len(events)} events, {len(pairs)} pairs, {len(months)} months -> {SAMPLE / 'outcomes.csv'}")


if __name__ == "__main__":
    main()
