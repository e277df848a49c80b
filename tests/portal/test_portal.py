"""The portal's promises, request by request: logins, sessions, CSRF, lockout, uploads, audit."""

from __future__ import annotations

import dataclasses
import io
import logging
import re
from pathlib import Path

import openpyxl
import pytest

from pipeline.cases.store import CaseStore
from pipeline.settings import today_shanghai
from portal import access
from portal.accounts import Accounts
from portal.data import books_of
from tests.portal.conftest import PASSWORD, Portal, csrf_of, login
from tests.returned import filled

pytestmark = pytest.mark.slow
WUDE, WENQUAN = "410825105", "410825001"


def fill(book: Path, answers: dict[str, str]) -> bytes:
    """The township's workbook with ``answers`` (warning id -> 核查结果) filled in, as saved."""
    buf = io.BytesIO()
    filled(book, answers, today_shanghai()).save(buf)
    return buf.getvalue()


def listed_ids(book: Path) -> list[str]:
    ws = openpyxl.load_workbook(book, read_only=True)["预警名单"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    col = list(rows[0]).index("预警编号")
    return [str(r[col]) for r in rows[1:] if r[col]]


def store_of(p: Portal) -> CaseStore:
    return CaseStore.for_state(p.state)


def test_a_sixth_wrong_password_locks_the_account_until_unlocked(portal: Portal) -> None:
    client = portal.client()
    token = csrf_of(client.get("/login").text)
    statuses = [
        client.post("/login", data={"username": "wude", "password": f"wrong{i}", "csrf": token}).status_code
        for i in range(6)
    ]
    assert statuses == [401] * 5 + [423]
    r = client.post("/login", data={"username": "wude", "password": PASSWORD, "csrf": token})
    assert r.status_code == 423 and "锁定" in r.text  # the right password no longer opens it
    login(portal.client(), "wenquan")  # another account is not affected
    store = store_of(portal)
    events = access.trail(store, user="wude")["event"].tolist()
    assert events.count(access.LOGIN_FAILED) == 6 and access.LOCKED in events
    access.record(store, access.UNLOCK, "wude")  # what `active-discovery user unlock wude` writes
    login(portal.client(), "wude")


def test_forms_without_the_csrf_token_are_refused(portal: Portal) -> None:
    client = portal.client()
    r = client.post("/login", data={"username": "wude", "password": PASSWORD})
    assert r.status_code == 403 and "安全令牌" in r.text
    login(client, "wude")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    other = login(portal.client(), "wenquan")  # a token of another session does not pass either
    stolen = csrf_of(other.get(f"/t/{WENQUAN}").text)
    r = client.post(f"/t/{WUDE}/upload", data={"csrf": stolen}, files={"file": ("a.xlsx", b"PK", "x")})
    assert r.status_code == 403
    assert client.get(f"/t/{WUDE}").status_code == 200  # still signed in


def test_session_cookie_is_signed_httponly_samesite_and_secure_over_https(portal: Portal) -> None:
    plain = portal.client()
    cookie = plain.get("/login").headers["set-cookie"]
    assert (
        "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    )
    https = portal.client()
    https.base_url = https.base_url.copy_with(scheme="https")
    cookie = https.get("/login").headers["set-cookie"]
    assert "; secure" in cookie.lower()
    forged = portal.client()
    forged.cookies.set("ad_portal", cookie.split(";")[0].split("=", 1)[1][:-4] + "AAAA")
    assert forged.get(f"/t/{WUDE}", follow_redirects=False).status_code == 303  # to the login page


def test_a_session_ends_after_the_timeout_a_password_change_or_disabling(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal.app as app_module

    client = login(portal.client(), "wude")
    assert client.get(f"/t/{WUDE}").status_code == 200
    clock = app_module.time.time() + portal.settings.session_minutes * 60 + 5
    monkeypatch.setattr(app_module.time, "time", lambda: clock)
    r = client.get(f"/t/{WUDE}", follow_redirects=False)
    assert r.status_code == 303 and "expired=1" in r.headers["location"]
    monkeypatch.undo()

    accounts = Accounts(portal.settings.users_file)
    client = login(portal.client(), "wude")
    accounts.passwd("wude", "another-password-1")
    assert client.get(f"/t/{WUDE}", follow_redirects=False).status_code == 303
    client = login(portal.client(), "wude", "another-password-1")
    accounts.set_disabled("wude", True)
    assert client.get(f"/t/{WUDE}", follow_redirects=False).status_code == 303
    fresh = portal.client()
    token = csrf_of(fresh.get("/login").text)
    r = fresh.post("/login", data={"username": "wude", "password": "another-password-1", "csrf": token})
    assert r.status_code == 401


def test_an_upload_is_imported_at_once_and_its_rows_shown(portal: Portal) -> None:
    client = login(portal.client(), "wude")
    book = books_of(portal.out, WUDE)[0].path
    ids = listed_ids(book)
    assert ids, "the sample's 武德镇 list is empty"
    answers = {ids[0]: "不符合"} | ({ids[1]: "大概符合吧"} if len(ids) > 1 else {})
    token = csrf_of(client.get(f"/t/{WUDE}").text)
    r = client.post(
        f"/t/{WUDE}/upload",
        data={"csrf": token},
        files={"file": ("武德镇 回填.xlsx", fill(book, answers), "application/octet-stream")},
    )
    assert r.status_code == 200 and "导入结果" in r.text
    assert re.search(r"导入\s*<b>1</b>\s*行", r.text), r.text[-2000:]
    if len(ids) > 1:
        assert "大概符合吧" in r.text and "未导入的行" in r.text
    page = client.get(f"/t/{WUDE}").text
    answered = page.split('id="answered-cases"')[1]
    assert ids[0] in answered and ("已反馈" in answered or "办结" in answered)
    assert ids[0] not in page.split('id="answered-cases"')[0]  # no longer among the open cases
    # Stored under a generated name; the name sent is kept for people (audit, history).
    stored = list(portal.settings.uploads.iterdir())
    assert len(stored) == 1 and re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{16}\.xlsx", stored[0].name)
    trail = access.trail(store_of(portal), user="wude")
    assert {access.LOGIN, access.UPLOAD, access.IMPORT} <= set(trail["event"])
    assert "武德镇_回填.xlsx" in set(trail["by_file"])
    # The same file again: recognised, nothing changes.
    token = csrf_of(client.get(f"/t/{WUDE}").text)
    r = client.post(
        f"/t/{WUDE}/upload",
        data={"csrf": token},
        files={"file": ("again.xlsx", stored[0].read_bytes(), "application/octet-stream")},
    )
    assert r.status_code == 200 and "已导入过" in r.text


def test_uploads_are_checked_by_content_size_and_township(portal: Portal) -> None:
    client = login(portal.client(), "wude")
    token = csrf_of(client.get(f"/t/{WUDE}").text)

    def send(name: str, content: bytes, code: str = WUDE) -> tuple[int, str]:
        r = client.post(f"/t/{code}/upload", data={"csrf": token}, files={"file": (name, content, "x")})
        return r.status_code, r.text

    status, text = send("名单.xlsx", "姓名,身份证号\n张三,1\n".encode())  # a CSV renamed
    assert status == 415 and "不是 Excel 工作簿" in text
    zipped = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("word/document.xml", "<w/>")  # a zip, but a Word file
    assert send("名单.xlsx", zipped.getvalue())[0] == 415
    other = fill(books_of(portal.out, WENQUAN)[0].path, {})
    status, text = send(f"{WENQUAN}_温泉街道.xlsx", other)  # a real workbook of another township
    assert status == 422 and "不属于您负责的乡镇" in text
    assert send("x.xlsx", b"x", WENQUAN)[0] == 403  # nor on the other township's page
    small = dataclasses.replace(portal.settings, max_upload_bytes=1024 * 1024)
    portal.settings = small
    client = login(portal.client(), "wude")
    token = csrf_of(client.get(f"/t/{WUDE}").text)
    r = client.post(
        f"/t/{WUDE}/upload", data={"csrf": token}, files={"file": ("big.xlsx", b"0" * (2 * 1024 * 1024), "x")}
    )
    assert r.status_code == 413 and "上限" in r.text
    assert not any(portal.settings.uploads.iterdir()) or all(
        p.stat().st_size < 1024 * 1024 for p in portal.settings.uploads.iterdir()
    )


def test_a_county_sees_its_townships_masked_and_a_township_sees_full_ids(portal: Portal) -> None:
    county = login(portal.client(), "wenxian")
    page = county.get("/county/410825").text
    assert "武德镇" in page and "温泉街道" in page and "温县未确定乡镇" in page
    assert "博爱" not in page.split("<main>")[1]
    town = county.get(f"/t/{WUDE}").text
    ids = re.findall(r"\b\d{6}[\d*]{8}\d{3}[\dX]\b", town)
    assert ids and all("*" in i for i in ids)
    own = login(portal.client(), "wude").get(f"/t/{WUDE}").text
    full = re.findall(r"\b\d{17}[\dX]\b", own)
    assert full, "a township sees the whole ID number of the people it visits"
    assert county.get("/county/410822").status_code == 403


def test_logins_downloads_and_refusals_are_audited_and_exported_without_secrets(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = login(portal.client(), "wude")
    assert client.get(f"/t/{WUDE}/book/2026-11-29").status_code == 200
    assert client.get(f"/t/{WENQUAN}").status_code == 403
    stranger = portal.client()
    token = csrf_of(stranger.get("/login").text)
    r = stranger.post("/login", data={"username": "nobody", "password": "a-secret-typed", "csrf": token})
    assert r.status_code == 401
    analyst = login(portal.client(), "analyst")
    page = analyst.get("/audit").text
    assert "下载" in page and "拒绝访问" in page and "登录失败" in page and access.UNKNOWN_USER in page
    r = analyst.get("/audit.xlsx")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["访问记录"]
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    assert rows[0][:3] == ["时间", "事件", "用户"]
    events = {row[1] for row in rows[1:]}
    assert {"登录", "下载", "拒绝访问", "登录失败"} <= events
    everything = (
        " ".join(str(c) for row in rows for c in row)
        + caplog.text
        + portal.settings.users_file.read_text(encoding="utf-8")
    )
    for secret in (PASSWORD, "a-secret-typed", "nobody"):
        assert secret not in everything
    assert "$argon2id$" in portal.settings.users_file.read_text(encoding="utf-8")


def test_a_county_routes_its_unplaced_list_and_the_township_then_sees_the_case(portal: Portal) -> None:
    unplaced = "410825000"  # 温县未确定乡镇
    county = login(portal.client(), "wenxian")
    book = books_of(portal.out, unplaced)[0].path
    wb = openpyxl.load_workbook(book)
    ws = wb["预警名单"]
    head = {c.value: c.column for c in ws[3] if c.value}
    wid = ws.cell(4, head["预警编号"]).value
    ws.cell(4, head["应属乡镇"]).value = "武德镇"
    buf = io.BytesIO()
    wb.save(buf)
    assert wid not in login(portal.client(), "wude").get(f"/t/{WUDE}").text
    # A township cannot send the county's list, on its own page or on the county's.
    town = login(portal.client(), "wude")
    token = csrf_of(town.get(f"/t/{WUDE}").text)
    sent = {"file": ("x.xlsx", buf.getvalue(), "x")}
    assert town.post(f"/t/{WUDE}/upload", data={"csrf": token}, files=sent).status_code == 422
    assert town.post(f"/t/{unplaced}/upload", data={"csrf": token}, files=sent).status_code == 403
    token = csrf_of(county.get(f"/t/{unplaced}").text)
    r = county.post(f"/t/{unplaced}/upload", data={"csrf": token}, files=sent, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/t/{unplaced}/imports/")
    assert wid in login(portal.client(), "wude").get(f"/t/{WUDE}").text  # routed: now 武德镇's
    assert wid not in login(portal.client(), "wenquan").get(f"/t/{WENQUAN}").text
    assert login(portal.client(), "wude").get(f"/cases/{wid}").status_code == 200


def test_the_frameworks_own_refusals_are_chinese_pages(portal: Portal) -> None:
    client = login(portal.client(), "wude")
    r = client.get("/logout")  # a form's address opened as a page
    assert r.status_code == 405 and "text/html" in r.headers["content-type"] and "请从页面上的链接" in r.text
    token = csrf_of(client.get(f"/t/{WUDE}").text)
    r = client.post(f"/t/{WUDE}/upload", data={"csrf": token})  # no file chosen
    assert r.status_code == 400 and "没有选择文件" in r.text
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "找不到该页面" in r.text and "detail" not in r.text
