"""Progress events of long stages, for the command line's progress bars.

Stages call ``step("normalize", done, total)``; the events go to the ``pipeline.progress`` logger,
which does not propagate (they are not run-log material) and is silent unless a front end attaches
a handler, as ``active-discovery run`` does.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
log.propagate = False
log.setLevel(logging.DEBUG)
log.addHandler(logging.NullHandler())


def step(stage: str, done: int, total: int) -> None:
    """``done`` of ``total`` units of ``stage`` are finished."""
    log.debug("%s %d/%d", stage, done, total, extra={"stage": stage, "done": done, "total": total})
