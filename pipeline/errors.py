"""One exception family. Messages name the file, row or rule and say what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ActiveDiscoveryError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(ActiveDiscoveryError):
    """A rules/settings file is invalid. The message lists every problem found, not just the first."""


def read_yaml(path: str | Path, what: str) -> Any:
    """A rules or settings file's YAML (an empty file reads as ``{}``), or a ConfigError naming the
    file and ``what`` it holds."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read the {what}: {e}") from e


class SourceFileError(ActiveDiscoveryError):
    """A department file cannot be used. ``message_zh`` is shown to bureau staff."""

    def __init__(self, path: str, message: str, message_zh: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.message_zh = message_zh
