"""Issue 14, item 11: outcomes that make sense. A date after today is refused; a stage that goes backwards
(未成功 after 已签约) is refused unless marked as a correction, which stays a new event; a reason outside
the fixed list is kept as 其他 with its text, and the import says so."""

import datetime as dt

from tests.conftest import write_csv


def seed(cli, tmp_path):
    cli("import", "institutions", write_csv(tmp_path / "i.csv", [["id", "name"], ["I1", "萍乡学院"]]))
    cli("import", "teams", write_csv(tmp_path / "t.csv", [["id", "institution_id", "name"], ["T1", "I1", "电瓷团队"]]))
    cli("import", "enterprises", write_csv(tmp_path / "e.csv", [["id", "name"], ["E1", "甲公司"]]))
    cli("import", "needs", write_csv(tmp_path / "n.csv", [["id", "enterprise_id", "title"], ["N1", "E1", "填料"]]))


def outcomes(tmp_path, name, *rows, header=("need_id", "team_id", "stage", "amount_wan", "date", "reason")):
    return write_csv(tmp_path / name, [list(header), *map(list, rows)])


def test_a_date_after_today_is_refused_and_nothing_is_written(cli, tmp_path):
    seed(cli, tmp_path)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    before = cli.dump()
    result = cli("import", "outcomes", outcomes(tmp_path, "o.csv", ["N1", "T1", "已联系", None, "2026-10-01", None],
                                                ["N1", "T1", "洽谈中", None, tomorrow, None]), ok=False)
    assert result.exit_code == 1 and f"第 3 行，「date」列：日期 {tomorrow} 晚于今天" in result.output
    assert cli.dump() == before
    result = cli("feedback", "record", "N1", "T1", "已联系", "--date", tomorrow, ok=False)
    assert result.exit_code == 1 and "晚于今天" in result.output


def test_a_stage_going_backwards_needs_a_correction_which_is_a_new_event(cli, tmp_path):
    seed(cli, tmp_path)
    cli("import", "outcomes", outcomes(tmp_path, "o.csv", ["N1", "T1", "已联系", None, "2026-09-01", None],
                                       ["N1", "T1", "已签约", 30, "2026-10-01", None]))
    result = cli("import", "outcomes", outcomes(tmp_path, "late.csv",
                                                ["N1", "T1", "未成功", None, "2026-10-20", "报价过高"]), ok=False)
    assert "阶段倒退：这对需求和团队已到「已签约」，不能再记「未成功」" in result.output
    result = cli("feedback", "record", "N1", "T1", "未成功", "--reason", "报价过高", "--date", "2026-10-20", ok=False)
    assert result.exit_code == 1 and "--correction" in result.output
    assert cli.query("SELECT count(*) FROM outcome_events") == [(2,)]

    cli("import", "outcomes", write_csv(tmp_path / "fix.csv", [
        ["需求编号", "团队编号", "阶段", "日期", "原因", "更正"],
        ["N1", "T1", "未成功", "2026-10-20", "报价过高", "是"]]))
    cli("feedback", "record", "N1", "T1", "洽谈中", "--date", "2026-10-21", "--correction")
    assert cli.query("SELECT stage, correction FROM outcome_events ORDER BY id") == [
        ("contacted", None), ("contract_signed", None), ("rejected", 1), ("negotiating", 1)]
    # an event dated before the contract is not "backwards"
    cli("feedback", "record", "N1", "T1", "洽谈中", "--date", "2026-09-15")


def test_a_reason_outside_the_list_becomes_other_with_its_text_and_a_note(cli, tmp_path):
    seed(cli, tmp_path)
    result = cli("import", "outcomes", outcomes(tmp_path, "o.csv",
                                                ["N1", "T1", "未成功", None, "2026-10-01", "老板出国了"]))
    assert "第 2 行：原因「老板出国了」不在固定原因" in result.output and "记为「其他」并保留原文" in result.output
    assert cli.query("SELECT reason_code, reason_text FROM outcome_events") == [("其他", "老板出国了")]
