"""Printing match lists: a readable table (Chinese-width aware), JSON / JSON Lines, and CSV."""

import csv
import io
import json
import unicodedata

from matcher.reports.cells import safe_row


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int) -> str:
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > limit - 1:
            return "".join(out) + "…"
        out.append(c)
        used += w
    return "".join(out)


def _signed(rows: list[dict], positive: bool) -> str:
    picked = [r for r in rows if (r["contribution"] > 0) == positive][:4]
    return "，".join(f"{r['label']} {r['contribution']:+.2f}" for r in picked)


def _query_line(result: dict) -> str:
    q = result["query"]
    if q["kind"] == "need":
        return f"需求 {q['need_id']}：{q['title']}（企业 {q['enterprise_id']}）"
    if q["kind"] == "enterprise":
        return f"企业 {q['enterprise_id']} {q['name']}：{len(q['open_needs'])} 条在办需求"
    if q["kind"] == "challenge":
        return f"榜单 {q['challenge_id']}：{q['title']}（{len(q['targets'])} 项指标）"
    if q["kind"] == "team":
        return f"团队 {q['team_id']} {q['team_name']}：可对接的企业需求"
    return f"查询：{clip(q['text'], 80)}"


def table(result: dict) -> str:
    lines = [_query_line(result)]
    if not result["results"]:
        lines.append("  （没有符合条件的结果）")
    for r in result["results"]:
        e = r["explanation"]
        if "team_id" in r:
            card = e["team"]
            place = card.get("city") or card.get("province") or "—"
            head = f"{r['team_id']} {card['team_name']} · {card['institution']}（{place}）"
            if e.get("need_id"):
                head += f"  → 需求 {e['need_id']}"
        else:
            need = e["need"]
            place = need.get("county") or need.get("city") or "—"
            head = f"{r['need_id']} {need['need_title']} · {need['enterprise_name']}（{place}）"
        if e.get("exploration"):
            head = "【探索位】" + head
        lines.append(f"{r['rank']:>3}. {r['score']:.2f}  {head}")
        if e.get("evidence"):
            ev = e["evidence"][0]
            lines.append(f"       依据：{clip(ev.get('title', ''), 40)}：{clip(ev.get('sentence', ''), 90)}")
        if e.get("teams"):
            lines.append("       团队：" + "，".join(f"{t['team_id']} {t['team_name']}" for t in e["teams"]))
        if "coverage" in e:
            role = {"lead": "牵头", "member": "成员"}.get(e.get("role"), "")
            marks = " ".join(f"{t['index'] + 1}{'✓' if t['covered'] else '✗'}" for t in e["coverage"])
            lines.append(f"       指标：{marks}" + (f"  {role}" if role else ""))
        plus, minus = _signed(e.get("contributions", []), True), _signed(e.get("contributions", []), False)
        lines.append(f"       加分：{plus or '—'}" + (f"；减分：{minus}" if minus else ""))
    lines += _challenge_lines(result)
    for w in result.get("why", []):
        key = w.get("team_id") or w.get("need_id")
        lines.append(f"  为什么不是 {key}：" + "；".join(w.get("reasons", [])))
    if result.get("ranker_note"):
        lines.append(f"  排序：{result['ranker_note']}")
    if result.get("run_id"):
        lines.append(f"  （推荐记录 {result['run_id']}）")
    return "\n".join(lines)


def _challenge_lines(result: dict) -> list[str]:
    lines = []
    for x in result.get("ineligible", []):
        lines.append(f"  不符合条件 {x['team_id']} {x['team_name']}（{x['institution']}）：" + "；".join(x["reasons"]))
    c = result.get("consortium")
    if c:
        lines.append("  联合体指标分工：")
        lines += [f"    {a['index'] + 1}. {clip(a['target'], 50)} → " + (f"{a['team_id']} {a['team_name']}"
                  if a["team_id"] else "无人覆盖") for a in c["assignment"]]
    elif "consortium" in result:
        lines.append("  没有符合条件且覆盖任何指标的团队，无法组成联合体")
    return lines


# Column names as a clerk reads them in Excel/WPS; the keys are the result fields they come from.
CSV_COLUMNS = {"query": "查询", "rank": "排名", "team_id": "团队编号", "team_name": "团队",
               "institution_id": "院所编号", "institution": "所属院所", "need_id": "需求编号",
               "enterprise_id": "企业编号", "enterprise": "企业",
               "score": "得分", "summary": "推荐理由", "evidence": "依据成果", "sentence": "依据原文",
               "run_id": "推荐记录编号"}
BOM = "\ufeff"  # so Excel and WPS read the file as UTF-8 when the output is saved to a .csv


def _query_key(q: dict) -> str:
    keys = ("need_id", "challenge_id", "enterprise_id", "team_id", "id")
    return next((q[k] for k in keys if q.get(k)), q.get("text", ""))


def csv_text(results: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(CSV_COLUMNS), lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in results:
        for r in result["results"]:
            e = r["explanation"]
            ev = e["evidence"][0] if e.get("evidence") else {}
            writer.writerow(safe_row({
                "query": _query_key(result["query"]), "rank": r["rank"], "team_id": r.get("team_id", ""),
                "team_name": e.get("team", {}).get("team_name", ""), "institution_id": r.get("institution_id", ""),
                "institution": e.get("team", {}).get("institution", ""),
                "need_id": r.get("need_id") or e.get("need_id") or "", "enterprise_id": r.get("enterprise_id", ""),
                "enterprise": e.get("need", {}).get("enterprise_name", ""), "score": r["score"],
                "summary": e.get("summary", ""), "evidence": ev.get("title", ""), "sentence": ev.get("sentence", ""),
                "run_id": result.get("run_id") or ""}))
    return buffer.getvalue()


def render(results: list[dict], fmt: str) -> str:
    if fmt == "json":
        if len(results) == 1:
            return json.dumps(results[0], ensure_ascii=False, indent=1)
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in results)
    if fmt == "csv":
        return BOM + csv_text(results).rstrip("\n")
    return "\n\n".join(table(r) for r in results)
