"""Everything the workbook, the page and the notebook show, read from a stored report run plus the
outcome log as it stood at the end of the month. One loader, so the three outputs cannot disagree.

The proposals, the coverage figures, the fit cost and the enterprises' 三清零 flags are the run's own
(frozen when it was computed); the follow-up funnel and the trend come from the outcome log, so a
report re-written later in the month shows the follow-up recorded since.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.feedback.funnel import EXITS, STAGES, pairs_frame
from matcher.ingest.values import city_name
from matcher.matching.explain import STAGE_LABELS
from matcher.reports import coverage as cov
from matcher.reports import status
from matcher.reports.month import Month
from matcher.reports.monthly import latest_runs
from matcher.store import models

TREND_MONTHS = 12
UNKNOWN = "（未登记）"
FUNNEL_COLUMNS = ["阶段", "累计配对", "累计转化率", "本月新配对", "本月转化率"]


@dataclass
class ReportData:
    meta: dict  # month, label, region, report id, dates, ranker, model, parameters, counts
    summary: pd.DataFrame  # 三清零 by county, with a 合计 row
    proposals: pd.DataFrame  # one row per proposal (and one per open need left without one)
    funnel: pd.DataFrame  # stages: all pairs up to the month's end, and pairs first proposed this month
    by_county: pd.DataFrame
    by_industry: pd.DataFrame
    coverage: dict  # figures, previous month's figures, change
    institutions: pd.DataFrame  # per institution: teams, teams proposed, proposals
    trend: pd.DataFrame  # per month: new pairs and how far they got, and proposals of monthly runs
    fit: dict  # the capacity's cost in fit against unconstrained lists


def _run_items(session: Session, report_id: str) -> tuple[list, list]:
    m = models
    lists = session.execute(
        select(m.RecommendationRun.id, m.RecommendationRun.query)
        .join(m.ReportList, m.ReportList.run_id == m.RecommendationRun.id)
        .where(m.ReportList.report_id == report_id)).all()
    items = session.execute(
        select(m.RecommendationItem.run_id, m.RecommendationItem.need_id, m.RecommendationItem.team_id,
               m.RecommendationItem.rank, m.RecommendationItem.score, m.RecommendationItem.explanation)
        .join(m.ReportList, m.ReportList.run_id == m.RecommendationItem.run_id)
        .where(m.ReportList.report_id == report_id)).all()
    return lists, items


def _lookup(session: Session):
    m = models
    enterprises = {r.id: r for r in session.execute(select(m.Enterprise.id, m.Enterprise.name, m.Enterprise.county,
                                                           m.Enterprise.industry, m.Enterprise.province,
                                                           m.Enterprise.city))}
    needs = {r.id: r for r in session.execute(select(m.Need.id, m.Need.title, m.Need.enterprise_id))}
    teams = {r.id: r for r in session.execute(select(m.Team.id, m.Team.name, m.Team.institution_id))}
    institutions = {r.id: r for r in session.execute(select(m.Institution.id, m.Institution.name,
                                                            m.Institution.province, m.Institution.city))}
    return enterprises, needs, teams, institutions


def _place(province: str | None, city: str | None) -> str:
    """江西萍乡; a municipality once (北京, not 北京北京)."""
    if province and city and city.startswith(province):
        return city
    return "".join(filter(None, (province, city))) or UNKNOWN


def _without_team(ent, need_id: str, need_title: str, reason: str, run_id: str) -> dict:
    """A 推荐清单 row with no team: an open need left without a proposal, or an enterprise without needs."""
    return {"县区": ent.county or UNKNOWN, "企业编号": ent.id, "企业名称": ent.name, "行业": ent.industry or UNKNOWN,
            "需求编号": need_id, "需求": need_title, "推荐位次": None, "团队编号": "", "团队": "", "单位": "",
            "单位所在地": "", "本省单位": "", "联系途径": "", "推荐理由": reason, "匹配度": None, "运行编号": run_id}


def team_rows(proposals: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``proposals`` that name a team (not the rows saying why there is none)."""
    return proposals[proposals["团队编号"] != ""] if not proposals.empty else proposals


