"""The monthly report as one self-contained HTML page for the bureau's director.

One file with everything inline (the console's stylesheet, SVG charts, no script, no external
reference) because it is mailed and opened offline on office machines, and printed. This module only
shapes the run's data into what the templates under ``matcher/web/templates/report/`` show; the markup
is there, rendered by the console's Jinja environment (autoescaped: every value from the data is
escaped). Missing values show as "—", never "nan". Run ids, ranker weights and the model are left to
the technical appendix at the end.
"""

import pandas as pd
from markupsafe import Markup

from matcher.feedback.funnel import EXITS, STAGES
from matcher.matching.explain import STAGE_LABELS
from matcher.matching.features import FEATURES
from matcher.reports import charts
from matcher.reports.data import ReportData, column_groups
from matcher.web import environment, stylesheet

DASH = "—"
TOP_INSTITUTIONS = 20
AMOUNT = "签约金额（万元）"
RUN_COUNT = "月报推荐条数"
PARAM_LABELS = {"top": "每项需求最多推荐 {} 个团队", "min_score": "匹配度下限 {}",
                "repropose_after_days": "{} 天内推荐过的团队不重复推荐", "pool": "每项需求候选 {} 个",
                "count_load": "扣除在手任务：{}"}
SECTIONS = (("figures", "关键数字"), ("status", "三清零"), ("charts", "图表"), ("coverage", "覆盖与公平"),
            ("tables", "分县区与行业"), ("proposals", "推荐明细"), ("appendix", "技术附录"))


# ---- values -----------------------------------------------------------------------------------------
def _num(value, digits: int = 1) -> str:
    return charts.fmt_number(value, digits) or DASH


def _pct(value, digits: int = 1) -> str:
    v = charts.number(value)
    return DASH if v is None else f"{v:.{digits}%}"


def _str(value) -> str:
    """Text of a cell; missing values (None, NaN) are empty rather than "nan"."""
    if value is None or (not isinstance(value, str) and charts.number(value) is None and pd.isna(value)):
        return ""
    return str(value)


def _time(value) -> str:
    return str(value or DASH).replace("T", " ")


def _cell(column: str, value) -> dict:
    """A table cell: its text and class (n: a number, na: unknown, "": text)."""
    if column == "签约率" or column.endswith("转化率"):
        text = _pct(value)
    elif "金额" in column and charts.number(value) is not None:  # one decimal throughout, so the column aligns
        text = f"{charts.number(value):.1f}"
    elif isinstance(value, str):
        return {"text": value, "cls": ""}
    else:
        text = _num(value)
    return {"text": text, "cls": "na" if text == DASH else "n"}


def _table(frame: pd.DataFrame) -> dict | None:
    """A frame as header rows and body rows; columns named "组|列" get a two-level header."""
    if frame is None or frame.empty:
        return None
    columns = [str(c) for c in frame.columns]
    groups = column_groups(columns)
    if any(sub != [""] for _, sub in groups):
        head = [[{"text": g, "rowspan": 2 if sub == [""] else 1, "colspan": len(sub)} for g, sub in groups],
                [{"text": x, "rowspan": 1, "colspan": 1} for _, sub in groups if sub != [""] for x in sub]]
    else:
        head = [[{"text": c, "rowspan": 1, "colspan": 1} for c in columns]]
    rows = [{"total": _str(values[0]) == "合计",
             "cells": [_cell(c, v) for c, v in zip(columns, values, strict=True)]}
            for values in frame.itertuples(index=False, name=None)]
    return {"head": head, "rows": rows}


def _column(frame: pd.DataFrame, name: str) -> list:
    return list(frame[name]) if frame is not None and name in frame.columns else []


# ---- sections ---------------------------------------------------------------------------------------
def _appendix(m: dict) -> list[tuple[str, str]]:
    """What a reader checking the run needs and a director does not: ids, times, ranker, model, parameters."""
    params = dict(m.get("params") or {})
    weights = params.pop("ranker_weights", None) or {}
    rows = [("月报运行编号", m.get("report_id") or DASH), ("上月月报运行", m.get("previous_report_id") or "无"),
            ("计算于", _time(m.get("created_at"))), ("页面生成于", _time(m.get("written_at"))),
            ("排序器", m.get("ranker") or DASH)]
    if weights:
        rows.append(("排序权重", "，".join(f"{FEATURES.get(k, k)} {v:g}" for k, v in weights.items())))
    rows.append(("向量模型", m.get("model") or DASH))
    for key, value in params.items():
        shown = {True: "是", False: "否"}.get(value, value) if isinstance(value, bool) else value
        rows.append(("参数", PARAM_LABELS[key].format(shown) if key in PARAM_LABELS else f"{key} = {value}"))
    return rows


