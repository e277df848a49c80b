"""The first stages as functions of paths: ingest -> normalize -> validate.

Each stage reads the previous stage's Parquet files and writes its own, so the Prefect flow passes
paths, never frames, and any stage can be re-run or inspected alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import schema as S
from pipeline.eligibility.rules import RuleSet
from pipeline.ingest import read_extracts
from pipeline.normalize import normalize_source
from pipeline.normalize.common import mode_by
from pipeline.normalize.places import Gazetteer
from pipeline.progress import step
from pipeline.quality import write_rejected, write_summary_xlsx
from pipeline.settings import Settings
from pipeline.sources import SourcesConfig, load_sources
from pipeline.validate import REASON, Validator

if TYPE_CHECKING:
    from pipeline.reports import ReportsResult

log = logging.getLogger(__name__)

INGEST_REPORT = "ingest_report.json"


def _write_text_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(c, pa.int64() if c == S.ROW else pa.string()) for c in frame.columns])
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)


def ingest_stage(settings: Settings, cfg: SourcesConfig | None = None) -> Path:
    """Read every source folder; write raw text Parquet per source and the ingest report."""
    cfg = cfg or load_sources(settings.sources_file)
    work = settings.work_dir / "raw"
    work.mkdir(parents=True, exist_ok=True)
    read = read_extracts(settings.extracts, cfg)
    sources: dict[str, Any] = {}
    for spec in cfg.sources:
        sr = read.sources.get(spec.key)
        if sr is None:
            sources[spec.key] = {
                "label": spec.label,
                "status": "missing",
                "error_zh": "未提供该数据源的文件夹",
            }
            log.warning("source %s: no folder in the extracts", spec.key)
            continue
        status = "failed" if sr.error else "ok"
        entry: dict[str, Any] = {
            "label": spec.label,
            "status": status,
            "folder": sr.folder,
            "files": [asdict(f) for f in sr.files],
            "error": sr.error,
            "error_zh": sr.error_zh,
        }
        if status == "ok":
            _write_text_parquet(sr.rows, work / f"{spec.key}.parquet")
            _write_text_parquet(sr.rejected, work / f"{spec.key}_unsplit.parquet")
            entry["rows_read"] = int(len(sr.rows) + len(sr.rejected))
        else:
            log.error("source %s failed and is not used this run: %s", spec.key, sr.error)
        sources[spec.key] = entry
    report = {
        "extracts": str(settings.extracts),
        "sources": sources,
        "unknown_folders": read.unknown_folders,
        "ignored_files": read.ignored_files,
    }
    path = settings.work_dir / INGEST_REPORT
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def normalize_stage(settings: Settings, ingest_report: Path, cfg: SourcesConfig | None = None) -> Path:
    """Normalize each read source; write one Parquet per source. Returns the folder."""
    cfg = cfg or load_sources(settings.sources_file)
    report = json.loads(ingest_report.read_text(encoding="utf-8"))
    gaz = Gazetteer.from_csv(settings.gazetteer_file)
    out_dir = settings.work_dir / "normalized"
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = [k for k, e in report["sources"].items() if e["status"] == "ok"]
    step("normalize", 0, len(keys))
    for done, key in enumerate(keys, start=1):
        raw = pd.read_parquet(settings.work_dir / "raw" / f"{key}.parquet")
        frame = normalize_source(raw, cfg.by_key(key), cfg, gaz)
        step("normalize", done, len(keys))
        frame.to_parquet(out_dir / f"{key}.parquet", index=False)
        log.info("normalize %s: %d rows", key, len(frame))
    return out_dir


def validate_stage(
    settings: Settings,
    ingest_report: Path,
    normalized_dir: Path,
    cfg: SourcesConfig | None = None,
    counties: list[str] | None = None,
) -> Path:
    """Validate, quarantine, and write records.parquet plus the data-quality workbooks and summary.

    ``counties`` (6-digit codes) limits the run to records placed in those counties, for an analyst
    re-running one county's late extract; the others are counted as out of scope, not rejected.

    Sources are validated one at a time and appended to records.parquet as they pass, so peak
    memory is that of the largest source, not of all of them.
    """
    cfg = cfg or load_sources(settings.sources_file)
    report = json.loads(ingest_report.read_text(encoding="utf-8"))
    settings.quality_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    validator = Validator(cfg, settings.run_date, docs_dir=settings.quality_dir / "gx")
    total = 0
    n_ok, done = sum(e["status"] == "ok" for e in report["sources"].values()), 0
    step("validate", 0, n_ok)
    with pq.ParquetWriter(settings.records_file, S.RECORD_SCHEMA) as writer:
        for key, entry in report["sources"].items():
            if entry["status"] != "ok":
                continue
            accepted, rejected, v = validator.validate(
                key, pd.read_parquet(normalized_dir / f"{key}.parquet")
            )
            in_scope = len(accepted)
            if counties:
                accepted = accepted[accepted[S.COUNTY_CODE].isin(counties)]
            table = pa.Table.from_pandas(accepted[list(S.RECORD_COLUMNS)], preserve_index=False)
            writer.write_table(table.cast(S.RECORD_SCHEMA))
            total += len(accepted)
            raw = pd.read_parquet(settings.work_dir / "raw" / f"{key}.parquet")
            unsplit = pd.read_parquet(settings.work_dir / "raw" / f"{key}_unsplit.parquet")
            rej = pd.concat(
                [
                    rejected[[S.FILE, S.ROW, REASON]],
                    unsplit[[S.FILE, S.ROW, "reason"]].rename(columns={"reason": REASON}),
                ],
                ignore_index=True,
            )
            write_rejected(settings.quality_dir / f"{key}_rejected.xlsx", cfg.by_key(key), rej, raw)
            flags = accepted[S.FLAGS].dropna().str.split("; ").explode()
            flags = flags.str.split(":").str[0]  # group "残疾证号与其他列不一致: 残疾等级" by kind
            reasons = dict(v.reasons)
            for r, c in unsplit["reason"].value_counts().items():
                reasons[str(r)] = reasons.get(str(r), 0) + int(c)
            entry.update(
                rejected=int(len(rej)),
                accepted=int(len(accepted)),
                out_of_scope=int(in_scope - len(accepted)),
                reasons=reasons,
                flags={str(k): int(c) for k, c in flags.value_counts().items()},
                gx_success=v.success,
            )
            del accepted, rejected, raw, table
            done += 1
            step("validate", done, n_ok)
    validator.finish()
    summary = {"run_date": settings.run_date.isoformat(), "counties": counties, **report, "records": total}
    (settings.quality_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    write_summary_xlsx(settings.quality_dir / "summary.xlsx", summary)
    failed = [k for k, e in report["sources"].items() if e["status"] != "ok"]
    log.info("records: %d accepted; sources not used this run: %s", total, ", ".join(failed) or "none")
    return settings.records_file


def match_stage(settings: Settings, records_file: Path) -> Path:
    """Link records into people; write person_index.parquet, persons.parquet, the review workbook
    and match_summary.json, and keep person IDs and verdicts in the state folder."""
    from pipeline.match import (
        EVIDENCE,
        LINK_RULE,
        LINKED_VIA,
        MATCH_PROBABILITY,
        MATCH_WEIGHT,
        PERSON_ID,
        link,
    )
    from pipeline.match.prepare import ANCHOR_ID, DETACHED, NATURAL_KEY
    from pipeline.match.review import read_decisions, review_table, write_review
    from pipeline.match.settings import load_matching
    from pipeline.match.stable import assign, load_keys, save_keys

    step("match", 0, 3)
    ms = load_matching(settings.matching_file)
    decisions = read_decisions(settings.state)
    from pipeline.match.prepare import INPUT_COLUMNS

    records = pd.read_parquet(records_file, columns=INPUT_COLUMNS)
    step("match", 1, 3)
    result = link(records, ms, decisions)
    step("match", 2, 3)
    r = result.records
    r[PERSON_ID], keys = assign(r["cluster"], r[NATURAL_KEY], load_keys(settings.state))
    save_keys(settings.state, keys)

    index_cols = [
        S.SOURCE,
        S.FILE,
        S.ROW,
        PERSON_ID,
        MATCH_PROBABILITY,
        MATCH_WEIGHT,
        LINK_RULE,
        LINKED_VIA,
        EVIDENCE,
        NATURAL_KEY,
        DETACHED,
    ]
    person_index = r[index_cols].rename(columns={NATURAL_KEY: "record_key"})
    person_index.to_parquet(settings.data_dir / "person_index.parquet", index=False)

    persons = pd.DataFrame(index=pd.Index(r[PERSON_ID].unique(), name=PERSON_ID))
    for out, col in (
        (S.ID_NUMBER, ANCHOR_ID),
        (S.NAME, S.NAME),
        (S.SEX, S.SEX),
        (S.BIRTH_DATE, S.BIRTH_DATE),
        (S.COUNTY_CODE, S.COUNTY_CODE),
        (S.TOWNSHIP_CODE, S.TOWNSHIP_CODE),
        (S.PHONE, S.PHONE),
    ):
        persons[out] = mode_by(r, PERSON_ID, col)
    # Sources as a bit mask per person, then one string per distinct mask (there are few).
    names = sorted(r[S.SOURCE].unique())
    bits = r[[PERSON_ID, S.SOURCE]].drop_duplicates()
    mask = (
        bits[S.SOURCE]
        .map({n: 1 << i for i, n in enumerate(names)})
        .astype("int64")
        .groupby(bits[PERSON_ID])
        .sum()
    )
    persons["sources"] = mask.map(
        {m: ",".join(n for i, n in enumerate(names) if m >> i & 1) for m in mask.unique()}
    )
    persons["records"] = r.groupby(PERSON_ID).size()
    persons.reset_index().to_parquet(settings.data_dir / "persons.parquet", index=False)

    review = review_table(result.review, r)
    write_review(settings.run_dir / "review" / "match_review.xlsx", review, settings.run_date.isoformat())
    summary = {
        "records": int(len(r)),
        "persons": int(persons.shape[0]),
        "without_usable_id": int(r[ANCHOR_ID].isna().sum()),
        "detached_under_another_id": result.detached,
        "pairs_per_pass": result.pass_counts,
        "pairs_compared": int(len(result.pairs)),
        "pairs_linked": int(result.pairs["linked"].sum()),
        "review_pairs": int(len(review)),
        "decisions": {"same": len(decisions.must), "different": len(decisions.cannot)},
        "model": result.model.as_dict(),
    }
    (settings.data_dir / "match_summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    step("match", 3, 3)
    log.info("match: %d records -> %d people; %d pairs for review", len(r), persons.shape[0], len(review))
    return settings.data_dir / "person_index.parquet"


def row_counts(settings: Settings) -> dict[str, Any]:
    """Rows per stage for the run manifest, from the stage summaries already written."""
    out: dict[str, Any] = {}
    quality = settings.quality_dir / "summary.json"
    if quality.exists():
        q = json.loads(quality.read_text(encoding="utf-8"))
        out["rows_read"] = sum(e.get("rows_read", 0) for e in q["sources"].values())
        out["rows_rejected"] = sum(e.get("rejected", 0) for e in q["sources"].values())
        out["records"] = q["records"]
    match = settings.data_dir / "match_summary.json"
    if match.exists():
        m = json.loads(match.read_text(encoding="utf-8"))
        out["persons"] = m["persons"]
        out["review_pairs"] = m["review_pairs"]
    households = settings.data_dir / "households.parquet"
    if households.exists():
        out["households"] = int(
            pd.read_parquet(households, columns=["household_key"])["household_key"].nunique()
        )
    warnings = settings.data_dir / "warnings.parquet"
    if warnings.exists():
        rules = pd.read_parquet(warnings, columns=["rule"])["rule"]
        out["warnings"] = len(rules)
        out["warnings_by_rule"] = {str(k): int(v) for k, v in rules.value_counts().sort_index().items()}
    rules_summary = settings.data_dir / "rules_summary.json"
    if rules_summary.exists():
        r = json.loads(rules_summary.read_text(encoding="utf-8"))
        out["rules_skipped"] = [e["id"] for e in r["rules"] if e["status"] == "skipped"]
    if (settings.run_dir / "index.html").exists():
        out["township_workbooks"] = sum(1 for _ in (settings.run_dir / "townships").rglob("*.xlsx"))
    return out


def households_stage(settings: Settings, person_index: Path) -> Path:
    """Group people into households with their assistance status; write data/households.parquet."""
    from pipeline.households import INPUT_COLUMNS, build

    records = pd.read_parquet(settings.records_file, columns=INPUT_COLUMNS)
    index = pd.read_parquet(person_index)
    table = build(records, index, Gazetteer.from_csv(settings.gazetteer_file))
    path = settings.data_dir / "households.parquet"
    table.to_parquet(path, index=False)
    log.info("households: %d people in %d households", len(table), table["household_key"].nunique())
    return path


def run_foundation(settings: Settings, counties: list[str] | None = None) -> Path:
    """Ingest, normalize and validate without Prefect (tests, benchmarks, the library's own use)."""
    cfg = load_sources(settings.sources_file)
    report = ingest_stage(settings, cfg)
    normalized = normalize_stage(settings, report, cfg)
    return validate_stage(settings, report, normalized, cfg, counties=counties)


def load_rule_set(settings: Settings, rules: list[str] | None = None) -> RuleSet:
    """The rule file checked whole (and the parameters in force), before any data is read: a
    mistake in either fails the run at once with the file and rule named."""
    from pipeline.eligibility import load_rules
    from pipeline.params import load_params

    load_params(settings.params_file, settings.run_date)
    cfg = load_sources(settings.sources_file)
    return load_rules(settings.eligibility_file, {s.key for s in cfg.sources}).select(rules)


def rules_stage(settings: Settings, households_file: Path, rules: list[str] | None = None) -> Path:
    """Apply the eligibility rules; write data/warnings.parquet (one row per rule and person)."""
    from pipeline.eligibility import INPUT_COLUMNS, find_warnings
    from pipeline.params import load_params

    rule_set = load_rule_set(settings, rules)
    params = load_params(settings.params_file, settings.run_date)
    step("rules", 0, 2)
    columns = [*INPUT_COLUMNS, *(f for f in rule_set.fields() if f not in INPUT_COLUMNS)]
    records = pd.read_parquet(settings.records_file, columns=columns)
    index = pd.read_parquet(settings.data_dir / "person_index.parquet")
    persons = pd.read_parquet(settings.data_dir / "persons.parquet")
    households = pd.read_parquet(households_file)
    quality = json.loads((settings.quality_dir / "summary.json").read_text(encoding="utf-8"))
    missing = {k for k, e in quality["sources"].items() if e.get("status") != "ok"}
    runnable, skipped = rule_set.runnable(missing)
    for rid, sources in skipped.items():
        log.warning("rules: %s skipped: source(s) %s not read tonight", rid, ", ".join(sources))
    step("rules", 1, 2)
    warnings, _ = find_warnings(
        records, index, households, persons, params, runnable, Gazetteer.from_csv(settings.gazetteer_file)
    )
    path = settings.data_dir / "warnings.parquet"
    warnings.to_parquet(path, index=False)
    counts = warnings["rule"].value_counts().to_dict()
    summary = {
        "run_date": settings.run_date.isoformat(),
        "rules": [
            {
                "id": r.id,
                "name": r.name,
                "status": "skipped" if r.id in skipped else "ran",
                "missing_sources": skipped.get(r.id, []),
                "warnings": int(counts.get(r.id, 0)),
            }
            for r in rule_set.rules
        ],
        # Without the deaths source nobody can be excluded as deceased: say so where it is read.
        "deceased_excluded": "deaths" not in missing,
        "params": {k: v for k, v in params.scalars().items()},
    }
    (settings.data_dir / "rules_summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    step("rules", 2, 2)
    log.info("rules: %d warnings %s", len(warnings), dict(sorted(counts.items())))
    return path


def reports_stage(settings: Settings, warnings_file: Path, whole_run: bool = True) -> ReportsResult:
    """Township workbooks, summary.html/.xlsx and index.html; returns a ``ReportsResult``.

    ``whole_run`` is false for a run limited to some counties or rules: it then stays out of the trend.
    """
    from pipeline.reports import write_reports

    cfg = load_sources(settings.sources_file)
    rule_set = load_rule_set(settings)
    step("reports", 0, 1)
    result = write_reports(
        settings.run_dir,
        warnings_file,
        settings.state,
        settings.run_date,
        rule_set,
        {s.key: s.label for s in cfg.sources},
        whole_run,
    )
    step("reports", 1, 1)
    return result
