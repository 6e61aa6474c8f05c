"""Issue 14, items 1-3, 5, 8 and 12: the clerk's sheet of enterprises and their needs, as bureaus make it
(title and 填报单位 rows, a two-row header with 联系方式 merged over 联系人 | 联系电话, an enterprise merged
down over its needs, a blank row, trailing 备注 and 填表人 rows, no id column), imports in one attempt."""

import json
import re

from openpyxl import Workbook

from tests.conftest import write_csv, write_xlsx


def clerk_sheet(path, county="上栗", extra_rows=()):
    book = Workbook()
    ws = book.active
    ws.title = "汇总表"
    ws.append(["2026年上栗县企业技术需求汇总表"])
    ws.merge_cells("A1:I1")
    ws.append(["填报单位：上栗县科技局", None, None, None, None, "填报日期：2026年11月20日"])
    ws.append(["序号", "企业名称", "所属县区", "联系方式", None, "技术需求", "预算（万元）", "完成时限", "重点企业"])
    ws.append([None, None, None, "联系人", "联系电话", None, None, None, None])
    for column in "ABCFGHI":
        ws.merge_cells(f"{column}3:{column}4")
    ws.merge_cells("D3:E3")
    ws.append([1, "萍乡市上栗县金鑫花炮有限公司", county, "李明", "138 0799 1234", "引线燃速不稳定，想找高校做配方优化",
               "面议", "长期", "是"])
    ws.append([2, None, None, None, None, "1、烟花药剂防潮；2、自动化装药设备", "20-30", "2027年6月", None])
    for column in "BCDEI":
        ws.merge_cells(f"{column}5:{column}6")
    ws.append([])
    ws.append([3, "江西某某电瓷电气有限公司", "芦溪县", "王工", "０７９９－７６５４３２１、13900000000",
               "复合绝缘子憎水性检测", "20~30万元", "2026-12-31", "否"])
    ws.append([4, "萍乡市湘东区某某陶瓷有限公司", "湘东区", "张经理", "0799-1234567", "陶瓷填料粉化", "50万元",
               "长期有效", "是"])
    for row in extra_rows:
        ws.append(row)
    ws.append(["备注：预算单位为万元；面议表示尚未确定。"])
    ws.merge_cells(f"A{ws.max_row}:I{ws.max_row}")
    ws.append(["填表人：赵六", None, None, "审核人：钱七", None, None, "联系电话：0799-0000000"])
    book.save(path)
    return path


def test_the_clerk_sheet_imports_in_one_attempt_with_notes_in_chinese(cli, tmp_path):
    result = cli("import", "needs", clerk_sheet(tmp_path / "需求汇总.xlsx"))

    assert "enterprises        3 行（新增 3，更新 0）" in result.output
    assert "needs              5 行（新增 5，更新 0）" in result.output
    assert ("已跳过表头上方 2 行（标题、填报单位等），表尾 2 行（第 10、11 行：备注、填表人等），空行 1 行"
            in result.output)
    assert "第 5、9 行截止日期写的是长期/不限：按没有截止日期保存" in result.output
    assert "本次 3 家企业中 2 家标为重点企业；只有重点企业进入月报" in result.output
    words = re.sub(r"cxy [a-z ]+|--key|enterprises|needs|\.xlsx", "", result.output.replace(str(tmp_path), ""))
    assert not re.search("[A-Za-z]", words), words  # no English on the clerk's screen

    enterprises = cli.query("SELECT name, province, city, county, contact_person, contact_phone, key_enterprise, "
                            "place_code FROM enterprises")
    assert sorted(enterprises) == [
        ("江西某某电瓷电气有限公司", "江西", "萍乡", "芦溪县", "王工", "0799-7654321；13900000000", 0, "360323000000"),
        ("萍乡市上栗县金鑫花炮有限公司", "江西", "萍乡", "上栗县", "李明", "13807991234", 1, "360322000000"),
        ("萍乡市湘东区某某陶瓷有限公司", "江西", "萍乡", "湘东区", "张经理", "0799-1234567", 1, "360313000000")]
    needs = cli.query("SELECT e.name, n.title, n.description, n.budget_wan, n.budget_max_wan, n.deadline "
                      "FROM needs n JOIN enterprises e ON e.id = n.enterprise_id")
    assert sorted(needs, key=lambda n: n[1]) == [
        ("江西某某电瓷电气有限公司", "复合绝缘子憎水性检测", "复合绝缘子憎水性检测", 20.0, 30.0, "2026-12-31"),
        ("萍乡市上栗县金鑫花炮有限公司", "引线燃速不稳定", "引线燃速不稳定，想找高校做配方优化", None, None, None),
        ("萍乡市上栗县金鑫花炮有限公司", "烟花药剂防潮", "烟花药剂防潮", 20.0, 30.0, "2027-06-30"),
        ("萍乡市上栗县金鑫花炮有限公司", "自动化装药设备", "自动化装药设备", 20.0, 30.0, "2027-06-30"),
        ("萍乡市湘东区某某陶瓷有限公司", "陶瓷填料粉化", "陶瓷填料粉化", 50.0, None, None)]