def _cards(data: ReportData) -> list[dict]:
    m, fit, current = data.meta, data.fit or {}, data.coverage.get("current") or {}
    needs, proposed = charts.number(m.get("open_needs")), charts.number(m.get("needs_with_proposals"))

    def card(label: str, value: str, sub: str = "") -> dict:
        return {"label": label, "value": value, "sub": sub}

    return [
        card("重点企业", _num(m.get("enterprises")),
             "" if m.get("key_flagged", True) else "未标记重点企业，按全部企业统计"),
        card("开放需求", _num(needs)),
        card("已有推荐的需求", _num(proposed),
             f"占开放需求 {_pct(proposed / needs)}" if needs and proposed is not None else ""),
        card("本月推荐", f"{_num(current.get('proposals'))} 条",
             f"涉及 {_num(current.get('teams_proposed'))} 个团队、{_num(current.get('institutions_proposed'))} 家单位"),
        card("承接能力的匹配度代价", _pct(fit.get("cost_share")),
             f"总匹配度 {_num(fit.get('constrained'), 2)}，不限能力时 {_num(fit.get('unconstrained'), 2)}"
             f"（推荐 {_num(fit.get('proposals_constrained'))} / {_num(fit.get('proposals_unconstrained'))} 条）"),
        card("超出承接能力的团队", _num(fit.get("teams_over_capacity")),
             f"本月名额已满 {_num(fit.get('teams_full'))} 个团队"),
    ]


def _figure(caption: str, svg: str, exits: str = "", note: str = "") -> dict:
    return {"caption": caption, "svg": Markup(svg), "exits": exits, "note": note}  # charts.py escapes its texts


def _funnels(data: ReportData) -> list[dict]:
    frame = data.funnel
    rows = {_str(r["阶段"]): r for _, r in frame.iterrows()} if frame is not None and not frame.empty else {}
    stages = [STAGE_LABELS[s] for s in STAGES]
    out = []
    for caption, column in (("跟进漏斗：累计配对", "累计配对"), ("跟进漏斗：本月新配对", "本月新配对")):
        svg = charts.funnel_chart([(s, rows[s][column] if s in rows else None) for s in stages], title=caption)
        exits = "，".join(f"{STAGE_LABELS[s]} {_num(rows[STAGE_LABELS[s]][column])} 对" for s in EXITS
                         if STAGE_LABELS[s] in rows)
        amount = f"；签约金额 {_num(rows[AMOUNT][column])} 万元" if AMOUNT in rows else ""
        out.append(_figure(caption, svg, f"退出：{exits}{amount}" if exits else amount.lstrip("；")))
    return out


def _institutions_figure(data: ReportData) -> dict:
    frame = data.institutions
    if frame is None or frame.empty:
        return _figure("单位覆盖：推荐条数前 20 家", charts.empty_chart("单位覆盖"))
    top = frame.sort_values("推荐条数", ascending=False, kind="stable").head(TOP_INSTITUTIONS)
    top = top[top["推荐条数"].fillna(0) > 0]
    svg = charts.hbar_chart(
        [(_str(r["单位"]), r["推荐条数"]) for _, r in top.iterrows()],
        notes=[f"（{_num(r['获推荐团队'])}/{_num(r['团队数'])} 个团队获推荐）" for _, r in top.iterrows()],
        title="单位覆盖", label_width=170, color=charts.PALETTE[2])
    none = frame[frame["推荐条数"].fillna(0) <= 0]
    line = f"共 {len(frame)} 家单位有团队入库，本月 {len(frame) - len(none)} 家获推荐，{len(none)} 家未获推荐"
    if len(none):
        line += "：" + "、".join(_str(x) for x in none["单位"].head(30)) + ("等" if len(none) > 30 else "")
    return _figure(f"单位覆盖：推荐条数前 {TOP_INSTITUTIONS} 家（条数后为获推荐团队/入库团队）", svg, line + "。")


def figure_items(data: ReportData) -> list[dict]:
    """The page's six charts with their captions and notes, in order."""
    county, industry, trend = data.by_county, data.by_industry, data.trend
    county_svg = charts.column_chart([_str(x) for x in _column(county, "县区")],
                                     [("本月推荐条数", _column(county, "本月推荐条数")),
                                      ("累计已签约", _column(county, "累计已签约"))], title="分县区推荐")
    ind = industry
    if ind is not None and "本月推荐条数" in ind:
        ind = ind.sort_values("本月推荐条数", ascending=False, kind="stable")
    industry_svg = charts.hbar_chart(
        [(_str(r["行业"]), r["本月推荐条数"]) for _, r in ind.iterrows()] if not ind.empty else [],
        notes=[f"（累计签约 {_num(r['累计已签约'])}）" if "累计已签约" in ind else "" for _, r in ind.iterrows()],
        title="分行业推荐", label_width=110)
    # The log's pairs by month as lines; the monthly runs' own counts (a different, larger scale) as text.
    series = [("新配对" if c == "新配对已推荐" else c, list(trend[c])) for c in trend.columns
              if c not in ("月份", RUN_COUNT)] if trend is not None else []
    trend_svg = charts.line_chart([_str(x) for x in _column(trend, "月份")], series, title="逐月趋势")
    runs = [f"{_str(m)} {_num(n)} 条" for m, n in zip(_column(trend, "月份"), _column(trend, RUN_COUNT), strict=True)
            if charts.number(n) is not None] if trend is not None and RUN_COUNT in trend else []
    trend_note = ("新配对按首次推荐的月份统计，已联系、洽谈中、已签约为这些配对此后走到的阶段；近几个月的配对仍在跟进，"
                  f"后段数字会继续增加。月报推荐条数（各月最新运行）：{'，'.join(runs) if runs else '暂无'}。")
    return [*_funnels(data), _figure("分县区：本月推荐条数与累计签约", county_svg),
            _figure("分行业：本月推荐条数（按条数排序）", industry_svg),
            _figure("逐月趋势", trend_svg, note=trend_note), _institutions_figure(data)]


