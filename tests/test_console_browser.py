"""The console in a real browser: Playwright driving Debian's Chromium (never a downloaded browser),
kept off the network, against `cxy serve`'s app on loopback. The clerk's loop end to end, a bad
upload, a month's report generated and downloaded, the researcher's view, an axe-core accessibility
check, and a screenshot of every main page in test-artifacts/."""

import datetime as dt
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect

from tests.conftest import CONSOLE_USERS, ROOT, write_csv

CHROMIUM = Path("/usr/bin/chromium")
# Keep the browser off the network: no background requests, no component updates.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "test-artifacts"
# Assertions retry until the page shows what they expect: a click returns once its navigation has
# committed, before the new page is parsed (a list ranked on PostgreSQL can take seconds).
expect.set_options(timeout=60_000)

if not CHROMIUM.exists():
    # make test installs it (apt-get install chromium); a run without it is a broken set-up, not a pass.
    pytest.fail("Debian's Chromium is missing: apt-get install chromium (make test does it)", pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(console_app):
    app, cli = console_app
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not instance.started:
        assert time.time() < deadline, "the console did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", cli
    instance.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, base: str, name: str, width: int = 1366, height: int = 768):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(base + "/")
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(CONSOLE_USERS[name][2])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def menu(page, label: str):
    return page.get_by_role("navigation", name="主菜单").get_by_role("link", name=label, exact=True)


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_each_role_signs_in_to_its_own_start_page(server, browser):
    base, _ = server
    clerk = sign_in(browser, base, "clerk")
    expect(clerk.get_by_role("heading", name="工作台")).to_be_visible()
    assert not menu(clerk, "导入").count()
    admin = sign_in(browser, base, "boss")
    expect(menu(admin, "导入")).to_be_visible()
    expect(menu(admin, "账号")).to_be_visible()
    researcher = sign_in(browser, base, "prof")
    expect(researcher).to_have_url(re.compile(r"/console/teams/T301$"))
    expect(researcher.get_by_role("heading", name="哪些企业需要我们")).to_be_visible()


def _signed_count(page, base: str) -> int:
    page.goto(base + "/console/followup?stage=contract_signed")
    return int(page.get_by_role("heading", name="配对").inner_text().split("（")[1].rstrip("）"))


def test_the_clerks_loop_from_search_to_a_signed_contract(server, browser):
    base, cli = server
    page = sign_in(browser, base, "clerk")
    signed_before = _signed_count(page, base)
    page.goto(base + "/")
    menu(page, "企业").click()
    page.get_by_role("searchbox").fill("鑫瑞")
    page.get_by_role("button", name="查找").click()
    # The sample holds this company twice (E101, E301: a duplicate intake reports); the first is E101.
    page.get_by_role("link", name="萍乡市湘东区鑫瑞化工填料有限公司").first.click()
    expect(page).to_have_url(re.compile(r"/console/enterprises/E101$"))
    expect(page.get_by_role("heading", name="推荐团队")).to_be_visible()
    # a team with no history for its need yet (a pair already signed may not go back to 已联系)
    first = page.locator("article.result").filter(has_not_text="本需求已有记录").first
    team_name = first.locator("a.name").inner_text()
    assert first.locator("mark").count() > 0  # the shared terms are highlighted
    form = first.locator("form.followup")
    form.get_by_label("跟进阶段").select_option("contacted")
    form.get_by_role("button", name="登记").click()
    expect(page.get_by_role("status").filter(has_text="已登记")).to_be_visible()
    first = page.locator("article.result").filter(has_text=team_name).first
    form = first.locator("form.followup")
    form.get_by_label("跟进阶段").select_option("contract_signed")
    form.get_by_label("签约金额（万元）").fill("30")
    form.get_by_label("签约日期").fill(dt.date.today().isoformat())
    form.get_by_role("button", name="登记").click()
    expect(page.get_by_role("status").filter(has_text="已签约")).to_be_visible()
    assert _signed_count(page, base) == signed_before + 1
    row = page.locator("tbody tr").filter(has_text=team_name).first
    assert "30 万元" in row.inner_text()
    row.get_by_role("link", name="时间线").click()
    timeline = page.locator("ol.timeline").inner_text()
    assert "已联系" in timeline and "已签约，30 万元" in timeline.replace("\n", "")
    stages = cli.query("SELECT stage, amount_wan, source FROM outcome_events ORDER BY id DESC LIMIT 2")
    assert stages == [("contract_signed", 30.0, "console"), ("contacted", None, "console")]


