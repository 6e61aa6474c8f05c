"""Issue 14, item 10: the monthly workbook's 推荐清单, filled in by staff, imports back as outcome events
with their runs and shown ranks; `--run` accepts a monthly report's id and resolves the need's list."""

import json

from openpyxl import load_workbook

from tests.conftest import copy_sample_db

MONTH = "2026-11"


def test_the_filled_in_recommendation_list_records_the_right_events(sample_db, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path / "db")
    out = tmp_path / "reports"
    report = json.loads(cli("report", "monthly", "--month", MONTH, "--out", out, "--format", "json").output)
    path = out / f"monthly-report-{MONTH}.xlsx"
    book = load_workbook(path)
    listing = book["推荐清单"]
    header = [c.value for c in listing[1]]
    assert header[-4:] == ["跟进状态", "跟进日期", "签约金额（万元）", "原因"]
    stage_column = header.index("跟进状态") + 1
    lists = {str(v.sqref): v.formula1 for v in listing.data_validations.dataValidation}
    assert any(f == '"已联系,洽谈中,已签约,未成功,团队婉拒"' for f in lists.values())
    assert listing.page_setup.fitToWidth == 1 and listing.page_setup.orientation == "landscape"

    rows = [r for r in range(2, listing.max_row + 1) if listing.cell(r, header.index("团队编号") + 1).value]
    filled = []
    for r, (stage, reason) in zip(rows[:3], [("已联系", None), ("洽谈中", None), ("未成功", "报价过高：预算不足")],
                                  strict=True):
        listing.cell(r, stage_column, stage)
        listing.cell(r, stage_column + 1, "2026-11-25")
        listing.cell(r, stage_column + 3, reason)
        filled.append(tuple(listing.cell(r, header.index(c) + 1).value for c in ("需求编号", "团队编号", "推荐位次",
                                                                                    "运行编号")))
    book.save(tmp_path / "filled.xlsx")

    before = cli.query("SELECT count(*) FROM outcome_events")[0][0]
    result = cli("import", "outcomes", tmp_path / "filled.xlsx")
    assert "outcomes           3 行（新增 3，更新 0）" in result.output
    assert f"{len(listing['A']) - 1 - 3} 行未填跟进状态，已跳过" in result.output
    events = cli.query("SELECT need_id, team_id, shown_rank, run_id, stage, reason_code FROM outcome_events "
                       "WHERE id > (SELECT max(id) - 3 FROM outcome_events) ORDER BY id")
    assert [e[:4] for e in events] == [tuple(f) for f in filled]
    assert [e[4:] for e in events] == [("contacted", None), ("negotiating", None), ("rejected", "报价过高")]
    again = cli("import", "outcomes", tmp_path / "filled.xlsx")
    assert "已记录过 3" in again.output and cli.query("SELECT count(*) FROM outcome_events")[0][0] == before + 3

    need, team, rank, run = filled[0]
    result = cli("feedback", "record", need, team, "洽谈中", "--date", "2026-11-26", "--run", report["report_id"])
    assert "已记录" in result.output
    assert cli.query("SELECT run_id, shown_rank FROM outcome_events ORDER BY id DESC LIMIT 1") == [(run, rank)]
