"""Independent pieces of a stage in worker processes, when there is enough work to pay for them.

Worker processes are forked from a ``forkserver``: a fresh interpreter started once per process
(forking the night's own process, which runs Prefect's threads, can deadlock on a lock another
thread held at the fork; the server has no such threads) that imports the pipeline's modules
once (``PRELOAD``). A worker then starts in about 30 ms instead of the two seconds of imports a
``spawn``ed one pays, four pools a night. Where the platform has no forkserver, ``spawn``. Below
``MIN_ROWS`` rows the stage stays in this process: a test's or a county's night is faster that
way, and nothing changes but where the work runs.

``AD_WORKERS`` sets the number of processes (default: the CPUs, at most 4; 1 switches it off).

``AD_EXECUTOR=dask`` sends the same pieces to a Dask cluster instead, whatever the night's size:
the one at ``AD_DASK_SCHEDULER`` (``tcp://host:8786``, started with Dask's own ``dask scheduler``
and ``dask worker`` commands on machines that share the state and reports folders), or a
``LocalCluster`` of ``AD_WORKERS`` single-threaded worker processes when no address is given. The
pieces read and write Parquet and workbooks on the shared paths and return small reports, so the
outputs are the local executor's (``tests/flows/test_dask.py``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: What the forkserver imports before forking workers: the modules their pieces run in.
PRELOAD = ("pipeline.stages", "pipeline.ingest", "pipeline.normalize", "pipeline.quality", "pipeline.reports")
MIN_ROWS = 200_000  # below this the pool's start-up costs more than it saves (measured: ~2 s)
BYTES_PER_ROW = 100  # a department's CSV row, roughly: rows from a folder's size before reading it


def _mp_context() -> multiprocessing.context.BaseContext:
    """The forkserver context with the pipeline preloaded, or spawn where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))  # takes effect when the server starts (first pool)
    return ctx


def workers() -> int:
    """Processes to use: AD_WORKERS, else the machine's CPUs, at most 4."""
    env = os.environ.get("AD_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            log.warning("AD_WORKERS=%r is not a number; using 1", env)
            return 1
    return max(1, min(4, os.cpu_count() or 1))


def executor() -> str:
    """``local`` (processes on this machine) or ``dask`` (AD_EXECUTOR)."""
    value = os.environ.get("AD_EXECUTOR", "local").strip().lower() or "local"
    if value not in ("local", "dask"):
        from pipeline.errors import ConfigError

        raise ConfigError(f"AD_EXECUTOR={value!r}: use local or dask")
    return value


_client: Any = None  # the Dask client of this run, made on first use


def _dask() -> Any:
    global _client
    if _client is None:
        from distributed import Client, LocalCluster

        address = os.environ.get("AD_DASK_SCHEDULER", "").strip()
        if address:
            log.info("Dask: connecting to the scheduler at %s", address)
            _client = Client(address)
        else:
            n = workers()
            log.info("Dask: a LocalCluster of %d worker processes", n)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            _client = Client(cluster)
    return _client


def close() -> None:
    """Close this run's Dask client (and the LocalCluster it started); a no-op without one."""
    global _client
    if _client is None:
        return
    cluster = None if os.environ.get("AD_DASK_SCHEDULER", "").strip() else _client.cluster
    try:
        _client.close()
        if cluster is not None:
            cluster.close()
    finally:
        _client = None


def run_each(
    fn: Callable[[T], R], items: Iterable[T], rows: int, min_rows: int | None = None
) -> Iterator[tuple[T, R]]:
    """``fn(item)`` for every item, yielding (item, result) as each finishes: in worker processes
    when there are ``rows`` >= ``min_rows`` (MIN_ROWS by default: raw rows; a stage whose rows
    cost more each says so) and more than one worker, else here, in order. ``fn`` must be a
    module-level function and the items and results picklable. An exception in ``fn`` is raised
    here, as it would be without workers."""
    todo = list(items)
    if todo and executor() == "dask":
        from distributed import as_completed as dask_completed

        futures = _dask().map(fn, todo, pure=False)
        index = {f.key: item for f, item in zip(futures, todo, strict=True)}
        for f in dask_completed(futures):
            yield index[f.key], f.result()
        return
    n = min(workers(), len(todo))
    if n <= 1 or rows < (MIN_ROWS if min_rows is None else min_rows):
        for item in todo:
            yield item, fn(item)
        return
    log.info("%d items in %d worker processes", len(todo), n)
    with ProcessPoolExecutor(max_workers=n, mp_context=_mp_context()) as pool:
        futures = {pool.submit(fn, item): item for item in todo}
        for f in as_completed(futures):
            yield futures[f], f.result()
