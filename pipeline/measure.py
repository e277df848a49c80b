"""Each stage's time and peak memory, for the run manifest and the command line (every run).

Peak memory is sampled: a background thread reads the resident set of the process and of its
worker processes (pipeline.parallel), summed, every 50 ms while the stage runs (Linux ``/proc``).
Sampling leaves the kernel's own high-water mark alone, so a benchmark that reads ``getrusage``
afterwards still gets the whole run's peak; a spike shorter than the interval can be missed.
Elsewhere the figure is the process's peak so far.
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import threading
import time
from pathlib import Path
from types import TracebackType

import pyarrow as pa

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def release_memory() -> None:
    """Hand back to the system what the last stage freed. A stage's frames are gone when it returns,
    but their memory stays with the process: Arrow's allocator keeps freed buffers for reuse, and
    glibc keeps freed heap at the top of its arenas. The next stage then starts gigabytes higher (at
    3M records the rules stage peaked at 8.5 GB in the night and 7.0 GB in a process of its own)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def rss_mb() -> float:
    """The process's resident memory now (MB), or its peak so far where /proc is missing."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def tree_rss_mb() -> float:
    """Resident memory (MB) of this process and every process it started, now: a stage whose
    pieces run in worker processes uses theirs too. This process alone where /proc is missing."""
    total, stack, seen = 0, [os.getpid()], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            if pid == os.getpid():
                return rss_mb()
            continue
        stack += _children(pid)
    return total / 2**20


class StageMeter:
    """``with StageMeter() as m: …`` then ``m.seconds`` and ``m.peak_mb``."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.seconds = 0.0
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="stage-meter", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> StageMeter:
        self._t0 = time.perf_counter()
        self.peak_mb = tree_rss_mb()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, tree_rss_mb())
        self.seconds = time.perf_counter() - self._t0

    def as_dict(self) -> dict[str, float]:
        return {"seconds": round(self.seconds, 1), "peak_rss_mb": round(self.peak_mb)}
