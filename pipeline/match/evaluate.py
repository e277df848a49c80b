"""Pairwise precision, recall and F1 of a clustering against a truth (benchmarks only).

Real extracts come without truth: nothing in the pipeline reads this module's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def _pairs(counts: pd.Series) -> int:
    c = counts.to_numpy().astype("int64")
    return int((c * (c - 1) // 2).sum())


@dataclass(frozen=True)
class PairwiseScore:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(truth: pd.Series, predicted: pd.Series) -> PairwiseScore:
    """Both Series are aligned per record: the true person and the predicted cluster.

    >>> s = pairwise(pd.Series(["a", "a", "a", "b"]), pd.Series([1, 1, 2, 2]))
    >>> (s.true_pairs, s.predicted_pairs, s.correct_pairs)
    (3, 2, 1)
    """
    frame = pd.DataFrame({"t": truth.to_numpy(), "p": predicted.to_numpy()})
    return PairwiseScore(
        true_pairs=_pairs(frame.groupby("t").size()),
        predicted_pairs=_pairs(frame.groupby("p").size()),
        correct_pairs=_pairs(frame.groupby(["t", "p"]).size()),
    )
