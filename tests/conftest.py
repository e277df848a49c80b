from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from hypothesis import settings as hypothesis_settings  # noqa: E402

from pipeline.settings import PROJECT_ROOT  # noqa: E402

# CI runs the property tests derandomized (the same examples every time, so a landing never turns on
# luck); local runs explore new examples. No deadline: the machine is shared and timing is noisy.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
from pipeline.sources import SourcesConfig, load_sources  # noqa: E402


@pytest.fixture(scope="session")
def cfg() -> SourcesConfig:
    return load_sources(PROJECT_ROOT / "rules" / "sources.yaml")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return PROJECT_ROOT / "data" / "sample"
