"""``active-discovery run`` with no flags: the AD_* variables decide where it reads and writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.cli import EXIT_OK, EXIT_REFUSED, main
from pipeline.contracts import MANIFEST, WARNINGS
from pipeline.state import LOCK


@pytest.mark.slow
def test_the_cli_takes_its_folders_from_the_environment(
    tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(sample_dir, tmp_path / "extracts")
    monkeypatch.setenv("AD_EXTRACTS", str(tmp_path / "extracts"))
    monkeypatch.setenv("AD_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("AD_STATE", str(tmp_path / "state"))
    assert main(["run", "--run-date", "2026-11-29"]) == EXIT_OK
    run_dir = tmp_path / "out" / "2026-11-29"
    assert MANIFEST.at(run_dir).exists() and WARNINGS.at(run_dir).exists()
    assert (tmp_path / "state" / LOCK).exists() and (tmp_path / "state" / "person_keys.parquet").exists()
    out = capsys.readouterr().out
    assert "township workbooks" in out
    # Each stage's time and peak memory, measured inside the Prefect flow's tasks too.
    assert "stages: feedback" in out and "reports " in out.split("stages:")[1] and " MB" in out
    # A failure inside the flow (the extracts folder is gone) is one line and the refusal code.
    monkeypatch.setenv("AD_EXTRACTS", str(tmp_path / "gone"))
    assert main(["run", "--run-date", "2026-11-29"]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "active-discovery:" in err and "gone" in err and "Traceback" not in err