def test_a_bad_upload_shows_rows_and_columns_and_changes_nothing(server, browser, tmp_path):
    base, cli = server
    page = sign_in(browser, base, "boss")
    menu(page, "导入").click()
    bad = write_csv(tmp_path / "needs.csv", [["id", "enterprise_id", "title", "budget_wan"],
                                              ["N900", "E101", "新需求", "很多"], ["N901", "NOPE", "", ""]])
    before = cli.dump()
    page.get_by_label("文件类型").select_option("needs")
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="导入").click()
    heading = page.get_by_role("heading", name="没有写入任何数据")
    expect(heading).to_be_visible()
    table = page.locator("section").filter(has=heading).locator("tbody").inner_text()
    assert "budget_wan" in table or "预算" in table
    assert "3" in table  # the row numbers are shown
    assert cli.dump() == before
    shoot(page, "导入-错误")


def test_a_month_is_generated_in_the_background_and_its_workbook_downloads(server, browser, tmp_path):
    base, _ = server
    page = sign_in(browser, base, "clerk")
    menu(page, "月报").click()
    page.get_by_label("月份").fill("2026-11")
    page.get_by_role("button", name="生成").click()
    page.get_by_text("打开月报").first.wait_for(timeout=300_000)  # the page refreshes itself while it runs
    shoot(page, "月报")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载工作簿").first.click()
    saved = tmp_path / "report.xlsx"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK" and download.value.suggested_filename.endswith("2026-11.xlsx")
    page.get_by_role("link", name="打开月报页面").first.click()
    assert "2026年11月" in page.content() or "2026-11" in page.content()


def test_the_researchers_view_hides_enterprise_contacts(server, browser):
    base, cli = server
    page = sign_in(browser, base, "prof")
    text = page.content()
    for (phone,) in cli.query("SELECT contact_phone FROM enterprises WHERE contacts_public IS NOT TRUE AND "
                              "contact_phone IS NOT NULL"):
        assert phone not in text
    page.goto(base + "/console/enterprises/E101")
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    shoot(page, "科研人员-无权访问")


MAIN_PAGES = {"工作台": "/", "企业": "/console/enterprises?q=鑫瑞", "企业详情": "/console/enterprises/E101",
              "需求匹配": "/console/match?text=AOI误判太多，想用深度学习复判", "团队": "/console/teams/T101",
              "揭榜挂帅": "/console/challenges", "榜单详情": "/console/challenges/C11", "跟进": "/console/followup",
              "月报列表": "/console/reports", "导入": "/console/imports", "模型": "/console/models",
              "账号": "/console/users", "操作记录": "/console/audit"}


def test_main_pages_have_no_serious_accessibility_violations_and_are_photographed(server, browser):
    from axe_playwright_python.sync_playwright import Axe

    base, _ = server
    axe = Axe()
    found = {}
    for width, height in ((1366, 768), (1920, 1080)):
        page = sign_in(browser, base, "boss", width, height)
        for name, path in MAIN_PAGES.items():
            page.goto(base + path)
            page.wait_for_load_state()
            shoot(page, f"{name}-{width}")
            if width == 1366:
                violations = axe.run(page).response["violations"]
                serious = [f"{v['id']} ({v['impact']})" for v in violations if v["impact"] in ("serious", "critical")]
                if serious:
                    found[name] = serious
                (ARTIFACTS / f"axe-{name}.txt").write_text(
                    "\n".join(f"{v['id']} ({v['impact']}): {len(v['nodes'])}" for v in violations) or "无",
                    encoding="utf-8")
    researcher = sign_in(browser, base, "prof")
    shoot(researcher, "科研人员-我的团队-1366")
    assert not found, found


def test_a_match_list_prints_on_a4_without_the_menu_or_forms(server, browser):
    base, _ = server
    page = sign_in(browser, base, "clerk")
    page.goto(base + "/console/enterprises/E101")
    page.emulate_media(media="print")
    expect(page.locator("nav.sidenav")).to_be_hidden()
    expect(page.locator("form.followup").first).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / "企业详情-打印.pdf"), format="A4", prefer_css_page_size=True)
    assert pdf[:4] == b"%PDF"
