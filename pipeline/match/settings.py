"""Load and validate rules/matching.yaml into a frozen settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError

#: Comparison name -> its levels after `missing` (level 0). The code computes exactly these.
COMPARISONS: dict[str, tuple[str, ...]] = {
    "name": ("exact", "pinyin", "dropped", "fuzzy", "else"),
    "id": ("exact", "substitution", "transposition", "else"),
    "birth": ("exact", "else"),
    "age": ("close", "else"),
    "sex": ("exact", "else"),
    "phone": ("exact", "else"),
    "place": ("township", "county", "else"),
    "household": ("exact", "else"),
    "guardian": ("exact", "else"),
    "disabled": ("exact", "else"),
}
BLOCK_KEYS = {
    "name",
    "name_pinyin",
    "township_code",
    "county_code",
    "birth_year",
    "phone",
    "surname",
    "birth_date",
}


@dataclass(frozen=True)
class Pass:
    name: str
    keys: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class MatchSettings:
    path: str
    max_age_gap_years: int
    max_block: int
    passes: tuple[Pass, ...]
    name_fuzzy: float
    birth_year_tolerance: int
    em_iterations: int
    u_sample_pairs: int
    m_start: dict[str, tuple[float, ...]]
    m_fixed: dict[str, dict[str, float]]
    m_floor: float
    seed: int
    link: float
    review: float


def load_matching(path: str | Path) -> MatchSettings:
    """Read and check the whole file; one ConfigError lists every problem."""
    p = Path(path)
    try:
        doc: dict[str, Any] = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{p}: cannot read the matching settings: {e}") from e
    problems: list[str] = []

    def get(section: str, key: str, kind: type, default: Any = None) -> Any:
        value = (doc.get(section) or {}).get(key, default)
        if value is None or not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            problems.append(f"{section}.{key}: expected {kind.__name__}, got {value!r}")
            return kind() if kind in (int, float, str) else default
        return value

    passes: list[Pass] = []
    for i, body in enumerate((doc.get("blocking") or {}).get("passes") or []):
        name = str(body.get("name", f"pass{i}"))
        keys = tuple(body.get("keys") or ())
        unknown = [k for k in keys if k not in BLOCK_KEYS]
        if unknown:
            problems.append(f"blocking.passes[{name}]: unknown keys {unknown}; known: {sorted(BLOCK_KEYS)}")
        if not keys and name != "id_one_edit":
            problems.append(f"blocking.passes[{name}]: needs keys (only id_one_edit has none)")
        if not body.get("why"):
            problems.append(f"blocking.passes[{name}]: say why the pass exists (`why`)")
        passes.append(Pass(name, keys, str(body.get("why", ""))))
    if not passes:
        problems.append("blocking.passes: at least one pass is needed")

    comps = doc.get("comparisons") or {}
    for name, levels in COMPARISONS.items():
        if tuple(comps.get(name) or ()) != levels:
            problems.append(f"comparisons.{name}: the code computes levels {list(levels)}")
    m_start: dict[str, tuple[float, ...]] = {}
    for name, levels in COMPARISONS.items():
        values = ((doc.get("model") or {}).get("m_start") or {}).get(name)
        if (
            not isinstance(values, list)
            or len(values) != len(levels)
            or not all(0 < float(v) < 1 for v in values)
        ):
            problems.append(f"model.m_start.{name}: {len(levels)} probabilities in (0, 1), one per level")
        else:
            m_start[name] = tuple(float(v) for v in values)

    m_fixed: dict[str, dict[str, float]] = {}
    for name, levels_fixed in ((doc.get("model") or {}).get("m_fixed") or {}).items():
        for level, value in (levels_fixed or {}).items():
            if name not in COMPARISONS or level not in COMPARISONS[name]:
                problems.append(f"model.m_fixed.{name}.{level}: no such comparison level")
            elif not 0 < float(value) < 1:
                problems.append(f"model.m_fixed.{name}.{level}: a probability in (0, 1)")
            else:
                m_fixed.setdefault(name, {})[level] = float(value)

    s = MatchSettings(
        path=str(p),
        max_age_gap_years=get("anchor", "max_age_gap_years", int),
        max_block=get("blocking", "max_block", int),
        passes=tuple(passes),
        name_fuzzy=float(get("thresholds", "name_fuzzy", float)),
        birth_year_tolerance=get("thresholds", "birth_year_tolerance", int),
        em_iterations=get("model", "em_iterations", int),
        u_sample_pairs=get("model", "u_sample_pairs", int),
        m_start=m_start,
        m_fixed=m_fixed,
        m_floor=float(get("model", "m_floor", float)),
        seed=get("model", "seed", int),
        link=float(get("decision", "link", float)),
        review=float(get("decision", "review", float)),
    )
    if not 0 < s.review < s.link < 1:
        problems.append("decision: need 0 < review < link < 1")
    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return s
