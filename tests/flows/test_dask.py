"""The night on a Dask cluster (AD_EXECUTOR=dask, a 2-worker LocalCluster) gives the local night."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from flows.nightly import nightly
from pipeline import parallel
from pipeline.contracts import TOWNSHIPS
from pipeline.reports import SHEET_LIST


def night(root: Path, sample_dir: Path) -> Path:
    nightly(
        run_date=date(2026, 11, 29),
        extracts=str(sample_dir),
        out=str(root / "reports"),
        state=str(root / "state"),
    )
    return root / "reports" / "2026-11-29"


def lists(run_dir: Path) -> dict[str, list[list[Any]]]:
    out = {}
    for book in sorted(TOWNSHIPS.at(run_dir).rglob("*.xlsx")):
        ws = openpyxl.load_workbook(book)[SHEET_LIST]
        out[book.name] = [list(r) for r in ws.iter_rows(values_only=True)]
    return out


@pytest.mark.slow
def test_the_night_on_a_dask_cluster_is_the_local_night(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AD_EXECUTOR", "local")
    local = night(tmp_path / "local", sample_dir)

    monkeypatch.setenv("AD_EXECUTOR", "dask")
    monkeypatch.setenv("AD_WORKERS", "2")
    monkeypatch.delenv("AD_DASK_SCHEDULER", raising=False)
    clusters = []
    make = parallel._dask

    def counted() -> Any:
        client = make()
        clusters.append(len(client.scheduler_info()["workers"]))
        return client

    monkeypatch.setattr(parallel, "_dask", counted)
    on_dask = night(tmp_path / "dask", sample_dir)
    # The folders, the sources, the quality workbooks and the township workbooks went to Dask.
    assert len(clusters) >= 4 and set(clusters) == {2}
    assert parallel._client is None  # closed with the night

    def people(run_dir: Path) -> pd.DataFrame:
        index = pd.read_parquet(run_dir / "data" / "person_index.parquet")
        return index[["source", "file", "row", "person_id"]].sort_values(["source", "file", "row"])

    pd.testing.assert_frame_equal(
        people(local).reset_index(drop=True), people(on_dask).reset_index(drop=True)
    )
    w_local = pd.read_parquet(local / "data" / "warnings.parquet").sort_values("warning_id")
    w_dask = pd.read_parquet(on_dask / "data" / "warnings.parquet").sort_values("warning_id")
    pd.testing.assert_frame_equal(
        w_local.drop(columns=["run_date"]).reset_index(drop=True),
        w_dask.drop(columns=["run_date"]).reset_index(drop=True),
    )
    assert lists(local) == lists(on_dask)
