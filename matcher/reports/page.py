"""The monthly report as one self-contained HTML page for the bureau's director.

One file with everything inline (style, SVG charts, no script, no external reference) because it is
mailed and opened offline on office machines, and printed. The proposals run to thousands of rows in a
large city, so they are folded per enterprise; the style is in one stylesheet, never per row, to keep the
file small. Every value from the data is escaped and missing values show as "—", never "nan".
"""

from html import escape

import pandas as pd

from matcher.feedback.funnel import EXITS, STAGES
from matcher.matching.explain import STAGE_LABELS
from matcher.matching.features import FEATURES
from matcher.reports import charts
from matcher.reports.data import ReportData, column_groups

DASH = "—"
TOP_INSTITUTIONS = 20
AMOUNT = "签约金额（万元）"
RUN_COUNT = "月报推荐条数"
PARAM_LABELS = {"top": "每项需求最多推荐 {} 个团队", "min_score": "匹配度下限 {}",
                "repropose_after_days": "{} 天内推荐过的团队不重复推荐", "pool": "每项需求候选 {} 个",
                "count_load": "扣除在手任务：{}"}

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#222;font:14px/1.6 "Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid #2f6db5}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#777;font-size:12px;margin:0;word-break:break-all}
nav{margin:12px 0 0;font-size:13px}
nav a{margin-right:14px;color:#2f6db5;text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-top:18px}
.card{border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;background:#f8fafc}
.card .k{font-size:13px;color:#555}
.card .v{font-size:28px;font-weight:bold;color:#2f6db5;line-height:1.3}
.card .s{font-size:12px;color:#777}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border:1px solid #d6dbe1;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#eef2f7;font-weight:600;text-align:center}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.na{color:#999;text-align:center}
tr.total td{font-weight:bold;background:#f6f8fb}
.note{color:#666;font-size:12px;margin:4px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:18px 28px}
figure{margin:0}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{max-width:100%;height:auto;display:block}
.exits{font-size:13px;color:#444;margin:6px 0 0}
.up{color:#2e7d32}.down{color:#c62828}.flat{color:#777}
details{border:1px solid #dde3ea;border-radius:4px;margin:4px 0}
summary{cursor:pointer;padding:5px 8px;background:#f8fafc}
summary .sub{color:#777;font-size:12px;margin-left:8px}
summary .miss{color:#c62828;font-size:12px;margin-left:8px}
details table{margin:0;font-size:12px}
details td.why,details td.route{min-width:220px}
td.empty{color:#c62828}
.id{color:#999;font-size:11px}
@media print{
  @page{size:A4;margin:12mm}
  body{background:#fff;font-size:11px;-webkit-print-color-adjust:exact;print-color-adjust:exact}
  main{max-width:none;padding:0}
  nav{display:none}
  h2{break-after:avoid}
  figure,.card,tr{break-inside:avoid}
  .charts{display:block}
  figure{margin-bottom:12px}
  details{border:none}
  details::details-content{content-visibility:visible;display:contents}
  summary{list-style:none;font-weight:bold}
}
"""


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


def _cell(column: str, value) -> str:
    if column == "签约率" or column.endswith("转化率"):
        text = _pct(value)
    elif "金额" in column and charts.number(value) is not None:  # one decimal throughout, so the column aligns
        text = f"{charts.number(value):.1f}"
    elif isinstance(value, str):
        return f"<td>{escape(value)}</td>" if value else "<td></td>"
    else:
        text = _num(value)
    cls = "na" if text == DASH else "n"
    return f'<td class="{cls}">{escape(text)}</td>'


def _table(frame: pd.DataFrame) -> str:
    """A frame as a table; columns named "组|列" get a two-level header, the 合计 row is set off."""
    if frame is None or frame.empty:
        return f'<p class="note">{charts.NO_DATA}</p>'
    columns = [str(c) for c in frame.columns]
    groups = column_groups(columns)
    if any(sub != [""] for _, sub in groups):
        top = [f'<th rowspan="2">{escape(g)}</th>' if sub == [""] else f'<th colspan="{len(sub)}">{escape(g)}</th>'
               for g, sub in groups]
        subs = [f"<th>{escape(x)}</th>" for _, sub in groups if sub != [""] for x in sub]
        head = f"<tr>{''.join(top)}</tr><tr>{''.join(subs)}</tr>"
    else:
        head = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>"
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cls = ' class="total"' if _str(values[0]) == "合计" else ""
        rows.append(f"<tr{cls}>" + "".join(_cell(c, v) for c, v in zip(columns, values, strict=True)) + "</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _column(frame: pd.DataFrame, name: str) -> list:
    return list(frame[name]) if frame is not None and name in frame.columns else []


# ---- sections ---------------------------------------------------------------------------------------
def _header(data: ReportData) -> str:
    m = data.meta
    title = f"{m.get('region', '')}企业科技创新月报（{m.get('label', '')}）"
    params = dict(m.get("params") or {})
    weights = params.pop("ranker_weights", None) or {}
    described = "；".join(PARAM_LABELS[k].format({True: "是", False: "否"}.get(v, v)) if k in PARAM_LABELS
                         else f"{k}={v}" for k, v in params.items())
    ranker = m.get("ranker", DASH) + ("（权重：" + "，".join(f"{FEATURES.get(k, k)} {v:g}" for k, v in weights.items())
                                      + "）" if weights else "")
    parts = [f"数据截至 {m.get('data_as_of', DASH)}", f"月报运行 {m.get('report_id', DASH)}",
             f"计算于 {str(m.get('created_at', DASH)).replace('T', ' ')}",
             f"生成于 {str(m.get('written_at', DASH)).replace('T', ' ')}",
             f"上月运行 {m.get('previous_report_id') or '无'}"]
    lines = [" · ".join(parts), f"排序器 {ranker} · 模型 {m.get('model', DASH)}"]
    if described:
        lines.append(f"参数：{described}")
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in (
        ("figures", "关键数字"), ("status", "三清零"), ("charts", "图表"), ("coverage", "覆盖与公平"),
        ("tables", "分县区与行业"), ("proposals", "推荐明细")))
    return (f"<header><h1>{escape(title)}</h1>" + "".join(f'<p class="meta">{escape(x)}</p>' for x in lines)
            + f"<nav>{nav}</nav></header>"), title


def _card(label: str, value: str, sub: str = "") -> str:
    return (f'<div class="card"><div class="k">{escape(label)}</div><div class="v">{escape(value)}</div>'
            f'<div class="s">{escape(sub)}</div></div>')


def _figures(data: ReportData) -> str:
    m, fit, current = data.meta, data.fit or {}, data.coverage.get("current") or {}
    needs, proposed = charts.number(m.get("open_needs")), charts.number(m.get("needs_with_proposals"))
    cards = [
        _card("重点企业", _num(m.get("enterprises")),
              "" if m.get("key_flagged", True) else "未标记重点企业，按全部企业统计"),
        _card("开放需求", _num(needs)),
        _card("已有推荐的需求", _num(proposed),
              f"占开放需求 {_pct(proposed / needs)}" if needs and proposed is not None else ""),
        _card("本月推荐", f"{_num(current.get('proposals'))} 条",
              f"涉及 {_num(current.get('teams_proposed'))} 个团队、"
              f"{_num(current.get('institutions_proposed'))} 家单位"),
        _card("承接能力的匹配度代价", _pct(fit.get("cost_share")),
              f"总匹配度 {_num(fit.get('constrained'), 2)}，不限能力时 {_num(fit.get('unconstrained'), 2)}"
              f"（推荐 {_num(fit.get('proposals_constrained'))} / {_num(fit.get('proposals_unconstrained'))} 条）"),
        _card("超出承接能力的团队", _num(fit.get("teams_over_capacity")),
              f"本月名额已满 {_num(fit.get('teams_full'))} 个团队"),
    ]
    return (f'<section id="figures"><h2>关键数字</h2><div class="cards">{"".join(cards)}</div>'
            '<p class="note">承接能力的匹配度代价：每个团队每月最多推荐给其承接能力允许的企业数，'
            "因此部分需求改配次优团队；代价为总匹配度比不限能力时低的比例。</p></section>")


def _status(data: ReportData) -> str:
    frame = data.summary
    note = ""
    if frame is not None and not frame.empty and frame.isna().any().any():
        note = ('<p class="note">注：“—”表示无法统计。科研条件平台、高新技术企业的“本月新增”需与上月月报运行'
                "比对企业标记，上月没有月报运行时无法统计。</p>")
    return f'<section id="status"><h2>三清零情况（按县区）</h2>{_table(frame)}{note}</section>'


def _figure(caption: str, svg: str, extra: str = "") -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}{extra}</figure>"


def _funnels(data: ReportData) -> list[str]:
    frame = data.funnel
    rows = {_str(r["阶段"]): r for _, r in frame.iterrows()} if frame is not None and not frame.empty else {}
    stages = [STAGE_LABELS[s] for s in STAGES]
    out = []
    for caption, column in (("跟进漏斗：累计配对", "累计配对"), ("跟进漏斗：本月新配对", "本月新配对")):
        svg = charts.funnel_chart([(s, rows[s][column] if s in rows else None) for s in stages], title=caption)
        exits = "，".join(f"{STAGE_LABELS[s]} {_num(rows[STAGE_LABELS[s]][column])} 对" for s in EXITS
                         if STAGE_LABELS[s] in rows)
        amount = f"；签约金额 {_num(rows[AMOUNT][column])} 万元" if AMOUNT in rows else ""
        text = f"退出：{exits}{amount}" if exits else amount.lstrip("；")
        out.append(_figure(caption, svg, f'<p class="exits">{escape(text)}</p>' if text else ""))
    return out


def _institutions_chart(data: ReportData) -> str:
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
        names = "、".join(_str(x) for x in none["单位"].head(30)) + ("等" if len(none) > 30 else "")
        line += f"：{names}"
    return _figure(f"单位覆盖：推荐条数前 {TOP_INSTITUTIONS} 家（条数后为获推荐团队/入库团队）", svg,
                   f'<p class="exits">{escape(line)}。</p>')


def figures(data: ReportData) -> list[str]:
    """The page's six charts, each a <figure> with its caption and notes (the notebook shows the same)."""
    county, industry, trend = data.by_county, data.by_industry, data.trend
    counties = [_str(x) for x in _column(county, "县区")]
    county_svg = charts.column_chart(counties, [("本月推荐条数", _column(county, "本月推荐条数")),
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
    return [*_funnels(data),
            _figure("分县区：本月推荐条数与累计签约", county_svg),
            _figure("分行业：本月推荐条数（按条数排序）", industry_svg),
            _figure("逐月趋势", trend_svg, '<p class="note">新配对按首次推荐的月份统计，已联系、洽谈中、已签约为'
                    "这些配对此后走到的阶段；近几个月的配对仍在跟进，后段数字会继续增加。"
                    f"月报推荐条数（各月最新运行）：{escape('，'.join(runs)) if runs else '暂无'}。</p>"),
            _institutions_chart(data)]


def _charts(data: ReportData) -> str:
    return ('<section id="charts"><h2>图表</h2><p class="note">跟进漏斗中括号内为占“已推荐”的比例，箭头旁为较上一'
            f'阶段的转化率。</p><div class="charts">{"".join(figures(data))}</div></section>')


def _change(key: str, delta) -> str:
    v = charts.number(delta)
    if v is None:
        return '<td class="na">上月无运行</td>'
    if abs(v) < 5e-5:
        return '<td class="n flat">持平</td>'
    arrow, cls = ("▲", "up") if v > 0 else ("▼", "down")
    amount = f"{abs(v):.2f}" if key == "gini" else f"{abs(v) * 100:.1f} 个百分点"
    return f'<td class="n {cls}">{arrow} {amount}</td>'


def _coverage(data: ReportData) -> str:
    cov = data.coverage or {}
    current, change, labels = cov.get("current") or {}, cov.get("change") or {}, cov.get("labels") or {}
    rows = []
    for key, label in labels.items():
        value = current.get(key)
        gini = charts.number(value) if key == "gini" else None
        shown = f"{gini:.2f}" if gini is not None else DASH if key == "gini" else _pct(value)
        rows.append(f"<tr><td>{escape(label)}</td><td class=\"n\">{escape(shown)}</td>{_change(key, change.get(key))}"
                    "</tr>")
    counts = (f"获推荐单位 {_num(current.get('institutions_proposed'))} / {_num(current.get('institutions'))} 家，"
              f"获推荐团队 {_num(current.get('teams_proposed'))} / {_num(current.get('teams'))} 个，"
              f"推荐 {_num(current.get('proposals'))} 条。")
    return (f'<section id="coverage"><h2>覆盖与公平</h2><p>{escape(counts)}</p>'
            f"<table><thead><tr><th>指标</th><th>本月</th><th>较上月</th></tr></thead><tbody>{''.join(rows)}"
            '</tbody></table><p class="note">占比变化以百分点计。基尼系数衡量推荐在团队间是否集中：0 表示每个团队'
            "获推荐次数相同，越接近 1 越集中于少数团队。</p></section>")


def _groups(records: list[dict], key: str) -> list[tuple[str, list[dict]]]:
    """Records grouped by ``key`` in first-seen order (the loader sorted them)."""
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(_str(r.get(key)), []).append(r)
    return list(out.items())


def _proposal_rows(records: list[dict]) -> list[str]:
    rows = []
    for need_id, need in _groups(records, "需求编号"):
        first = need[0]
        lead = (f'<td rowspan="{len(need)}" title="运行 {escape(_str(first.get("运行编号")))}">'
                f'{escape(_str(first.get("需求")))}<div class="id">{escape(need_id)}</div></td>')
        for r in need:
            if not _str(r.get("团队")):
                reason = escape(_str(r.get("推荐理由")))
                rows.append(f'<tr>{lead}<td class="empty" colspan="6">未获推荐：{reason}</td></tr>')
            else:
                place = _str(r.get("单位所在地"))
                unit = escape(_str(r.get("单位"))) + (f'<div class="id">{escape(place)}</div>' if place else "")
                team = escape(_str(r.get("团队"))) + f'<div class="id">{escape(_str(r.get("团队编号")))}</div>'
                rows.append(f"<tr>{lead}<td class=\"n\">{_num(r.get('推荐位次'))}</td><td>{team}</td>"
                            f"<td>{unit}</td><td class=\"n\">{_num(r.get('匹配度'), 3)}</td>"
                            f"<td class=\"route\">{escape(_str(r.get('联系途径')))}</td>"
                            f"<td class=\"why\">{escape(_str(r.get('推荐理由')))}</td></tr>")
            lead = ""
    return rows


def _proposals(data: ReportData) -> str:
    frame = data.proposals
    if frame is None or frame.empty:
        return '<section id="proposals"><h2>推荐明细</h2><p class="note">本月无推荐。</p></section>'
    out = ['<section id="proposals"><h2>推荐明细（按县区、企业）</h2><p class="note">点击企业名称展开其各项需求的'
           "推荐团队；“推荐理由”中【】标出与需求相符的词。</p>"]
    head = ("<thead><tr><th>需求</th><th>位次</th><th>团队</th><th>单位</th><th>匹配度</th><th>联系途径</th>"
            "<th>推荐理由</th></tr></thead>")
    for county, part in _groups(frame.to_dict("records"), "县区"):
        enterprises = _groups(part, "企业编号")
        out.append(f"<h3>{escape(county or DASH)}<span class=\"note\">　{len(enterprises)} 家企业，"
                   f"{sum(1 for r in part if _str(r.get('团队')))} 条推荐</span></h3>")
        for enterprise_id, ent in enterprises:
            needs = {_str(r.get("需求编号")) for r in ent} - {""}  # "": a key enterprise without open needs
            got = sum(1 for r in ent if _str(r.get("团队")))
            missing = len({_str(r.get("需求编号")) for r in ent if not _str(r.get("团队"))} - {""})
            miss = f'<span class="miss">{missing} 项需求未获推荐</span>' if missing else ""
            body = "".join(_proposal_rows(ent))
            if not needs:
                miss = '<span class="miss">暂无开放需求</span>'
                body = f'<tr><td class="empty" colspan="7">{escape(_str(ent[0].get("推荐理由")))}</td></tr>'
            out.append(f"<details><summary><b>{escape(_str(ent[0].get('企业名称')))}</b><span class=\"sub\">"
                       f"{escape(_str(ent[0].get('行业')))} · {escape(enterprise_id)} · "
                       f"{len(needs)} 项需求，{got} 条推荐</span>{miss}</summary>"
                       f"<table>{head}<tbody>{body}</tbody></table></details>")
    out.append("</section>")
    return "".join(out)


def render_page(data: ReportData) -> str:
    """The whole report as one HTML document (UTF-8), in reading order: header, key figures, 三清零,
    charts, coverage and fairness, tables by county and industry, proposals per enterprise."""
    header, title = _header(data)
    body = [header, _figures(data), _status(data), _charts(data), _coverage(data),
            f'<section id="tables"><h2>分县区</h2>{_table(data.by_county)}<h2>分行业</h2>{_table(data.by_industry)}'
            "</section>", _proposals(data)]
    return ('<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>{''.join(body)}</main>"
            "</body></html>\n")
