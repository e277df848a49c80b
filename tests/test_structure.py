"""The project's structure, checked: the library never imports Prefect, every stage output is
declared once, stages read only what they declare, and the state store's guarantees hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline import contracts
from pipeline.contracts import ContractError, Output
from pipeline.settings import PROJECT_ROOT
from pipeline.stages import STAGES

LIBRARY = PROJECT_ROOT / "pipeline"
CODE = [*LIBRARY.rglob("*.py"), *(PROJECT_ROOT / "flows").rglob("*.py")]
DECLARED = [v for v in vars(contracts).values() if isinstance(v, Output)]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob("*.py")), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_the_library_never_imports_prefect(path: Path) -> None:
    assert "prefect" not in _imports(path), f"{path} imports Prefect: only flows/ may"


def test_every_output_file_name_is_spelled_once() -> None:
    """The issue's check: grep for an output's file name finds only its declaration."""
    for out in DECLARED:
        name = out.name
        if "{source}" in name or "." not in name:  # per-source patterns; folders ("townships") are
            continue  # also plain words in the code
        quoted = re.compile(rf"[\"']{re.escape(name)}[\"']|[\"'][^\"'\s]*/{re.escape(name)}[\"']")
        spelled = [
            str(p.relative_to(PROJECT_ROOT)) for p in CODE if quoted.search(p.read_text(encoding="utf-8"))
        ]
        assert spelled == ["pipeline/contracts.py"], f"{name} spelled in {spelled}"


def test_each_stage_reads_only_outputs_of_earlier_stages() -> None:
    written: set[str] = set()
    for stage in STAGES:
        for out in stage.reads:
            assert out.key in written, f"stage {stage.name} reads {out.key} before any stage writes it"
        written |= {o.key for o in stage.writes}
    assert len({o.key for o in DECLARED}) == len(DECLARED) and len({o.path for o in DECLARED}) == len(
        DECLARED
    )


def test_a_stage_cannot_open_an_undeclared_file(tmp_path: Path) -> None:
    from pipeline.stages import StageContext, stage

    ctx = StageContext(stage("households"), None, tmp_path, None)  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="does not declare"):
        ctx.input(contracts.WARNINGS)
    with pytest.raises(ContractError, match="does not declare"):
        ctx.output(contracts.PERSONS)
    with pytest.raises(ContractError, match="input person_index is missing"):
        ctx.input(contracts.PERSON_INDEX)
    assert ctx.output(contracts.HOUSEHOLDS) == tmp_path / "data" / "households.parquet"


def test_a_parquet_output_is_checked_against_its_declared_columns(tmp_path: Path) -> None:
    import pandas as pd

    path = contracts.HOUSEHOLDS.at(tmp_path)
    path.parent.mkdir(parents=True)
    pd.DataFrame({"person_id": ["P1"]}).to_parquet(path)
    with pytest.raises(ContractError, match="lacks the declared columns"):
        contracts.HOUSEHOLDS.check(tmp_path)


def test_summaries_read_back_what_they_wrote(tmp_path: Path) -> None:
    from pipeline.ingest import FileReport

    q = contracts.QualitySummary(
        run_date="2026-11-29",
        counties=["410822"],
        extracts="x",
        sources={
            "medical": contracts.SourceStatus(
                label="医保住院结算", status="ok", files=[FileReport(source="medical", path="a.csv", rows=3)]
            )
        },
        records=3,
    )
    assert contracts.QualitySummary.read(q.write(tmp_path / "q.json")) == q
    r = contracts.RulesSummary("2026-11-29", [contracts.RuleOutcome("R05", "大额", "ran", [], 2)], True, {})
    assert contracts.RulesSummary.read(r.write(tmp_path / "r.json")) == r
