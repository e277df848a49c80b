"""Serve the deployments: the nightly schedule, and analysts' manual runs from the UI or CLI.

``active-discovery serve`` (or ``make serve``) starts a local Prefect server on 127.0.0.1 when
PREFECT_API_URL is not set, then serves every deployment in ``deployments()``. A later flow (the
feedback import) joined by adding one line there.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flows  # noqa: F401  (environment defaults before Prefect is imported)

log = logging.getLogger(__name__)

DEFAULT_CRON = "0 2 * * *"
TIMEZONE = "Asia/Shanghai"


def deployments(cron: str = DEFAULT_CRON) -> list[Any]:
    """Every deployment this project serves. Add a flow here to have it served and scheduled."""
    from prefect.schedules import Cron

    from flows.feedback import feedback
    from flows.nightly import nightly

    return [
        nightly.to_deployment(
            name="nightly",
            schedules=[Cron(cron, timezone=TIMEZONE)],
            description="Nightly run on the department extracts; analysts run it by hand with parameters.",
            tags=["nightly"],
        ),
        feedback.to_deployment(
            name="feedback", description="Import returned township workbooks now.", tags=["feedback"]
        ),
    ]


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as r:  # noqa: S310 (loopback)
            return bool(r.status == 200)
    except OSError:
        return False


@contextmanager
def local_server(port: int = 4200, timeout: float = 120) -> Iterator[str]:
    """A `prefect server start` on 127.0.0.1 (SQLite), for as long as the block runs."""
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(api_url):
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not answer on {api_url} within {timeout:.0f} s")
            time.sleep(1)
        log.info("Prefect server at %s (UI: http://127.0.0.1:%d)", api_url, port)
        yield api_url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def serve(cron: str = DEFAULT_CRON, port: int = 4200) -> None:
    """Serve the deployments against PREFECT_API_URL, starting a local server when it is unset."""
    if os.environ.get("PREFECT_API_URL"):
        _serve(cron)
        return
    with local_server(port) as api_url:
        os.environ["PREFECT_API_URL"] = api_url
        _serve(cron)


def _serve(cron: str) -> None:
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(cron), pause_on_shutdown=False)
