"""Benchmark: the hardship reader (rules/hardship.yaml) on the hand-written request sets.

    .venv/bin/python bench/bench_requests.py

Prints precision and recall per category, and for "describes any hardship" (what R08 and R09
decide on), on tests/data/requests.csv (the development set the phrase lists grew on) and
tests/data/requests_holdout.csv (written before its first measurement), then the requests each
set gets wrong. The figures in the README come from here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.eligibility.requests import CATEGORIES, classify, load_lexicon  # noqa: E402


def main() -> None:
    lexicon = load_lexicon(ROOT / "rules" / "hardship.yaml")
    for name in ("requests.csv", "requests_holdout.csv"):
        d = pd.read_csv(ROOT / "tests" / "data" / name, keep_default_na=False)
        got = classify(d["text"], lexicon)["hardship"]
        want = d["categories"].str.split(";").map(lambda x: {c for c in x if c})
        found = got.str.split(";").map(lambda x: {c for c in x if c})
        print(f"== {name}: {len(d)} texts, {int(want.map(bool).sum())} describe a hardship")
        print(f"{'category':<10} {'true':>5} {'read':>5} {'precision':>10} {'recall':>7}")
        for c in (*CATEGORIES, "any"):
            w = want.map(lambda s, c=c: bool(s) if c == "any" else c in s)
            g = found.map(lambda s, c=c: bool(s) if c == "any" else c in s)
            tp = int((w & g).sum())
            p = tp / g.sum() if g.sum() else float("nan")
            r = tp / w.sum() if w.sum() else float("nan")
            label = "任一困难" if c == "any" else c
            print(f"{label:<10} {int(w.sum()):>5} {int(g.sum()):>5} {p:>10.2f} {r:>7.2f}")
        wrong = d[want != found]
        print(f"read differently: {len(wrong)}")
        for text, w_, g_ in zip(wrong["text"], wrong["categories"], got[wrong.index], strict=True):
            print(f"  want {w_ or '-':<16} read {g_ or '-':<16} {text}")


if __name__ == "__main__":
    main()
