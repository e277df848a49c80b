"""Prefect orchestration of the Prefect-free library in ``pipeline/``."""

import os

# Library modules log through the standard logging module; let Prefect's run log show them.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipeline")
# The machine is offline: no analytics calls from either tool.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# Library loggers also log outside flow runs (tests, the CLI before the flow starts).
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
