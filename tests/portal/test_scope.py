"""Who reaches what: every route of the portal × every role, against one township's things.

The table below must name every route the app serves: a new route without an entry fails
``test_the_table_covers_every_route``, so nobody adds a page without saying who may open it.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.routing import APIRoute

from portal.app import CITY, PUBLIC, ROUTES
from portal.data import listed_cases
from tests.portal.conftest import NIGHTS, Portal, csrf_of, login

TOWN = "410825105"  # 武德镇, 温县: the township every URL below belongs to
NIGHT = NIGHTS[-1].isoformat()
USERS = ("anonymous", "wude", "wenquan", "wenxian", "boai", "analyst", "admin")
SEES_TOWN = {"wude": True, "wenquan": False, "wenxian": True, "boai": False, "analyst": True, "admin": True}
CITY_STAFF = {"analyst", "admin"}


def _area(ok: int, refused: int) -> dict[str, int]:
    return {"anonymous": 303, **{u: ok if s else refused for u, s in SEES_TOWN.items()}}


def _city() -> dict[str, int]:
    return {"anonymous": 303, **{u: 200 if u in CITY_STAFF else 403 for u in SEES_TOWN}}


#: (method, route) -> (URL with this township's things, expected status per user)
TABLE: dict[tuple[str, str], tuple[str, dict[str, int]]] = {
    ("GET", "/healthz"): ("/healthz", dict.fromkeys(USERS, 200)),
    ("GET", "/login"): ("/login", dict.fromkeys(USERS, 200)),
    ("POST", "/login"): ("/login", dict.fromkeys(USERS, 401)),  # posted with a wrong password
    ("POST", "/logout"): ("/logout", dict.fromkeys(USERS, 303)),
    ("GET", "/"): ("/", dict.fromkeys(USERS, 303)),
    ("GET", "/t/{code}"): (f"/t/{TOWN}", _area(200, 403)),
    ("GET", "/t/{code}/book/{run_date}"): (f"/t/{TOWN}/book/{NIGHT}", _area(200, 403)),
    ("POST", "/t/{code}/upload"): (f"/t/{TOWN}/upload", _area(415, 403)),  # a text file
    ("GET", "/t/{code}/imports/{sha}"): (f"/t/{TOWN}/imports/{{sha}}", _area(200, 403)),
    ("GET", "/cases/{warning_id}"): ("/cases/{case}", _area(200, 404)),
    (
        "GET",
        "/county/{county}",
    ): (
        "/county/410825",
        {"anonymous": 303, **{u: 200 if u in {"wenxian", *CITY_STAFF} else 403 for u in SEES_TOWN}},
    ),
    ("GET", "/city"): ("/city", _city()),
    ("GET", "/city/runs/{run_date}/{path:path}"): (f"/city/runs/{NIGHT}/summary.html", _city()),
    ("GET", "/audit"): ("/audit", _city()),
    ("GET", "/audit.xlsx"): ("/audit.xlsx", _city()),
}


def test_the_table_covers_every_route(portal: Portal) -> None:
    app = portal.client().app
    served = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods - {"HEAD"}}
    assert served == set(TABLE), "a route without an entry in this table (or an entry without a route)"
    assert served == set(ROUTES), "portal.app.ROUTES must list every route too"
    for key, (_, expected) in TABLE.items():
        assert set(expected) == set(USERS), key
        if ROUTES[key] == PUBLIC:
            assert expected["anonymous"] in (200, 401), key
        if ROUTES[key] == CITY:
            assert all(expected[u] == 403 for u in SEES_TOWN if u not in CITY_STAFF), key


@pytest.mark.slow
@pytest.mark.parametrize("user", USERS)
def test_each_route_refuses_whoever_is_outside_its_scope(portal: Portal, user: str) -> None:
    store = portal.client().app.state.store
    case = listed_cases(store, TOWN)[0]["warning_id"]
    sha = "f" * 64
    with store.begin() as conn:
        store.add_import(
            conn,
            {
                "sha256": sha,
                "file_name": f"{TOWN}_武德镇.xlsx",
                "township_code": TOWN,
                "imported_at": datetime(2026, 11, 29, 9, 0),
                "rows_applied": 0,
                "rows_unchanged": 0,
                "rows_rejected": 0,
                "by_user": "wude",
            },
        )
    for (method, _), (url, expected) in TABLE.items():
        client = portal.client()  # a fresh client per request: no session state carries over
        if user != "anonymous":
            login(client, user)
        token = csrf_of(client.get("/login").text)
        url = url.format(sha=sha, case=case)
        if method == "GET":
            r = client.get(url, follow_redirects=False)
        elif url == "/login":
            r = client.post(url, data={"username": user, "password": "wrong", "csrf": token})
        elif url.endswith("/upload"):
            files = {"file": ("名单.xlsx", b"just text, renamed", "application/octet-stream")}
            r = client.post(url, data={"csrf": token}, files=files, follow_redirects=False)
        else:
            r = client.post(url, data={"csrf": token}, follow_redirects=False)
        assert r.status_code == expected[user], f"{user} {method} {url}: {r.status_code}"


@pytest.mark.slow
def test_no_url_reaches_a_file_outside_the_published_workbooks(portal: Portal) -> None:
    client = login(portal.client(), "analyst")
    for url in (
        f"/t/{TOWN}/book/..%2F..%2Fstate",
        f"/t/..%2F{TOWN}/book/{NIGHT}",
        f"/city/runs/{NIGHT}/../../state/cases.sqlite",
        f"/city/runs/{NIGHT}/..%2F..%2Fstate%2Fcases.sqlite",
        f"/city/runs/{NIGHT}/data/cases.parquet",
        f"/city/runs/{NIGHT}/run_manifest.json",
        f"/city/runs/{NIGHT}/townships/x/{TOWN}_武德镇.xlsx/../../../data/cases.parquet",
        f"/city/runs/..%2F{NIGHT}/summary.html",
        "/static/portal.yaml",
    ):
        r = client.get(url, follow_redirects=False)
        assert r.status_code in (403, 404), f"{url}: {r.status_code}"
        assert b"PAR1" not in r.content[:8] and b"SQLite" not in r.content[:16]
    # The summary page's own links work for the analyst: every one of them, served by the app.
    summary = client.get(f"/city/runs/{NIGHT}/summary.html").text
    links = set(re.findall(r'href="([^"#:]+)"', summary))
    assert f"townships/410825_温县/{TOWN}_武德镇.xlsx" in links and "index.html" in links
    for link in links:
        r = client.get(f"/city/runs/{NIGHT}/{link}")
        assert r.status_code == 200, link
        assert r.content[:2] == b"PK" if link.endswith(".xlsx") else b"<html" in r.content[:200].lower()
