"""Operating a night: the manifest, one run per date, no half-written report folder, failures set
aside with their reason, dry runs that change no state, and re-runs that give the same result."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.contracts import MANIFEST, PERSON_INDEX, QUALITY, RECORDS
from pipeline.memo import file_digest as sha256
from pipeline.runs import FAILED, LOCKS, STAGING, RunLockedError, run_all
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.stages import STAGES
from pipeline.state import StateStore

RUN_DATE = date(2026, 11, 29)


@pytest.fixture()
def extracts(tmp_path: Path, sample_dir: Path) -> Path:
    dest = tmp_path / "extracts"
    shutil.copytree(sample_dir, dest)
    return dest


def settings(tmp_path: Path, extracts: Path) -> Settings:
    return Settings.build(
        extracts=extracts, out=tmp_path / "reports", state=tmp_path / "state", run_date=RUN_DATE
    )


def test_manifest_names_every_input_and_rule(tmp_path: Path, extracts: Path) -> None:
    s = settings(tmp_path, extracts)
    run_dir = run_all(s)
    m = json.loads(MANIFEST.at(run_dir).read_text(encoding="utf-8"))
    assert m["outcome"] == "completed" and m["error"] is None and m["run_date"] == "2026-11-29"
    inputs = {f["path"]: f for f in m["inputs"]}
    csv = next(p for p in extracts.rglob("*.csv"))
    rel = str(csv.relative_to(extracts))
    assert inputs[rel]["sha256"] == sha256(csv) and inputs[rel]["bytes"] == csv.stat().st_size
    assert {"sources.yaml", "matching.yaml"} <= {Path(f["path"]).name for f in m["rules"]}
    assert (
        m["rows"]["records"] > 0
        and m["rows"]["purged"] == {"work": 0, "failed": 0, "staging": 0}
        and m["rows"]["persons"] > 0
        and m["rows"]["rows_read"] >= m["rows"]["records"]
    )
    assert m["sources"]["medical"]["status"] == "ok"
    # Every stage's time and peak memory (issue: scale), in the order they ran.
    assert list(m["stages"]) == [st.name for st in STAGES]
    assert all(v["seconds"] >= 0 and v["peak_rss_mb"] > 50 for v in m["stages"].values())
    assert m["code_version"].startswith("0.1.0")
    assert m["started"] <= m["finished"]
    assert not any((s.out / STAGING).iterdir())


def test_a_second_run_for_the_same_date_is_refused(tmp_path: Path, extracts: Path) -> None:
    s = settings(tmp_path, extracts)
    (s.out / LOCKS).mkdir(parents=True)
    with open(s.out / LOCKS / "2026-11-29.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run in progress would
        with pytest.raises(RunLockedError, match="another run for 2026-11-29"):
            run_all(s)
    assert not s.run_dir.exists()


def test_a_failed_run_is_set_aside_with_its_reason(tmp_path: Path, extracts: Path) -> None:
    s = settings(tmp_path, extracts)
    run_all(s)
    before = MANIFEST.at(s.run_dir).read_text(encoding="utf-8")
    broken = Settings.build(extracts=tmp_path / "no-such-folder", out=s.out, state=s.state, run_date=RUN_DATE)
    hook_out = tmp_path / "hook.json"
    os.environ["AD_NOTIFY_COMMAND"] = f"cat > {hook_out}"
    try:
        with pytest.raises(Exception, match="extracts folder does not exist"):
            run_all(broken)
    finally:
        del os.environ["AD_NOTIFY_COMMAND"]
    assert MANIFEST.at(s.run_dir).read_text(encoding="utf-8") == before  # last good run untouched
    failed = list((s.out / FAILED).iterdir())
    assert len(failed) == 1
    m = json.loads(MANIFEST.at(failed[0]).read_text(encoding="utf-8"))
    assert m["outcome"] == "failed" and "extracts folder does not exist" in m["error"]
    assert "ingest" in m["stages"] and "match" not in m["stages"]  # the failing stage measured too
    assert json.loads(hook_out.read_text(encoding="utf-8"))["outcome"] == "failed"


def test_a_killed_run_leaves_no_partial_report_and_the_next_run_succeeds(
    tmp_path: Path, extracts: Path
) -> None:
    s = settings(tmp_path, extracts)
    code = (
        "from datetime import date; from pipeline.runs import run_all; "
        "from pipeline.settings import Settings; "
        f"run_all(Settings.build(extracts={str(extracts)!r}, out={str(s.out)!r}, state={str(s.state)!r}, "
        "run_date=date(2026, 11, 29)))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 120
    # Kill it once it is writing: the staged records file appears mid-run.
    while time.monotonic() < deadline and not list((s.out / STAGING).glob("*/*/data_quality")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not s.run_dir.exists()
    run_dir = run_all(s)
    assert MANIFEST.at(run_dir).exists() and RECORDS.at(run_dir).exists()
    assert not any((s.out / STAGING).iterdir())


def test_rerun_same_inputs_same_results_and_dry_run_changes_no_state(tmp_path: Path, extracts: Path) -> None:
    s = settings(tmp_path, extracts)
    first = pd.read_parquet(PERSON_INDEX.at(run_all(s)))
    again = pd.read_parquet(PERSON_INDEX.at(run_all(s)))
    pd.testing.assert_frame_equal(first, again)
    state_before = {p.name: sha256(p) for p in StateStore(s.state).files()}
    dry = run_all(s, dry_run=True)
    assert dry == s.out / "dry-run" / "2026-11-29" and MANIFEST.at(dry).exists()
    assert json.loads(MANIFEST.at(dry).read_text(encoding="utf-8"))["dry_run"] is True
    assert {p.name: sha256(p) for p in StateStore(s.state).files()} == state_before


def test_counties_limit_the_run(tmp_path: Path, extracts: Path) -> None:
    s = settings(tmp_path, extracts)
    run_dir = run_all(s, counties=["410822"])
    records = pd.read_parquet(RECORDS.at(run_dir))
    assert len(records) > 0 and set(records["county_code"]) == {"410822"}
    m = json.loads(MANIFEST.at(run_dir).read_text(encoding="utf-8"))
    assert m["parameters"]["counties"] == ["410822"]
    summary = json.loads(QUALITY.at(run_dir).read_text(encoding="utf-8"))
    assert summary["sources"]["monitoring"]["out_of_scope"] > 0


def test_retention_deletes_old_intermediates_failed_runs_and_stale_staging(tmp_path: Path) -> None:
    import os
    import time
    from datetime import date

    from pipeline.retention import purge

    out = tmp_path / "reports"
    for day in ("2026-10-01", "2026-10-30", "2026-11-29"):
        (out / day / "work" / "raw").mkdir(parents=True)
        (out / day / "townships").mkdir()
    (out / "dry-run" / "2026-09-01" / "work").mkdir(parents=True)
    (out / ".failed" / "2026-10-01-20261001T020000").mkdir(parents=True)
    (out / ".failed" / "2026-11-28-20261128T020000").mkdir(parents=True)
    stale = out / ".staging" / "2026-10-02-20261002T020000-77"
    stale.mkdir(parents=True)
    old = time.time() - 40 * 86400
    os.utime(stale, (old, old))
    tonight = out / ".staging" / "2026-11-29-20261129T020000-88"
    tonight.mkdir(parents=True)
    counts = purge(out, date(2026, 11, 29), 30, keep=tonight)
    assert counts == {"work": 2, "failed": 1, "staging": 1}
    assert not (out / "2026-10-01" / "work").exists() and (out / "2026-10-01" / "townships").exists()
    assert (out / "2026-10-30" / "work").exists()  # 30 days old: kept
    assert not (out / "dry-run" / "2026-09-01" / "work").exists()
    assert (
        (out / ".failed" / "2026-11-28-20261128T020000").exists() and not stale.exists() and tonight.exists()
    )


def test_a_workbook_that_cannot_be_written_fails_the_night_and_publishes_no_case(
    tmp_path: Path, extracts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workbooks are written while the summary pages are made: a workbook's failure still
    fails the night, and no case is marked 已下发 for a list nobody received."""
    from pipeline import reports
    from pipeline.cases.config import NEW, SENT

    real = reports.write_workbook

    def disk_full(path: Path, *a: object, **k: object) -> None:
        if "未确定乡镇" not in path.name:  # some workbooks are written, one is not
            real(path, *a, **k)  # type: ignore[arg-type]
            return
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(reports, "write_workbook", disk_full)
    s = settings(tmp_path, extracts)
    with pytest.raises(OSError, match="No space left"):
        run_all(s)
    failed = list((s.out / FAILED).iterdir())
    m = json.loads(MANIFEST.at(failed[0]).read_text(encoding="utf-8"))
    assert m["outcome"] == "failed" and "reports" in m["stages"]
    cases = StateStore(s.state).cases().frame()
    assert len(cases) and set(cases["status"]) == {NEW} and SENT not in set(cases["status"])
    assert cases["published_on"].isna().all()
