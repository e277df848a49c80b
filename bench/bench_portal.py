"""Load on the township portal: concurrent township users log in, list their cases and download
their workbook, against the 1M-record night of bench_night.py (run that first).

    .venv/bin/python bench/bench_portal.py                    # 50 users at once, 3 rounds each
    .venv/bin/python bench/bench_portal.py --ramp 10 --think 2  # the same users over a morning's 10 s

Bounded: 127.0.0.1 only, ``--users`` x ``--rounds`` requests per kind, stopped after ``--limit``
seconds. The portal runs as deployed (``active-discovery portal``, uvicorn) in a child process on
a copy of the night's case store; each user is a township account of one of the townships with
the most warnings. Prints p50/p95/max latency per kind of request and the errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import RunConfig  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from portal.accounts import Accounts  # noqa: E402
from portal.data import books, published_runs  # noqa: E402

PASSWORD = "bench-password-1"
TLS = ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one_user(
    base: str,
    name: str,
    code: str,
    night: str,
    rounds: int,
    times: dict[str, list[float]],
    errors: list[str],
    start: float = 0,
    think: float = 0,
) -> None:
    await asyncio.sleep(start)
    # One TLS context for all clients: httpx builds one per client otherwise (tens of ms of CPU
    # each), which would time the load generator, not the portal.
    async with httpx.AsyncClient(base_url=base, timeout=60, verify=TLS) as c:

        async def timed(kind: str, method: str, url: str, **kw: object) -> httpx.Response | None:
            t0 = time.perf_counter()
            try:
                r = await c.request(method, url, **kw)  # type: ignore[arg-type]
            except httpx.HTTPError as e:
                errors.append(f"{kind}: {type(e).__name__}")
                return None
            times[kind].append(time.perf_counter() - t0)
            if r.status_code >= 400:
                errors.append(f"{kind}: HTTP {r.status_code}")
            return r

        r = await timed("login page", "GET", "/login")
        token = re.search(r'name="csrf" value="([^"]+)"', r.text)[1] if r is not None else ""  # type: ignore[index]
        await timed(
            "login (argon2)", "POST", "/login", data={"username": name, "password": PASSWORD, "csrf": token}
        )
        for _ in range(rounds):
            await asyncio.sleep(think)
            await timed("township page", "GET", f"/t/{code}")
            r = await timed("workbook download", "GET", f"/t/{code}/book/{night}")
            if r is not None and r.content[:2] != b"PK":
                errors.append("workbook download: not a workbook")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--night", default=str(ROOT / "bench" / "out" / "rules_869565_5" / "night"))
    p.add_argument("--state", default=str(ROOT / "bench" / "out" / "rules_869565_5" / "night_state"))
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--limit", type=float, default=300, help="stop after this many seconds")
    p.add_argument(
        "--ramp", type=float, default=0, help="users start evenly over this many seconds (0: all at once)"
    )
    p.add_argument("--think", type=float, default=0, help="seconds a user waits before each round")
    a = p.parse_args()
    out = Path(a.night)
    runs = published_runs(out)
    if not runs:
        sys.exit(f"no published night in {out}: run bench/bench_night.py first")
    night = runs[0]
    work = Path(tempfile.mkdtemp(prefix="bench_portal_"))
    state = work / "state"
    state.mkdir()
    shutil.copy2(Path(a.state) / "cases.sqlite", state / "cases.sqlite")
    settings = Settings.build(out=out, state=state)
    townships = RunConfig.load(settings).townships
    by_size = sorted(books(out, night).values(), key=lambda b: b.path.stat().st_size, reverse=True)
    placed = [b.code for b in by_size if b.code in townships][: a.users]
    accounts = Accounts(state / "portal" / "users.yaml")
    for i, code in enumerate(placed):
        accounts.add(f"t{i:03d}", "township", (code,), PASSWORD, townships[code][1])
    port = free_port()
    env = {**os.environ, "AD_PORTAL_USERS": str(accounts.path), "AD_PORTAL_SECRET": "bench-secret"}
    cmd = [sys.executable, "-m", "flows.cli", "portal", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--out", str(out), "--state", str(state), "--workers", str(a.workers)]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(
                    "the portal did not start: "
                    + (server.stderr.read().decode()[-2000:] if server.stderr else "")
                )
            time.sleep(0.2)
        times: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []

        async def everyone() -> None:
            await asyncio.wait_for(
                asyncio.gather(
                    *(
                        one_user(
                            base,
                            f"t{i:03d}",
                            c,
                            night.isoformat(),
                            a.rounds,
                            times,
                            errors,
                            start=a.ramp * i / len(placed),
                            think=a.think,
                        )
                        for i, c in enumerate(placed)
                    )
                ),
                timeout=a.limit,
            )

        t0 = time.perf_counter()
        asyncio.run(everyone())
        wall = time.perf_counter() - t0
        head = f"{len(placed)} township users x {a.rounds} rounds, {a.workers} worker(s), night {night}"
        head += (
            f", started over {a.ramp:g} s, {a.think:g} s between rounds"
            if a.ramp or a.think
            else ", all at once"
        )
        print(f"== portal load: {head}")
        for kind, ts in times.items():
            ms = sorted(t * 1000 for t in ts)
            p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
            p50 = statistics.median(ms)
            print(f"{kind:<18} n={len(ms):4d}  p50 {p50:7.0f} ms  p95 {p95:7.0f} ms  max {ms[-1]:7.0f} ms")
        print(
            f"wall {wall:.1f} s; errors: {len(errors)}"
            + (f" ({', '.join(sorted(set(errors)))})" if errors else "")
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
