"""The portal's rows in the case store's audit table: every login (and failure), download, upload,
import, refusal and export, with user, time, township, file and result. No password, ID number or
name is ever written: only account names, place codes, file names and outcomes.

Account lockout is read from the same rows (the failed logins since the last success or unlock),
so a restart, a second worker or a second machine cannot reset the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import desc, insert, select

from pipeline.cases.db import audit
from pipeline.cases.store import CaseStore, now

LOGIN, LOGIN_FAILED, LOCKED, LOGOUT = "login", "login_failed", "locked", "logout"
DOWNLOAD, UPLOAD, IMPORT, DENIED, EXPORT, UNLOCK = (
    "download",
    "upload",
    "import",
    "denied",
    "export",
    "unlock",
)
ACCESS_EVENTS = (LOGIN, LOGIN_FAILED, LOCKED, LOGOUT, DOWNLOAD, UPLOAD, IMPORT, DENIED, EXPORT, UNLOCK)
EVENT_LABELS = {
    LOGIN: "登录",
    LOGIN_FAILED: "登录失败",
    LOCKED: "账户锁定",
    LOGOUT: "退出",
    DOWNLOAD: "下载",
    UPLOAD: "上传",
    IMPORT: "导入",
    DENIED: "拒绝访问",
    EXPORT: "导出",
    UNLOCK: "解锁",
}
UNKNOWN_USER = "(未知用户)"  # a failed login naming no account: what was typed is not kept


def record(
    store: CaseStore,
    event: str,
    user: str | None,
    township: str | None = None,
    file: str | None = None,
    result: str | None = None,
    warning_id: str | None = None,
) -> None:
    with store.begin() as conn:
        conn.execute(
            insert(audit),
            {
                "event": event,
                "at": now(),
                "by_user": user,
                "township_code": township,
                "by_file": file,
                "result": (result or "")[:500] or None,
                "warning_id": warning_id,
            },
        )


def locked_until(store: CaseStore, user: str, max_failed: int, minutes: int) -> datetime | None:
    """When ``user``'s lock ends, if the last ``max_failed + 1`` login attempts all failed and the
    last of them is less than ``minutes`` old; None when not locked."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.event, audit.c.at)
            .where(audit.c.by_user == user, audit.c.event.in_((LOGIN, LOGIN_FAILED, UNLOCK)))
            .order_by(desc(audit.c.id))
            .limit(max_failed + 1)
        ).all()
    if len(rows) <= max_failed or any(e != LOGIN_FAILED for e, _ in rows):
        return None
    until: datetime = rows[0][1] + timedelta(minutes=minutes)
    return until if until > now() else None


def trail(
    store: CaseStore,
    events: Sequence[str] = ACCESS_EVENTS,
    user: str | None = None,
    township: str | None = None,
    since: datetime | None = None,
    limit: int | None = 1000,
) -> pd.DataFrame:
    """The access rows, newest first (the analysts' 访问记录 page and its export)."""
    q = select(
        audit.c.id,
        audit.c.at,
        audit.c.event,
        audit.c.by_user,
        audit.c.township_code,
        audit.c.by_file,
        audit.c.result,
        audit.c.warning_id,
    ).where(audit.c.event.in_(tuple(events)))
    if user:
        q = q.where(audit.c.by_user == user)
    if township:
        q = q.where(audit.c.township_code == township)
    if since:
        q = q.where(audit.c.at >= since)
    q = q.order_by(desc(audit.c.id))
    if limit:
        q = q.limit(limit)
    with store.engine.connect() as conn:
        rows: list[dict[str, Any]] = [dict(r) for r in conn.execute(q).mappings()]
    cols = ["id", "at", "event", "by_user", "township_code", "by_file", "result", "warning_id"]
    frame = pd.DataFrame(rows, columns=cols).astype(object)
    return frame.where(frame.notna(), None)
