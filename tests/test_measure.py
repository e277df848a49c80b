"""Memory a stage freed goes back to the system before the next stage (pipeline.measure)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.settings import PROJECT_ROOT

CODE = """
import numpy as np
from pipeline.measure import release_memory, rss_mb
base = rss_mb()
held = [np.ones(1000) for _ in range(40_000)]  # 320 MB in small blocks, as a stage's frames leave it
full = rss_mb()
del held
freed = rss_mb()
release_memory()
print(base, full, freed, rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_a_stage_freed_is_handed_back() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CODE], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    base, full, freed, released = map(float, done.stdout.split())
    assert full - base > 250  # the blocks were resident
    assert freed - base > 250  # freed, but still the process's: the next stage would start here
    assert released - base < 50
