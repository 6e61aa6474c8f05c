"""A table of bad import files, one row each: every one is refused through the real `cxy import` with
exit code 1, a Chinese message naming the file and where (line, column or sheet), no traceback, and
the database unchanged; the files that import with a note say what was imported instead. A few of
them go through `POST /admin/import` too, answering 422 with a Chinese detail.

Add a row for every new kind of bad file found: ``Case(id, kind, file name, content, expected text)``,
where content is bytes, text, a {sheet: rows} dict (an .xlsx) or a function of the folder.
"""

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook

from matcher.ingest.limits import MAX_ROWS
from matcher.ingest.survey_form import write_form
from matcher.ingest.workbooks import MAX_SHEET_CELLS
from tests.conftest import Cli, copy_db, new_db

TEAM_HEADER = ["id", "institution_id", "name"]
ENTERPRISE_HEADER = ["id", "name", "credit_code", "county"]
NEED_HEADER = ["id", "enterprise_id", "title", "budget_wan"]
SURVEY = {
    "name": "萍乡市测试电瓷有限公司",
    "industry": "电瓷电气",
    "county": "芦溪县",
    "contact_person": "彭工",
    "needs": "1、绝缘子内部气孔检测不全；2、釉面耐污性能不够",
}


@dataclass
class Case:
    id: str
    kind: str
    name: str
    content: object  # bytes | str | {sheet: rows} | Callable[[Path], Path]
    said: str  # the reason, as the clerk reads it
    where: str = ""  # the line, column or sheet named with it
    apart: bool = False  # run `cxy` in its own process: a regression would abort it (calamine's allocation)

    def write(self, folder: Path) -> Path:
        path = folder / self.name
        if callable(self.content):
            return self.content(path)
        if isinstance(self.content, dict):
            return xlsx(path, self.content)
        data = self.content if isinstance(self.content, bytes) else self.content.encode()
        path.write_bytes(data)
        return path


