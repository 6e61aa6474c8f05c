"""Issue 14, item 4: .xls and .ods besides .xlsx, .csv and .jsonl; a WPS-saved workbook imports like an
Excel one. The .xls/.ods fixtures were written by scripts/make_intake_fixtures.py (xlwt, odfpy)."""

import re
import zipfile

import pytest

from tests.conftest import ROOT, write_xlsx

FIXTURES = ROOT / "tests" / "fixtures" / "intake"


@pytest.mark.parametrize("name", ["clerk.xls", "clerk.ods"])
def test_old_excel_and_opendocument_sheets_import_with_their_merged_cells(cli, name):
    result = cli("import", "needs", FIXTURES / name)

    assert "2 行（新增 2，更新 0）" in result.output and "3 行（新增 3，更新 0）" in result.output
    assert "表尾 1 行" in result.output
    rows = cli.query("SELECT e.name, e.county, e.contact_phone, n.title, n.budget_wan, n.budget_max_wan, n.deadline "
                     "FROM needs n JOIN enterprises e ON e.id = n.enterprise_id")
    assert sorted(rows, key=lambda r: r[3]) == [
        ("江西某某电瓷电气有限公司", "芦溪县", "0799-7654321", "复合绝缘子憎水性检测", 20.0, 30.0, "2026-12-31"),
        ("萍乡市上栗县金鑫花炮有限公司", "上栗县", "13807991234", "引线燃速不稳定", None, None, None),
        ("萍乡市上栗县金鑫花炮有限公司", "上栗县", "13807991234", "烟花药剂防潮", 20.0, 30.0, "2027-06-30")]


def test_xls_and_ods_import_the_same_as_each_other(cli, tmp_path):
    cli("import", "needs", FIXTURES / "clerk.xls")
    first = cli.query("SELECT id, enterprise_id, title FROM needs ORDER BY id")
    result = cli("import", "needs", FIXTURES / "clerk.ods")
    assert "新增 0，更新 3" in result.output
    assert cli.query("SELECT id, enterprise_id, title FROM needs ORDER BY id") == first


def test_a_wps_saved_workbook_with_a_stale_dimension_imports_every_row(cli, tmp_path):
    """WPS often leaves <dimension ref="A1"/> in a sheet; readers that trust it see one cell."""
    source = write_xlsx(tmp_path / "excel.xlsx", {"Sheet1": [["企业名称", "所属县区"], ["甲公司", "安源区"],
                                                             ["乙公司", "芦溪县"], ["丙公司", "湘东区"]]})
    wps = tmp_path / "wps.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(wps, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', data)
                assert count == 1
            if item.filename == "docProps/app.xml":
                data = re.sub(rb"<Application>[^<]*</Application>", b"<Application>WPS Office</Application>", data)
            out.writestr(item, data)
    cli("import", "enterprises", wps)
    assert cli.query("SELECT count(*) FROM enterprises") == [(3,)]


def test_a_damaged_workbook_is_refused_in_chinese(cli, tmp_path):
    path = tmp_path / "坏.xls"
    path.write_bytes(b"not really an xls file")
    result = cli("import", "enterprises", path, ok=False)
    assert result.exit_code == 1 and "坏.xls：不是可读取的 .xls 工作簿" in result.output
