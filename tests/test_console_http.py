"""The console over plain HTTP: every page for every role, sign-in and its cookie, CSRF, idle expiry,
throttling, the follow-up form attributed to its run, researchers confined to their own team, exports
and offline API docs. (The browser tests drive the same pages in Chromium.)"""

import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from matcher.cli import app as cli_app
from tests.conftest import console_login, csrf_of, write_csv

STAFF_PAGES = ["/", "/console/enterprises", "/console/enterprises?q=鑫瑞", "/console/enterprises/E101",
               "/console/match?text=AOI误判太多，想用深度学习复判", "/console/teams", "/console/teams?q=陶瓷",
               "/console/teams/T101", "/console/challenges", "/console/challenges/C11", "/console/followup",
               "/console/followup?overdue=1", "/console/reports", "/console/pairs/N101/T101",
               "/console/firms?text=稀土"]
ADMIN_PAGES = ["/console/imports", "/console/models", "/console/users", "/console/audit"]


@pytest.fixture(scope="module")
def app(console_app):
    return console_app[0]


@pytest.fixture(scope="module")
def cli(console_app):
    return console_app[1]


def client_for(app, name: str | None = None, address: str = "testclient") -> TestClient:
    client = TestClient(app, client=(address, 50000))
    client.__enter__()
    if name:
        assert console_login(client, name).status_code == 303
    return client


def events(cli) -> int:
    return cli.query("SELECT count(*) FROM outcome_events")[0][0]


def test_the_home_page_sends_a_stranger_to_a_chinese_login_page_with_nothing_from_another_host(app):
    client = client_for(app)
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login")
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.text and 'lang="zh-CN"' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    css = client.get("/static/console.css")
    assert css.status_code == 200 and "url(http" not in css.text and "@import" not in css.text


def test_signing_in_sets_an_httponly_lax_cookie_and_wrong_or_disabled_accounts_are_refused(app):
    client = client_for(app, address="10.1.0.1")
    wrong = console_login(client, "clerk", "not-the-password")
    assert wrong.status_code == 401 and "账号或密码不正确" in wrong.text
    assert console_login(client, "gone").status_code == 401  # disabled
    ok = console_login(client, "clerk")
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.headers["set-cookie"]
    assert "cxy_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    assert client.get("/").status_code == 200


def test_the_cookie_is_secure_when_served_over_tls(console_app):
    from api.app import create_app
    from matcher.settings import Settings

    app, cli = console_app
    settings = Settings(db=str(cli.db), cookie_secure=True)
    secure = create_app(str(cli.db), service=app.state.service, settings=settings)
    with TestClient(secure, client=("10.1.0.2", 1)) as client:
        assert "Secure" in console_login(client, "clerk").headers["set-cookie"]


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_every_staff_page_renders_in_chinese_for_a_clerk(app, page):
    client = client_for(app, "clerk")
    response = client.get(page)
    assert response.status_code == 200, response.text[:500]
    assert 'lang="zh-CN"' in response.text and "产学研对接工作台" in response.text
    assert "Traceback" not in response.text and "None" not in re.sub(r"<[^>]+>", "", response.text)


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_for_an_admin_and_are_refused_to_a_clerk(app, page):
    assert client_for(app, "boss").get(page).status_code == 200
    refused = client_for(app, "clerk").get(page)
    assert refused.status_code == 403 and "仅限管理员" in refused.text


def test_the_enterprise_search_finds_a_company_by_a_fragment_of_its_name(app):
    page = client_for(app, "clerk").get("/console/enterprises", params={"q": "鑫瑞"}).text
    assert "/console/enterprises/E101" in page and "鑫瑞化工" in page


def test_the_enterprise_page_lists_explained_teams_stored_as_a_run(app, cli):
    before = cli.query("SELECT count(*) FROM recommendation_runs WHERE kind='match_enterprise'")[0][0]
    page = client_for(app, "clerk").get("/console/enterprises/E101").text
    assert "推荐团队" in page and "匹配度" in page and "<mark>" in page and "加分" in page
    assert "联系电话" in page and "0799" in page  # contacts are for bureau roles
    assert cli.query("SELECT count(*) FROM recommendation_runs WHERE kind='match_enterprise'")[0][0] == before + 1


