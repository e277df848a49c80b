"""Independent pieces of a stage in worker processes, when there is enough work to pay for them.

A worker process is started with ``spawn`` (a fresh interpreter: forking a process that runs
Prefect's threads can deadlock on a lock another thread held at the fork), so each costs its
imports, about two seconds. Below ``MIN_ROWS`` rows the stage stays in this process: a test's or
a county's night is faster that way, and nothing changes but where the work runs.

``AD_WORKERS`` sets the number of processes (default: the CPUs, at most 4; 1 switches it off).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_ROWS = 200_000  # below this the pool's start-up costs more than it saves (measured: ~2 s)
BYTES_PER_ROW = 100  # a department's CSV row, roughly: rows from a folder's size before reading it


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


def run_each(
    fn: Callable[[T], R], items: Iterable[T], rows: int, min_rows: int | None = None
) -> Iterator[tuple[T, R]]:
    """``fn(item)`` for every item, yielding (item, result) as each finishes: in worker processes
    when there are ``rows`` >= ``min_rows`` (MIN_ROWS by default: raw rows; a stage whose rows
    cost more each says so) and more than one worker, else here, in order. ``fn`` must be a
    module-level function and the items and results picklable. An exception in ``fn`` is raised
    here, as it would be without workers."""
    todo = list(items)
    n = min(workers(), len(todo))
    if n <= 1 or rows < (MIN_ROWS if min_rows is None else min_rows):
        for item in todo:
            yield item, fn(item)
        return
    log.info("%d items in %d worker processes", len(todo), n)
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(fn, item): item for item in todo}
        for f in as_completed(futures):
            yield futures[f], f.result()
