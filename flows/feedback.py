"""The feedback flow: import returned township workbooks into the case store, by hand or on demand.

The nightly run imports whatever is in ``<state>/inbox`` first thing anyway; this flow is for a
county clerk or an analyst who wants the answers in now (from the Prefect UI, with the files' paths)
and sees the result at once: a table of each file's outcome and a link to the 导入结果 workbook.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_table_artifact

import flows  # noqa: F401  (sets logging/analytics environment before Prefect runs)
from pipeline.cases.feedback import import_files
from pipeline.settings import Settings


@flow(name="feedback", log_prints=False)
def feedback(
    files: list[str], state: str | None = None, user: str | None = None, wait_seconds: float = 60
) -> str:
    """Check and apply returned township workbooks (核查结果, 回访结果, 应属乡镇).

    Args:
        files: Paths of the returned .xlsx workbooks (as the township sent them; renamed is fine).
        state: The state folder holding the case store (default: AD_STATE, else data/state).
        user: Who imports, for the audit trail (default: the account running the flow).
        wait_seconds: How long to wait for a nightly run holding the state folder.

    Returns the path of the 导入结果 workbook (each file's outcome, each row not imported and why).
    """
    settings = Settings.build(state=state)
    results, book = import_files(settings, [Path(f) for f in files], user or getpass.getuser(), wait_seconds)
    log = get_run_logger()
    for r in results:
        (log.error if r.error else log.info)("%s", r.line())
    create_table_artifact(
        table=[
            {
                "文件": r.file,
                "导入": r.applied,
                "无变化": r.unchanged,
                "未导入": r.rejected,
                "未填写": r.blank,
                "说明": r.error or ("已导入过" if r.duplicate_of else ""),
            }
            for r in results
        ],
        key="feedback-import",
        description="反馈导入结果",
    )
    create_link_artifact(link=book.resolve().as_uri(), link_text="导入结果(Excel)", key="feedback-result")
    return str(book)