def figures(data: ReportData) -> list[str]:
    """The page's six charts, each a <figure> with its caption and notes (the notebook shows the same)."""
    template = environment().get_template("report/_figure.html")
    return [template.render(figure=f) for f in figure_items(data)]


def _change(key: str, delta) -> dict:
    v = charts.number(delta)
    if v is None:
        return {"cls": "na", "text": "上月无运行"}
    if abs(v) < 5e-5:
        return {"cls": "n flat", "text": "持平"}
    arrow, cls = ("▲", "up") if v > 0 else ("▼", "down")
    amount = f"{abs(v):.2f}" if key == "gini" else f"{abs(v) * 100:.1f} 个百分点"
    return {"cls": f"n {cls}", "text": f"{arrow} {amount}"}


def _coverage(data: ReportData) -> dict:
    cov = data.coverage or {}
    current, change, labels = cov.get("current") or {}, cov.get("change") or {}, cov.get("labels") or {}
    rows = []
    for key, label in labels.items():
        gini = charts.number(current.get(key)) if key == "gini" else None
        shown = f"{gini:.2f}" if gini is not None else DASH if key == "gini" else _pct(current.get(key))
        rows.append({"label": label, "value": shown, "change": _change(key, change.get(key))})
    counts = (f"获推荐单位 {_num(current.get('institutions_proposed'))} / {_num(current.get('institutions'))} 家，"
              f"获推荐团队 {_num(current.get('teams_proposed'))} / {_num(current.get('teams'))} 个，"
              f"推荐 {_num(current.get('proposals'))} 条。")
    return {"counts": counts, "rows": rows}


def _groups(records: list[dict], key: str) -> list[tuple[str, list[dict]]]:
    """Records grouped by ``key`` in first-seen order (the loader sorted them)."""
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(_str(r.get(key)), []).append(r)
    return list(out.items())


def _proposal(r: dict) -> dict:
    if not _str(r.get("团队")):
        return {"missing": _str(r.get("推荐理由"))}
    return {"missing": None, "rank": _num(r.get("推荐位次")), "team": _str(r.get("团队")),
            "team_id": _str(r.get("团队编号")), "unit": _str(r.get("单位")), "place": _str(r.get("单位所在地")),
            "score": _num(r.get("匹配度"), 3), "route": _str(r.get("联系途径")), "why": _str(r.get("推荐理由"))}


def _enterprise(enterprise_id: str, records: list[dict]) -> dict:
    first = records[0]
    needs = [{"id": need_id, "title": _str(rows[0].get("需求")), "run": _str(rows[0].get("运行编号")),
              "rows": [_proposal(r) for r in rows]}
             for need_id, rows in _groups(records, "需求编号") if need_id]  # "": a key enterprise without needs
    return {"id": enterprise_id, "name": _str(first.get("企业名称")), "industry": _str(first.get("行业")),
            "needs": needs, "proposals": sum(1 for r in records if _str(r.get("团队"))),
            "missing": len({_str(r.get("需求编号")) for r in records if not _str(r.get("团队"))} - {""}),
            "reason": "" if needs else _str(first.get("推荐理由"))}


def _proposals(data: ReportData) -> list[dict]:
    frame = data.proposals
    if frame is None or frame.empty:
        return []
    return [{"name": county or DASH, "enterprises": [_enterprise(e, rows) for e, rows in _groups(part, "企业编号")],
             "proposals": sum(1 for r in part if _str(r.get("团队")))}
            for county, part in _groups(frame.to_dict("records"), "县区")]


def render_page(data: ReportData) -> str:
    """The whole report as one HTML document (UTF-8), in reading order: header, key figures, 三清零,
    charts, coverage and fairness, tables by county and industry, proposals per enterprise, appendix."""
    m = data.meta
    status = data.summary
    context = {
        "css": Markup(stylesheet()), "title": f"{m.get('region', '')}企业科技创新月报（{m.get('label', '')}）",
        "data_as_of": m.get("data_as_of") or DASH, "written_at": _time(m.get("written_at")), "sections": SECTIONS,
        "cards": _cards(data), "status": _table(status),
        "status_unknown": status is not None and not status.empty and bool(status.isna().any().any()),
        "figures": figure_items(data), "coverage": _coverage(data), "by_county": _table(data.by_county),
        "by_industry": _table(data.by_industry), "counties": _proposals(data), "appendix": _appendix(m),
        "no_data": charts.NO_DATA,
    }
    return environment().get_template("report/monthly.html").render(context)