def test_why_not_names_the_reasons_for_a_team_typed_by_name(app):
    page = client_for(app, "clerk").get("/console/enterprises/E101", params={"why": "T102"}).text
    assert "为什么没有" in page


def test_the_follow_up_form_records_an_event_with_its_run_and_shown_rank_and_audits_it(app, cli):
    client = client_for(app, "clerk")
    page = client.get("/console/enterprises/E101").text
    # a team with no history for its need (a pair already signed may not go back to 已联系)
    articles = re.findall(r'<article class="result".*?</article>', page, re.S)
    fresh = next(a for a in articles if "本需求已有记录" not in a)
    form = re.search(r'<form class="followup".*?</form>', fresh, re.S).group(0)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    before = events(cli)
    done = client.post("/console/followup/record", data={**fields, "stage": "contacted"}, follow_redirects=False)
    assert done.status_code == 303
    assert "已登记" in client.get(done.headers["location"]).text
    stage, run_id, rank, source = cli.query("SELECT stage, run_id, shown_rank, source FROM outcome_events "
                                            "ORDER BY id DESC LIMIT 1")[0]
    assert (stage, run_id, rank, source) == ("contacted", fields["run_id"], int(fields["shown_rank"]), "console")
    assert events(cli) == before + 1
    again = client.post("/console/followup/record", data={**fields, "stage": "contacted"}, follow_redirects=True)
    assert "未重复记录" in again.text and events(cli) == before + 1  # a double click records once
    actor, action = cli.query("SELECT actor, action FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    assert (actor, action) == ("clerk", "feedback.record")


def test_a_form_posted_without_the_csrf_token_is_refused_and_writes_nothing(app, cli):
    client = client_for(app, "clerk")
    before = cli.dump()
    for token in (None, "forged"):
        data = {"need_id": "N101", "team_id": "T101", "stage": "contacted", "next": "/"}
        if token:
            data["csrf_token"] = token
        refused = client.post("/console/followup/record", data=data)
        assert refused.status_code == 403 and "没有保存任何内容" in refused.text
    assert cli.dump() == before


def test_a_signed_contract_needs_its_amount_and_the_message_says_so(app, cli):
    client = client_for(app, "clerk")
    token = csrf_of(client.get("/").text)
    before = events(cli)
    response = client.post("/console/followup/record", data={"csrf_token": token, "need_id": "N101", "team_id":
                                                             "T101", "stage": "contract_signed", "next": "/"})
    assert "没有登记" in response.text and events(cli) == before


def test_an_idle_session_expires_and_the_browser_is_sent_to_login(app, cli):
    client = client_for(app, "clerk")
    assert client.get("/").status_code == 200
    long_ago = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=9)).isoformat(sep=" ")
    cli.query("UPDATE user_sessions SET last_seen = ?", long_ago)
    expired = client.get("/console/followup", follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"] == "/login?next=/console/followup"


def test_logout_ends_the_session(app):
    client = client_for(app, "clerk")
    token = csrf_of(client.get("/").text)
    cookie = client.cookies.get("cxy_session")
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.set("cxy_session", cookie)  # the old cookie no longer signs anyone in
    assert client.get("/", follow_redirects=False).status_code == 303


def test_five_failures_within_fifteen_minutes_make_the_next_try_wait(app, cli):
    created = cli.runner.invoke(cli_app, ["--db", str(cli.db), "user", "create", "target", "--role", "bureau",
                                          "--password-stdin"], input="target-pass-1\n")
    assert created.exit_code == 0 and "已新建账号 target" in created.output
    client = client_for(app, address="10.9.9.9")
    for _ in range(5):
        assert console_login(client, "target", "wrong-password").status_code == 401
    blocked = console_login(client, "target", "target-pass-1")  # the right password, but too soon
    assert blocked.status_code == 429 and "分钟后再试" in blocked.text
    other = client_for(app, address="10.9.9.10")  # the account is throttled from any address
    assert console_login(other, "target", "target-pass-1").status_code == 429
    assert console_login(client, "clerk").status_code == 429  # and so is the address, for any account
    assert console_login(client_for(app, address="10.9.9.11"), "clerk").status_code == 303


def test_a_researcher_sees_only_their_own_team_and_never_a_contact(app, cli):
    client = client_for(app, "prof")
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/console/my-team"
    own = client.get("/console/my-team")
    assert own.status_code == 200 and "哪些企业需要我们" in own.text
    hidden = cli.query("SELECT contact_phone FROM enterprises WHERE contacts_public IS NOT TRUE AND contact_phone "
                       "IS NOT NULL")
    for page in (own.text, client.get("/console/firms", params={"text": "陶瓷 烧成 配方"}).text):
        assert not any(phone in page for (phone,) in hidden)
    for private in ("/console/teams/T101", "/console/enterprises/E101", "/console/followup", "/console/users",
                    "/console/achievements/" + cli.query("SELECT id FROM achievements WHERE team_id='T101'")[0][0]):
        response = client.get(private)
        assert response.status_code in (403, 404) and "0799" not in response.text


def test_the_pipeline_exports_to_xlsx_and_csv_with_a_bom_and_chinese_headers(app):
    client = client_for(app, "clerk")
    csv_body = client.get("/console/followup/export.csv", params={"stage": "contract_signed"}).content
    assert csv_body.startswith(b"\xef\xbb\xbf")
    header = csv_body.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("企业名称,技术需求") and "签约金额（万元）" in header
    book = load_workbook(io.BytesIO(client.get("/console/followup/export.xlsx").content))
    assert book.sheetnames == ["跟进台账"] and book.active["A1"].value == "企业名称"


def test_an_admin_manages_accounts_on_the_page_and_each_change_is_audited(app, cli):
    client = client_for(app, "boss")
    token = csrf_of(client.get("/console/users").text)
    made = client.post("/console/users", data={"csrf_token": token, "action": "create", "name": "newclerk",
                                               "role": "bureau", "password": "new-pass-123"})
    assert "已新建账号 newclerk" in made.text
    short = client.post("/console/users", data={"csrf_token": token, "action": "passwd", "name": "newclerk",
                                                "password": "short"})
    assert "密码至少 8 位" in short.text
    assert console_login(client_for(app), "newclerk", "new-pass-123").status_code == 303
    client.post("/console/users", data={"csrf_token": token, "action": "disable", "name": "newclerk"})
    assert console_login(client_for(app), "newclerk", "new-pass-123").status_code == 401
    actions = [a for (a,) in cli.query("SELECT action FROM audit_log WHERE target='newclerk' ORDER BY id")]
    assert actions == ["user.create", "login", "user.disable"]
    assert "新建账号" in client.get("/console/audit").text


def test_a_bad_upload_lists_every_problem_and_writes_nothing(app, cli, tmp_path):
    client = client_for(app, "boss")
    token = csrf_of(client.get("/console/imports").text)
    bad = write_csv(tmp_path / "teams.csv", [["id", "institution_id", "name"], ["T900", "NO-SUCH", "某团队"],
                                             ["T901", "INS003", ""]])
    before = cli.dump()
    with bad.open("rb") as handle:
        response = client.post("/console/imports", data={"csrf_token": token, "kind": "teams"},
                               files={"file": ("teams.csv", handle, "text/csv")})
    assert response.status_code == 422 and "没有写入任何数据" in response.text
    assert response.text.count("<tr>") >= 3  # header + one row per problem
    assert cli.dump() == before


def test_a_bad_month_starts_no_report(app, cli):
    client = client_for(app, "clerk")
    token = csrf_of(client.get("/console/reports").text)
    response = client.post("/console/reports/run", data={"csrf_token": token, "month": "2026-13"})
    assert "月份格式" in response.text
    assert "正在进行" not in response.text and "开始生成" not in response.text


def test_api_docs_are_served_from_installed_assets(app):
    client = client_for(app)
    docs = client.get("/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert scripts and all(s.startswith("/") for s in scripts)
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    redoc = client.get("/redoc").text
    assert "fonts.googleapis" not in redoc and all(s.startswith("/") for s in re.findall(r'src="([^"]+)"', redoc))


def test_data_imported_by_another_process_is_served_without_a_restart(app, cli, tmp_path):
    import time

    client = client_for(app, "clerk")
    client.get("/")  # the service has seen the data as it is now
    assert client.get("/console/enterprises/E102").text.count("N9901") == 0
    needs = write_csv(tmp_path / "needs.csv", [["id", "enterprise_id", "title", "description"],
                                               ["N9901", "E102", "窑炉余热回收利用", "隧道窑烟气余热想回收用于干燥"]])
    cli("import", "needs", needs)
    cli("index", "build")
    time.sleep(2.1)  # the service checks for changes at most every 2 s
    page = client.get("/console/enterprises/E102").text
    assert "N9901" in page and "窑炉余热回收利用" in page


def test_a_good_upload_is_indexed_in_the_background_without_anyone_building_the_index(app, cli, tmp_path):
    import time

    from matcher.indexing import collection_status

    client = client_for(app, "boss")
    token = csrf_of(client.get("/console/imports").text)
    needs = write_csv(tmp_path / "needs.csv", [["id", "enterprise_id", "title", "description"],
                                               ["N9902", "E103", "氧化锆研磨珠的圆度检测",
                                                "想用机器视觉在线检测研磨珠圆度和表面缺陷"]])
    with needs.open("rb") as handle:
        done = client.post("/console/imports", data={"csrf_token": token, "kind": "needs"},
                           files={"file": ("needs.csv", handle, "text/csv")})
    assert done.status_code == 200 and "已导入" in done.text
    audited = cli.query("SELECT actor, actor_kind FROM audit_log WHERE action='import' AND target='needs.csv' "
                        "AND actor_kind='user'")
    assert audited == [("boss", "user")]  # once, under the admin who uploaded it
    deadline = time.time() + 120
    while "索引已更新" not in (page := client.get("/console/imports").text):
        assert time.time() < deadline and "失败" not in page, page[-2000:]
        time.sleep(0.5)
    with client_for(app, "clerk") as clerk:
        shown = clerk.get("/console/enterprises/E103").text
    assert "氧化锆研磨珠的圆度检测" in shown and "推荐团队" in shown
    from matcher.settings import database_url
    from matcher.store.db import open_database, session_factory

    with session_factory(open_database(database_url(str(cli.db))))() as session:
        assert collection_status(session, app.state.service.index_folder, "needs")["new_or_changed"] == 0


def test_the_import_page_lists_probable_duplicates_and_merges_one_with_an_audit_entry(app, cli):
    client = client_for(app, "boss")
    page = client.get("/console/imports").text
    assert "疑似重复的记录" in page and "E301" in page
    token = csrf_of(page)
    merged = client.post("/console/merge", data={"csrf_token": token, "kind": "enterprises", "keep": "E101",
                                                 "drop": "E301"})
    assert "已把 E301 合并到 E101" in merged.text
    assert cli.query("SELECT count(*) FROM enterprises WHERE id='E301'") == [(0,)]
    assert cli.query("SELECT count(*) FROM needs WHERE enterprise_id='E301'") == [(0,)]
    last = cli.query("SELECT actor, action FROM audit_log WHERE action='merge' ORDER BY id DESC LIMIT 1")
    assert last == [("boss", "merge")]


def test_a_recorded_follow_up_shows_on_the_next_list_at_once(app, cli):
    client = client_for(app, "clerk")
    page = client.get("/console/enterprises/E102").text
    articles = re.findall(r'<article class="result".*?</article>', page, re.S)
    fresh = next(a for a in articles if "本需求已有记录" not in a)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', re.search(r'<form class="followup".*?</form>',
                                                                          fresh, re.S).group(0)))
    posted = client.post("/console/followup/record", data={**fields, "stage": "negotiating"})
    assert "已登记" in posted.text
    again = client.get("/console/enterprises/E102").text
    # The team may be proposed for both of E102's needs: find it under the need the follow-up was for.
    team_block = next(a for a in re.findall(r'<article class="result".*?</article>', again, re.S)
                      if f'/console/teams/{fields["team_id"]}"' in a
                      and f'name="need_id" value="{fields["need_id"]}"' in a)
    assert "本需求已有记录" in team_block and "洽谈中" in team_block
