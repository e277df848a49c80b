"""One exception family. Messages name the file, row or rule and say what to do."""

from __future__ import annotations


class ActiveDiscoveryError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(ActiveDiscoveryError):
    """A rules/settings file is invalid. The message lists every problem found, not just the first."""


class SourceFileError(ActiveDiscoveryError):
    """A department file cannot be used. ``message_zh`` is shown to bureau staff."""

    def __init__(self, path: str, message: str, message_zh: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.message_zh = message_zh
