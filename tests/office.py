"""LibreOffice headless for the tests: convert or re-save files as a real spreadsheet program does."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest


def program(*names: str) -> str:
    for n in names:
        if found := shutil.which(n):
            return found
    pytest.fail(f"none of {names} is installed: run `make test`, which installs it with apt-get")


def libreoffice(
    files: Sequence[Path], to: str, outdir: Path, profile: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``soffice --headless --convert-to <to>`` with a profile of its own (never the user's)."""
    return subprocess.run(
        [
            program("soffice", "libreoffice"),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
