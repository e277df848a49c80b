"""Advisory file locks that say who holds them: the run-date lock and the state folder's lock.

An ``flock`` on a file, so the kernel releases it when the holder's process dies (a killed run never
leaves a lock behind). The holder writes a line about itself into the file; a refused run reads it
back to say who is in the way.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def holder_of(path: Path) -> str:
    """What the current (or last) holder wrote about itself."""
    try:
        return path.read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def hold(path: Path, holder: str, wait_seconds: float, refuse: Callable[[str], Exception]) -> Iterator[None]:
    """Hold ``path`` for the block, waiting up to ``wait_seconds`` for another holder; then raise
    ``refuse(<that holder's line>)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise refuse(holder_of(path)) from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
