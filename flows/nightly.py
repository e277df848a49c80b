"""The nightly flow: one task per stage, Parquet paths between them.

ingest -> normalize -> validate -> match -> households -> rules -> reports. The rule and parameter files are
checked before any data is read, so a mistake in them fails the run at once, naming file and rule.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import flows  # noqa: F401  (sets logging/analytics environment before Prefect runs)
from pipeline import stages
from pipeline.reports.artifacts import ARTIFACT_KEYS, markdown_summary, report_link
from pipeline.runs import staged_run
from pipeline.settings import Settings, today_shanghai
from pipeline.sources import load_sources


def _retry_on_io(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when reading failed on I/O (a network share hiccup), never on bad data."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10, retry_condition_fn=_retry_on_io)
def ingest(settings: Settings) -> Path:
    report = stages.ingest_stage(settings, load_sources(settings.sources_file))
    get_run_logger().info("ingest: report at %s", report)
    return report


@task(cache_policy=NO_CACHE)
def normalize(settings: Settings, ingest_report: Path) -> Path:
    return stages.normalize_stage(settings, ingest_report)


@task(cache_policy=NO_CACHE)
def validate(settings: Settings, ingest_report: Path, normalized: Path, counties: list[str] | None) -> Path:
    records = stages.validate_stage(settings, ingest_report, normalized, counties=counties)
    get_run_logger().info("validate: records at %s", records)
    return records


@task(cache_policy=NO_CACHE)
def match(settings: Settings, records: Path) -> Path:
    person_index = stages.match_stage(settings, records)
    get_run_logger().info("match: person index at %s", person_index)
    return person_index


@task(cache_policy=NO_CACHE)
def households(settings: Settings, person_index: Path) -> Path:
    return stages.households_stage(settings, person_index)


@task(cache_policy=NO_CACHE)
def rules(settings: Settings, households_file: Path, rule_ids: list[str] | None) -> Path:
    warnings = stages.rules_stage(settings, households_file, rule_ids)
    get_run_logger().info("rules: warnings at %s", warnings)
    return warnings


@task(cache_policy=NO_CACHE)
def reports(settings: Settings, warnings_file: Path, whole_run: bool, final_run_dir: Path, out: Path) -> int:
    """Workbooks, summary and index; then what the Prefect UI shows of them (links to the final
    folder: the staging folder this task writes into is renamed when the run completes)."""
    result = stages.reports_stage(settings, warnings_file, whole_run)
    create_table_artifact(
        table=result.county_rule,
        key=ARTIFACT_KEYS["table"],
        description=f"预警数量:区县 × 规则({settings.run_date.isoformat()})",
    )
    create_markdown_artifact(
        markdown=markdown_summary(result.context, final_run_dir),
        key=ARTIFACT_KEYS["markdown"],
        description="本次运行汇总",
    )
    for kind, name, text in (
        ("summary", "summary.html", "运行汇总"),
        ("index", "index.html", "各乡镇预警名单下载"),
    ):
        create_link_artifact(
            link=report_link(final_run_dir, out, name), link_text=text, key=ARTIFACT_KEYS[kind]
        )
    get_run_logger().info("reports: %d township workbooks", len(result.books))
    return len(result.books)


@flow(name="nightly", log_prints=False)
def nightly(
    run_date: date | None = None,
    extracts: str = "data/sample",
    out: str = "reports",
    state: str = "data/state",
    counties: list[str] | None = None,
    rules_only: list[str] | None = None,
    dry_run: bool = False,
) -> str:
    """Read, normalize, validate and link the department extracts; apply the rules; write the
    township workbooks, summary.html and index.html under reports/<run_date>/.

    Args:
        run_date: The day the run is for (default: today in Asia/Shanghai). Rules use it as "now".
        extracts: Folder with one subfolder per source (monitoring, disability, ...).
        out: Reports folder; this run writes <out>/<run_date>/ (staged, then moved into place).
        state: Folder kept between runs (person IDs, review decisions, case state).
        counties: Only these counties (6-digit codes, e.g. ["410822"]); default all.
        rules_only: Only these eligibility rules (ids in rules/eligibility.yaml, e.g. ["R05"]);
            default all.
        dry_run: Write to <out>/dry-run/<run_date>/ and change no state (a what-if run).
    """
    final = Settings.build(extracts=extracts, out=out, state=state, run_date=run_date or today_shanghai())
    with staged_run(final, dry_run=dry_run) as run:
        settings = run.settings
        run.parameters.update(counties=counties, extracts=extracts, rules=rules_only)
        stages.load_rule_set(settings, rules_only)  # fail now, not after an hour of matching
        report = ingest(settings)
        normalized = normalize(settings, report)
        records = validate(settings, report, normalized, counties)
        person_index = match(settings, records)
        households_file = households(settings, person_index)
        warnings_file = rules(settings, households_file, rules_only)
        reports(settings, warnings_file, not counties and not rules_only, run.final.run_dir, final.out)
        run.rows.update(stages.row_counts(settings))
        get_run_logger().info("rows per stage: %s", run.rows)
    return str(run.final.data_dir / "warnings.parquet")
