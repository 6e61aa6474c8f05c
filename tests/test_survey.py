"""`cxy import survey`: the 三清零 摸底表 (附表1) in both layouts, with merged cells and ticked boxes."""

import json

from openpyxl import Workbook

from matcher.ingest.survey import split_items, wished_institutions
from matcher.ingest.survey_form import write_form
from tests.conftest import SAMPLE

FORM = {
    "name": "萍乡市测试电瓷有限公司", "industry": "电瓷电气", "county": "芦溪县", "contact_person": "彭工",
    "contact_phone": "0799-7000000", "has_rd_platform": "有□  无☑", "high_tech": "是☑  否□", "above_scale": "是",
    "rd_conditions": "有工频耐压试验装置。",
    "cooperation": "曾与华东交通大学合作。下一步拟对接清华大学、湖南工业大学。",
    "needs": "1、绝缘子内部气孔检测不全；2、釉面耐污性能不够，出口客户投诉",
    "innovation_plan": "建设智能化生产线。",
}


def save_forms(path, forms, long_below=False, per_sheet=True):
    book = Workbook()
    book.remove(book.active)
    if per_sheet:
        for i, answers in enumerate(forms):
            write_form(book.create_sheet(f"企业{i + 1}"), answers, long_below=long_below)
    else:
        sheet, top = book.create_sheet("摸底表"), 1
        for answers in forms:
            top = write_form(sheet, answers, top=top, long_below=long_below)
    book.save(path)
    return path


def test_a_form_becomes_an_enterprise_with_one_need_per_numbered_item(cli, tmp_path):
    cli("import", "survey", save_forms(tmp_path / "form.xlsx", [FORM]))

    rows = cli.query("SELECT id, name, industry, county, has_rd_platform, high_tech, above_scale, contact_phone, "
                     "wished_institutions, innovation_plan FROM enterprises")
    assert len(rows) == 1
    enterprise_id, *fields, wished, plan = rows[0]
    assert fields == ["萍乡市测试电瓷有限公司", "电瓷电气", "芦溪县", 0, 1, 1, "0799-7000000"]
    assert json.loads(wished) == ["清华大学", "湖南工业大学"]
    assert plan == "建设智能化生产线。"
    assert cli.query("SELECT id, enterprise_id, title, description FROM needs ORDER BY id") == [
        (f"{enterprise_id}-N1", enterprise_id, "绝缘子内部气孔检测不全", "绝缘子内部气孔检测不全"),
        (f"{enterprise_id}-N2", enterprise_id, "釉面耐污性能不够", "釉面耐污性能不够，出口客户投诉")]


def test_blocks_stacked_on_one_sheet_with_answers_below_labels(cli, tmp_path):
    second = FORM | {"name": "萍乡市第二食品有限公司", "industry": "食品", "needs": "腊肉夏天容易长霉",
                     "has_rd_platform": "无", "high_tech": "否"}
    cli("import", "survey", save_forms(tmp_path / "blocks.xlsx", [FORM, second], long_below=True, per_sheet=False))

    assert cli.query("SELECT name, industry, has_rd_platform, rd_conditions FROM enterprises ORDER BY name") == [
        ("萍乡市测试电瓷有限公司", "电瓷电气", 0, "有工频耐压试验装置。"),
        ("萍乡市第二食品有限公司", "食品", 0, "有工频耐压试验装置。")]
    assert cli.query("SELECT title FROM needs WHERE description LIKE '腊肉%'") == [("腊肉夏天容易长霉",)]


def test_reimporting_a_survey_updates_the_same_enterprise_and_needs(cli, tmp_path):
    path = save_forms(tmp_path / "form.xlsx", [FORM])
    cli("import", "survey", path)
    cli("import", "survey", save_forms(path, [FORM | {"county": "湘东区"}]))

    assert cli.query("SELECT county FROM enterprises") == [("湘东区",)]
    assert cli.query("SELECT count(*) FROM needs") == [(2,)]


def test_a_survey_reuses_the_id_of_an_enterprise_already_stored_by_name(cli, tmp_path):
    (tmp_path / "e.csv").write_text("id,name\nE77,萍乡市测试电瓷有限公司\n", encoding="utf-8")
    cli("import", "enterprises", tmp_path / "e.csv")
    cli("import", "survey", save_forms(tmp_path / "form.xlsx", [FORM]))

    assert cli.query("SELECT id, county FROM enterprises") == [("E77", "芦溪县")]
    assert cli.query("SELECT enterprise_id FROM needs") == [("E77",), ("E77",)]


def test_bad_answers_are_reported_by_sheet_and_cell_and_nothing_is_written(cli, tmp_path):
    path = save_forms(tmp_path / "bad.xlsx", [FORM, FORM | {"name": "另一家公司", "high_tech": "不清楚"}])
    result = cli("import", "survey", path, ok=False)

    assert result.exit_code == 1
    assert "bad.xlsx，工作表「企业2」，「D4 高新技术企业」列：应填 是/否" in result.output
    assert cli.query("SELECT count(*) FROM enterprises") == [(0,)]


def test_a_workbook_without_a_form_is_rejected(cli, tmp_path):
    book = Workbook()
    book.active.append(["序号", "名称"])
    book.save(tmp_path / "x.xlsx")
    result = cli("import", "survey", tmp_path / "x.xlsx", ok=False)
    assert "没有找到附表1" in result.output


def test_the_two_sample_workbooks_import(cli):
    for path in sorted((SAMPLE / "surveys").glob("*.xlsx")):
        cli("import", "survey", path)
    assert cli.query("SELECT count(*) FROM enterprises") == [(6,)]
    assert cli.query("SELECT count(*) FROM needs") == [(11,)]


def test_numbered_items_in_the_usual_styles_are_split():
    assert split_items("一是气孔多；二是釉面差") == ["气孔多", "釉面差"]
    assert split_items("（1）噪声大；（2）想上物联网") == ["噪声大", "想上物联网"]
    assert split_items("腊肉夏天容易长霉，胀袋") == ["腊肉夏天容易长霉，胀袋"]


def test_only_institutions_named_as_wishes_are_kept():
    text = "2023年和萍乡学院做过课题。下一步想对接景德镇陶瓷大学、中南大学，最好能共建一个实验室。"
    assert wished_institutions(text, ["萍乡学院", "中南大学"]) == ["中南大学", "景德镇陶瓷大学"]
