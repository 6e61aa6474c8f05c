"""`cxy import KIND FILE`: round trips for every kind and format, and every kind of bad input."""

import json
from datetime import date

import pytest

from tests.conftest import write_csv, write_table, write_xlsx

# A small, complete data set: (kind, header, rows), parents before children.
DATASET = [
    ("institutions", ["id", "name", "type", "province", "city", "tier"], [
        ["I1", "景德镇陶瓷大学", "university", "江西省", "景德镇", "省属重点"],
        ["I2", "中国科学院上海硅酸盐研究所", "科研院所", "上海", "上海", "国家级"],
    ]),
    ("teams", ["id", "institution_id", "name", "discipline", "description", "capacity"], [
        ["T1", "I1", "结构陶瓷团队", "材料科学与工程", "氧化铝、氮化硅陶瓷的成型与烧结", 3],
        ["T2", "I2", "透明陶瓷团队", "材料科学与工程", None, None],
    ]),
    ("achievements", ["id", "team_id", "kind", "title", "abstract", "keywords", "year", "trl"], [
        ["A1", "T1", "专利", "一种氮化硅陶瓷球的制备方法", "采用气压烧结……", "氮化硅;轴承球;气压烧结", 2021, 5],
        ["A2", "T2", "paper", "透明陶瓷的真空烧结", None, "透明陶瓷、真空烧结", 2019, 3],
    ]),
    ("enterprises", ["id", "name", "province", "city", "county", "industry", "high_tech", "above_scale",
                     "has_rd_platform", "description", "contact_person", "contact_phone", "contacts_public",
                     "key_enterprise"], [
        ["E1", "萍乡市某某陶瓷有限公司", "江西", "萍乡市", "湘东区", "工业陶瓷", "是", "否", "有", "生产化工填料",
         "张经理", "0799-1234567", "否", "是"],
        ["E2", "萍乡市某某电瓷有限公司", "江西", "萍乡市", "芦溪县", "电瓷电气", "false", "1", "无", None,
         None, None, None, None],
    ]),
    ("needs", ["id", "enterprise_id", "title", "description", "keywords", "budget_wan", "deadline"], [
        ["N1", "E1", "填料用一年就粉化", "客户硫酸装置上掉块", "耐酸;热震", "50万元", "2026年11月3日"],
        ["N2", "E2", "釉面耐污", None, None, "面议", "2027/6/30"],
    ]),
    ("challenges", ["id", "issuer_enterprise_id", "title", "description", "indicators", "budget_wan", "deadline",
                    "eligible_provinces", "eligible_types", "min_trl"], [
        ["C1", "E1", "高纯氧化铝粉体国产化", "替代进口", "纯度≥99.99%；D50≤0.5μm", 300, "2026-12-31",
         "江西;湖南省", "university;科研院所", 5],
        ["C2", None, "市科技局发榜：窑炉节能", None, None, None, None, None, None, None],
    ]),
    ("outcomes", ["need_id", "team_id", "stage", "amount_wan", "date", "reason"], [
        ["N1", "T1", "contacted", None, "2026-03-05", None],
        ["N1", "T1", "已签约", "35", "2026年4月", None],
        ["N2", "T2", "rejected", None, "2026.5.20", "报价过高：企业预算只有20万"],
    ]),
]


