"""Shared by the benchmark scripts: sizing and generating (once, cached) the synthetic extracts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_HOUSEHOLD = 1.15  # extract rows per household with the generator's defaults (measured)


def households_for(records: int) -> int:
    return max(int(records / ROWS_PER_HOUSEHOLD), 100)


def ensure_extracts(households: int, seed: int, folder: Path, clean_out: Path | None = None) -> Path:
    """Generate the extracts into ``folder`` unless a finished generation (truth.csv) is there.

    The cache is keyed by folder name only: delete bench/out/ after changing the generator.
    """
    if not (folder / "truth.csv").exists():
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline.sample",
                "--households",
                str(households),
                "--seed",
                str(seed),
                "--out",
                str(folder),
                *(["--clean-out", str(clean_out)] if clean_out else []),
            ],
            check=True,
            cwd=ROOT,
        )
        print(f"generated {households:,} households in {time.perf_counter() - t0:.0f} s -> {folder}")
    return folder
