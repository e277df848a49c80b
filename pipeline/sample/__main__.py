"""python -m pipeline.sample --households N --seed S --out DIR"""

from __future__ import annotations

import argparse
import logging
from datetime import date

from pipeline.sample import DEFAULT_AS_OF, SampleSpec, generate


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pipeline.sample", description=__doc__)
    p.add_argument("--households", type=int, required=True, help="number of households in the population")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True, help="extracts folder to write (one subfolder per source)")
    p.add_argument(
        "--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="the extracts' reference date"
    )
    p.add_argument("--error-scale", type=float, default=1.0, help="multiply every error rate (0 = clean)")
    p.add_argument(
        "--clean-out", help="also write the rows before errors were injected here (benchmarks' truth)"
    )
    p.add_argument("--xlsx", default="disability", help="comma-separated sources written as .xlsx")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    generate(
        SampleSpec(
            households=a.households,
            seed=a.seed,
            as_of=a.as_of,
            xlsx_sources=tuple(s for s in a.xlsx.split(",") if s),
            error_scale=a.error_scale,
        ),
        a.out,
        clean_out=a.clean_out,
    )


if __name__ == "__main__":
    main()