def column_groups(columns) -> list[tuple[str, list[str]]]:
    """Columns named "组|列" grouped under their group (a plain column is a group of itself, sub-label ""),
    in order: the two-level header of the 汇总 in both the workbook and the page."""
    groups: list[tuple[str, list[str]]] = []
    for column in columns:
        group, _, sub = str(column).partition("|")
        if sub and groups and groups[-1][0] == group and groups[-1][1][0]:
            groups[-1][1].append(sub)
        else:
            groups.append((group, [sub]))
    return groups


def _proposals(lists, items, report_enterprises: list[str], enterprises, needs, teams, institutions) -> pd.DataFrame:
    """One row per proposal; a row per open need left without one, and per key enterprise without open
    needs, each saying why (staff follow those up too)."""
    rows = []
    for run_id, need_id, team_id, rank, score, explanation in items:
        need = needs[need_id]
        ent, team = enterprises[need.enterprise_id], teams[team_id]
        inst = institutions[team.institution_id]
        rows.append({"县区": ent.county or UNKNOWN, "企业编号": ent.id, "企业名称": ent.name,
                     "行业": ent.industry or UNKNOWN, "需求编号": need_id, "需求": need.title, "推荐位次": rank,
                     "团队编号": team_id, "团队": team.name, "单位": inst.name,
                     "单位所在地": _place(inst.province, inst.city),
                     "本省单位": "是" if inst.province and inst.province == ent.province else "否",
                     "联系途径": explanation.get("contact_route", ""), "推荐理由": explanation.get("summary", ""),
                     "匹配度": round(score, 3), "运行编号": run_id})
    listed = {r["需求编号"] for r in rows}
    for run_id, query in lists:
        if query["need_id"] in listed:
            continue
        need = needs[query["need_id"]]
        ent = enterprises[need.enterprise_id]
        counts = query.get("candidates", {})
        if counts.get("above_min_score"):
            reason = f"本月无新团队：{counts['above_min_score']} 个相关团队均已推荐或已在跟进"
        else:
            reason = "本月无匹配度达标的团队（建议补充需求描述或扩大检索范围）"
        rows.append(_without_team(ent, need.id, need.title, reason, run_id))
    with_lists = {enterprises[needs[q["need_id"]].enterprise_id].id for _, q in lists}
    for ent_id in report_enterprises:
        if ent_id in with_lists:
            continue
        rows.append(_without_team(enterprises[ent_id], "", "", "暂无登记的开放需求（建议走访或补充调查表）", ""))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_missing"] = frame["推荐位次"].isna()
    frame = frame.sort_values(["县区", "企业编号", "需求编号", "_missing", "推荐位次"], kind="stable")
    return frame.drop(columns="_missing").reset_index(drop=True)


def _summary(report_enterprises: list[str], snapshot: dict, previous: dict | None, month: Month,
             enterprises, proposals: pd.DataFrame) -> pd.DataFrame:
    """三清零 汇总: per county, how many key enterprises have each item, gained it this month, still lack it."""
    rows: dict[str, Counter] = {}
    for ent_id in report_enterprises:
        county = enterprises[ent_id].county or UNKNOWN
        row = rows.setdefault(county, Counter())
        row["重点企业数"] += 1
        now = snapshot[ent_id]
        # An enterprise new to the list since last month is compared with itself: no move is claimed.
        before = None if previous is None else previous.get(ent_id, now)
        moves = status.moved(now, before, month.first_day)
        for item, label in status.ITEMS.items():
            row[f"{label}|已有"] += now[item]
            row[f"{label}|尚无"] += not now[item]
            row[f"{label}|本月新增"] += bool(moves[item])
    with_team = team_rows(proposals)
    for county, part in (with_team.groupby("县区") if not with_team.empty else []):
        rows.setdefault(county, Counter())
        rows[county]["本月推荐|企业数"] = part["企业编号"].nunique()
        rows[county]["本月推荐|推荐条数"] = len(part)
    columns = ["重点企业数"] + [f"{label}|{k}" for label in status.ITEMS.values() for k in ("已有", "本月新增", "尚无")]
    columns += ["本月推荐|企业数", "本月推荐|推荐条数"]
    frame = pd.DataFrame([{"县区": c, **{k: int(rows[c].get(k, 0)) for k in columns}} for c in sorted(rows)])
    total = {"县区": "合计", **{k: int(frame[k].sum()) if not frame.empty else 0 for k in columns}}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    if previous is None:  # no previous run to compare the flags with: "moved" is unknown, not zero
        for label in ("科研条件平台", "高新技术企业"):
            frame[f"{label}|本月新增"] = None
    return frame


