"""The fitted matching model kept in the state folder, and when to fit it again.

    <state>/model/model.json        m and u per comparison, EM's match rate, the lowest name
                                    frequency, the run date it was fitted on and its fingerprint
    <state>/model/name_tf.parquet   how common each name, and each name per sex, is among people
                                    (name, sex, tf; sex "" for the name alone)

A night reuses the saved model unless ``refit_reason`` names a reason to fit again: asked
(``--refit``), none saved yet, the matching or sources settings or the matching code changed since
(``fingerprint``), or it is ``refit_days`` old by run date. Reusing it keeps a night's links from
moving because a new sample of random pairs was drawn, and spares the fit (about 6 s at 1M records).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.match.compare import COMPARISONS
from pipeline.match.model import Model
from pipeline.match.shapes import SHAPES_FILE
from pipeline.memo import code_fingerprint, digest, files_fingerprint, write_replacing

MODEL_JSON = "model.json"
NAME_TF = "name_tf.parquet"
#: The code a model's numbers mean something to: its comparisons, their levels, the model.
MODEL_CODE = (
    "pipeline/match/compare.py",
    "pipeline/match/model.py",
    "pipeline/match/prepare.py",
    "pipeline/match/settings.py",
    "pipeline/match/shapes.py",
)


@dataclass
class SavedModel:
    model: Model
    fitted_on: date
    fingerprint: str


def fingerprint(matching_file: Path, sources_file: Path) -> str:
    # The character shapes decide the name levels, so a new table is a new model.
    return digest(code_fingerprint(MODEL_CODE), files_fingerprint([matching_file, sources_file, SHAPES_FILE]))


def load(folder: Path) -> SavedModel | None:
    """The saved model, or None when there is none (or it no longer has today's comparisons)."""
    path = folder / MODEL_JSON
    if not path.exists() or not (folder / NAME_TF).exists():
        return None
    d = json.loads(path.read_text(encoding="utf-8"))
    if set(d["m"]) != set(COMPARISONS) or any(len(d["m"][k]) != len(v) for k, v in COMPARISONS.items()):
        return None
    tf = pd.read_parquet(folder / NAME_TF)
    if "sex" not in tf.columns:
        return None  # saved before the (name, sex) frequencies: fit again
    plain, sexed = tf[tf["sex"] == ""], tf[tf["sex"] != ""]
    model = Model(
        m={k: np.asarray(v, dtype=float) for k, v in d["m"].items()},
        u={k: np.asarray(v, dtype=float) for k, v in d["u"].items()},
        prior=float(d["prior"]),
        name_tf=dict(zip(plain["name"].tolist(), plain["tf"].tolist(), strict=True)),
        min_tf=float(d["min_tf"]),
        name_sex_tf={
            (n, x): t
            for n, x, t in zip(
                sexed["name"].tolist(), sexed["sex"].tolist(), sexed["tf"].tolist(), strict=True
            )
        },
    )
    return SavedModel(model, date.fromisoformat(d["fitted_on"]), str(d["fingerprint"]))


def save(folder: Path, saved: SavedModel) -> None:
    """Write both files atomically, the frequencies first: a reader finding model.json finds
    its frequencies too (a killed night leaves the old model, or the new one whole)."""
    from pipeline.state import write_atomic

    m = saved.model
    tf = pd.concat(
        [
            pd.DataFrame({"name": list(m.name_tf), "sex": "", "tf": list(m.name_tf.values())}),
            pd.DataFrame(
                {
                    "name": [n for n, _ in m.name_sex_tf],
                    "sex": [x for _, x in m.name_sex_tf],
                    "tf": list(m.name_sex_tf.values()),
                }
            ),
        ],
        ignore_index=True,
    ).astype({"name": "str", "sex": "str", "tf": "float64"})
    write_atomic(tf, folder / NAME_TF)
    doc = {
        "fitted_on": saved.fitted_on.isoformat(),
        "fingerprint": saved.fingerprint,
        "prior": m.prior,
        "min_tf": m.min_tf,
        "m": {k: [float(x) for x in v] for k, v in m.m.items()},
        "u": {k: [float(x) for x in v] for k, v in m.u.items()},
    }
    text = json.dumps(doc, indent=1)
    write_replacing(folder / MODEL_JSON, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def refit_reason(
    saved: SavedModel | None, current: str, run_date: date, refit_days: int, asked: bool
) -> str | None:
    """Why tonight fits the model again (None: the saved one is used).

    >>> s = SavedModel(Model({}, {}, 0.5, {}, 1.0), date(2026, 11, 1), "f")
    >>> refit_reason(s, "f", date(2026, 11, 7), 7, False) is None
    True
    >>> refit_reason(s, "f", date(2026, 11, 8), 7, False)
    'the saved model is 7 days old (refit_days: 7)'
    >>> refit_reason(s, "g", date(2026, 11, 2), 7, False)
    'the matching settings, the sources file or the matching code changed'
    """
    if asked:
        return "asked (--refit)"
    if saved is None:
        return "no saved model"
    if saved.fingerprint != current:
        return "the matching settings, the sources file or the matching code changed"
    age = (run_date - saved.fitted_on).days
    if age >= refit_days or age < 0:
        # A night for an earlier date than the fit (a backfill) fits its own model too.
        return f"the saved model is {age} days old (refit_days: {refit_days})"
    return None
