"""The one settings object: where rules, reference data, inputs, outputs and state live.

Read from flags (CLI, flow parameters) with the environment as fallback; no path is written twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TIMEZONE = ZoneInfo("Asia/Shanghai")


def today_shanghai() -> date:
    """The bureau's calendar day: the nightly run at 02:00 Beijing time is for that day."""
    return datetime.now(TIMEZONE).date()


@dataclass(frozen=True)
class Settings:
    extracts: Path
    out: Path
    state: Path
    run_date: date
    rules_dir: Path
    #: The case store: None for the SQLite file in the state folder; else an SQLAlchemy URL
    #: (``postgresql+psycopg://user@host/db``), from DATABASE_URL.
    database_url: str | None = None
    #: Days the intermediates of a run (work/), failed runs and stale staging folders are kept.
    retention_days: int = 30
    #: A YAML file of township code -> password: township workbooks are written encrypted.
    passwords_file: Path | None = None
    #: Recompute every file and source (read nothing from the memo of earlier nights; AD_FULL=1).
    full: bool = False
    #: Fit the matching model again tonight instead of reusing the saved one (AD_REFIT=1).
    refit: bool = False

    @property
    def cases_file(self) -> Path:
        return self.rules_dir / "cases.yaml"

    @property
    def sources_file(self) -> Path:
        return self.rules_dir / "sources.yaml"

    @property
    def matching_file(self) -> Path:
        return self.rules_dir / "matching.yaml"

    @property
    def params_file(self) -> Path:
        return self.rules_dir / "params.yaml"

    @property
    def eligibility_file(self) -> Path:
        return self.rules_dir / "eligibility.yaml"

    @property
    def hardship_file(self) -> Path:
        return self.rules_dir / "hardship.yaml"

    @property
    def gazetteer_file(self) -> Path:
        return self.rules_dir / "reference" / "jiaozuo_townships_2022.csv"

    @property
    def run_dir(self) -> Path:
        return self.out / self.run_date.isoformat()

    @classmethod
    def build(
        cls,
        extracts: str | Path | None = None,
        out: str | Path | None = None,
        state: str | Path | None = None,
        run_date: date | str | None = None,
        rules_dir: str | Path | None = None,
        database_url: str | None = None,
        full: bool | None = None,
        refit: bool | None = None,
    ) -> Settings:
        env = os.environ.get

        def path(value: str | Path | None, var: str, default: Path) -> Path:
            return Path(value or env(var) or default)

        if isinstance(run_date, str):
            run_date = date.fromisoformat(run_date)
        return cls(
            extracts=path(extracts, "AD_EXTRACTS", PROJECT_ROOT / "data" / "sample"),
            out=path(out, "AD_OUT", PROJECT_ROOT / "reports"),
            state=path(state, "AD_STATE", PROJECT_ROOT / "data" / "state"),
            run_date=run_date or today_shanghai(),
            rules_dir=path(rules_dir, "AD_RULES", PROJECT_ROOT / "rules"),
            database_url=database_url or env("DATABASE_URL") or None,
            retention_days=int(env("AD_RETENTION_DAYS") or 30),
            passwords_file=Path(p) if (p := env("AD_WORKBOOK_PASSWORDS")) else None,
            full=full if full is not None else env("AD_FULL", "") in ("1", "true", "yes"),
            refit=refit if refit is not None else env("AD_REFIT", "") in ("1", "true", "yes"),
        )