def _funnel(pairs: pd.DataFrame, month: Month) -> pd.DataFrame:
    this_month = pairs[pairs["month"] == str(month)]
    rows = []
    for i, stage in enumerate(STAGES):
        total, new = int((pairs["level"] >= i).sum()), int((this_month["level"] >= i).sum())
        rows.append({"阶段": STAGE_LABELS[stage], "累计配对": total,
                     "累计转化率": round(total / len(pairs), 3) if len(pairs) else None,
                     "本月新配对": new, "本月转化率": round(new / len(this_month), 3) if len(this_month) else None})
    for stage in EXITS:
        rows.append({"阶段": STAGE_LABELS[stage], "累计配对": int(pairs[stage].sum()), "累计转化率": None,
                     "本月新配对": int(this_month[stage].sum()), "本月转化率": None})
    signed = pairs["level"] >= len(STAGES) - 1
    signed_now = this_month["level"] >= len(STAGES) - 1
    rows.append({"阶段": "签约金额（万元）", "累计配对": float(pairs.loc[signed, "amount_wan"].fillna(0).sum()),
                 "累计转化率": None, "本月新配对": float(this_month.loc[signed_now, "amount_wan"].fillna(0).sum()),
                 "本月转化率": None})
    return pd.DataFrame(rows, columns=FUNNEL_COLUMNS)


