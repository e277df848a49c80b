"""Shared by the benchmark scripts: sizing and generating (once, cached) the synthetic extracts, and
running stages in a child process with their time and peak memory."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_HOUSEHOLD = 1.15  # extract rows per household with the generator's defaults (measured)


def households_for(records: int) -> int:
    return max(int(records / ROWS_PER_HOUSEHOLD), 100)


def size_args(
    doc: str | None, records: int | list[int], seed: int, switches: dict[str, str] | None = None
) -> argparse.Namespace:
    """The benchmarks' common flags: --records (one size, or several when the default is a list),
    --seed and --work (the cache folder)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if isinstance(records, list):
        p.add_argument("--records", type=int, nargs="+", default=records)
    else:
        p.add_argument("--records", type=int, default=records)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--work", default=str(ROOT / "bench" / "out"))
    p.add_argument(
        "--error-scale",
        type=float,
        default=1.0,
        help="multiply the generator's error rates (robustness: does accuracy hold at 2x the errors?)",
    )
    for flag, help_text in (switches or {}).items():
        p.add_argument(flag, action="store_true", help=help_text)
    return p.parse_args()


def scaled(name: str, error_scale: float) -> str:
    """A cache folder's name for extracts generated at ``error_scale`` times the usual errors."""
    return name if error_scale == 1.0 else f"{name}_e{error_scale:g}"


def ensure_extracts(
    households: int, seed: int, folder: Path, clean_out: Path | None = None, error_scale: float = 1.0
) -> Path:
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
                *(["--error-scale", str(error_scale)] if error_scale != 1.0 else []),
            ],
            check=True,
            cwd=ROOT,
        )
        print(f"generated {households:,} households in {time.perf_counter() - t0:.0f} s -> {folder}")
    return folder


# A child process runs the stages (a fresh interpreter: imports, caches and peak memory are the
# stages' own) and prints one JSON line: seconds per stage and the peak RSS of the child and its
# worker processes together.
_CHILD = r"""
import json, logging, resource, shutil, sys, time
logging.basicConfig(level=logging.WARNING)
from pipeline.config import RunConfig
from pipeline.measure import StageMeter
from pipeline.runs import run_night, run_stages
from pipeline.settings import Settings
from pipeline.state import StateStore
extracts, out, run_date, state, names, mode, keep = sys.argv[1:8]
s = Settings.build(extracts=extracts, out=out, run_date=run_date, state=state)
if keep != "keep":
    shutil.rmtree(s.state, ignore_errors=True)
seconds = {}
def timed(stage, ctx):
    t = time.perf_counter()
    result = stage.run(ctx)
    seconds[stage.name] = time.perf_counter() - t
    return result
t = time.perf_counter()
with StageMeter() as whole:  # this process and its worker processes, summed, sampled
    if mode == "night":  # the whole night as operated: staged, locked, manifest, published
        run_night(s, call=timed)
    else:
        wanted = names.split(",") if names else None
        run_stages(RunConfig.load(s), s.run_dir, StateStore(s.state), wanted, timed)
peak = max(whole.peak_mb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps({"seconds": seconds, "total": time.perf_counter() - t, "peak_mb": peak}))
"""


@dataclass(frozen=True)
class Measured:
    seconds: dict[str, float]  # per stage
    total: float  # the stages (or the whole night) inside the child
    wall: float  # the child process, imports included
    peak_mb: float  # the child's and its workers' resident memory together, at most


def run_in_child(
    extracts: Path,
    out: Path,
    run_date: str,
    state: Path,
    stages: list[str] | None = None,
    mode: str = "stages",
    keep_state: bool = False,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run ``stages`` (default all) of ``pipeline.stages.STAGES`` in a fresh child process.

    ``mode``: "stages" (straight into ``<out>/<run_date>``) or "night" (``run_night``: staging,
    locks, manifest, publish); both on an empty state folder unless ``keep_state`` (an incremental
    night takes what earlier nights left there). ``env``: extra environment (AD_FULL=1 ...).
    """
    import os

    t0 = time.perf_counter()
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(extracts),
            str(out),
            run_date,
            str(state),
            ",".join(stages or []),
            mode,
            "keep" if keep_state else "fresh",
        ],
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    m = json.loads(res.stdout.strip().splitlines()[-1])
    return Measured(m["seconds"], m["total"], wall, m["peak_mb"])