def xlsx(path: Path, sheets: dict[str, list[list[object]]], states: dict[str, str] | None = None) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        sheet.sheet_state = (states or {}).get(title, "visible")
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def rewrite_parts(path: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """Rewrite the parts of an .xlsx (what openpyxl and Excel would never write, a file still can say)."""
    with zipfile.ZipFile(path) as source:
        items = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item, data in items:
            target.writestr(item, change(item.filename, data))
    return path


def rewrite_sheets(path: Path, change: Callable[[str], str]) -> Path:
    sheet = "xl/worksheets/sheet"
    return rewrite_parts(path, lambda name, data: change(data.decode()).encode() if name.startswith(sheet) else data)


def hide_all(path: Path, state: str) -> Path:
    """Every sheet hidden: Excel and openpyxl refuse to write it."""
    hidden = f'state="{state}"'.encode()
    return rewrite_parts(
        path, lambda name, data: data.replace(b'state="visible"', hidden) if name == "xl/workbook.xml" else data
    )


def patched_xlsx(sheets: dict, change: Callable[[str], str]) -> Callable[[Path], Path]:
    return lambda path: rewrite_sheets(xlsx(path, sheets), change)


def claim_huge_dimension(xml: str) -> str:
    return re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', xml)


def truncated_xlsx(path: Path) -> Path:
    data = xlsx(path, {"团队": [TEAM_HEADER, ["T9", "I1", "某团队"]]}).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def survey(path: Path, answers: dict | None = None, hidden: dict | None = None) -> Path:
    book = Workbook()
    book.remove(book.active)
    write_form(book.create_sheet("企业1"), answers or SURVEY)
    if hidden:
        sheet = book.create_sheet("旧表")
        write_form(sheet, hidden)
        sheet.sheet_state = "hidden"
    book.save(path)
    return path


def csv_text(header: list[str], *rows: list[object]) -> str:
    return "\n".join(",".join(map(str, row)) for row in [header, *rows]) + "\n"


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def team(**fields) -> dict:
    return {"id": "T9", "institution_id": "I1", "name": "某团队"} | fields


def need(**fields) -> dict:
    return {"id": "N9", "enterprise_id": "E1", "title": "某需求"} | fields


def many_rows(path: Path) -> Path:
    lines = ["id,institution_id,name"] + [f"T{i},I1,团队{i}" for i in range(MAX_ROWS + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FAR_ROW = '<row r="1048576"><c t="inlineStr"><is><t>z</t></is></c></row></sheetData>'  # the cell has no r=
FAR_CELL = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>z</t></is></c></row></sheetData>'
BINARY = bytes(range(256)) * 64

CASES = [
    # ---- text and ids longer than their columns (the store's String(n), not a copied table)
    Case(
        "id-10000-characters",
        "teams",
        "teams.csv",
        csv_text(TEAM_HEADER, ["T" * 10_000, "I1", "某团队"]),
        "过长：10000 个字符，该列最多 64 个",
        "第 2 行，「id」列",
    ),
    Case(
        "name-5000-characters-xlsx",
        "enterprises",
        "enterprises.xlsx",
        {"企业": [ENTERPRISE_HEADER, ["E9", "企" * 5000, None, None]]},
        "过长：5000 个字符，该列最多 200 个",
        "工作表「企业」，第 2 行，「name」列",
    ),
    Case(
        "parent-id-too-long-jsonl",
        "teams",
        "teams.jsonl",
        jsonl(team(institution_id="I" * 65)),
        "过长：65 个字符，该列最多 64 个",
        "第 1 行，「institution_id」列",
    ),
    Case(
        "outcome-id-past-its-key",
        "outcomes",
        "outcomes.csv",
        csv_text(["id", "need_id", "team_id", "stage"], ["X" * 200, "N1", "T101", "contacted"]),
        "过长：200 个字符，该列最多 121 个",
        "第 2 行，「id」列",
    ),
    Case(
        "10mb-cell-xlsx",
        "teams",
        "teams.xlsx",
        {"团队": [[*TEAM_HEADER, "description"], ["T9", "I1", "某团队", "陶" * 10_000_000]]},
        "达到 Excel 的上限 32767 个字符",  # calamine would cut it there silently
        "工作表「团队」，第 2 行，「D」列",
    ),
    Case(
        "10mb-cell-csv",
        "teams",
        "teams.csv",
        csv_text([*TEAM_HEADER, "description"], ["T9", "I1", "某团队", "陶" * 10_000_000]),
        "单元格过长（超过 131072 个字符）",
        "第 2 行",
    ),
    Case(
        "140000-characters-jsonl",
        "teams",
        "teams.jsonl",
        jsonl(team(description="陶" * 140_000)),
        "过长：140000 个字符，该列最多 131072 个",
        "第 1 行，「description」列",
    ),
    # ---- JSON values of the wrong type
    Case(
        "object-as-name",
        "teams",
        "teams.jsonl",
        jsonl(team(name={"zh": "某团队"})),
        "应为单个值，不是 JSON 对象",
        "第 1 行，「name」列",
    ),
    Case(
        "list-as-id", "teams", "teams.jsonl", jsonl(team(id=["T9"])), "应为单个值，不是 JSON 数组", "第 1 行，「id」列"
    ),
    Case(
        "bool-as-budget",
        "needs",
        "needs.jsonl",
        jsonl(need(budget_wan=True)),
        "不能填 true/false",
        "第 1 行，「budget_wan」列",
    ),
    Case("bool-as-name", "teams", "teams.jsonl", jsonl(team(name=False)), "不能填 true/false", "第 1 行，「name」列"),
    Case(
        "objects-in-keywords",
        "needs",
        "needs.jsonl",
        jsonl(need(keywords=[{"a": 1}])),
        "数组里只能是文本或数字",
        "第 1 行，「keywords」列",
    ),
    Case(
        "nan-literal-budget",
        "needs",
        "needs.jsonl",
        '{"id": "N9", "enterprise_id": "E1", "title": "x", "budget_wan": NaN}\n',
        "有限的数字",
        "第 1 行，「budget_wan」列",
    ),
    Case(
        "1e309-capacity",
        "teams",
        "teams.jsonl",
        '{"id": "T9", "institution_id": "I1", "name": "x", "capacity": 1e309}\n',
        "有限的数字",
        "第 1 行，「capacity」列",
    ),
    Case(
        "400-digit-integer-budget",
        "needs",
        "needs.jsonl",
        jsonl(need(budget_wan=10**400)),
        "有限的数字",
        "第 1 行，「budget_wan」列",
    ),
    # ---- JSON that cannot be read
    Case("nested-100000-levels", "teams", "teams.jsonl", "[" * 100_000 + "\n", "JSON 嵌套过深", "第 1 行"),
    Case("json-line-of-3mb", "teams", "teams.jsonl", jsonl(team(name="团" * 3_000_000)), "这一行过长", "第 1 行"),
    Case(
        "5000-digit-integer-json",
        "teams",
        "teams.jsonl",
        '{"id": "T9", "institution_id": "I1", "name": "x", "capacity": ' + "9" * 5000 + "}\n",
        "数字位数过多",
        "第 1 行",
    ),
    Case("not-json", "teams", "teams.jsonl", "id,name\n", "不是有效的 JSON", "第 1 行"),
    # ---- numbers
    Case(
        "5000-digit-integer-csv",
        "teams",
        "teams.csv",
        csv_text([*TEAM_HEADER, "capacity"], ["T9", "I1", "x", "9" * 5000]),
        "应填 0 到 1000 之间的整数",
        "第 2 行，「capacity」列",
    ),
    Case(
        "nan-text-budget",
        "needs",
        "needs.csv",
        csv_text(NEED_HEADER, ["N9", "E1", "x", "NaN"]),
        "有限的数字",
        "第 2 行，「budget_wan」列",
    ),
    Case(
        "infinity-budget",
        "needs",
        "needs.csv",
        csv_text(NEED_HEADER, ["N9", "E1", "x", "-Infinity"]),
        "有限的数字",
        "第 2 行，「budget_wan」列",
    ),
    Case(
        "1e309-budget",
        "needs",
        "needs.csv",
        csv_text(NEED_HEADER, ["N9", "E1", "x", "1e309"]),
        "有限的数字",
        "第 2 行，「budget_wan」列",
    ),
    Case(
        "1e300-wan",
        "needs",
        "needs.csv",
        csv_text(NEED_HEADER, ["N9", "E1", "x", "1e300万元"]),
        "超过合理上限",
        "第 2 行，「budget_wan」列",
    ),
    Case(
        "1e309-in-xlsx",
        "needs",
        "needs.xlsx",
        patched_xlsx(
            {"需求": [NEED_HEADER, ["N9", "E1", "x", 50]]}, lambda xml: xml.replace("<v>50</v>", "<v>1e309</v>")
        ),
        "有限的数字",
        "第 2 行，「budget_wan」列",
    ),
    # ---- credit codes Excel turned into numbers
    Case(
        "credit-code-as-excel-number",
        "enterprises",
        "enterprises.xlsx",
        {"企业": [ENTERPRISE_HEADER, ["E9", "某公司", 9.13601e17, None]]},
        "请把该列设为文本格式后重新填写",
        "工作表「企业」，第 2 行，「credit_code」列",
    ),
    Case(
        "credit-code-as-csv-exponent",
        "enterprises",
        "enterprises.csv",
        csv_text(ENTERPRISE_HEADER, ["E9", "某公司", "9.13601E+17", ""]),
        "请把该列设为文本格式后重新填写",
        "第 2 行，「credit_code」列",
    ),
    # ---- files that are not what they say
    Case(
        "truncated-utf16",
        "teams",
        "teams.csv",
        "id,institution_id,name\nT9,I1,x\n".encode("utf-16")[:-1],
        "UTF-16 文本",
    ),
    Case("binary-as-csv", "teams", "teams.csv", BINARY, "不是文本文件"),
    Case("binary-as-jsonl", "teams", "teams.jsonl", BINARY, "不是文本文件"),
    Case(
        "workbook-named-csv", "teams", "teams.csv", lambda p: xlsx(p, {"团队": [TEAM_HEADER]}), "这是一个 Excel 工作簿"
    ),
    Case("truncated-xlsx", "teams", "teams.xlsx", truncated_xlsx, "不是可读取的 .xlsx 工作簿"),
    Case(
        "broken-sheet-xml",
        "teams",
        "teams.xlsx",
        patched_xlsx({"团队": [TEAM_HEADER, ["T9", "I1", "x"]]}, lambda xml: xml.replace("</sheetData>", "<row>")),
        "工作表已损坏，无法读取",
        "工作表「团队」",
    ),
    Case("xlsx-not-a-zip", "teams", "teams.xlsx", b"id,institution_id,name\nT9,I1,x\n", "不是可读取的 .xlsx 工作簿"),
    Case(
        "a-cell-at-XFD1048576",
        "teams",
        "teams.xlsx",
        patched_xlsx({"团队": [TEAM_HEADER, ["T9", "I1", "x"]]}, lambda xml: xml.replace("</sheetData>", FAR_CELL)),
        f"超过可读取的 {MAX_SHEET_CELLS} 个单元格",
        "工作表「团队」",
        apart=True,
    ),
    Case(
        "a-far-row-and-a-far-column",
        "teams",
        "teams.xlsx",
        patched_xlsx(
            {"团队": [TEAM_HEADER, ["T9", "I1", "x"]]},
            lambda xml: xml.replace("</sheetData>", FAR_ROW).replace(
                '<row r="1">', '<row r="1"><c r="XFD1" t="inlineStr"><is><t>z</t></is></c>'
            ),
        ),
        f"超过可读取的 {MAX_SHEET_CELLS} 个单元格",
        "工作表「团队」",
        apart=True,
    ),
    Case("empty-file", "teams", "teams.csv", b"", "文件是空的"),
    Case("only-headers-csv", "teams", "teams.csv", csv_text(TEAM_HEADER), "没有数据行"),
    Case("only-headers-xlsx", "teams", "teams.xlsx", {"团队": [TEAM_HEADER]}, "没有数据行"),
    Case("empty-sheet", "teams", "teams.xlsx", {"团队": []}, "工作表是空的", "工作表「团队」"),
    Case(
        "all-sheets-hidden",
        "teams",
        "teams.xlsx",
        lambda p: hide_all(xlsx(p, {"团队": [TEAM_HEADER, ["T101", "I1", "覆盖"]]}), "veryHidden"),
        "工作表全部是隐藏的",
    ),
    # ---- a quote left open swallows the rows after it
    Case(
        "open-quote-to-the-end",
        "teams",
        "teams.csv",
        'id,institution_id,name\nT9,I1,"某团队\nT10,I1,二\nT11,I1,三\n',
        "引号没有闭合",
        "第 2 行",
    ),
    Case(
        "open-quote-closed-rows-later",
        "teams",
        "teams.csv",
        'id,institution_id,name\nT8,I1,x\nT9,I1,"某团队\nT10,I1,二\nT11,I1,"三"\nT12,I1,四\n',
        "引号没有闭合",
        "第 3 行",
    ),
    # ---- limits
    Case("rows-past-the-limit", "teams", "teams.csv", many_rows, f"每次导入最多 {MAX_ROWS} 行"),
    # ---- survey workbooks (附表1)
    Case(
        "survey-without-a-name",
        "survey",
        "survey.xlsx",
        lambda p: survey(p, SURVEY | {"name": None}),
        "企业名称为空",
        "工作表「企业1」，「B2 企业名称」列",
    ),
    Case(
        "survey-unknown-county",
        "survey",
        "survey.xlsx",
        lambda p: survey(p, SURVEY | {"county": "芦溪镇县"}),
        "芦溪县",
        "工作表「企业1」，「B3 所属县区」列",
    ),
    Case("survey-truncated", "survey", "survey.xlsx", truncated_xlsx, "不是可读取的 .xlsx 工作簿"),
    Case(
        "survey-10mb-answer",
        "survey",
        "survey.xlsx",
        lambda p: survey(p, SURVEY | {"rd_conditions": "设" * 10_000_000}),
        "达到 Excel 的上限 32767 个字符",
        "工作表「企业1」，第 5 行，「B」列",
    ),
    Case(
        "survey-5000-digit-number",
        "survey",
        "survey.xlsx",
        lambda p: rewrite_sheets(
            survey(p, SURVEY | {"contact_phone": 7}), lambda xml: xml.replace("<v>7</v>", f"<v>{'9' * 5000}</v>")
        ),
        "工作表已损坏，无法读取",
        "工作表「企业1」",
    ),
    Case(
        "survey-all-hidden",
        "survey",
        "survey.xlsx",
        lambda p: hide_all(survey(p), "hidden"),
        "工作表全部是隐藏的",
    ),
]


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Cli:
    """One institution I1, team T101, enterprise E1 and need N1: the data a bad file must not touch."""
    folder = tmp_path_factory.mktemp("bad-imports")
    cli = new_db(folder, "base.db")
    for kind, header, row in [
        ("institutions", ["id", "name"], ["I1", "景德镇陶瓷大学"]),
        ("teams", TEAM_HEADER, ["T101", "I1", "结构陶瓷团队"]),
        ("enterprises", ["id", "name", "county"], ["E1", "萍乡市某陶瓷公司", "湘东区"]),
        ("needs", ["id", "enterprise_id", "title"], ["N1", "E1", "填料粉化"]),
    ]:
        path = folder / f"{kind}.csv"
        path.write_text(csv_text(header, row), encoding="utf-8")
        cli("import", kind, path, "--no-index")
    return cli


@pytest.fixture
def db(base_db, tmp_path) -> Cli:
    return copy_db(base_db, tmp_path, "test.db")


def imported(cli: Cli, kind: str, path: Path, ok: bool):
    result = cli("import", kind, path, "--no-index", ok=ok)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_file_is_refused_in_chinese_and_writes_nothing(db, tmp_path, case):
    path = case.write(tmp_path)
    before = db.dump()
    if case.apart:
        done = subprocess.run(
            [sys.executable, "-m", "matcher", "--db", str(db.db), "import", case.kind, str(path), "--no-index"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        exit_code, output = done.returncode, done.stdout + done.stderr
    else:
        result = db("import", case.kind, path, "--no-index", ok=False)
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        exit_code, output = result.exit_code, result.output
    assert exit_code == 1, output
    assert "Traceback" not in output
    problem = next(line for line in output.splitlines() if line.strip().startswith(str(path)))
    assert case.said in problem and re.search(r"[\u4e00-\u9fff]", problem), output
    assert case.where in problem, problem
    assert len(output) < 20_000  # the offending value is never echoed whole
    assert db.dump() == before


def test_every_case_has_a_unique_id():
    assert len({case.id for case in CASES}) == len(CASES)


# ---- files that import, with a note --------------------------------------------------------------------
def test_hidden_sheets_are_skipped_with_a_note_and_never_overwrite(db, tmp_path):
    path = xlsx(
        tmp_path / "teams.xlsx",
        {
            "团队": [TEAM_HEADER, ["T102", "I1", "新团队"]],
            "旧": [TEAM_HEADER, ["T101", "I1", "隐藏表里的旧名字"]],
            "更旧": [TEAM_HEADER, ["T103", "I1", "很隐藏"]],
        },
        {"旧": "hidden", "更旧": "veryHidden"},
    )
    output = imported(db, "teams", path, ok=True)
    assert "隐藏的工作表「旧」「更旧」未导入" in output
    assert db.query("SELECT id, name FROM teams ORDER BY id") == [("T101", "结构陶瓷团队"), ("T102", "新团队")]


def test_a_hidden_survey_sheet_is_not_imported(db, tmp_path):
    path = survey(tmp_path / "survey.xlsx", hidden=SURVEY | {"name": "隐藏的企业"})
    output = imported(db, "survey", path, ok=True)
    assert "隐藏的工作表「旧表」未导入" in output
    assert db.query("SELECT name FROM enterprises WHERE name LIKE '%企业' OR name LIKE '%公司' ORDER BY name") == [
        ("萍乡市某陶瓷公司",),
        ("萍乡市测试电瓷有限公司",),
    ]


def test_a_survey_county_is_written_as_the_official_name(db, tmp_path):
    output = imported(db, "survey", survey(tmp_path / "survey.xlsx", SURVEY | {"county": "上栗"}), ok=True)
    assert "enterprises" in output
    assert db.query("SELECT county, city, place_code FROM enterprises WHERE name = ?", SURVEY["name"]) == [
        ("上栗县", "萍乡", "360322000000")
    ]


def test_a_dimension_claiming_17_billion_cells_is_not_trusted(db, tmp_path):
    teams = patched_xlsx({"团队": [TEAM_HEADER, ["T104", "I1", "维度团队"]]}, claim_huge_dimension)(tmp_path / "t.xlsx")
    imported(db, "teams", teams, ok=True)  # calamine (tables) and openpyxl (surveys, reset) both ignore it
    imported(db, "survey", rewrite_sheets(survey(tmp_path / "survey.xlsx"), claim_huge_dimension), ok=True)
    assert db.query("SELECT name FROM teams WHERE id = 'T104'") == [("维度团队",)]
    assert db.query("SELECT count(*) FROM needs WHERE enterprise_id LIKE 'SV-%'") == [(2,)]


def test_a_number_where_text_is_expected_is_taken_as_text(db, tmp_path):
    path = tmp_path / "teams.jsonl"
    path.write_text(jsonl({"id": 105, "institution_id": "I1", "name": 2024, "capacity": "3"}), encoding="utf-8")
    imported(db, "teams", path, ok=True)
    assert db.query("SELECT id, name, capacity FROM teams WHERE id = '105'") == [("105", "2024", 3)]


def test_a_multi_line_cell_is_not_taken_for_an_open_quote(db, tmp_path):
    path = tmp_path / "teams.csv"
    path.write_text(
        'id,institution_id,name,description\nT106,I1,某团队,"一、陶瓷成型\n二、烧结, 检测"\n', encoding="utf-8"
    )
    imported(db, "teams", path, ok=True)
    assert db.query("SELECT description FROM teams WHERE id = 'T106'") == [("一、陶瓷成型\n二、烧结, 检测",)]


# ---- the same files over HTTP -------------------------------------------------------------------------
HTTP_CASES = [
    "id-10000-characters",
    "object-as-name",
    "nested-100000-levels",
    "truncated-xlsx",
    "broken-sheet-xml",
    "a-cell-at-XFD1048576",
    "open-quote-to-the-end",
    "credit-code-as-excel-number",
    "survey-without-a-name",
]


@pytest.fixture(scope="module")
def api(base_db, tmp_path_factory):
    """The app over a copy of the base data, not warmed: a refused upload needs no model or index."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.keys import create_key
    from matcher.store.db import open_database, write_session

    copy = copy_db(base_db, tmp_path_factory.mktemp("bad-uploads"), "test.db")
    with write_session(open_database(copy.url)) as session:
        key = create_key(session, "admin", "bad imports")[1]
    with TestClient(create_app(str(copy.db), warm=False), client=("10.7.0.2", 1)) as client:
        yield client, key, copy


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES if c.id in HTTP_CASES])
def test_a_bad_upload_is_a_422_in_chinese_and_writes_nothing(api, tmp_path, case):
    client, key, cli = api
    body = case.write(tmp_path).read_bytes()
    before = cli.dump()
    response = client.post(
        f"/admin/import/{case.kind}", params={"filename": case.name}, content=body, headers={"X-API-Key": key}
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "没有写入任何数据" in detail["message"]
    assert detail["problems"][0].startswith(case.name) and case.said in detail["problems"][0]
    assert cli.dump() == before