def _by(column: str, pairs_column: str, key_of, report_enterprises: list[str], enterprises, open_needs: Counter,
        proposals: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per county or industry: key enterprises, open needs, this month's proposals, and the follow-up."""
    groups: dict[str, Counter] = {}
    for ent_id in report_enterprises:
        row = groups.setdefault(key_of(enterprises[ent_id]) or UNKNOWN, Counter())
        row["重点企业数"] += 1
        row["开放需求"] += open_needs[ent_id]
    with_team = team_rows(proposals)
    for key, part in (with_team.groupby(column) if not with_team.empty else []):
        row = groups.setdefault(key, Counter())
        row["本月推荐条数"] = len(part)
        row["获推荐企业"] = part["企业编号"].nunique()
        row["涉及团队"] = part["团队编号"].nunique()
    for key, part in pairs.groupby(pairs[pairs_column].fillna(UNKNOWN)):
        row = groups.setdefault(key, Counter())
        for i, stage in enumerate(STAGES):
            row[f"累计{STAGE_LABELS[stage]}"] = int((part["level"] >= i).sum())
        row["签约金额（万元）"] = float(part.loc[part["level"] >= len(STAGES) - 1, "amount_wan"].fillna(0).sum())
    columns = ["重点企业数", "开放需求", "本月推荐条数", "获推荐企业", "涉及团队",
               *[f"累计{STAGE_LABELS[s]}" for s in STAGES], "签约金额（万元）"]
    frame = pd.DataFrame([{column: k, **{c: groups[k].get(c, 0) for c in columns}} for k in sorted(groups)],
                         columns=[column, *columns])
    frame["签约率"] = [round(s / p, 3) if p else None
                    for s, p in zip(frame["累计已签约"], frame["累计已推荐"], strict=True)]
    return frame


def _trend(session: Session, pairs: pd.DataFrame, month: Month) -> pd.DataFrame:
    months = [month.back(k) for k in range(TREND_MONTHS - 1, -1, -1)]
    runs = latest_runs(session)
    counts = {}
    if runs:
        m = models
        rows = session.execute(select(m.ReportRun.month, m.ReportRun.summary).where(m.ReportRun.id.in_(runs.values())))
        counts = {r.month: r.summary["coverage"]["proposals"] for r in rows}
    out = []
    for mo in months:
        part = pairs[pairs["month"] == str(mo)]
        row = {"月份": str(mo)}
        for i, stage in enumerate(STAGES):
            row[f"新配对{STAGE_LABELS[stage]}" if i == 0 else STAGE_LABELS[stage]] = int((part["level"] >= i).sum())
        row["月报推荐条数"] = counts.get(str(mo))
        out.append(row)
    return pd.DataFrame(out)


def _institutions(proposals: pd.DataFrame, institutions, teams) -> pd.DataFrame:
    team_count = Counter(t.institution_id for t in teams.values())
    with_team = team_rows(proposals)
    by_name = {}
    if not with_team.empty:
        by_name = {name: (part["团队编号"].nunique(), len(part)) for name, part in with_team.groupby("单位")}
    rows = []
    for inst_id, n_teams in team_count.items():
        inst = institutions[inst_id]
        got_teams, got = by_name.get(inst.name, (0, 0))
        rows.append({"单位": inst.name, "所在地": _place(inst.province, inst.city), "团队数": n_teams,
                     "获推荐团队": got_teams, "推荐条数": got})
    frame = pd.DataFrame(rows, columns=["单位", "所在地", "团队数", "获推荐团队", "推荐条数"])
    return frame.sort_values(["推荐条数", "团队数", "单位"], ascending=[False, False, True], ignore_index=True)


def load_report(session: Session, report_id: str) -> ReportData:
    run = session.get(models.ReportRun, report_id)
    if run is None:
        raise LookupError(f"没有编号为 {report_id!r} 的月报记录")
    month = Month.parse(run.month)
    summary = run.summary
    report_enterprises = summary["enterprises"]
    enterprises, needs, teams, institutions = _lookup(session)
    lists, items = _run_items(session, report_id)
    proposals = _proposals(lists, items, report_enterprises, enterprises, needs, teams, institutions)
    previous_id = latest_runs(session, month=month.previous()).get(str(month.previous()))
    previous = session.get(models.ReportRun, previous_id).summary if previous_id else None
    open_needs = Counter(q["enterprise_id"] for _, q in lists)
    pairs_all = pairs_frame(session, before=month.end)
    pairs = pairs_all[pairs_all["enterprise_id"].isin(set(report_enterprises))]
    cities = Counter(city_name(enterprises[e].city) for e in report_enterprises if enterprises[e].city)
    region = cities.most_common(1)[0][0] if cities else ""
    if region and not region.endswith(("市", "州", "盟", "地区", "区", "县")):
        region += "市"  # imports store 萍乡 for 萍乡市; the title names the city
    meta = {"month": str(month), "label": month.label, "region": region,
            "report_id": run.id, "created_at": run.created_at.isoformat(timespec="seconds"),
            "data_as_of": summary["data_as_of"], "written_at": dt.datetime.now().isoformat(timespec="seconds"),
            "ranker": run.ranker_version, "model": run.model_version, "params": run.params,
            "key_flagged": summary["key_flagged"], "enterprises": len(report_enterprises),
            "open_needs": summary["open_needs"], "needs_with_proposals": summary["needs_with_proposals"],
            "previous_report_id": previous_id, "timings": summary.get("timings")}
    coverage = {"current": summary["coverage"], "previous": previous["coverage"] if previous else None,
                "change": cov.change(summary["coverage"], previous["coverage"] if previous else None),
                "labels": cov.LABELS}
    return ReportData(
        meta=meta,
        summary=_summary(report_enterprises, summary["status"], previous["status"] if previous else None, month,
                         enterprises, proposals),
        proposals=proposals,
        funnel=_funnel(pairs, month),
        by_county=_by("县区", "county", lambda e: e.county, report_enterprises, enterprises, open_needs, proposals,
                      pairs),
        by_industry=_by("行业", "industry", lambda e: e.industry, report_enterprises, enterprises, open_needs,
                        proposals, pairs),
        coverage=coverage,
        institutions=_institutions(proposals, institutions, teams),
        trend=_trend(session, pairs, month),
        fit=summary["fit"],
    )
