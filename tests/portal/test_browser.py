"""The portal in a real browser: Debian's Chromium, driven by Playwright, against uvicorn on
127.0.0.1, as township, county and city staff would use it.

`make test` installs Chromium (apt) and Playwright (PyPI; its own browser download is not used).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from pipeline.cases.store import CaseStore
from pipeline.config import RunConfig
from pipeline.settings import Settings, today_shanghai
from portal.accounts import Accounts, check_codes
from portal.app import create_app
from portal.data import listed_cases
from portal.settings import PortalSettings
from tests.portal.conftest import ACCOUNTS, NIGHTS, PASSWORD
from tests.returned import filled

pytestmark = pytest.mark.slow
WUDE, WENQUAN, NIGHT = "410825105", "410825001", NIGHTS[-1].isoformat()
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    published: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    out, state0 = published
    state = tmp_path_factory.mktemp("browser") / "state"
    shutil.copytree(state0, state, ignore=shutil.ignore_patterns("*.lock", "portal"))
    pipeline = Settings.build(out=out, state=state)
    settings = PortalSettings.load(pipeline, users_file=state / "portal" / "users.yaml")
    townships = RunConfig.load(pipeline).townships
    accounts = Accounts(settings.users_file)
    for name, (role, codes) in ACCOUNTS.items():
        accounts.add(name, role, check_codes(role, codes, townships), PASSWORD, name)
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "state": state, "out": out}
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make test` installs Debian's chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(browser: Any, url: str, name: str, password: str = PASSWORD) -> Any:
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def fill(book: Path, answers: dict[str, str], to: Path) -> Path:
    filled(book, answers, today_shanghai(), note="入户核实,家庭收入超过标准").save(to)
    return to


def test_a_township_downloads_fills_in_uploads_and_sees_its_cases_change(
    server: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    url = server["url"]
    page = sign_in(browser, url, "wude")
    assert page.url == f"{url}/t/{WUDE}"
    assert "武德镇 预警名单" in page.inner_text("h1")
    row = page.locator("#open-cases tr[data-warning]").first
    wid = row.get_attribute("data-warning")
    assert row.locator("td.status").inner_text() == "已下发"

    with page.expect_download() as d:
        page.locator(f"a[href='/t/{WUDE}/book/{NIGHT}']").click()
    book = tmp_path / d.value.suggested_filename
    d.value.save_as(book)
    assert book.name == f"{WUDE}_武德镇.xlsx"
    filled = fill(book, {wid: "不符合"}, tmp_path / book.name)

    page.set_input_files("input[name=file]", str(filled))
    page.click("text=上传并导入")
    assert "导入结果" in page.inner_text("h1")
    assert "导入 1 行" in page.inner_text("#import-summary")
    assert wid in page.inner_text("#accepted-rows")

    page.goto(f"{url}/t/{WUDE}")
    assert page.locator(f"#open-cases tr[data-warning='{wid}']").count() == 0
    answered = page.locator(f"#answered-cases tr[data-warning='{wid}']")
    assert answered.locator("td.status").inner_text() in ("已反馈", "办结")
    page.goto(f"{url}/cases/{wid}")
    assert "不符合" in page.inner_text("main") and "王五" in page.inner_text("main")

    # Refused: another township's workbook by URL, its case by a guessed id, the analyst pages.
    store = CaseStore.for_state(server["state"])
    other_case = listed_cases(store, WENQUAN)[0]["warning_id"]
    store.dispose()
    for target, status in (
        (f"/t/{WENQUAN}/book/{NIGHT}", 403),
        (f"/t/{WENQUAN}", 403),
        (f"/cases/{other_case}", 404),
        ("/city", 403),
        ("/audit", 403),
        (f"/city/runs/{NIGHT}/summary.html", 403),
    ):
        response = page.goto(f"{url}{target}")
        assert response.status == status, target
        assert "无权" in page.inner_text("main"), target

    # A text file renamed .xlsx is refused by its content.
    page.goto(f"{url}/t/{WUDE}")
    fake = tmp_path / f"{WUDE}_武德镇(回填).xlsx"
    fake.write_text("预警编号,核查结果\nR01-P1,符合\n", encoding="utf-8")
    page.set_input_files("input[name=file]", str(fake))
    page.click("text=上传并导入")
    assert "不是 Excel 工作簿" in page.inner_text("main")

    # A form posted without the CSRF token (the session cookie is sent, the token is not).
    refused = page.context.request.post(f"{url}/logout", form={"x": "1"})
    assert refused.status == 403
    page.goto(f"{url}/t/{WUDE}")
    assert page.url == f"{url}/t/{WUDE}"  # still signed in: the forged logout did nothing
    page.click("header button[type=submit]")  # the real logout form
    assert page.url.startswith(f"{url}/login")
    page.context.close()


def test_a_county_user_sees_only_its_county(server: dict[str, Any], browser: Any) -> None:
    url = server["url"]
    page = sign_in(browser, url, "wenxian")
    assert page.url == f"{url}/county/410825"
    places = page.locator("#places tr[data-code]")
    codes = [places.nth(i).get_attribute("data-code") for i in range(places.count())]
    assert codes and all(c.startswith("410825") for c in codes) and "410825000" in codes
    page.goto(f"{url}/t/{WUDE}")
    assert "武德镇" in page.inner_text("h1")
    assert page.goto(f"{url}/county/410822").status == 403
    assert page.goto(f"{url}/t/410822001").status == 403
    assert page.goto(f"{url}/city").status == 403
    page.context.close()


def test_the_sixth_wrong_password_locks_the_account(server: dict[str, Any], browser: Any) -> None:
    url = server["url"]
    for i in range(6):
        page = sign_in(browser, url, "boai", f"wrong-password-{i}")
        message = page.inner_text("[role=alert]")
        assert ("锁定" in message) == (i == 5), (i, message)
        page.context.close()
    page = sign_in(browser, url, "boai")  # the right password, too late
    assert page.url.startswith(f"{url}/login") and "锁定" in page.inner_text("[role=alert]")
    page.context.close()
    page = sign_in(browser, url, "analyst")
    page.goto(f"{url}/audit?user_name=boai")
    assert page.inner_text("#audit").count("登录失败") == 6 and "账户锁定" in page.inner_text("#audit")
    page.context.close()