def test_importing_the_clerk_sheet_twice_creates_nothing_new(cli, tmp_path):
    path = clerk_sheet(tmp_path / "需求汇总.xlsx")
    cli("import", "needs", path)
    before = cli.query("SELECT id, enterprise_id, title FROM needs ORDER BY id")
    result = cli("import", "needs", clerk_sheet(tmp_path / "again.xlsx", county="上栗县"))

    assert "3 行（新增 0，更新 3）" in result.output and "5 行（新增 0，更新 5）" in result.output
    assert cli.query("SELECT id, enterprise_id, title FROM needs ORDER BY id") == before
    assert cli.query("SELECT count(*), count(DISTINCT county) FROM enterprises WHERE county LIKE '上栗%'") == [(1, 1)]


def test_a_bad_cell_in_the_clerk_sheet_is_named_in_chinese_and_nothing_is_written(cli, tmp_path):
    path = clerk_sheet(tmp_path / "需求汇总.xlsx",
                       extra_rows=[[5, "萍乡某某新材料有限公司", "湘东区", "刘工", "13800000000", "碳化硅膜", "很多钱",
                                    "明年", "也许"]])
    result = cli("import", "needs", path, ok=False)

    assert result.exit_code == 1
    assert "导入失败：3 个问题；没有写入任何数据。" in result.output
    assert ("需求汇总.xlsx，工作表「汇总表」，第 10 行，「预算（万元）」列："
            "应填金额（万元），如 50 或 50万元（值「很多钱」）") in result.output
    assert "第 10 行，「完成时限」列：应填日期" in result.output
    assert "第 10 行，「重点企业」列：应填 是/否" in result.output
    assert cli.query("SELECT count(*) FROM enterprises") == [(0,)]
    assert cli.query("SELECT count(*) FROM audit_log") == [(0,)]


def test_sheets_without_ids_get_stable_ids_and_per_kind_id_aliases_work(cli, tmp_path):
    institutions = write_csv(tmp_path / "inst.csv", [["单位名称", "所在城市"], ["萍乡学院", "萍乡市"]])
    teams = write_csv(tmp_path / "teams.csv", [["团队名称", "所属单位", "承接能力"], ["电瓷团队", "萍乡学院", 3]])
    cli("import", "institutions", institutions)
    cli("import", "teams", teams)
    first = cli.query("SELECT t.id, t.institution_id, i.name FROM teams t "
                      "JOIN institutions i ON i.id = t.institution_id")
    cli("import", "institutions", institutions)
    cli("import", "teams", teams)

    assert cli.query("SELECT t.id, t.institution_id, i.name FROM teams t JOIN institutions i "
                     "ON i.id = t.institution_id") == first
    assert first[0][0].startswith("T-") and first[0][1].startswith("I-") and first[0][2] == "萍乡学院"
    cli("import", "enterprises", write_csv(tmp_path / "e.csv", [["企业编号", "企业名称"], ["E7", "某公司"]]))
    cli("import", "needs", write_csv(tmp_path / "n.csv", [["需求编号", "企业编号", "需求名称"],
                                                          ["N7", "E7", "某需求"]]))
    assert cli.query("SELECT id, enterprise_id FROM needs") == [("N7", "E7")]


def test_an_enterprise_is_identified_by_its_credit_code_before_its_name(cli, tmp_path):
    cli("import", "enterprises", write_csv(tmp_path / "a.csv", [
        ["统一社会信用代码", "企业名称"], ["91360300MA35XXXX1K", "萍乡市某某科技有限公司"]]))
    result = cli("import", "enterprises", write_csv(tmp_path / "b.csv", [
        ["统一社会信用代码", "企业名称", "所属县区"], ["91360300MA35XXXX1K", "萍乡某某科技股份有限公司", "安源区"]]))

    assert "新增 0，更新 1" in result.output
    assert cli.query("SELECT name, credit_code, county FROM enterprises") == [
        ("萍乡某某科技股份有限公司", "91360300MA35XXXX1K", "安源区")]


def test_key_marks_every_enterprise_of_the_file(cli, tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", {"名单": [["企业名称", "所属县区"], ["甲公司", "安源区"],
                                                   ["乙公司", "芦溪县"]]})
    result = cli("import", "enterprises", path)
    assert "本次 2 家企业中 0 家标为重点企业" in result.output and "--key" in result.output
    result = cli("import", "enterprises", path, "--key")
    assert "本次 2 家企业中 2 家标为重点企业" in result.output
    assert cli.query("SELECT count(*) FROM enterprises WHERE key_enterprise = TRUE") == [(2,)]


def test_every_import_is_in_the_audit_trail(cli, tmp_path):
    cli("import", "needs", clerk_sheet(tmp_path / "需求汇总.xlsx"))
    rows = cli.query("SELECT action, target, detail FROM audit_log ORDER BY id")
    assert [(a, t, json.loads(d)) for a, t, d in rows] == [
        ("import", "需求汇总.xlsx", {"kind": "enterprises", "file": "需求汇总.xlsx", "inserted": 3, "updated": 0}),
        ("import", "需求汇总.xlsx", {"kind": "needs", "file": "需求汇总.xlsx", "inserted": 5, "updated": 0})]
