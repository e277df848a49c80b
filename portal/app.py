"""The portal's web application: FastAPI, server-rendered Jinja2 pages, no JavaScript.

Every route states who may use it (``ROUTES`` below: public, any signed-in user, or city staff) and
checks the place, case or import it names through ``portal.scope``; tests walk the route table so a
new route without an entry fails. Files are served only by place code and night through
``portal.data``, never by a path from the request.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.cases.feedback import import_workbook
from pipeline.cases.store import CaseStore, as_date, now, records
from pipeline.cases.views import funnel, funnel_cases
from pipeline.config import RunConfig
from pipeline.reports.summary import mask_id
from pipeline.settings import today_shanghai
from pipeline.state import StateLockedError, StateStore
from portal import access, data
from portal.accounts import ROLE_LABELS, Accounts, User
from portal.scope import UNPLACED, book_of_case, home, is_city, may_see, may_see_case, sees_full_id
from portal.settings import PortalSettings

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "ad_portal"
#: Who may call each route: "public", "user" (any signed-in account, then the place it names is
#: checked) or "city" (analysts and admins). tests/portal/test_scope.py walks this table.
PUBLIC, USER, CITY = "public", "user", "city"
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): USER,
    ("GET", "/"): USER,
    ("GET", "/t/{code}"): USER,
    ("GET", "/t/{code}/book/{run_date}"): USER,
    ("POST", "/t/{code}/upload"): USER,
    ("GET", "/t/{code}/imports/{sha}"): USER,
    ("GET", "/cases/{warning_id}"): USER,
    ("GET", "/county/{county}"): USER,
    ("GET", "/city"): CITY,
    ("GET", "/city/runs/{run_date}/{path:path}"): CITY,
    ("GET", "/audit"): CITY,
    ("GET", "/audit.xlsx"): CITY,
}
_SAFE_NAME = re.compile(r"[^\w.\-()（）\u4e00-\u9fff]+")
_NOT_FOUND = "找不到该页面,或您的账号无权查看"
_HTTP_MESSAGES = {404: _NOT_FOUND, 405: "不支持这样打开该页面:请从页面上的链接或按钮进入"}


class Refused(Exception):
    """A request the portal refuses: rendered as a Chinese error page with ``status``."""

    def __init__(self, status: int, message: str, audit: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.audit = status, message, audit


class LoginRequired(Exception):
    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


class _Sessions:
    """Starlette's signed-cookie sessions, with the Secure flag when the request came over https
    (uvicorn reads nginx's X-Forwarded-Proto from a trusted proxy) or always/never by setting."""

    def __init__(self, app: ASGIApp, secret: str, max_age: int, mode: str) -> None:
        common: dict[str, Any] = {"session_cookie": SESSION_COOKIE, "max_age": max_age, "same_site": "lax"}
        self.plain = SessionMiddleware(app, secret, https_only=False, **common)
        self.secure = SessionMiddleware(app, secret, https_only=True, **common)
        self.mode = mode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        https = scope.get("scheme") in ("https", "wss")
        secure = self.mode == "always" or (self.mode == "auto" and https)
        await (self.secure if secure else self.plain)(scope, receive, send)


class _BodyLimit:
    """Refuses a request body larger than the upload limit before it is parsed or spooled to disk
    (by its Content-Length, or by counting when it is sent in chunks)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(send, self.limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f"文件超过 {limit // (1024 * 1024)} MB 的上限,未上传。请只上传系统下发的名单文件。".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: No script may run and nothing loads from elsewhere: the pages are plain HTML with inline style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # personal data: no copy in a shared browser's cache
}


class _SecurityHeaders:
    """``SECURITY_HEADERS`` on every response, the error pages and the 413 included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    if k not in headers:
                        headers[k] = v
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def _is_xlsx(content: bytes) -> bool:
    """An Office Open XML workbook: a zip with a content-types part and a workbook part, whatever
    the file is called."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError):
        return False
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


def _is_encrypted_workbook(content: bytes) -> bool:
    """A password-protected workbook as the night writes them (OLE container with an encrypted
    package), for bureaus that set AD_WORKBOOK_PASSWORDS."""
    if not content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return False
    import msoffcrypto

    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(content)).is_encrypted())
    except Exception:  # noqa: BLE001 - any unreadable container is simply not a workbook
        return False


def _shown_name(name: str | None) -> str:
    """An uploaded file's name as shown and audited: its last part, no odd characters, 100 chars."""
    base = Path((name or "").replace("\\", "/")).name
    return (_SAFE_NAME.sub("_", base).strip("._") or "upload.xlsx")[:100]


def create_app(ps: PortalSettings) -> FastAPI:
    """The portal over ``ps``: the reports folder, the case store and the users file."""
    config = RunConfig.load(ps.pipeline)
    cr = config.case_rules
    rules = config.rules_by_id
    townships = config.townships  # code -> (county code, name)
    counties = dict(config.gazetteer.counties)  # county code -> name
    out = ps.pipeline.out
    store = CaseStore.for_state(ps.pipeline.state, ps.pipeline.database_url)
    accounts = Accounts(ps.users_file)
    ps.uploads.mkdir(parents=True, exist_ok=True)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["n"] = lambda v: f"{int(v):,}" if v is not None and not pd.isna(v) else "—"
    templates.env.filters["d"] = lambda v: d.isoformat() if (d := as_date(v)) else ""
    templates.env.filters["t"] = lambda v: v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else ""
    timeout = ps.session_minutes * 60

    app = FastAPI(title="active-discovery portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.accounts = accounts

    def place_name(code: str) -> str:
        if code in townships:
            return townships[code][1]
        if code.endswith(UNPLACED) and code[:6] in counties:
            return f"{counties[code[:6]]}未确定乡镇"
        return counties.get(code, code)

    def county_of(code: str) -> str:
        return townships[code][0] if code in townships else code[:6]

    def known_place(code: str) -> bool:
        return code in townships or code in counties or (code.endswith(UNPLACED) and code[:6] in counties)

    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return str(token)

    def check_csrf(request: Request, token: str) -> None:
        expected = request.session.get("csrf")
        if not expected or not token or not secrets.compare_digest(str(expected), token):
            raise Refused(403, "表单已失效(缺少或不符的安全令牌):请回到上一页刷新后重新提交")

    def signed_in(request: Request) -> User:
        s = request.session
        name = s.get("user")
        if not name:
            # A cookie whose signature is too old (or forged) arrives as an empty session.
            raise LoginRequired(expired=not s and SESSION_COOKIE in request.cookies)
        user = accounts.get(str(name))
        if user is None or user.disabled or s.get("stamp") != user.stamp:
            s.clear()  # disabled, removed or password changed since: this session ends
            raise LoginRequired()
        if time.time() - float(s.get("seen", 0)) > timeout:
            s.clear()
            raise LoginRequired(expired=True)
        s["seen"] = int(time.time())
        return user

    def city_user(request: Request) -> User:
        user = signed_in(request)
        if not is_city(user):
            raise Refused(403, "您的账号无权查看此页面:仅供市级分析人员使用")
        return user

    def page(request: Request, template: str, user: User | None, status: int = 200, **ctx: Any) -> Response:
        return templates.TemplateResponse(
            request,
            template,
            {
                "user": user,
                "role_label": ROLE_LABELS.get(user.role, "") if user else "",
                "csrf": csrf(request),
                "is_city": bool(user and is_city(user)),
                "home": home(user) if user else "/login",
                "place_name": place_name,
                **ctx,
            },
            status_code=status,
        )

    def show_id(user: User, value: Any) -> str:
        if not isinstance(value, str):
            return "—"
        return value if sees_full_id(user) else mask_id(value)

    def need_place(user: User, code: str) -> None:
        if not known_place(code) or not may_see(user, code):
            raise Refused(403, "您的账号无权查看这个乡镇(街道)或县(市、区)")

    # --- errors ----------------------------------------------------------------------------------
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login?expired=1" if exc.expired else "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            target += ("&" if "?" in target else "?") + "next=" + quote(request.url.path)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        name = request.session.get("user")
        user = accounts.get(str(name)) if name else None
        if exc.audit and exc.status in (403, 404):
            access.record(store, access.DENIED, str(name) if name else None, result=request.url.path)
        return page(request, "error.html", user, status=exc.status, message=exc.message)

    def _user_of(request: Request) -> User | None:
        name = request.session.get("user") if "session" in request.scope else None
        return accounts.get(str(name)) if name else None

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # The framework's own refusals (no such page, wrong method) in Chinese, as a page.
        message = _HTTP_MESSAGES.get(exc.status_code, "无法完成该操作")
        return page(request, "error.html", _user_of(request), status=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        message = "提交的内容不完整或格式不对(例如没有选择文件):请回到上一页重新填写后提交"
        return page(request, "error.html", _user_of(request), status=400, message=message)

    # --- public ----------------------------------------------------------------------------------
    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    @app.get("/login")
    def login_page(request: Request, expired: int = 0, next: str = "") -> Response:
        message = "登录已超时,请重新登录" if expired else ""
        return page(request, "login.html", None, message=message, next=next)

    @app.post("/login")
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form("", alias="csrf"),
        next: str = Form(""),
    ) -> Response:
        check_csrf(request, csrf_token)
        username = username.strip()[:64]
        known = accounts.get(username)
        who = username if known else access.UNKNOWN_USER
        until = access.locked_until(store, who, ps.max_failed_logins, ps.lockout_minutes) if known else None
        if until is not None:
            access.record(store, access.LOCKED, who, result="locked: refused")
            message = f"连续输错密码次数过多,账户已锁定至 {until:%H:%M}。如需立即解锁,请联系系统管理员。"
            return page(request, "login.html", None, status=423, message=message, next=next)
        user = accounts.authenticate(username, password)
        if user is None:
            access.record(store, access.LOGIN_FAILED, who, result="wrong name or password")
            if known and access.locked_until(store, who, ps.max_failed_logins, ps.lockout_minutes):
                access.record(store, access.LOCKED, who, result=f"locked for {ps.lockout_minutes} min")
                message = f"连续输错密码次数过多,账户已锁定 {ps.lockout_minutes} 分钟。"
                return page(request, "login.html", None, status=423, message=message, next=next)
            return page(request, "login.html", None, status=401, message="用户名或密码不正确", next=next)
        request.session.clear()  # a new session at login: nothing from before it carries over
        request.session.update(
            user=user.name, stamp=user.stamp, seen=int(time.time()), csrf=secrets.token_urlsafe(32)
        )
        access.record(store, access.LOGIN, user.name, result="ok")
        target = next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"
        return RedirectResponse(target, status_code=303)

    # --- any signed-in user ----------------------------------------------------------------------
    @app.post("/logout")
    def logout(request: Request, csrf_token: str = Form("", alias="csrf")) -> Response:
        user = signed_in(request)
        check_csrf(request, csrf_token)
        access.record(store, access.LOGOUT, user.name)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/")
    def root(request: Request) -> Response:
        return RedirectResponse(home(signed_in(request)), status_code=303)

    @app.get("/t/{code}")
    def township(request: Request, code: str) -> Response:
        user = signed_in(request)
        need_place(user, code)
        listed = data.listed_cases(store, code)
        open_rows = data.case_rows(listed, cr, open_only=True)
        done_rows = data.case_rows(listed, cr, open_only=False)[:100]
        today = today_shanghai()
        for r in open_rows + done_rows:
            r["shown_id"] = show_id(user, r.get("id_number"))
            r["late"] = r["due"] is not None and r["due"] < today
            r["rule_name"] = rules[r["rule"]].name if r["rule"] in rules else r["rule"]
        return page(
            request,
            "township.html",
            user,
            code=code,
            county=county_of(code),
            books=data.books_of(out, code),
            open_rows=open_rows,
            done_rows=done_rows,
            overdue=sum(r["status"] == "overdue" for r in open_rows),
            uploads=data.uploads(store, [code], limit=20),
            max_mb=ps.max_upload_bytes // (1024 * 1024),
            today=today,
        )

    @app.get("/t/{code}/book/{run_date}")
    def download(request: Request, code: str, run_date: str) -> Response:
        user = signed_in(request)
        need_place(user, code)
        try:
            night = date.fromisoformat(run_date)
        except ValueError:
            raise Refused(404, _NOT_FOUND) from None
        found = data.book(out, night, code)
        if found is None:
            raise Refused(404, "这一天没有该乡镇的名单", audit=False)
        access.record(store, access.DOWNLOAD, user.name, code, f"{run_date}/{found.name}", "ok")
        return FileResponse(
            found.path,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=found.name,
        )

    @app.post("/t/{code}/upload")
    async def upload(
        request: Request,
        code: str,
        file: UploadFile = File(...),  # noqa: B008 - FastAPI's way of declaring a file field
        csrf_token: str = Form("", alias="csrf"),
    ) -> Response:
        user = signed_in(request)
        check_csrf(request, csrf_token)
        need_place(user, code)
        shown = _shown_name(file.filename)
        content = await file.read(ps.max_upload_bytes + 1)
        if len(content) > ps.max_upload_bytes:
            access.record(store, access.UPLOAD, user.name, code, shown, "refused: too large")
            raise Refused(
                413, f"文件超过 {ps.max_upload_bytes // (1024 * 1024)} MB 的上限,未上传", audit=False
            )
        if not (_is_xlsx(content) or (config.passwords and _is_encrypted_workbook(content))):
            access.record(store, access.UPLOAD, user.name, code, shown, "refused: not an xlsx workbook")
            raise Refused(
                415,
                f"“{shown}”不是 Excel 工作簿(.xlsx)文件,未上传。请上传系统下发、填写后保存的名单文件"
                "(不要改扩展名,不要另存为 .xls 或 .csv)。",
                audit=False,
            )
        stored = ps.uploads / f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(8)}.xlsx"
        fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        access.record(store, access.UPLOAD, user.name, code, shown, f"ok: stored as {stored.name}")
        state = StateStore(ps.pipeline.state, ps.pipeline.database_url)
        try:
            with state.lock(f"a portal upload by {user.name} (pid {os.getpid()})", wait_seconds=20):
                result = import_workbook(
                    store,
                    stored,
                    rules,
                    cr,
                    townships,
                    today_shanghai(),
                    user.name,
                    config.passwords,
                    file_name=shown,
                    allowed=lambda c: may_see(user, c),
                )
        except StateLockedError:
            access.record(store, access.IMPORT, user.name, code, shown, "refused: the night is running")
            raise Refused(
                503, "系统正在进行夜间数据处理,暂时不能导入。文件已收到但未导入,请稍后重新上传。", audit=False
            ) from None
        finally:
            state.close()
        access.record(store, access.IMPORT, user.name, result.township_code or code, shown, result.line())
        if result.error or result.duplicate_of:
            status = 200 if result.duplicate_of else 422
            return page(
                request, "import.html", user, status=status, code=code, result=result, head=None, rows=[]
            )
        return RedirectResponse(f"/t/{result.township_code}/imports/{result.sha256}", status_code=303)

    @app.get("/t/{code}/imports/{sha}")
    def import_result(request: Request, code: str, sha: str) -> Response:
        user = signed_in(request)
        need_place(user, code)
        head, rows = data.an_import(store, sha)
        if head is None or head["township_code"] != code:
            raise Refused(404, _NOT_FOUND)
        return page(request, "import.html", user, code=code, result=None, head=head, rows=rows)

    @app.get("/cases/{warning_id}")
    def case_page(request: Request, warning_id: str) -> Response:
        user = signed_in(request)
        c = data.case(store, warning_id[:64])
        if c is None or not may_see_case(user, c):
            raise Refused(404, "找不到该案件,或您的账号无权查看")
        changes, received = data.history(store, warning_id)
        c["shown_id"] = show_id(user, c.get("id_number"))
        c["status_label"] = cr.label(str(c["status"]))
        c["due"] = data.due_date(c, cr)
        c["verification_label"] = cr.verification.get(str(c.get("verification") or ""), "")
        book = book_of_case(c)
        return page(
            request,
            "case.html",
            user,
            c=c,
            book=book,
            rule=rules.get(str(c["rule"])),
            changes=changes.to_dict("records"),
            received=received.to_dict("records"),
            labels=cr.labels,
        )

    def place_rows(frame: pd.DataFrame, by: str, codes: list[str]) -> list[dict[str, Any]]:
        """Funnel and open/overdue counts per place, every place of ``codes`` listed (0 included)."""
        if frame.empty:
            per = pd.DataFrame(columns=[by])
        else:
            fc = funnel_cases(frame, rules, cr)
            if by == "township_code":
                fc["township_code"] = [
                    t or f"{c}{UNPLACED}" for t, c in zip(fc["township_code"], fc["county_code"], strict=True)
                ]
            per = funnel(fc, [by])
            per["open"] = frame["status"].isin(data.OPEN).groupby(fc[by]).sum().reindex(per[by]).to_numpy()
        rows = {str(r[by]): r for r in records(per)}
        return [{"code": c, "name": place_name(c), **rows.get(c, {})} for c in codes]

    @app.get("/county/{county}")
    def county_page(request: Request, county: str) -> Response:
        user = signed_in(request)
        if county not in counties:
            raise Refused(403, "您的账号无权查看这个县(市、区)")
        need_place(user, county)
        frame = data.county_cases(store, county)
        codes = sorted(c for c, (k, _) in townships.items() if k == county) + [f"{county}{UNPLACED}"]
        overdue = data.case_rows(records(frame[frame["status"].eq("overdue")]), cr, open_only=True)[:50]
        for r in overdue:
            r["shown_id"] = show_id(user, r.get("id_number"))
            r["book"] = book_of_case(r)
        return page(
            request,
            "county.html",
            user,
            county=county,
            rows=place_rows(frame, "township_code", codes),
            overdue=overdue,
            uploads=data.uploads(store, [county], limit=50),
        )

    # --- city staff ------------------------------------------------------------------------------
    @app.get("/city")
    def city(request: Request) -> Response:
        user = city_user(request)
        frame = store.frame()
        return page(
            request,
            "city.html",
            user,
            rows=place_rows(frame, "county_code", sorted(counties)),
            runs=data.published_runs(out)[:10],
            uploads=data.uploads(store, None, limit=50),
        )

    @app.get("/city/runs/{run_date}/{path:path}")
    def city_file(request: Request, run_date: str, path: str) -> Response:
        user = city_user(request)
        try:
            night = date.fromisoformat(run_date)
        except ValueError:
            raise Refused(404, _NOT_FOUND) from None
        found: Path | None = None
        name = path
        if path in ("summary.html", "summary.xlsx", "index.html"):
            found = data.summary_file(out, night, path)
        elif m := re.fullmatch(r"townships/[^/]+/(\d{9})_[^/]+\.xlsx", path):
            b = data.book(out, night, m[1])
            found, name = (b.path, b.name) if b else (None, path)
        if found is None:
            raise Refused(404, _NOT_FOUND, audit=False)
        access.record(store, access.DOWNLOAD, user.name, None, f"{run_date}/{Path(name).name}", "ok")
        if found.suffix == ".html":
            return FileResponse(found, media_type="text/html; charset=utf-8")
        return FileResponse(found, filename=Path(name).name)

    @app.get("/audit")
    def audit_page(request: Request, user_name: str = "", event: str = "", days: int = 30) -> Response:
        user = city_user(request)
        events = (event,) if event in access.ACCESS_EVENTS else access.ACCESS_EVENTS
        since = now() - timedelta(days=max(1, min(days, 3650)))  # bureau time, as the rows are
        rows = access.trail(store, events, user_name or None, since=since, limit=500)
        return page(
            request,
            "audit.html",
            user,
            rows=rows.to_dict("records"),
            labels=access.EVENT_LABELS,
            user_name=user_name,
            event=event,
            days=days,
        )

    @app.get("/audit.xlsx")
    def audit_export(request: Request, days: int = 90) -> Response:
        user = city_user(request)
        since = now() - timedelta(days=max(1, min(days, 3650)))
        rows = access.trail(store, since=since, limit=None)
        shown = pd.DataFrame(
            {
                "时间": rows["at"].astype("string"),
                "事件": rows["event"].map(access.EVENT_LABELS),
                "用户": rows["by_user"],
                "乡镇代码": rows["township_code"],
                "文件": rows["by_file"],
                "结果": rows["result"],
                "案件编号": rows["warning_id"],
            }
        )
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="xlsxwriter") as xw:
            shown.to_excel(xw, sheet_name="访问记录", index=False)
            xw.sheets["访问记录"].set_column(0, 6, 22)
        access.record(store, access.EXPORT, user.name, result=f"{len(shown)} rows, {days} days")
        name = f"访问记录_{today_shanghai():%Y%m%d}.xlsx"
        return Response(
            buf.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    # Outermost first: the body limit sees the request before anything parses it.
    # The cookie (and its signature) lives for a working day; the idle timeout is checked on the
    # server from the session's last request, so an expired login can say so on the login page.
    app.add_middleware(_Sessions, secret=ps.secret, max_age=max(timeout, 12 * 3600), mode=ps.secure_cookies)
    app.add_middleware(_SecurityHeaders)
    app.add_middleware(_BodyLimit, limit=ps.max_upload_bytes + 64 * 1024)
    return app
