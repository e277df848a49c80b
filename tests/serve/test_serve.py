"""Integration: a real `prefect server`, the `serve` process, and a deployment run triggered through
the Prefect client with parameters, as an analyst would from the UI."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from pipeline.contracts import TOWNSHIPS
from pipeline.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def _wait_for_deployment(deadline: float) -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        while True:
            try:
                await client.read_deployment_by_name("nightly/nightly")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)


@pytest.mark.slow
def test_serve_then_trigger_the_nightly_deployment(tmp_path: Path, sample_dir: Path) -> None:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    served: subprocess.Popen[bytes] | None = None
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    out = tmp_path / "reports"
    try:
        deadline = time.monotonic() + 180
        while not _healthy(api):
            assert server.poll() is None, (tmp_path / "server.log").read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "prefect server did not start"
            time.sleep(1)
        served = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--cron", "0 2 * * *"],
            cwd=PROJECT_ROOT,
            env={**env, "PREFECT_API_URL": api},
            stdout=open(tmp_path / "serve.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with temporary_settings({PREFECT_API_URL: api}):
            asyncio.run(_wait_for_deployment(time.monotonic() + 120))
            run = run_deployment(
                "nightly/nightly",
                parameters={
                    "run_date": "2026-11-29",
                    "extracts": str(extracts),
                    "out": str(out),
                    "state": str(tmp_path / "state"),
                    "counties": ["410822", "410823"],
                },
                timeout=600,
                poll_interval=2,
                as_subflow=False,
            )
        assert run.state is not None and run.state.is_completed(), (
            run.state,
            (tmp_path / "serve.log").read_text(errors="replace")[-3000:],
        )
        manifest = json.loads((out / "2026-11-29" / "run_manifest.json").read_text(encoding="utf-8"))
        assert manifest["outcome"] == "completed" and manifest["rows"]["persons"] > 0
        assert manifest["parameters"]["counties"] == ["410822", "410823"]
        assert (out / "2026-11-29" / "data" / "person_index.parquet").exists()

        # A county clerk imports a returned workbook now, through the feedback deployment.
        import openpyxl

        book = sorted(TOWNSHIPS.at(out / "2026-11-29").rglob("*.xlsx"))[0]
        wb = openpyxl.load_workbook(book)
        ws = wb["预警名单"]
        head = {c.value: c.column for c in ws[3] if c.value}
        wid = ws.cell(4, head["预警编号"]).value
        ws.cell(4, head["核查结果"]).value = "不符合"
        ws.cell(4, head["核查日期"]).value = date(2026, 11, 30)
        returned = tmp_path / "returned.xlsx"
        wb.save(returned)
        with temporary_settings({PREFECT_API_URL: api}):
            done = run_deployment(
                "feedback/feedback",
                parameters={"files": [str(returned)], "state": str(tmp_path / "state"), "user": "县民政局"},
                timeout=300,
                poll_interval=2,
                as_subflow=False,
            )
        assert done.state is not None and done.state.is_completed(), done.state
        from pipeline.cases.store import CaseStore

        store = CaseStore(f"sqlite:///{tmp_path / 'state' / 'cases.sqlite'}")
        case = store.frame().set_index("warning_id").loc[wid]
        assert (case["status"], case["answer"]) == ("closed", "不符合")
        assert set(store.table("audit").query("by_file == 'returned.xlsx'")["by_user"]) == {"县民政局"}
        store.dispose()
    finally:
        if served is not None:
            _stop(served)
        _stop(server)
        log.close()
