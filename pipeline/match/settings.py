"""Load and validate rules/matching.yaml into a frozen settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, read_yaml
from pipeline.match.compare import COMPARISONS

BLOCK_KEYS = {
    "name",
    "name_pinyin",
    "township_code",
    "county_code",
    "birth_year",
    "phone",
    "surname",
    "birth_date",
    "id_prefix",
}


@dataclass(frozen=True)
class Pass:
    name: str
    keys: tuple[str, ...]
    why: str


#: Record columns a training blocking may group on.
TRAINING_KEYS = {"name", "name_pinyin", "township_code", "county_code", "anchor_id", "birth_date", "phone"}


@dataclass(frozen=True)
class TrainingBlock:
    keys: tuple[str, ...]
    fixes: frozenset[str]  # the comparisons its keys decide: EM neither uses nor learns them there


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
    training: tuple[TrainingBlock, ...] = ()
    training_pairs: int = 200_000  # sampled over all training blockings, split evenly
    training_min_pairs: int = 100  # a blocking with fewer pairs is skipped
    training_block_size: tuple[int, int] = (2, 50)  # key groups of these sizes form the pairs
    refit_days: int = 7  # a saved model is fitted again once it is this many days old
    birth_conflict_years: int = 2  # records whose birth windows lie further apart are two people


def load_matching(path: str | Path) -> MatchSettings:
    """Read and check the whole file; one ConfigError lists every problem."""
    p = Path(path)
    doc: dict[str, Any] = read_yaml(p, "matching settings")
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

    train = doc.get("training") or {}
    blocks: list[TrainingBlock] = []
    for i, body in enumerate(train.get("blockings") or []):
        keys = tuple((body or {}).get("keys") or ())
        fixes = frozenset((body or {}).get("fixes") or ())
        if not keys or any(k not in TRAINING_KEYS for k in keys):
            problems.append(f"training.blockings[{i}].keys: some of {sorted(TRAINING_KEYS)}")
        if any(f not in COMPARISONS for f in fixes):
            problems.append(f"training.blockings[{i}].fixes: comparisons among {list(COMPARISONS)}")
        blocks.append(TrainingBlock(keys, fixes))
    if not blocks:
        problems.append("training.blockings: at least one blocking is needed for EM")
    learned = set().union(*[set(COMPARISONS) - b.fixes for b in blocks])
    if blocks and learned != set(COMPARISONS):
        unlearned = sorted(set(COMPARISONS) - learned)
        problems.append(
            f"training.blockings: every comparison must vary in some blocking; {unlearned} never do"
        )
    size = train.get("block_size") or [2, 50]
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(x, int) for x in size)
        and 2 <= size[0] <= size[1]
    ):
        problems.append("training.block_size: [smallest, largest] group, smallest at least 2")
        size = [2, 50]
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
        refit_days=get("model", "refit_days", int, 7),
        link=float(get("decision", "link", float)),
        review=float(get("decision", "review", float)),
        birth_conflict_years=get("decision", "birth_conflict_years", int, 2),
        training=tuple(blocks),
        training_pairs=get("training", "pairs", int),
        training_min_pairs=get("training", "min_pairs", int),
        training_block_size=(int(size[0]), int(size[1])),
    )
    if s.refit_days < 1:
        problems.append("model.refit_days: at least 1 (fit again every night: 1)")
    if s.birth_conflict_years < 0:
        problems.append("decision.birth_conflict_years: 0 or more years")
    if not 0 < s.review < s.link < 1:
        problems.append("decision: need 0 < review < link < 1")
    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return s
