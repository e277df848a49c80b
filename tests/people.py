"""Hand-worked people for the end-to-end tests: valid IDs built with their check character, and
dates counted back from the run date D."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from pipeline.normalize.ids import check_chars

D = date(2026, 11, 29)


def pid(area: str, birth: str, seq: str) -> str:
    """A valid 18-character ID: area code, birth date, sequence and its check character."""
    first17 = area + birth + seq
    return first17 + str(check_chars(np.array([first17]))[0])


def days_ago(n: int) -> str:
    return (D - timedelta(days=n)).isoformat()
