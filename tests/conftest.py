from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from pipeline.sources import SourcesConfig, load_sources  # noqa: E402
from tests.postgres import throwaway_cluster  # noqa: E402


@pytest.fixture(scope="session")
def cfg() -> SourcesConfig:
    return load_sources(PROJECT_ROOT / "rules" / "sources.yaml")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return PROJECT_ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the database ``cases_test`` on a throw-away PostgreSQL server, started once per session.

    Started only when a test asks for it. Without PostgreSQL this is an error, not a skip (CI must run
    these tests), unless AD_SKIP_POSTGRES=1.
    """
    if os.environ.get("AD_SKIP_POSTGRES") == "1":
        pytest.skip("AD_SKIP_POSTGRES=1: the PostgreSQL tests are skipped")
    with throwaway_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLAlchemy URL of an empty database, once on SQLite and once on PostgreSQL.

    On PostgreSQL each test gets a database of its own (``t_<uuid>``), dropped afterwards even if
    connections to it are still open.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.sqlite'}"
        return
    session_url: str = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(session_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(session_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()
