"""The portal's accounts: a YAML users file with argon2 password hashes, managed by
``active-discovery user add|passwd|disable|enable|unlock|list``.

A file, not a table: the bureau's administrator can read, back up and review it, and the portal
notices every change (it rereads the file when its modification time changes), so a disabled
account's open sessions end at their next request.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import ActiveDiscoveryError

TOWNSHIP, COUNTY, ANALYST, ADMIN = "township", "county", "analyst", "admin"
ROLES = (TOWNSHIP, COUNTY, ANALYST, ADMIN)
ROLE_LABELS = {TOWNSHIP: "乡镇(街道)", COUNTY: "县(市、区)", ANALYST: "市级分析", ADMIN: "管理员"}
_NAME = re.compile(r"[A-Za-z0-9_.\-]{2,32}")
MIN_PASSWORD = 10

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane; about 25 ms here) rather than
# argon2-cffi's default (64 MiB, 3 passes, 4 lanes; about 125 ms): a morning's burst of 50 township
# logins on the bureau's 2-core machine would otherwise queue every page behind 6 s of hashing
# (bench/bench_portal.py). Hashes made with other parameters still verify and are upgraded at login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user name is unknown, so a wrong name takes as long as a wrong password
# (no timing tells which names exist).
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ActiveDiscoveryError):
    """A user command that cannot be done (the message says why)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    codes: tuple[str, ...]  # township codes (township role) or county codes (county role)
    display: str
    password_hash: str
    disabled: bool = False

    @property
    def stamp(self) -> str:
        """Changes when the password does: sessions made before a password change end."""
        return self.password_hash[-16:]


def check_codes(role: str, codes: list[str], townships: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    """The codes a role needs: township codes of the gazetteer, or its county codes, or none."""
    counties = {c for c, _ in townships.values()}
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if role in (ANALYST, ADMIN):
        if codes:
            raise AccountError(f"a {role} sees every township: give no --code")
        return ()
    if not codes:
        raise AccountError(f"a {role} account needs at least one --code")
    known = townships if role == TOWNSHIP else counties
    wrong = [c for c in codes if c not in known]
    if wrong:
        what = "9-digit township codes" if role == TOWNSHIP else "6-digit county codes"
        raise AccountError(f"not {what} of the gazetteer: {', '.join(wrong)}")
    return tuple(dict.fromkeys(codes))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


class Accounts:
    """The users file. Reads are cached until the file changes; writes are atomic (temp + rename)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: tuple[tuple[int, int, int], dict[str, User]] | None = None

    def users(self) -> dict[str, User]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        # The inode too: every write is a new file (rename), even within one clock tick.
        mtime = (st.st_mtime_ns, st.st_ino, st.st_size)
        if self._cache is None or self._cache[0] != mtime:
            raw = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
            users = {
                name: User(
                    name=name,
                    role=str(u["role"]),
                    codes=tuple(str(c) for c in u.get("codes") or ()),
                    display=str(u.get("display") or name),
                    password_hash=str(u["password_hash"]),
                    disabled=bool(u.get("disabled", False)),
                )
                for name, u in (raw.get("users") or {}).items()
            }
            self._cache = (mtime, users)
        return self._cache[1]

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the name exists, is enabled and the password matches; else None."""
        user = self.get(name)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if _hasher.check_needs_rehash(user.password_hash):  # argon2's parameters were raised
            self._write({**self.users(), user.name: replace(user, password_hash=_hasher.hash(password))})
        return user

    # --- the user command ------------------------------------------------------------------------
    def add(self, name: str, role: str, codes: tuple[str, ...], password: str, display: str) -> User:
        if not _NAME.fullmatch(name):
            raise AccountError("a user name is 2-32 letters, digits, '.', '_' or '-'")
        if name in self.users():
            raise AccountError(f"user {name} exists: use `user passwd` or `user enable`")
        check_password(password)
        user = User(name, role, codes, display or name, _hasher.hash(password))
        self._write({**self.users(), name: user})
        return user

    def passwd(self, name: str, password: str) -> None:
        check_password(password)
        self._write({**self.users(), name: replace(self._need(name), password_hash=_hasher.hash(password))})

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._write({**self.users(), name: replace(self._need(name), disabled=disabled)})

    def _need(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise AccountError(f"no user {name} in {self.path}")
        return user

    def _write(self, users: dict[str, User]) -> None:
        data: dict[str, Any] = {
            "users": {
                u.name: {
                    "role": u.role,
                    "codes": list(u.codes),
                    "display": u.display,
                    "password_hash": u.password_hash,
                    "disabled": u.disabled,
                }
                for u in users.values()
            }
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# active-discovery portal accounts: edit with `active-discovery user …`\n")
            yaml.safe_dump(data, f, allow_unicode=True, sort_keys=True)
        os.chmod(tmp, 0o600)  # hashes, not passwords, but still nobody else's business
        os.replace(tmp, self.path)
        self._cache = None
