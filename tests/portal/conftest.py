"""A portal over two published nights of the committed sample, with one account per role.

The nights run once per session (read-only: the published folder); each test gets its own copy of
the state folder (case store, users file), so uploads and lockouts never leak between tests.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.runs import run_all
from pipeline.settings import Settings
from portal.accounts import Accounts, check_codes
from portal.app import create_app
from portal.settings import PortalSettings

NIGHTS = (date(2026, 11, 28), date(2026, 11, 29))
PASSWORD = "correct-horse-42"
#: name -> (role, codes): 武德镇 and 温泉街道 are townships of 温县 (410825); 博爱县 is another county.
ACCOUNTS = {
    "wude": ("township", ["410825105"]),
    "wenquan": ("township", ["410825001"]),
    "wenxian": ("county", ["410825"]),
    "boai": ("county", ["410822"]),
    "analyst": ("analyst", []),
    "admin": ("admin", []),
}


@dataclass
class Portal:
    settings: PortalSettings
    out: Path
    state: Path

    def client(self) -> TestClient:
        return TestClient(create_app(self.settings), base_url="http://testserver")


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("portal_nights")
    for night in NIGHTS:
        run_all(Settings.build(extracts=sample_dir, out=root / "out", state=root / "state", run_date=night))
    return root / "out", root / "state"


@pytest.fixture
def portal(published: tuple[Path, Path], tmp_path: Path) -> Portal:
    out, state0 = published
    state = tmp_path / "state"
    shutil.copytree(state0, state, ignore=shutil.ignore_patterns("*.lock", "portal"))
    pipeline = Settings.build(out=out, state=state)
    settings = PortalSettings.load(pipeline, users_file=state / "portal" / "users.yaml")
    accounts = Accounts(settings.users_file)
    from pipeline.config import RunConfig

    townships = RunConfig.load(pipeline).townships
    for name, (role, codes) in ACCOUNTS.items():
        accounts.add(name, role, check_codes(role, codes, townships), PASSWORD, name)
    return Portal(settings, out, state)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m[1]


def login(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login", data={"username": name, "password": password, "csrf": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[-400:]
    return client
