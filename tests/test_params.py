"""Parameters by effective date, and a broken file reported whole."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.params import load_params
from pipeline.settings import PROJECT_ROOT

FILE = PROJECT_ROOT / "rules" / "params.yaml"


def test_sample_values_for_every_county() -> None:
    p = load_params(FILE, date(2026, 11, 29))
    assert len(p.dibao_standard) == 11
    assert p.standard("410822", urban=True) == 650 and p.standard("410822", urban=False) == 470
    assert p.standard("999999", urban=True) is None
    assert p.scalars() == {
        "medical_threshold": 20000.0,
        "lookback_days": 365,
        "edge_multiple": 1.5,
        "strong_link_probability": 0.99,
    }


def test_the_value_in_force_on_the_run_date(tmp_path: Path) -> None:
    text = FILE.read_text(encoding="utf-8").replace(
        "medical_threshold:  # 大额医疗自付: yuan of out-of-pocket cost over the look-back window\n"
        "  - from: 2026-01-01\n    value: 20000",
        "medical_threshold:\n  - from: 2026-01-01\n    value: 20000\n  - from: 2027-01-01\n    value: 25000",
    )
    f = tmp_path / "params.yaml"
    f.write_text(text, encoding="utf-8")
    assert load_params(f, date(2026, 12, 31)).medical_threshold == 20000
    assert load_params(f, date(2027, 1, 1)).medical_threshold == 25000
    with pytest.raises(ConfigError, match="no value in force on 2025-12-31"):
        load_params(f, date(2025, 12, 31))


def test_every_problem_at_once(tmp_path: Path) -> None:
    f = tmp_path / "params.yaml"
    f.write_text(
        "dibao_standard:\n  - from: 2026-01-01\n    counties: {'410822': {urban: 650}}\n"
        "medical_threshold:\n  - from: soon\n    value: 1\nlookback_days: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_params(f, date(2026, 11, 29))
    msg = str(e.value)
    for expected in [
        "county 410822 needs `urban` and `rural`",
        "medical_threshold[0]: `from` must be a date",
        "lookback_days: a list of entries",
        "edge_multiple: a list of entries",
    ]:
        assert expected in msg
