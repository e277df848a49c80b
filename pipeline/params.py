"""Eligibility parameters as data (rules/params.yaml), each value with the date it takes effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, read_yaml

SCALARS = ("medical_threshold", "lookback_days", "edge_multiple", "strong_link_probability")


@dataclass(frozen=True)
class Params:
    """The parameters in force on one run date."""

    run_date: date
    dibao_standard: dict[str, dict[str, float]]  # county code -> {"urban": .., "rural": ..}
    medical_threshold: float
    lookback_days: int
    edge_multiple: float
    strong_link_probability: float

    def standard(self, county: str, urban: bool) -> float | None:
        """The monthly 低保标准 for a county, urban or rural; None for a county without one."""
        by_kind = self.dibao_standard.get(county)
        return None if by_kind is None else by_kind["urban" if urban else "rural"]

    def scalars(self) -> dict[str, Any]:
        """The scalar parameters by name, for rule conditions ($medical_threshold ...)."""
        return {k: getattr(self, k) for k in SCALARS}


def load_params(path: str | Path, run_date: date) -> Params:
    """The values in force on ``run_date``; one ConfigError lists every problem in the file."""
    p = Path(path)
    doc = read_yaml(p, "parameters")
    problems: list[str] = []

    def in_force(name: str) -> dict[str, Any] | None:
        entries = doc.get(name)
        if not isinstance(entries, list) or not entries:
            problems.append(f"{name}: a list of entries, each with `from: YYYY-MM-DD`")
            return None
        dated = []
        for i, e in enumerate(entries):
            start = e.get("from") if isinstance(e, dict) else None
            if not isinstance(start, date):
                problems.append(f"{name}[{i}]: `from` must be a date (YYYY-MM-DD)")
                continue
            dated.append((start, e))
        valid = [e for start, e in sorted(dated, key=lambda t: t[0]) if start <= run_date]
        if dated and not valid:
            problems.append(
                f"{name}: no value in force on {run_date} (the earliest starts {min(d for d, _ in dated)})"
            )
        return valid[-1] if valid else None

    standard: dict[str, dict[str, float]] = {}
    entry = in_force("dibao_standard")
    if entry is not None:
        for county, kinds in (entry.get("counties") or {}).items():
            if not isinstance(kinds, dict) or set(kinds) != {"urban", "rural"}:
                problems.append(f"dibao_standard: county {county} needs `urban` and `rural` amounts")
                continue
            standard[str(county)] = {k: float(v) for k, v in kinds.items()}
        if not standard:
            problems.append("dibao_standard: no counties")
    scalars: dict[str, float] = {}
    for name in SCALARS:
        chosen = in_force(name)
        if chosen is not None:
            value = chosen.get("value")
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                problems.append(f"{name}: `value` must be a positive number")
            else:
                scalars[name] = float(value)
    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return Params(
        run_date=run_date,
        dibao_standard=standard,
        medical_threshold=scalars["medical_threshold"],
        lookback_days=int(scalars["lookback_days"]),
        edge_multiple=scalars["edge_multiple"],
        strong_link_probability=scalars["strong_link_probability"],
    )