def import_dataset(cli, tmp_path, suffix: str) -> None:
    for kind, header, rows in DATASET:
        path = write_table(tmp_path / f"{kind}{suffix}", header, rows)
        result = cli("import", kind, path)
        assert f"{len(rows)} 行" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_every_kind_round_trips_through_each_format(cli, tmp_path, suffix):
    import_dataset(cli, tmp_path, suffix)

    assert cli.query("SELECT id, type, province FROM institutions ORDER BY id") == [
        ("I1", "university", "江西"), ("I2", "research_institute", "上海")]
    assert cli.query("SELECT id, institution_id, capacity, description FROM teams ORDER BY id") == [
        ("T1", "I1", 3, "氧化铝、氮化硅陶瓷的成型与烧结"), ("T2", "I2", None, None)]
    rows = cli.query("SELECT id, kind, keywords, year, trl FROM achievements ORDER BY id")
    assert [(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows] == [
        ("A1", "patent", ["氮化硅", "轴承球", "气压烧结"], 2021, 5),
        ("A2", "paper", ["透明陶瓷", "真空烧结"], 2019, 3)]
    assert cli.query("SELECT id, high_tech, above_scale, has_rd_platform, contacts_public, key_enterprise, "
                     "contact_phone FROM enterprises ORDER BY id") == [
        ("E1", 1, 0, 1, 0, 1, "0799-1234567"), ("E2", 0, 1, 0, None, None, None)]
    assert cli.query("SELECT id, budget_wan, deadline, status FROM needs ORDER BY id") == [
        ("N1", 50.0, "2026-11-03", "open"), ("N2", None, "2027-06-30", "open")]
    rows = cli.query("SELECT id, issuer_enterprise_id, eligible_provinces, eligible_types, min_trl "
                     "FROM challenges ORDER BY id")
    assert rows[0][:2] == ("C1", "E1")
    assert json.loads(rows[0][2]) == ["江西", "湖南"]
    assert json.loads(rows[0][3]) == ["university", "research_institute"]
    assert rows[1] == ("C2", None, None, None, None)
    assert cli.query("SELECT need_id, stage, amount_wan, date, reason_code, reason_text FROM outcome_events "
                     "ORDER BY id") == [
        ("N1", "contacted", None, "2026-03-05", None, None),
        ("N1", "contract_signed", 35.0, "2026-04-01", None, None),
        ("N2", "rejected", None, "2026-05-20", "报价过高", "企业预算只有20万")]


def test_reimporting_the_same_ids_updates_them_and_keeps_absent_columns(cli, tmp_path):
    import_dataset(cli, tmp_path, ".csv")
    path = write_csv(tmp_path / "teams2.csv", [["id", "institution_id", "name", "capacity"],
                                               ["T1", "I2", "结构陶瓷与涂层团队", 5]])
    result = cli("import", "teams", path)

    assert "1 行（新增 0，更新 1）" in result.output
    assert cli.query("SELECT institution_id, name, capacity, discipline FROM teams WHERE id='T1'") == [
        ("I2", "结构陶瓷与涂层团队", 5, "材料科学与工程")]


def test_reimporting_outcomes_records_each_event_once(cli, tmp_path):
    import_dataset(cli, tmp_path, ".csv")
    result = cli("import", "outcomes", tmp_path / "outcomes.csv")

    assert "新增 0" in result.output and "已记录过 3" in result.output
    assert cli.query("SELECT count(*) FROM outcome_events") == [(3,)]


def test_chinese_headers_title_rows_and_units_are_understood(cli, tmp_path):
    path = write_xlsx(tmp_path / "企业名单.xlsx", {"重点企业": [
        ["2026年萍乡市重点企业名单", None, None, None, None, None, None],
        ["企业编号", "企业名称", "行业类别", "所属县区", "高新技术企业（是/否）", "联系人", "联系电话"],
        ["E9", "萍乡市某某电子有限公司", "电子电路", "安源区", "是", "王工", "13800000000"],
    ]})
    cli("import", "enterprises", path)

    assert cli.query("SELECT id, industry, county, high_tech, contact_person FROM enterprises") == [
        ("E9", "电子电路", "安源区", 1, "王工")]


def test_gbk_and_utf8_bom_csv_from_chinese_excel_are_accepted(cli, tmp_path):
    rows = [["编号", "名称", "类型", "省份"], ["X1", "萍乡学院", "高校", "江西省"]]
    gbk = write_csv(tmp_path / "gbk.csv", rows, encoding="gbk")
    bom = write_csv(tmp_path / "bom.csv", [*rows[:1], ["X2", "宜春学院", "大学", "江西"]], encoding="utf-8-sig")
    cli("import", "institutions", gbk)
    cli("import", "institutions", bom)

    assert cli.query("SELECT id, name, type, province FROM institutions ORDER BY id") == [
        ("X1", "萍乡学院", "university", "江西"), ("X2", "宜春学院", "university", "江西")]


def test_xlsx_with_an_extra_sheet_imports_the_data_sheet_and_says_what_it_skipped(cli, tmp_path):
    path = write_xlsx(tmp_path / "inst.xlsx", {
        "填表说明": [["请按模板填写"], ["类型可选：高校、科研院所"]],
        "机构": [["id", "name"], ["X1", "萍乡学院"]],
    })
    result = cli("import", "institutions", path)

    assert cli.query("SELECT id FROM institutions") == [("X1",)]
    assert "工作表「填表说明」：没有 institutions 表头，已跳过" in result.output


def failed(cli, *args) -> str:
    result = cli(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "没有写入任何数据" in result.output
    return result.output


def test_wrong_header_names_the_missing_column(cli, tmp_path):
    path = write_csv(tmp_path / "teams.csv", [["编号", "名字", "institution_id"], ["T1", "x", "I1"]])
    out = failed(cli, "import", "teams", path)
    assert "teams.csv，第 1 行：表头缺少 teams 的必填列 name（已识别：id、institution_id）" in out


def test_unknown_enum_bad_number_and_bad_date_are_each_reported_with_row_and_column(cli, tmp_path):
    import_dataset(cli, tmp_path, ".csv")
    path = write_csv(tmp_path / "bad.csv", [
        ["id", "team_id", "kind", "title", "year", "trl"],
        ["A7", "T1", "专著", "某书", 2020, 3],
        ["A8", "T1", "paper", "某文", "二〇二〇", 12],
    ])
    out = failed(cli, "import", "achievements", path)
    assert "bad.csv，第 2 行，「kind」列：未知的成果类型；可填 paper（论文）、patent（专利）、project（项目）、" \
           "result（成果）（值「专著」）" in out
    assert "bad.csv，第 3 行，「year」列：应填 1950 到 2100 之间的整数（值「二〇二〇」）" in out
    assert "bad.csv，第 3 行，「trl」列：应填 1 到 9 之间的整数（值「12」）" in out

    path = write_csv(tmp_path / "needs.csv", [["id", "enterprise_id", "title", "deadline", "budget_wan"],
                                              ["N9", "E1", "x", "明年", "很多"]])
    out = failed(cli, "import", "needs", path)
    assert "第 2 行，「deadline」列：应填日期，如 2026-11-03" in out
    assert "第 2 行，「budget_wan」列：应填金额（万元）" in out


def test_missing_reference_and_duplicate_id_in_one_file(cli, tmp_path):
    import_dataset(cli, tmp_path, ".csv")
    path = write_csv(tmp_path / "teams.csv", [
        ["id", "institution_id", "name"], ["T8", "I404", "甲"], ["T9", "I1", "乙"], ["T9", "I1", "丙"]])
    out = failed(cli, "import", "teams", path)
    assert "第 2 行，「institution_id」列：I404 不在高校院所中（先导入 institutions，或填写已有的编号、名称）" in out
    assert "第 4 行，「id」列：与第 3 行重复（编号 T9）" in out


@pytest.mark.parametrize("content", [b"", b"id,name\n", b"\n\n"])
def test_empty_files_are_rejected(cli, tmp_path, content):
    path = tmp_path / "institutions.csv"
    path.write_bytes(content)
    out = failed(cli, "import", "institutions", path)
    assert "空" in out or "没有数据行" in out


def test_unsupported_file_type_and_unknown_kind(cli, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("id,name\n1,x\n")
    assert "不支持的文件类型" in failed(cli, "import", "institutions", path)
    result = cli("import", "people", path, ok=False)
    assert result.exit_code == 2 and "未知的数据类型「people」" in result.output
    result = cli("import", "enterprise", path, ok=False)
    assert result.exit_code == 2 and "是不是 enterprises？" in result.output
    assert "是不是 needs？" in cli("import", "需求", path, ok=False).output


def test_one_bad_row_leaves_the_database_exactly_as_before(cli, tmp_path):
    import_dataset(cli, tmp_path, ".csv")
    before = cli.dump()
    path = write_csv(tmp_path / "teams.csv", [["id", "institution_id", "name", "capacity"]]
                     + [[f"T{i}", "I1", f"团队{i}", 2] for i in range(100, 160)]
                     + [["T1", "I1", "改名", "很多"]])
    failed(cli, "import", "teams", path)
    assert cli.dump() == before


def test_folder_import_is_all_or_nothing_when_asked(cli, tmp_path):
    for kind, header, rows in DATASET[:3]:
        write_table(tmp_path / f"{kind}.csv", header, rows)
    write_csv(tmp_path / "enterprises.csv", [["id", "name", "high_tech"], ["E1", "甲公司", "也许"]])
    out = failed(cli, "import", "all", tmp_path, "--all-or-nothing")
    assert "enterprises.csv，第 2 行，「high_tech」列：应填 是/否、有/无、true/false 或 1/0" in out
    assert cli.query("SELECT count(*) FROM institutions") == [(0,)]


def test_contact_fields_are_stored_and_marked_sensitive():
    from matcher.store.models import BUREAU_ONLY, Enterprise, Need

    marks = {c.name: c.info["sensitive"] for model in (Enterprise, Need) for c in model.__table__.columns
             if "sensitive" in c.info}
    assert {name for name, mark in marks.items() if mark is True} == {
        "contact_person", "contact_phone", "budget_wan", "budget_max_wan"}  # shown where contacts are public
    assert {name for name, mark in marks.items() if mark == BUREAU_ONLY} == {
        "rd_conditions", "cooperation", "wished_institutions", "innovation_plan"}  # the survey's answers


def test_dates_in_the_usual_chinese_forms():
    from matcher.ingest.values import parse_date

    assert {parse_date(v) for v in ("2026-11-03", "2026/11/3", "2026年11月3日", "2026.11.03", 46329)} == {
        date(2026, 11, 3)}
    assert parse_date("2027年6月", month_end=True) == date(2027, 6, 30)
    with pytest.raises(ValueError, match="不是有效日期"):
        parse_date("2026-02-30")


def test_the_bundled_sample_loads_completely(cli):
    from tests.conftest import SAMPLE

    cli("import", "all", SAMPLE)
    counts = {t: cli.query(f"SELECT count(*) FROM {t}")[0][0] for t in (
        "institutions", "teams", "achievements", "enterprises", "needs", "challenges", "outcome_events")}
    assert counts == {"institutions": 36, "teams": 156, "achievements": 420, "enterprises": 90, "needs": 137,
                      "challenges": 12, "outcome_events": 1372}
    months = cli.query("SELECT count(DISTINCT substr(CAST(date AS TEXT), 1, 7)) FROM outcome_events")
    assert months == [(12,)]
