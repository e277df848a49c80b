from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from pipeline.settings import PROJECT_ROOT  # noqa: E402
from pipeline.sources import SourcesConfig, load_sources  # noqa: E402


@pytest.fixture(scope="session")
def cfg() -> SourcesConfig:
    return load_sources(PROJECT_ROOT / "rules" / "sources.yaml")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return PROJECT_ROOT / "data" / "sample"
