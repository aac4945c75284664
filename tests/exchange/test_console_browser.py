"""The console in a real browser: headless Chromium from Debian's packages (`chromium`, `chromium-driver`, installed by
`make system-deps`) driven by Selenium, against `steward-exchange serve` and real `steward` clients.

The flows an administrator follows (log in, add a department, approve a client's enrollment, revoke a key and see
the client refused, verify the log) and a reviewer's (pass a sharing request a client sent), the security rules
(no session, no CSRF token, a reviewer, wrong passwords, script in names, cookie flags), and the screenshots
README shows (docs/screenshots/console-*.png).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import (
    NoAlertPresentException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import text

from exchange import accounts, ledger, server_key, sharing
from exchange.local import LocalExchange
from steward import sample
from steward.sync import changeset
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import SigningKey
from steward.sync.protocol import utc_now
from steward.sync.requests import documents, inbox
from steward.sync.requests.documents import Application
from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry, SetField
from steward.workspace.workspace import Workspace
from tests.helpers import ROOT, make_clean_entry, require
from tests.sync.conftest import running_exchange, steward_maker
from tests.sync.test_sync_cli import steward_cli

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "docs" / "screenshots"
ADMIN, REVIEWER, PASSWORD = "王五", "赵六", "correct horse battery"
JOINING = sample.DEPARTMENTS[0]  # the department whose steward joins with a profile
NEW_CODE, NEW_NAME = sample.DEPARTMENTS[5].code, sample.DEPARTMENTS[5].name  # added in the console
SCRIPT = "<script>alert(1)</script>"
WAIT_S = 20.0  # how long a page may take to show what the test waits for (a deadline, not a measurement)
DOWNLOADS: dict[str, Path] = {}  # where each browser session saves downloads (set through the DevTools protocol)


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[tuple[LocalExchange, object]]:
    """A real exchange (SQLite) with an administrator and a reviewer."""
    with running_exchange("sqlite", tmp_path_factory.mktemp("console")) as (local, engine):
        accounts.add(engine, ADMIN, accounts.Role.ADMIN, PASSWORD)
        accounts.add(engine, REVIEWER, accounts.Role.REVIEWER, PASSWORD)
        yield local, engine


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    require(CHROMIUM.exists() and DRIVER.exists(), "chromium and chromium-driver are not installed (make system-deps)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,768", "--lang=zh-CN", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_window_size(1366, 768)
    downloads = tmp_path_factory.mktemp("downloads")
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    DOWNLOADS[driver.session_id] = downloads
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def fresh(browser, console) -> WebDriver:
    """The browser with no session (nor language choice) left by another test."""
    browser.get(f"{console[0].url}/console/login")
    browser.delete_all_cookies()
    return browser


def wait_for(driver: WebDriver, css: str, contains: str = "") -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            found = [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]
        except StaleElementReferenceException:  # the page changed while it was read: read the new one
            continue
        except WebDriverException as error:  # the same race as Chromium 156 sometimes words it
            if "does not belong to the document" not in str(error):
                raise
            continue
        if any(contains in t for t in found):
            return next(t for t in found if contains in t)
        time.sleep(0.1)
    raise AssertionError(f"no {css} holding {contains!r} on {driver.current_url}: {driver.page_source[:3000]}")


def log_in(driver: WebDriver, url: str, account: str = ADMIN, password: str = PASSWORD) -> None:
    driver.get(f"{url}/console/login")
    driver.find_element(By.NAME, "account").send_keys(account)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def session_cookie(driver: WebDriver) -> dict:
    return next(c for c in driver.get_cookies() if c["name"] == "steward_console")


def shoot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / name))


def _downloaded(folder: Path, name: str) -> Path:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if (folder / name).exists():
            return folder / name
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded to {folder}")


# Flows ----------------------------------------------------------------------------------------


def test_log_in_and_add_a_department_with_its_code_checked(fresh, console):
    local, engine = console
    log_in(fresh, local.url)
    wait_for(fresh, "h1", "总览")
    cookie = session_cookie(fresh)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"], cookie["path"]) == (True, "Strict", False,
                                                                                           "/console")
    fresh.find_element(By.LINK_TEXT, "部门").click()
    form = fresh.find_element(By.ID, "add-department")
    form.find_element(By.NAME, "code").send_keys(NEW_CODE[:-1] + ("0" if NEW_CODE[-1] != "0" else "1"))
    form.find_element(By.NAME, "name").send_keys(NEW_NAME)
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(fresh, ".problem", "不是有效的统一社会信用代码")
    form = fresh.find_element(By.ID, "add-department")
    code = form.find_element(By.NAME, "code")
    code.clear()
    code.send_keys(NEW_CODE)
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(fresh, "h1", NEW_NAME)
    assert {"code": NEW_CODE, "name": NEW_NAME} in ledger.departments(engine)
    fresh.find_element(By.LINK_TEXT, "English").click()
    wait_for(fresh, "header nav", "Overview")
    wait_for(fresh, "h2", "Stewards' keys")


def test_approve_a_real_clients_enrollment_then_revoke_its_key_and_its_next_push_is_refused(fresh, console, tmp_path):
    local, engine = console
    log_in(fresh, local.url)
    wait_for(fresh, "h1", "总览")
    fresh.get(f"{local.url}/console/departments/{JOINING.code}")
    downloads = DOWNLOADS[fresh.session_id]
    fresh.find_element(By.LINK_TEXT, "下载接入配置文件").click()
    profile = _downloaded(downloads, f"{JOINING.code}.steward-profile")
    shutil.copy(profile, tmp_path / profile.name)

    folder = tmp_path / "ws"
    joined = steward_cli("join", folder, tmp_path / profile.name, "--steward", "李四")
    assert joined.returncode == 0, joined.stderr
    with Workspace.open(folder) as ws:
        key_id = ws.facts()["key_id"]
    fresh.refresh()
    row = wait_for(fresh, f"tr[data-key='{key_id}']", "待批准")
    assert "李四" in row
    fresh.execute_script("document.querySelector(`tr[data-key='${arguments[0]}']`).scrollIntoView()", key_id)
    shoot(fresh, "console-onboarding.png")
    fresh.find_element(By.CSS_SELECTOR, f"form[action='/console/keys/{key_id}/approve'] button").click()
    wait_for(fresh, ".notice", f"已批准密钥 {key_id}")
    wait_for(fresh, f"tr[data-key='{key_id}']", "有效")
    assert ledger.lookup_key(engine, key_id).department == JOINING.code

    assert steward_cli("sample", folder, "--entries", "40").returncode == 0
    synced = steward_cli("sync", folder)
    assert synced.returncode in (0, 1), synced.stderr  # 1: some sample entries break rules on purpose
    fresh.get(f"{local.url}/console/overview")
    wait_for(fresh, "tbody", JOINING.name)
    shoot(fresh, "console-overview.png")

    fresh.get(f"{local.url}/console/departments/{JOINING.code}")
    revoke = fresh.find_element(By.CSS_SELECTOR, f"form[action='/console/keys/{key_id}/revoke']")
    revoke.find_element(By.NAME, "reason").send_keys("笔记本电脑遗失")
    revoke.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(fresh, f"tr[data-key='{key_id}']", "已吊销")
    shoot(fresh, "console-department.png")
    assert ledger.lookup_key(engine, key_id).revoked_at is not None

    with Workspace.open(folder, for_writing=True) as ws:
        entry = query.search_entries(ws, "", query.EntryFilter(), limit=1).rows[0]
        journal.apply(ws, [SetField(entry.id, "name", entry.name + "（修订）")])
    refused = steward_cli("sync", folder)
    assert refused.returncode == 2
    assert "key_revoked" in refused.stderr
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action, account, details FROM admin_records ORDER BY position")).all()
    assert [(a, who) for a, who, _ in actions if a in ("key.approve", "key.revoke")] == [
        ("key.approve", ADMIN), ("key.revoke", ADMIN)]
    assert "笔记本电脑遗失" in actions[-1][2]


def test_verify_now_runs_the_log_check_and_records_who_ran_it(fresh, console):
    local, _engine = console
    log_in(fresh, local.url)
    wait_for(fresh, "h1", "总览")
    fresh.find_element(By.LINK_TEXT, "日志").click()
    fresh.find_element(By.ID, "verify").click()
    verified = wait_for(fresh, "#verification", ADMIN)
    assert "完整" in verified
    wait_for(fresh, "table", "校验处理记录")
    fresh.get(f"{local.url}/console/overview")
    wait_for(fresh, ".ok", "完整")


def test_a_reviewer_passes_a_real_clients_sharing_request(fresh, console, tmp_path, memory_keyring):
    local, engine = console
    provider_department, using_department = sample.DEPARTMENTS[1], sample.DEPARTMENTS[2]
    with steward_maker(console, tmp_path) as make:
        provider, using = make(provider_department), make(using_department)
        entry = make_clean_entry(name="企业登记基本信息", provider=provider_department.name,
                                 provider_code=provider_department.code, sharing_type="conditional",
                                 sharing_conditions="经审批后共享", open_type="not_open")
        journal.apply(provider.ws, [CreateEntry(entry)])
        provider.sync()
        using.sync()
        signer = inbox.steward_of(using.ws, using.key)
        request_id = inbox.new_request(using.ws, signer, entry.code, purpose="核验网约车驾驶员的企业登记信息",
                                       scenario="网约车驾驶员背景核查", until="2099-12-31").request_id
        using.sync()  # sent: the exchange holds it, waiting for the compliance review
        # And one sent three weeks ago (stamped then by the exchange's clock, as the demo does): overdue.
        late = documents.open_request(Application(
            entry_id=entry.id, entry_code=entry.code, provider=provider_department.code, purpose="核查企业登记状态",
            scenario="行政许可审批", items=(entry.items[0].id,), until="2099-12-31", author="李四"),
            using.key, using_department.code)
        sharing.record(engine, server_key.load(local.key_file), late,
                       clock=lambda: datetime.now(UTC) - timedelta(days=21))

    log_in(fresh, local.url, REVIEWER)
    wait_for(fresh, "header", f"{REVIEWER}（审核员）")
    fresh.find_element(By.LINK_TEXT, "审核").click()
    row = wait_for(fresh, f"tr[data-request='{request_id}']", "待审查")
    for shown in (using_department.name, provider_department.name, entry.code, "核验网约车驾驶员的企业登记信息",
                  "个工作日"):
        assert shown in row, shown
    assert "已逾期" in wait_for(fresh, f"tr.late[data-request='{late.request_id}']")
    shoot(fresh, "console-reviews.png")
    fresh.find_element(By.CSS_SELECTOR, f"a[href='/console/reviews/{request_id}']").click()
    wait_for(fresh, "table.trail", "共享申请")
    fresh.execute_script("document.querySelector('h2').scrollIntoView()")
    shoot(fresh, "console-review.png")
    fresh.find_element(By.CSS_SELECTOR, "form#pass button").click()
    wait_for(fresh, ".notice", "已通过符合性审查")
    wait_for(fresh, "#request-status", "待提供部门答复")
    wait_for(fresh, "table.trail", f"审查人 {REVIEWER}")
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM sharing_requests WHERE request_id = :r"),
                              {"r": request_id}).scalar_one()
    assert status == "awaiting_decision"
    fresh.find_element(By.LINK_TEXT, "审核").click()
    wait_for(fresh, "h1", "审核")
    assert fresh.find_elements(By.CSS_SELECTOR, f"tr[data-request='{request_id}']") == []


# Security -------------------------------------------------------------------------------------


def test_every_console_page_without_a_session_leads_to_the_login(fresh, console):
    local, engine = console
    with engine.connect() as conn:
        some_entry = conn.execute(text("SELECT id FROM entries LIMIT 1")).scalar() or "0" * 8 + "-0000-0000-0000-" + \
            "0" * 12
    pages = ["/console", "/console/overview", "/console/departments", f"/console/departments/{JOINING.code}",
             f"/console/departments/{JOINING.code}/profile", "/console/catalogue?q=企业",
             f"/console/entries/{some_entry}", "/console/log", "/console/reviews",
             "/console/reviews/00000000-0000-4000-8000-000000000000"]
    for page in pages:
        fresh.get(f"{local.url}{page}")
        assert fresh.current_url.startswith(f"{local.url}/console/login"), page
        wait_for(fresh, "h1", "登录")
    for action in ("/console/departments", f"/console/departments/{JOINING.code}/enroll", "/console/keys/x/approve",
                   "/console/keys/x/revoke", "/console/log/verify", "/console/logout",
                   "/console/reviews/00000000-0000-4000-8000-000000000000"):
        answer = requests.post(f"{local.url}{action}", data={"csrf": "x"}, allow_redirects=False, timeout=30)
        assert (answer.status_code, answer.headers["location"].startswith("/console/login")) == (303, True), action
    log_in(fresh, local.url)  # after logging in, the page asked for first
    wait_for(fresh, "h1", "总览")


def test_a_form_without_its_csrf_token_is_refused(fresh, console):
    local, engine = console
    log_in(fresh, local.url)
    wait_for(fresh, "h1", "总览")
    fresh.get(f"{local.url}/console/departments")
    fresh.execute_script("document.querySelector('#add-department input[name=csrf]').remove()")
    form = fresh.find_element(By.ID, "add-department")
    form.find_element(By.NAME, "code").send_keys(sample.DEPARTMENTS[6].code)
    form.find_element(By.NAME, "name").send_keys(sample.DEPARTMENTS[6].name)
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(fresh, ".problem", "表单已失效")
    cookie = {"steward_console": session_cookie(fresh)["value"]}
    answer = requests.post(f"{local.url}/console/departments", cookies=cookie, allow_redirects=False, timeout=30,
                           data={"code": sample.DEPARTMENTS[6].code, "name": "x", "csrf": "not the token"})
    assert answer.status_code == 403
    assert sample.DEPARTMENTS[6].code not in {d["code"] for d in ledger.departments(engine)}


def test_a_reviewer_cannot_add_departments(fresh, console):
    local, engine = console
    log_in(fresh, local.url, REVIEWER)
    wait_for(fresh, "header", f"{REVIEWER}（审核员）")
    fresh.get(f"{local.url}/console/departments")
    assert fresh.find_elements(By.ID, "add-department") == []
    # The form as an administrator's page has it, with the reviewer's own CSRF token: refused all the same.
    fresh.execute_script("""
        const form = document.createElement('form'); form.method = 'post'; form.action = '/console/departments';
        for (const [name, value] of [['csrf', document.querySelector('input[name=csrf]').value],
                                     ['code', arguments[0]], ['name', arguments[1]]]) {
            const input = document.createElement('input'); input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();""", sample.DEPARTMENTS[7].code, sample.DEPARTMENTS[7].name)
    wait_for(fresh, ".problem", "只有管理员可以执行此操作")
    assert sample.DEPARTMENTS[7].code not in {d["code"] for d in ledger.departments(engine)}


def test_ten_wrong_passwords_lock_the_account(fresh, console):
    local, engine = console
    accounts.add(engine, "locked-test", accounts.Role.ADMIN, PASSWORD)
    for attempt in range(accounts.ACCOUNT_FAILURES):
        log_in(fresh, local.url, "locked-test", f"wrong {attempt}")
        wait_for(fresh, ".problem", "不正确")
    log_in(fresh, local.url, "locked-test", PASSWORD)
    wait_for(fresh, ".problem", "账户已锁定")
    assert [c for c in fresh.get_cookies() if c["name"] == "steward_console"] == []


def test_names_holding_script_are_shown_as_text(fresh, console):
    local, engine = console
    department = sample.DEPARTMENTS[2]
    key = SigningKey.generate()
    ledger.enroll(engine, department.code, key.public, SCRIPT)
    client = ExchangeClient(Connection(local.url, retries=0), key)
    entry = make_clean_entry(name=SCRIPT, provider=department.name, provider_code=department.code)
    client.push(changeset.new_changeset(department.code, key, 1, utc_now(), SCRIPT, [changeset.op_create(entry)]))
    client.close()
    log_in(fresh, local.url)
    wait_for(fresh, "h1", "总览")
    fresh.get(f"{local.url}/console/catalogue?q=%3Cscript")
    wait_for(fresh, "tbody", SCRIPT)
    fresh.find_element(By.LINK_TEXT, SCRIPT).click()
    wait_for(fresh, "h1", SCRIPT)
    wait_for(fresh, "table", SCRIPT)  # the history names the steward (and author) as they are
    fresh.get(f"{local.url}/console/departments/{department.code}")
    wait_for(fresh, "tbody", SCRIPT)
    with pytest.raises(NoAlertPresentException):
        fresh.switch_to.alert.text  # noqa: B018
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fresh.page_source
    assert re.search(r"<script>alert\(1\)", fresh.page_source) is None
