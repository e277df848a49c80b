"""The command line: one clear line and a documented exit code for the project's own errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import EXIT_REFUSED
from pipeline.contracts import SUMMARY_HTML
from pipeline.settings import PROJECT_ROOT, Settings


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_bad_rule_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    text = (rules / "eligibility.yaml").read_text(encoding="utf-8")
    (rules / "eligibility.yaml").write_text(
        text.replace("when: disabled", "when: no_such_fact and disabled", 1)
    )
    done = _cli(
        "run",
        "--out",
        str(tmp_path / "out"),
        "--state",
        str(tmp_path / "state"),
        env={"AD_RULES": str(rules)},
    )
    assert done.returncode == EXIT_REFUSED
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.startswith("active-discovery:")]
    assert len(lines) == 1 and "eligibility.yaml" in lines[0]
    assert "no_such_fact" in done.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_an_unknown_rule_id_is_one_line(tmp_path: Path) -> None:
    done = _cli("run", "--rules", "R99", "--out", str(tmp_path / "out"), env={})
    assert done.returncode == EXIT_REFUSED and "R99" in done.stderr and "Traceback" not in done.stderr


def test_the_ad_variables_are_the_defaults_of_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "AD_EXTRACTS": str(tmp_path / "x"),
        "AD_OUT": str(tmp_path / "o"),
        "AD_STATE": str(tmp_path / "s"),
        "AD_RULES": str(tmp_path / "r"),
    }
    for k in env:  # no variable: the built-in defaults
        monkeypatch.delenv(k, raising=False)
    default = Settings.build(run_date="2026-11-29")
    assert default.extracts == PROJECT_ROOT / "data" / "sample"
    assert default.state == PROJECT_ROOT / "data" / "state"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings.build(run_date="2026-11-29")
    assert (s.extracts, s.out, s.state, s.rules_dir) == tuple(Path(v) for v in env.values())
    flagged = Settings.build(extracts="e", out="o2", state="s2", run_date="2026-11-29")
    assert (flagged.extracts, flagged.out, flagged.state) == (Path("e"), Path("o2"), Path("s2"))


@pytest.mark.slow
def test_the_bad_input_corpus_through_the_cli(tmp_path: Path, sample_dir: Path) -> None:
    """Every kind of real extract in the subsidy folder, an empty file in the disability folder:
    the night runs, every case ends as documented, no good row is lost, exit 5, the hook fires,
    and the summary's banner names each file that could not be read."""
    import json

    import pandas as pd

    from flows.cli import EXIT_PARTIAL
    from tests.bad_inputs import CORPUS

    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    names = {name: case.write(extracts / "subsidy").name for name, case in CORPUS.items()}
    (extracts / "disability" / "残疾人信息_补充.xlsx").write_bytes(b"")  # an empty file in a folder
    hook = tmp_path / "hook.json"
    done = _cli(
        "run",
        "--extracts",
        str(extracts),
        "--out",
        str(tmp_path / "out"),
        "--state",
        str(tmp_path / "state"),
        "--run-date",
        "2026-11-29",
        env={"AD_NOTIFY_COMMAND": f"cat > {hook}"},
    )
    assert done.returncode == EXIT_PARTIAL, done.stderr[-2000:]
    assert "PARTIAL" in done.stderr and "summary.html" in done.stderr and "Traceback" not in done.stderr
    assert "disability  PARTIAL" in done.stdout and "subsidy     PARTIAL" in done.stdout
    manifest = json.loads(hook.read_text(encoding="utf-8"))  # the hook fired for a partial night
    assert manifest["outcome"] == "partial"
    assert "残疾人信息_补充.xlsx" in manifest["rows"]["sources_incomplete"]["disability"]
    files = {f["file"]: f for f in manifest["sources"]["subsidy"]["files"]}
    for name, case in CORPUS.items():
        f = files[names[name]]
        if case.error:
            assert f["error"] and f["read"] == 0, name
        else:  # every row read, and each accepted or set aside with its reason
            assert f["read"] == case.rows + sum(case.set_aside.values()), name
            assert f["accepted"] + f["out_of_scope"] + sum(f["quarantined"].values()) == f["read"], name
            for reason, n in case.set_aside.items():
                assert f["quarantined"][reason] == n, name
    run = tmp_path / "out" / "2026-11-29"
    records = pd.read_parquet(run / "data" / "records.parquet", columns=["source", "file"])
    good = [names[n] for n, c in CORPUS.items() if not c.error]
    assert set(good) <= set(records.loc[records["source"] == "subsidy", "file"].str.split("(").str[0])
    page = SUMMARY_HTML.at(run).read_text(encoding="utf-8")
    banner = page[page.index('class="banner"') : page.index("</div>", page.index('class="banner"'))]
    for name, case in CORPUS.items():
        assert (names[name] in banner) == bool(case.error), name
    assert "残疾人信息_补充.xlsx" in banner and "R03 重度残疾人护理补贴未享受" in banner
    # The registry only adds evidence: its readable file's warnings are there; "no payment" is not
    # knowable with a subsidy file unread, so R03 and R04 did not run.
    rules = set(pd.read_parquet(run / "data" / "warnings.parquet")["rule"])
    assert {"R01", "R02"} <= rules and not {"R03", "R04"} & rules
    assert not (tmp_path / "state" / "warning_trend.parquet").exists()  # not a whole night
