"""The ways department data goes wrong (../shared/DOMAIN.md "How the data goes wrong").

Each corruption is a small pure function of one value and a random generator; ``corrupt`` applies
them at given rates and records which ones hit each row, so benchmarks can break accuracy down
by error kind.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import opencc
import pandas as pd

from pipeline.sample import vocab

_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_S2T = opencc.OpenCC("s2t")

Corruption = Callable[[str, np.random.Generator], str | None]


# --- IDs --------------------------------------------------------------------------------------
def id_lower_x(v: str, rng: np.random.Generator) -> str | None:
    return v[:-1] + "x" if v.endswith("X") else None


def id_fullwidth(v: str, rng: np.random.Generator) -> str | None:
    return v.translate(_FULLWIDTH)


def id_spaces(v: str, rng: np.random.Generator) -> str | None:
    k = int(rng.integers(0, 3))
    return [f"{v[:6]} {v[6:14]} {v[14:]}", f"{v}\u3000", f" {v} "][k]


def id_apostrophe(v: str, rng: np.random.Generator) -> str | None:
    return "'" + v


def id_tab(v: str, rng: np.random.Generator) -> str | None:
    return "\t" + v if rng.random() < 0.5 else v + "\t"


def id_typo(v: str, rng: np.random.Generator) -> str | None:
    i = int(rng.integers(0, 17))
    d = str((int(v[i]) + int(rng.integers(1, 10))) % 10)
    return v[:i] + d + v[i + 1 :]


def id_swap(v: str, rng: np.random.Generator) -> str | None:
    for _ in range(5):
        i = int(rng.integers(0, 16))
        if v[i] != v[i + 1]:
            return v[:i] + v[i + 1] + v[i] + v[i + 2 :]
    return None


def id_legacy15(v: str, rng: np.random.Generator) -> str | None:
    if v[6:8] != "19":
        return None
    return v[:6] + v[8:17]


def id_mangled(v: str, rng: np.random.Generator) -> str | None:
    if rng.random() < 0.6:
        return f"{int(v[:6]) / 1e5:.5f}E+17".replace("0E", "E")  # 4.10822E+17, as Excel shows it
    return v[:15] + "000"  # 15 significant digits kept, the rest zeroed


# --- names ------------------------------------------------------------------------------------
def _replace_one(v: str, table: dict[str, str], rng: np.random.Generator) -> str | None:
    spots = [i for i, c in enumerate(v) if c in table]
    if not spots:
        return None
    i = spots[int(rng.integers(0, len(spots)))]
    return v[:i] + table[v[i]] + v[i + 1 :]


def name_homophone(v: str, rng: np.random.Generator) -> str | None:
    return _replace_one(v, vocab.HOMOPHONES, rng)


def name_shape(v: str, rng: np.random.Generator) -> str | None:
    return _replace_one(v, vocab.SHAPE_SIMILAR, rng)


def name_traditional(v: str, rng: np.random.Generator) -> str | None:
    t = str(_S2T.convert(v))
    return t if t != v else None


def name_space(v: str, rng: np.random.Generator) -> str | None:
    sep = "\u3000" if rng.random() < 0.5 else " "
    return v[:1] + sep + v[1:]


def name_dropped(v: str, rng: np.random.Generator) -> str | None:
    return v[:-1] if len(v) >= 3 else None


ID_ERRORS: dict[str, tuple[Corruption, float]] = {
    "id_lower_x": (id_lower_x, 0.5),  # of IDs ending in X
    "id_fullwidth": (id_fullwidth, 0.008),
    "id_spaces": (id_spaces, 0.01),
    "id_apostrophe": (id_apostrophe, 0.01),
    "id_tab": (id_tab, 0.005),
    "id_typo": (id_typo, 0.008),
    "id_swap": (id_swap, 0.004),
    "id_legacy15": (id_legacy15, 0.02),
    "id_mangled": (id_mangled, 0.004),
}
NAME_ERRORS: dict[str, tuple[Corruption, float]] = {
    "name_homophone": (name_homophone, 0.01),
    "name_shape": (name_shape, 0.004),
    "name_traditional": (name_traditional, 0.008),
    "name_space": (name_space, 0.01),
    "name_dropped": (name_dropped, 0.003),
}


def corrupt(
    values: pd.Series,
    errors: dict[str, tuple[Corruption, float]],
    rng: np.random.Generator,
    tags: pd.Series,
    scale: float = 1.0,
) -> pd.Series:
    """Apply each corruption to a random share of the non-null values; one per value at most.

    ``tags`` (same index) collects the names of the corruptions applied, comma-separated.
    """
    out = values.copy()
    hit = pd.Series(False, index=values.index)
    for tag, (fn, rate) in errors.items():
        chosen = (rng.random(len(values)) < rate * scale) & values.notna().to_numpy() & ~hit.to_numpy()
        for i in values.index[chosen]:
            new = fn(str(out.at[i]), rng)
            if new is not None and new != out.at[i]:
                out.at[i] = new
                hit.at[i] = True
                tags.at[i] = f"{tags.at[i]},{tag}" if tags.at[i] else tag
    return out
