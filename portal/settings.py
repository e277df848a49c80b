"""rules/portal.yaml plus where the portal's own files live (users file, session secret, uploads)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.settings import Settings

SECURE_COOKIES = ("auto", "always", "never")


@dataclass(frozen=True)
class PortalSettings:
    pipeline: Settings  # reports folder (``out``), state, rules, DATABASE_URL
    users_file: Path
    secret: str
    session_minutes: int = 30
    max_upload_bytes: int = 5 * 1024 * 1024
    max_failed_logins: int = 5
    lockout_minutes: int = 30
    secure_cookies: str = "auto"
    trusted_proxies: str = "127.0.0.1"

    @property
    def uploads(self) -> Path:
        return self.pipeline.state / "portal" / "uploads"

    @classmethod
    def load(cls, pipeline: Settings, users_file: Path | None = None) -> PortalSettings:
        path = pipeline.rules_dir / "portal.yaml"
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        raw = raw or {}

        def number(key: str, default: int) -> int:
            v = raw.get(key, default)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{path}: {key} must be a whole number above 0, not {v!r}")
            return v

        secure = raw.get("secure_cookies", "auto")
        if secure not in SECURE_COOKIES:
            raise ConfigError(f"{path}: secure_cookies must be one of {', '.join(SECURE_COOKIES)}")
        return cls(
            pipeline=pipeline,
            users_file=users_file or default_users_file(pipeline),
            secret=session_secret(pipeline.state),
            session_minutes=number("session_minutes", 30),
            max_upload_bytes=number("max_upload_mb", 5) * 1024 * 1024,
            max_failed_logins=number("max_failed_logins", 5),
            lockout_minutes=number("lockout_minutes", 30),
            secure_cookies=secure,
            trusted_proxies=str(raw.get("trusted_proxies", "127.0.0.1")),
        )


def default_users_file(pipeline: Settings) -> Path:
    """AD_PORTAL_USERS, else ``<state>/portal/users.yaml``."""
    return Path(os.environ.get("AD_PORTAL_USERS") or pipeline.state / "portal" / "users.yaml")


def session_secret(state: Path) -> str:
    """The key that signs session cookies: AD_PORTAL_SECRET, else a random key kept (0600) in
    ``<state>/portal/secret_key``, made on first start. Never in the repository: a leaked key lets
    anyone forge a login."""
    if env := os.environ.get("AD_PORTAL_SECRET"):
        return env
    path = state / "portal" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
