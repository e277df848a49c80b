"""Accounts: the users file holds argon2 hashes only; the user command never takes a password as an
argument; codes are checked against the gazetteer."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from pipeline.settings import PROJECT_ROOT
from portal.accounts import AccountError, Accounts, check_codes
from portal.scope import book_of_case, may_see, may_see_case

TOWNSHIPS = {
    "410825105": ("410825", "武德镇"),
    "410825001": ("410825", "温泉街道"),
    "410822001": ("410822", "x"),
}


def test_roles_need_the_right_kind_of_codes() -> None:
    assert check_codes("township", ["410825105"], TOWNSHIPS) == ("410825105",)
    assert check_codes("county", ["410825"], TOWNSHIPS) == ("410825",)
    assert check_codes("analyst", [], TOWNSHIPS) == ()
    for role, codes in (
        ("township", ["410825"]),
        ("county", ["410825105"]),
        ("township", []),
        ("admin", ["1"]),
    ):
        with pytest.raises(AccountError):
            check_codes(role, codes, TOWNSHIPS)
    with pytest.raises(AccountError):
        check_codes("mayor", [], TOWNSHIPS)


def test_the_users_file_keeps_hashes_and_sees_changes(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    accounts = Accounts(path)
    accounts.add("wude", "township", ("410825105",), "a-long-password", "武德镇")
    text = path.read_text(encoding="utf-8")
    assert "a-long-password" not in text and "$argon2id$" in text and "武德镇" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    other = Accounts(path)  # another process (the portal) reading the same file
    assert other.authenticate("wude", "a-long-password") is not None
    assert other.authenticate("wude", "wrong-password") is None
    assert other.authenticate("nobody", "a-long-password") is None
    accounts.set_disabled("wude", True)
    assert other.authenticate("wude", "a-long-password") is None  # noticed without a restart
    with pytest.raises(AccountError):
        accounts.add("wude", "township", ("410825105",), "a-long-password", "")
    with pytest.raises(AccountError):
        accounts.add("x", "analyst", (), "short", "")


def test_scope_of_a_case_follows_its_routing() -> None:
    from portal.accounts import User

    town = User("t", "township", ("410825105",), "t", "h")
    county = User("c", "county", ("410825",), "c", "h")
    unplaced = {"county_code": "410825", "township_code": None, "routed_township_code": None}
    routed = {**unplaced, "routed_township_code": "410825105"}
    assert book_of_case(unplaced) == "410825000" and book_of_case(routed) == "410825105"
    assert not may_see_case(town, unplaced) and may_see_case(town, routed)
    assert may_see_case(county, unplaced) and may_see_case(county, routed)
    assert not may_see(town, "../410825105") and not may_see(county, "41082")


def test_the_user_command_reads_the_password_from_stdin_never_an_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AD_PORTAL_USERS", str(tmp_path / "users.yaml"))

    def user(*args: str) -> int:
        return main(["user", "--state", str(tmp_path), *args])

    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert user("add", "wude", "--role", "township", "--code", "410825105", "--password-stdin") == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert user("passwd", "wude", "--password-stdin") == 3
    assert "at least" in capsys.readouterr().err
    assert user("add", "x", "--role", "township", "--code", "999999999", "--password-stdin") == 3
    assert user("list") == 0
    listing = capsys.readouterr().out
    assert "wude" in listing and "argon2" not in listing
    # No flag takes a password.
    help_text = subprocess.run(
        [sys.executable, "-m", "flows.cli", "user", "add", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    ).stdout
    assert "--password " not in help_text and "--password-stdin" in help_text


def test_the_portal_refuses_to_start_without_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AD_PORTAL_USERS", str(tmp_path / "none.yaml"))
    assert main(["portal", "--state", str(tmp_path), "--out", str(tmp_path)]) == 3
    assert "user add admin --role admin" in capsys.readouterr().err
