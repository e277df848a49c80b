"""The nightly flow: the library's stage list (``pipeline.stages.STAGES``) run as Prefect tasks.

ingest -> normalize -> validate -> match -> households -> rules -> reports. The order, the staging,
the locks and the manifest all come from ``pipeline.runs.run_night``, the same function the
Prefect-free ``run_all`` uses; this module only adds what Prefect brings: a task per stage (with
retries on I/O for ingest), the run log, and the artifacts the UI shows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import flows  # noqa: F401  (sets logging/analytics environment before Prefect runs)
from pipeline.contracts import INDEX_HTML, SUMMARY_HTML, WARNINGS
from pipeline.reports import ReportsResult
from pipeline.reports.artifacts import ARTIFACT_KEYS, markdown_summary, report_link
from pipeline.runs import Night, run_night
from pipeline.settings import Settings
from pipeline.stages import Stage, StageContext


def _retry_on_io(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when reading failed on I/O (a network share hiccup), never on bad data."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


def as_task(stage: Stage, ctx: StageContext) -> Any:
    """Run one stage as a Prefect task named after it."""
    options: dict[str, Any] = {"name": stage.name, "cache_policy": NO_CACHE}
    if stage.retry_on_io:
        options.update(retries=2, retry_delay_seconds=10, retry_condition_fn=_retry_on_io)
    return task(stage.run, **options)(ctx)


def publish_artifacts(night: Night, out: Path) -> None:
    """What the Prefect UI shows of a night: counts by county and rule, the run summary, and links
    to the published summary page and index."""
    result = night.results.get("reports")
    if not isinstance(result, ReportsResult):
        return
    run_date = night.config.settings.run_date.isoformat()
    create_table_artifact(
        table=result.county_rule, key=ARTIFACT_KEYS["table"], description=f"预警数量:区县 × 规则({run_date})"
    )
    create_markdown_artifact(
        markdown=markdown_summary(result.context, night.run_dir),
        key=ARTIFACT_KEYS["markdown"],
        description="本次运行汇总",
    )
    for kind, output, text in (
        ("summary", SUMMARY_HTML, "运行汇总"),
        ("index", INDEX_HTML, "各乡镇预警名单下载"),
    ):
        create_link_artifact(
            link=report_link(night.run_dir, out, output.path), link_text=text, key=ARTIFACT_KEYS[kind]
        )
    get_run_logger().info("reports: %d township workbooks", len(result.books))


@flow(name="nightly", log_prints=False)
def nightly(
    run_date: date | None = None,
    extracts: str | None = None,
    out: str | None = None,
    state: str | None = None,
    counties: list[str] | None = None,
    rules_only: list[str] | None = None,
    dry_run: bool = False,
    wait_seconds: float = 0,
    full: bool = False,
    refit: bool = False,
) -> str:
    """Read, normalize, validate and link the department extracts; apply the rules; write the
    township workbooks, summary.html and index.html under <out>/<run_date>/.

    Args:
        run_date: The day the run is for (default: today in Asia/Shanghai). Rules use it as "now".
        extracts: Folder with one subfolder per source (default: AD_EXTRACTS, else data/sample).
        out: Reports folder; this run writes <out>/<run_date>/ (default: AD_OUT, else reports).
        state: Folder kept between runs: person IDs, review decisions, warning history
            (default: AD_STATE, else data/state).
        counties: Only these counties (6-digit codes, e.g. ["410822"]); default all.
        rules_only: Only these eligibility rules (ids in rules/eligibility.yaml, e.g. ["R05"]);
            default all.
        dry_run: Write to <out>/dry-run/<run_date>/ and change no state (a what-if run).
        wait_seconds: How long to wait for another run holding the state folder or the date
            (default 0: refuse at once, naming the holder).
        full: Read, normalize and validate every file again instead of taking the unchanged
            ones from earlier nights (the outputs are the same; use it to rule the memo out).
        refit: Fit the matching model again tonight instead of reusing the saved one.
    """
    settings = Settings.build(
        extracts=extracts, out=out, state=state, run_date=run_date, full=full or None, refit=refit or None
    )
    night = run_night(settings, counties, rules_only, dry_run, call=as_task, wait_seconds=wait_seconds)
    get_run_logger().info("rows per stage: %s", night.rows)
    publish_artifacts(night, settings.out)
    return str(WARNINGS.at(night.run_dir))
