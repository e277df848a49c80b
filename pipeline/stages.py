"""The night's stages, each a function from its declared inputs to its declared outputs.

    ingest -> normalize -> validate -> match -> households -> rules -> reports

``STAGES`` is the one list of them: the Prefect flow (``flows/nightly.py``) and the Prefect-free
``pipeline.runs.run_all`` both walk it. A stage receives a ``StageContext`` and resolves every file
through the declarations in ``pipeline.contracts``: ``ctx.input(X)`` for what it reads (X must be in
the stage's ``reads``), ``ctx.output(X)`` for what it writes (in its ``writes``). Stages pass files,
never frames, so any stage can be re-run or inspected alone, and later run on another machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import schema as S
from pipeline.config import RunConfig
from pipeline.contracts import (
    CASE_FACTS,
    CASE_SUMMARY,
    CASES,
    FAILED,
    FEEDBACK_RESULT,
    FEEDBACK_SUMMARY,
    FLAGGED,
    GX_DOCS,
    HOUSEHOLDS,
    INDEX_HTML,
    INGEST_REPORT,
    MATCH_SUMMARY,
    MISSING,
    NORMALIZED,
    OK,
    PARTIAL,
    PERSON_INDEX,
    PERSONS,
    QUALITY,
    QUALITY_HTML,
    QUALITY_XLSX,
    RAW,
    RECORDS,
    REJECTED,
    REVIEW_BOOK,
    REVIEW_CHECKS,
    REVIEW_QUEUE,
    REVISITS,
    RULES_SUMMARY,
    STEWARD_HTML,
    SUMMARY_HTML,
    SUMMARY_XLSX,
    TOWNSHIPS,
    UNSPLIT,
    WARNINGS,
    CaseSummary,
    ContractError,
    FeedbackSummary,
    MatchSummary,
    Output,
    QualitySummary,
    RuleOutcome,
    RulesSummary,
    SourceStatus,
)
from pipeline.ingest import (
    READING_CODE,
    FileReport,
    MemoReader,
    SourceRead,
    list_tables,
    read_folder,
    source_folders,
    text_table,
)
from pipeline.memo import Memo, code_fingerprint, digest, file_digest, files_fingerprint
from pipeline.normalize import normalize_source
from pipeline.normalize.common import modes_by
from pipeline.parallel import BYTES_PER_ROW, run_each
from pipeline.progress import step
from pipeline.quality import (
    RowsAsSent,
    flag_kinds,
    flagged_rows,
    quality_context,
    rejected_rows,
    source_checks,
    write_quality_page,
    write_rows_as_sent,
    write_summary_xlsx,
)
from pipeline.settings import Settings
from pipeline.state import PERSON_KEYS, StateStore
from pipeline.validate import (
    CONTENT_KEY,
    REASON,
    VALIDATING_CODE,
    CheckOutcome,
    Validator,
    remembered,
    validate_memo,
    warm_up_validation,
)

log = logging.getLogger(__name__)

#: The rejected- and flagged-rows workbooks of a source in the validate memo.
BOOK_PARTS = (".rejected.xlsx", ".flagged.xlsx")
#: Lines of rejected and flagged rows from which their workbooks are written by worker processes
#: (xlsxwriter writes about 30,000 cells a second; a pool starts in about 2 s).
ROWS_AS_SENT_IN_WORKERS = 5_000


class StageContext:
    """What a stage may touch: the run's configuration, its declared files, the state store.

    A plain class on purpose (not a dataclass): Prefect walks dataclass task arguments looking for
    futures, and the configuration holds large tables.
    """

    def __init__(self, stage: Stage, config: RunConfig, run_dir: Path, state: StateStore) -> None:
        self.stage = stage
        self.config = config
        self.run_dir = run_dir
        self.state = state

    def __repr__(self) -> str:
        return f"StageContext({self.stage.name}, {self.run_dir})"

    def input(self, out: Output, source: str | None = None) -> Path:
        if out not in self.stage.reads:
            raise ContractError(f"stage {self.stage.name} reads {out.key} but does not declare it")
        path = out.at(self.run_dir, source)
        if not path.exists():
            raise ContractError(f"stage {self.stage.name}: input {out.key} is missing ({path})")
        return path

    def memo(self, kind: str) -> Memo:
        """Work of earlier nights keyed by content (pipeline.memo); nothing is read from it on a
        full night (``--full``), but it is still written."""
        return self.state.memo(kind, read=not self.config.settings.full)

    def output(self, out: Output, source: str | None = None) -> Path:
        if out not in self.stage.writes:
            raise ContractError(f"stage {self.stage.name} writes {out.key} but does not declare it")
        path = out.at(self.run_dir, source)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[StageContext], Any]
    reads: tuple[Output, ...]
    writes: tuple[Output, ...]
    retry_on_io: bool = False  # only reading department files is worth retrying (a share hiccup)

    def check_inputs(self, run_dir: Path) -> None:
        """Before the stage: what it reads is there, with its declared columns."""
        for out in self.reads:
            out.check(run_dir)

    def check_outputs(self, run_dir: Path) -> None:
        """After the stage: what it declares it writes is there, with its declared columns."""
        for out in self.writes:
            out.check(run_dir)


# --- ingest, normalize, validate ----------------------------------------------------------------


def _write_text_parquet(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(text_table(frame), path)


@dataclass(frozen=True)
class _IngestJob:
    folder: Path
    spec: Any  # SourceSpec
    root: Path
    raw: Path
    unsplit: Path
    reader: MemoReader


def _ingest_one(job: _IngestJob) -> tuple[SourceRead, list[str], int, bool]:
    """One source folder: read it and, when its rows are used, write them (a worker's task; the
    rows stay in the worker: the parent gets the reports, the row count, and whether any file
    was read tonight rather than taken from the memo)."""
    memo, (whole, contents) = job.reader.memo, _whole_read_key(job)
    if whole is not None and memo.has(whole, WHOLE_READ_PARTS):
        # Every file of the folder as on an earlier night: the rows as written then, unread. The
        # files' own entries are kept as used: when one file changes, the others are not read.
        for path, content in contents:
            memo.has(job.reader.key(path, job.spec, content), job.reader.PARTS)
        log.info("ingest %s: every file as read on an earlier night", job.spec.key)
        memo.load_file(whole, RAW_PART, job.raw)
        memo.load_file(whole, UNSPLIT_PART, job.unsplit)
        doc = memo.load_json(whole, READ_PART)
        files = [FileReport(**{**f, "path": str(job.folder / f["path"])}) for f in doc["files"]]
        empty = pd.DataFrame()
        return SourceRead(job.spec, doc["folder"], empty, empty, files), doc["ignored"], doc["rows"], False
    fresh, digests = False, dict(contents)  # each file hashed once, for both keys

    def read(path: Path, spec: Any) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
        nonlocal fresh
        frame, rejected, report, remembered = job.reader.read(path, spec, digests.get(path))
        fresh = fresh or not remembered
        return frame, rejected, report

    sr, ignored = read_folder(job.folder, job.spec, job.root, read)
    n = int(len(sr.rows) + len(sr.rejected))
    if sr.error is None or sr.partial:
        _write_text_parquet(sr.rows, job.raw)
        _write_text_parquet(sr.rejected, job.unsplit)
    sr.rows, sr.rejected = sr.rows.iloc[:0], sr.rejected.iloc[:0]
    if whole is not None and sr.error is None:  # a failed file is read again, and reported again
        memo.save_file(whole, RAW_PART, job.raw)
        memo.save_file(whole, UNSPLIT_PART, job.unsplit)
        reports = [{**asdict(f), "path": str(Path(f.path).relative_to(job.folder))} for f in sr.files]
        memo.save_json(
            whole, {"folder": sr.folder, "files": reports, "ignored": ignored, "rows": n}, READ_PART
        )
    return sr, ignored, n, fresh


#: The memo part of a night's records.parquet (``_records_key``).
RECORDS_PART = ".records.parquet"


def _records_key(salt: str, counties: list[str], verdicts: dict[str, str | None]) -> str | None:
    """The memo key of records.parquet: the run's counties and each source's validate memo key
    (the accepted rows), in order; None when a source's verdicts are not remembered, or none."""
    if not verdicts or any(v is None for v in verdicts.values()):
        return None
    return digest(
        "records", salt, _stage_code(), ",".join(counties), *(f"{k}={v}" for k, v in verdicts.items())
    )


@cache
def _stage_code() -> str:
    """This module's code: how the whole-source and records memo entries were put together."""
    return code_fingerprint(("pipeline/stages.py",))


#: The memo parts of a source folder read whole: its raw and unsplit rows as written, and what
#: was read (``_whole_read_key``).
RAW_PART, UNSPLIT_PART, READ_PART = ".raw.parquet", ".unsplit.parquet", ".read.json"
WHOLE_READ_PARTS = (RAW_PART, UNSPLIT_PART, READ_PART)


def _whole_read_key(job: _IngestJob) -> tuple[str | None, list[tuple[Path, str]]]:
    """The memo key of a source folder read whole, and its table files with their SHA-256. The key
    is made of the reading rules and code, the source, the folder's name, and every file in it by
    path (and, for table files, content): any file added, removed, renamed or changed gives
    another key. None for a folder without table files."""
    tables, others = list_tables(job.folder)
    contents = [(p, file_digest(p)) for p in tables]
    if not tables:
        return None, contents
    parts = [job.reader.salt, _stage_code(), "read-source", job.spec.key, job.folder.name]
    for p, content in contents:
        parts += ["table", str(p.relative_to(job.folder)), content]
    parts += ["other", *(str(p.relative_to(job.folder)) for p in others)]
    return digest(*parts), contents


#: The modules whose code decides how rows normalize (part of every normalize memo key).
NORMALIZING_CODE = ("pipeline/normalize", "pipeline/schema.py", "pipeline/sources.py")


def memo_salts(settings: Settings) -> dict[str, str]:
    """What each kind of memo entry depends on besides its input (pipeline.memo): the settings
    files and code that make it, and the salt of the work it is made from, so that a change to the
    reading code also reaches the normalized and validated rows made from what was read."""
    read = digest(code_fingerprint(READING_CODE), files_fingerprint([settings.sources_file]))
    normalized = digest(
        read, code_fingerprint(NORMALIZING_CODE), files_fingerprint([settings.gazetteer_file])
    )
    validated = digest(normalized, code_fingerprint(VALIDATING_CODE))
    return {"ingest": read, "normalize": normalized, "validate": validated}


def ingest(ctx: StageContext) -> QualitySummary:
    """Read every source folder; write raw text Parquet per source and the ingest report. Folders
    are independent: on a large night (by the files' size) they are read by worker processes."""
    cfg, settings = ctx.config.sources, ctx.config.settings
    folders, unknown = source_folders(settings.extracts, cfg)
    root = Path(settings.extracts)
    # A file read on an earlier night with the same bytes, name and reading rules is taken as read.
    reader = MemoReader(ctx.memo("ingest"), memo_salts(settings)["ingest"])
    jobs = [
        _IngestJob(f, spec, root, ctx.output(RAW, spec.key), ctx.output(UNSPLIT, spec.key), reader)
        for f, spec in folders
    ]
    size = {j.spec.key: sum(p.stat().st_size for p in j.folder.rglob("*") if p.is_file()) for j in jobs}
    jobs.sort(key=lambda j: -size[j.spec.key])  # the largest first, so the workers finish together
    read: dict[str, tuple[SourceRead, int]] = {}
    ignored_files: list[str] = []
    step("ingest", 0, len(jobs))
    # About 100 bytes a row in a department's CSV: the pool pays back from MIN_ROWS rows.
    for done, (job, (sr, ignored, n, fresh)) in enumerate(
        run_each(_ingest_one, jobs, sum(size.values()) // BYTES_PER_ROW), start=1
    ):
        if fresh:
            # A file read tonight will be validated tonight: Great Expectations is imported
            # (about 4 s) while the workers read and normalize, not when the validate stage waits.
            warm_up_validation()
        read[job.spec.key] = (sr, n)
        ignored_files += ignored
        step("ingest", done, len(jobs))
    sources: dict[str, SourceStatus] = {}
    for spec in cfg.sources:
        got = read.get(spec.key)
        if got is None:
            sources[spec.key] = SourceStatus(
                label=spec.label, status=MISSING, error_zh="未提供该数据源的文件夹"
            )
            log.warning("source %s: no folder in the extracts", spec.key)
            continue
        sr, n = got
        entry = SourceStatus(
            label=spec.label,
            status=PARTIAL if sr.partial else FAILED if sr.error else OK,
            folder=sr.folder,
            files=list(sr.files),
            error=sr.error,
            error_zh=sr.error_zh,
        )
        if entry.used:  # its rows were written by _ingest_one
            entry.rows_read = n
        if entry.status == PARTIAL:
            log.error("source %s: only some files read; the others are skipped: %s", spec.key, sr.error)
        elif not entry.used:
            log.error("source %s failed and is not used this run: %s", spec.key, sr.error)
        sources[spec.key] = entry
    report = QualitySummary(
        run_date=settings.run_date.isoformat(),
        counties=list(ctx.config.counties) or None,
        extracts=str(settings.extracts),
        sources=sources,
        unknown_folders=unknown,
        ignored_files=sorted(ignored_files),
    )
    report.write(ctx.output(INGEST_REPORT))
    return report


@dataclass(frozen=True)
class _NormalizeJob:
    key: str
    raw: Path
    out: Path
    sources: Any  # SourcesConfig
    gazetteer: Any  # Gazetteer
    memo: Memo
    salt: str  # the sources file, the gazetteer and the normalizing code
    contents: dict[str, str]  # file label -> the SHA-256 of the file it came from


def _normalize_one(job: _NormalizeJob) -> int:
    """One source: read its raw rows, normalize, write; the rows written (a worker's task).

    Normalizing is row by row (each value through its normalizer, once per distinct value), so a
    file's rows normalize the same whatever else the folder holds: the files seen on an earlier
    night are taken from the memo, the others normalized together in one call (a call has a fixed
    cost of about 0.1 s) and remembered file by file. The key also has the folder's columns (a
    column another file brings is blank in this file's rows).
    """
    # A source whose every file was normalized before, in this order and with these columns, is
    # the file written then: copied whole, without reading its rows (most sources, most nights).
    columns = ",".join(sorted(pq.read_schema(job.raw).names))
    labels = pq.read_table(job.raw, columns=[S.FILE]).column(S.FILE).unique().to_pylist()
    keys = _file_keys(job, labels, columns)
    whole = _whole_source_key(keys)
    if whole is not None and job.memo.has(whole, (NORMALIZED_PART,)):
        for key in keys:  # kept as used (see _ingest_one)
            job.memo.has(str(key))
        job.memo.load_file(whole, NORMALIZED_PART, job.out)
        return int(pq.read_metadata(job.out).num_rows)
    raw = pd.read_parquet(job.raw)
    spec = job.sources.by_key(job.key)
    files = list(raw.groupby(S.FILE, sort=False))
    keys = _file_keys(job, [label for label, _ in files], columns)
    taken = [k is not None and job.memo.has(k) for k in keys]
    todo = [rows for (_, rows), hit in zip(files, taken, strict=True) if not hit]
    fresh: list[pa.Table] = []
    if todo or not files:
        rows = pd.concat(todo, ignore_index=True) if todo else raw
        table = pa.Table.from_pandas(
            normalize_source(rows, spec, job.sources, job.gazetteer), preserve_index=False
        )
        offset = 0
        for part in todo:
            fresh.append(table.slice(offset, len(part)))
            offset += len(part)
        if not files:
            fresh.append(table)
    tables: list[pa.Table] = []
    for key, hit in zip(keys, taken, strict=True):
        if hit:
            assert key is not None
            tables.append(job.memo.load_table(key))
        else:
            tables.append(fresh.pop(0))
            if key is not None:
                job.memo.save_table(key, tables[-1])
    tables += fresh  # no rows at all: the one empty table
    # A column one file leaves blank is typed null there: the files' tables agree on the type. The
    # pandas metadata is dropped: it describes the frame a table was cut from, which differs from
    # night to night, so the file is read back by its Arrow types alone.
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables], promote_options="permissive")
    if keys and None not in keys:
        # What the rows are made from, for the validate memo (equal rows are not equal bytes).
        table = table.replace_schema_metadata({CONTENT_KEY: digest(*(k for k in keys if k)).encode()})
    pq.write_table(table, job.out)
    whole = _whole_source_key(keys)
    if whole is not None:
        job.memo.save_file(whole, NORMALIZED_PART, job.out)
    return table.num_rows


#: The memo part of a source's whole normalized file (``_whole_source_key``).
NORMALIZED_PART = ".normalized.parquet"


def _file_keys(job: _NormalizeJob, labels: list[Any], columns: str) -> list[str | None]:
    """Each file's normalize memo key (None for a file without a known content digest)."""
    keys: list[str | None] = []
    for label in labels:
        content = job.contents.get(str(label))
        keys.append(digest(job.salt, job.key, str(label), columns, content) if content else None)
    return keys


def _whole_source_key(keys: list[str | None]) -> str | None:
    """The memo key of the source's whole normalized file: its files' keys (``_file_keys``) in
    order (None when a file has none, or there are no files)."""
    if not keys or None in keys:
        return None
    return digest("normalized-source", _stage_code(), *(k for k in keys if k is not None))


def normalize(ctx: StageContext) -> None:
    """Normalize each read source; write one Parquet per source. Sources are independent: on a
    large night they run in worker processes (pipeline.parallel), largest first."""
    report = QualitySummary.read(ctx.input(INGEST_REPORT))
    keys = report.ok_sources()
    rows = {k: report.sources[k].rows_read for k in keys}
    settings = ctx.config.settings
    salt = memo_salts(settings)["normalize"]
    memo = ctx.memo("normalize")
    jobs = [
        _NormalizeJob(
            k,
            ctx.input(RAW, k),
            ctx.output(NORMALIZED, k),
            ctx.config.sources,
            ctx.config.gazetteer,
            memo,
            salt,
            {label: f.content for f in report.sources[k].files if f.content for label in f.labels},
        )
        for k in sorted(keys, key=lambda k: -rows[k])
    ]
    step("normalize", 0, len(jobs))
    for done, (job, written) in enumerate(run_each(_normalize_one, jobs, sum(rows.values())), start=1):
        step("normalize", done, len(jobs))
        log.info("normalize %s: %d rows", job.key, written)


def validate(ctx: StageContext) -> QualitySummary:
    """Validate, quarantine, and write records.parquet plus the data-quality workbooks and summary.

    The run's ``counties`` (6-digit codes) limit it to records placed in those counties, for an
    analyst re-running one county's late extract; the others are counted as out of scope, not
    rejected.

    Sources are validated one at a time and appended to records.parquet as they pass, so peak
    memory is that of the largest source, not of all of them.
    """
    cfg, counties = ctx.config.sources, list(ctx.config.counties)
    report = QualitySummary.read(ctx.input(INGEST_REPORT))
    settings = ctx.config.settings
    validator = Validator(cfg, settings.run_date, docs_dir=ctx.output(GX_DOCS))
    # A source whose normalized rows are those of an earlier night is not validated again.
    memo = ctx.memo("validate")
    salt = memo_salts(settings)["validate"]
    quality_code = code_fingerprint(("pipeline/quality.py",))
    written: list[tuple[str, tuple[Path, Path]]] = []  # workbooks written tonight, for the memo
    total = 0
    n_ok, done = len(report.ok_sources()), 0
    page: dict[str, list[CheckOutcome]] = {}  # source -> what the quality page lists
    books: list[RowsAsSent] = []  # the rejected and flagged rows' workbooks, written at the end
    step("validate", 0, n_ok)
    # When every source's verdicts come from the memo (no file changed: most nights), the records
    # are those written on the night the same verdicts were made: copied, not written again (about
    # 4 s of Parquet encoding at 1M records).
    known = {k: remembered(validator, memo, salt, k, ctx.input(NORMALIZED, k)) for k in report.ok_sources()}
    whole = None
    if all(usable for _, usable in known.values()):
        whole = _records_key(salt, counties, {k: m for k, (m, _) in known.items()})
    whole_records = ctx.memo("records")
    copied = whole is not None and whole_records.has(whole, (RECORDS_PART,))
    made_of: dict[str, str | None] = {}  # source -> the memo key of its verdicts tonight
    if copied:
        assert whole is not None
        whole_records.load_file(whole, RECORDS_PART, ctx.output(RECORDS))
    with nullcontext() if copied else pq.ParquetWriter(ctx.output(RECORDS), S.RECORD_SCHEMA) as writer:
        for key in report.ok_sources():
            entry = report.sources[key]
            accepted, rejected, v, vkey, remembered_ = validate_memo(
                validator, memo, salt, key, ctx.input(NORMALIZED, key), known[key]
            )
            made_of[key] = vkey
            if remembered_:
                log.info("validate %s: as validated on an earlier night (same rows)", key)
            in_scope = len(accepted)
            in_scope_files = accepted[S.FILE].tolist() if counties else []
            if counties:
                accepted = accepted[accepted[S.COUNTY_CODE].isin(counties)]
            if writer is not None:
                table = pa.Table.from_pandas(accepted[list(S.RECORD_COLUMNS)], preserve_index=False)
                writer.write_table(table.cast(S.RECORD_SCHEMA))
                del table
            total += len(accepted)
            unsplit = pd.read_parquet(ctx.input(UNSPLIT, key))
            rej = pd.concat(
                [
                    rejected[[S.FILE, S.ROW, REASON]],
                    unsplit[[S.FILE, S.ROW, "reason"]].rename(columns={"reason": REASON}),
                ],
                ignore_index=True,
            )
            # The rows-as-sent workbooks are made from the same rows as the validation: a source
            # validated on an earlier night has the workbooks written then (and the same counties).
            outputs = (ctx.output(REJECTED, key), ctx.output(FLAGGED, key))
            bkey = digest(vkey, quality_code, ",".join(counties)) if vkey else None
            if remembered_ and bkey and memo.has(bkey, BOOK_PARTS):
                for part, dest in zip(BOOK_PARTS, outputs, strict=True):
                    memo.load_file(bkey, part, dest)
            else:
                raw = pd.read_parquet(ctx.input(RAW, key))
                books.append(rejected_rows(outputs[0], cfg.by_key(key), rej, raw))
                books.append(flagged_rows(outputs[1], cfg.by_key(key), accepted, raw))
                del raw
                if bkey:
                    written.append((bkey, outputs))
            flags = flag_kinds(accepted)
            page[key] = source_checks(v.checks, unsplit, accepted, flags)
            reasons = dict(v.reasons)
            for r, c in unsplit["reason"].value_counts().items():
                reasons[str(r)] = reasons.get(str(r), 0) + int(c)
            # Every row of every file accounted for: accepted, out of the run's counties, or
            # quarantined with its reason (the manifest lists them per file).
            kept = accepted[S.FILE].value_counts()
            scoped = pd.Series(in_scope_files).value_counts() if counties else pd.Series(dtype="int64")
            # By kind of reason: a parse message "label: problem: value" counts as "label: problem",
            # so no value a department sent reaches the manifest.
            kinds = (
                rej[REASON]
                .astype(str)
                .map(lambda r: "; ".join(dict.fromkeys(": ".join(p.split(": ")[:2]) for p in r.split("; "))))
            )
            by_file = rej.assign(**{REASON: kinds}).groupby([S.FILE, REASON]).size()
            for f in entry.files:
                f.accepted = int(kept.reindex(f.labels).fillna(0).sum())
                f.out_of_scope = int(scoped.reindex(f.labels).fillna(0).sum()) - f.accepted if counties else 0
                mine = by_file[by_file.index.get_level_values(0).isin(f.labels)]
                per_reason = mine.groupby(level=1).sum()
                f.quarantined = {str(r): int(n) for r, n in per_reason.items()}
            entry.rejected = int(len(rej))
            entry.accepted = int(len(accepted))
            entry.out_of_scope = int(in_scope - len(accepted))
            entry.reasons = reasons
            entry.flags = {str(k): int(c) for k, c in flags.value_counts().items()}
            entry.gx_success = v.success
            del accepted, rejected
            done += 1
            step("validate", done, n_ok)
    # Kept under tonight's verdicts (new ones too): the next night on which no file changes copies it.
    tonight = _records_key(salt, counties, made_of)
    if tonight is not None and not copied:
        whole_records.save_file(tonight, RECORDS_PART, ctx.output(RECORDS))
    validator.finish(memo)
    # The rejected and flagged rows' workbooks: on a large night, by worker processes.
    for _ in run_each(
        write_rows_as_sent, books, sum(b.lines for b in books), min_rows=ROWS_AS_SENT_IN_WORKERS
    ):
        pass
    for bkey, outputs in written:
        for part, src in zip(BOOK_PARTS, outputs, strict=True):
            memo.save_file(bkey, part, src)
    report.records = total
    report.write(ctx.output(QUALITY))
    write_summary_xlsx(ctx.output(QUALITY_XLSX), report)
    write_quality_page(ctx.output(QUALITY_HTML), quality_context(report, page, ctx.config.settings.run_date))
    log.info(
        "records: %d accepted; sources not used this run: %s",
        total,
        ", ".join(sorted(report.not_read())) or "none",
    )
    return report


# --- match, households, rules, reports ----------------------------------------------------------


def match(ctx: StageContext) -> MatchSummary:
    """Link records into people; write person_index, persons, the review workbook and the match
    summary, and keep person IDs and verdicts in the state folder."""
    from pipeline.match import (
        EVIDENCE,
        LINK_RULE,
        LINKED_VIA,
        MATCH_PROBABILITY,
        MATCH_WEIGHT,
        PERSON_ID,
        link,
    )
    from pipeline.match import saved as saved_model
    from pipeline.match.prepare import ANCHOR_ID, DETACHED, INPUT_COLUMNS, NATURAL_KEY
    from pipeline.match.review import (
        as_decisions,
        merge_decisions,
        review_table,
    )
    from pipeline.match.stable import assign

    step("match", 0, 3)
    cfg, settings = ctx.config, ctx.config.settings
    current = saved_model.fingerprint(settings.matching_file, settings.sources_file)
    saved = saved_model.load(ctx.state.model_folder)
    refit = saved_model.refit_reason(
        saved, current, settings.run_date, cfg.matching.refit_days, settings.refit
    )
    stored = ctx.state.decisions()
    verdicts, changed = merge_decisions(stored, ctx.state.review_workbooks())
    if changed:
        ctx.state.save_decisions(verdicts)
    decisions = as_decisions(verdicts)

    # A night whose records, saved model, verdicts and person keys are those of an earlier night
    # of the same month gets that night's links whole (the run date enters matching only through
    # its month: prepare.reading_day). Only with a saved model: a fit is not taken as read back.
    memo = ctx.memo("match")
    key = inputs = None
    if not refit and saved is not None:
        inputs = _match_inputs(ctx, current, verdicts)
        key = _match_key(inputs, ctx.state.person_keys_digest())
        entry = _match_entry(memo, key)
        if entry is not None:
            return _match_from_memo(ctx, memo, entry)

    records = pd.read_parquet(ctx.input(RECORDS), columns=INPUT_COLUMNS)
    step("match", 1, 3)
    result = link(
        records, cfg.matching, decisions, None if refit or saved is None else saved.model, settings.run_date
    )
    fitted_on = settings.run_date if refit or saved is None else saved.fitted_on
    if refit:
        log.info("match: model fitted tonight (%s)", refit)
        # Only a whole night's fit is kept: a county's re-run, or a backfill for a date before the
        # saved fit, uses its own model and leaves the saved one as it was.
        if cfg.whole_run and (saved is None or settings.run_date >= saved.fitted_on):
            saved_model.save(
                ctx.state.model_folder, saved_model.SavedModel(result.model, settings.run_date, current)
            )
    else:
        log.info("match: the saved model of %s reused", fitted_on.isoformat())
    step("match", 2, 3)
    r = result.records
    r[PERSON_ID], keys = assign(r["cluster"], r[NATURAL_KEY], ctx.state.person_keys())
    ctx.state.save_person_keys(keys)

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
    person_index.to_parquet(ctx.output(PERSON_INDEX), index=False)

    # Each person's commonest value of each field, the person ids factorized once.
    persons = modes_by(
        r,
        PERSON_ID,
        {
            S.ID_NUMBER: ANCHOR_ID,
            S.NAME: S.NAME,
            S.SEX: S.SEX,
            S.BIRTH_DATE: S.BIRTH_DATE,
            S.COUNTY_CODE: S.COUNTY_CODE,
            S.TOWNSHIP_CODE: S.TOWNSHIP_CODE,
            S.PHONE: S.PHONE,
        },
    )
    # Sources as a bit mask per person, then one string per distinct mask (there are few); the
    # person ids as integer codes in modes_by's order (first appearance), not grouped as strings.
    person, _ = pd.factorize(r[PERSON_ID])
    source, names = pd.factorize(r[S.SOURCE], sort=True)
    pairs = np.unique(person.astype(np.int64) * len(names) + source)
    mask = np.bincount(
        pairs // len(names), weights=np.left_shift(1, pairs % len(names)), minlength=len(persons)
    ).astype(np.int64)
    distinct, at = np.unique(mask, return_inverse=True)
    labels = [",".join(n for i, n in enumerate(names) if m >> i & 1) for m in distinct]
    persons["sources"] = np.asarray(labels, dtype=object)[at]
    persons["records"] = np.bincount(person, minlength=len(persons))
    persons.reset_index().to_parquet(ctx.output(PERSONS), index=False)

    # The workbook itself is written by the reports stage, which knows tonight's warnings.
    review = review_table(result.review, r, ctx.config.source_labels)
    review.to_parquet(ctx.output(REVIEW_QUEUE), index=False)
    _review_checks(ctx)
    summary = MatchSummary(
        records=int(len(r)),
        persons=int(persons.shape[0]),
        without_usable_id=int(r[ANCHOR_ID].isna().sum()),
        detached_under_another_id=result.detached,
        pairs_per_pass=result.pass_counts,
        pairs_compared=int(len(result.pairs)),
        pairs_linked=int(result.pairs["linked"].sum()),
        review_pairs=int(len(result.review)),
        review_questions=int(len(review)),
        decisions={"same": len(decisions.must), "different": len(decisions.cannot)},
        model=result.model.as_dict(),
        errors=result.errors.as_dict(),
        model_fitted_on=fitted_on.isoformat(),
        refit_reason=refit,
        links_refused_birth=result.refused_births,
    )
    summary.write(ctx.output(MATCH_SUMMARY))
    if key is not None and inputs is not None:
        _save_match(ctx, memo, key, inputs)
    step("match", 3, 3)
    log.info(
        "match: %d records -> %d people; %d pairs for review as %d questions",
        summary.records,
        summary.persons,
        len(result.review),
        len(review),
    )
    return summary


#: The memo parts of a night's links (``_match_key``): the match stage's outputs, the person key
#: table it saved, and, under a second key, which entry a night with that key table takes.
MATCH_PARTS = (".person_index.parquet", ".persons.parquet", ".review_queue.parquet", ".summary.json")
MATCH_OUTPUTS = (PERSON_INDEX, PERSONS, REVIEW_QUEUE, MATCH_SUMMARY)
KEYS_PART, ALIAS_PART = ".person_keys.parquet", ".alias.json"


@cache
def _pipeline_code() -> str:
    """Every module of the library: links and households depend on most of it, and a night whose
    code changed computes them again rather than trust a list of modules kept by hand."""
    return code_fingerprint(("pipeline",))


def _match_inputs(ctx: StageContext, model_files: str, verdicts: pd.DataFrame) -> str:
    """What the match stage's outputs are made from, but the person key table: records.parquet,
    the saved model, the matching settings and the files the model was fitted under
    (``model_files``: their digest with the model's code), the reviewers' verdicts, the month the
    run date is read in (prepare.reading_day) and the code. Only digests and text made from files:
    the settings' repr holds sets, whose order changes from one process to the next."""
    from pipeline.match.prepare import reading_day

    model = ctx.state.model_folder
    return digest(
        _pipeline_code(),
        file_digest(ctx.input(RECORDS)),
        files_fingerprint(sorted(p for p in model.iterdir() if p.is_file())),
        model_files,
        verdicts.to_csv(index=False),
        reading_day(ctx.config.settings.run_date).isoformat(),
    )


def _match_key(inputs: str, person_keys: str) -> str:
    """The memo key of the links made from ``inputs`` (``_match_inputs``) and the key table whose
    digest is ``person_keys``: the person ids are made from it."""
    return digest("match", inputs, person_keys)


def _match_entry(memo: Memo, key: str) -> str | None:
    """The entry to take for ``key``: its own, or the one its alias names; None when neither."""
    if memo.has(key, (ALIAS_PART,)):
        key = str(memo.load_json(key, ALIAS_PART)["entry"])
    return key if memo.has(key, (*MATCH_PARTS, KEYS_PART)) else None


def _save_match(ctx: StageContext, memo: Memo, key: str, inputs: str) -> None:
    """Keep tonight's links under ``key``, and under the key of a night that starts from the key
    table saved tonight: the next night with the same records. From its own table assign() gives
    the same ids and the same table again (tests/test_match.py,
    test_person_ids_made_again_from_their_own_key_table_are_the_same), so that night's outputs
    are these."""
    for part, out in zip(MATCH_PARTS, MATCH_OUTPUTS, strict=True):
        memo.save_file(key, part, ctx.output(out))
    memo.save_file(key, KEYS_PART, ctx.state.root / PERSON_KEYS)
    after = _match_key(inputs, ctx.state.person_keys_digest())
    if after != key:
        memo.save_json(after, {"entry": key}, ALIAS_PART)


def _match_from_memo(ctx: StageContext, memo: Memo, key: str) -> MatchSummary:
    """The match stage's outputs as an earlier night wrote them; the held cases' checks anew."""
    for part, out in zip(MATCH_PARTS, MATCH_OUTPUTS, strict=True):
        memo.load_file(key, part, ctx.output(out))
    ctx.state.copy_person_keys(memo.folder / f"{key}{KEYS_PART}")
    _review_checks(ctx)
    summary = MatchSummary.read(ctx.output(MATCH_SUMMARY))
    step("match", 3, 3)
    log.info(
        "match: links of an earlier night of this month taken (same records, model, verdicts and "
        "person keys): %d records -> %d people",
        summary.records,
        summary.persons,
    )
    return summary


def _review_checks(ctx: StageContext) -> None:
    """The records of the people whose cases a township answered 人员信息有误, as linked tonight
    (read back from person_index and records.parquet, whether the links were made tonight or not)."""
    from pipeline.match import LINK_RULE, MATCH_PROBABILITY, PERSON_ID
    from pipeline.match.review import person_check_table

    flagged = _answered_wrong_person(ctx)
    wanted = sorted(set(flagged["person_id"].dropna().astype(str)))
    keys = [S.SOURCE, S.FILE, S.ROW]
    rows = pd.DataFrame(columns=[*keys, PERSON_ID, LINK_RULE, MATCH_PROBABILITY, S.NAME, S.ID_NUMBER])
    if wanted:
        index = pd.read_parquet(
            ctx.output(PERSON_INDEX),
            columns=[*keys, PERSON_ID, LINK_RULE, MATCH_PROBABILITY],
            filters=[(PERSON_ID, "in", wanted)],
        )
        named = pd.read_parquet(ctx.input(RECORDS), columns=[*keys, S.NAME, S.ID_NUMBER])
        rows = index.merge(named, on=keys, how="left")
    checks = person_check_table(flagged, rows, ctx.config.source_labels)
    checks.astype("object").to_parquet(ctx.output(REVIEW_CHECKS), index=False)


def _answered_wrong_person(ctx: StageContext) -> pd.DataFrame:
    """Cases a township answered with a `review` answer (人员信息有误) and still held: their people's
    records go to the matching review."""
    review = {a.answer for answers in ctx.config.case_rules.answer_sets.values() for a in answers if a.review}
    from pipeline.cases.db import cases

    c = ctx.state.cases().frame(where=cases.c.answer.in_(sorted(review)))
    until = pd.to_datetime(c["suppressed_until"])
    held = c["answer"].isin(review) & (until.isna() | (until >= pd.Timestamp(ctx.config.settings.run_date)))
    return c.loc[held, ["warning_id", "person_id", "answer", "answer_date", "answer_note"]]


def households(ctx: StageContext) -> None:
    """Group people into households with their assistance status."""
    from pipeline.households import INPUT_COLUMNS, build

    # The households are those of an earlier night with the same records and person_index (most
    # nights of a month, see match): kept by what they are made from.
    memo = ctx.memo("households")
    key = digest(
        "households",
        _pipeline_code(),
        file_digest(ctx.input(RECORDS)),
        file_digest(ctx.input(PERSON_INDEX)),
        file_digest(ctx.config.settings.gazetteer_file),
    )
    if memo.has(key, (HOUSEHOLDS_PART,)):
        memo.load_file(key, HOUSEHOLDS_PART, ctx.output(HOUSEHOLDS))
        log.info("households: those of an earlier night with the same records and links taken")
        return
    records = pd.read_parquet(ctx.input(RECORDS), columns=INPUT_COLUMNS)
    index = pd.read_parquet(ctx.input(PERSON_INDEX))
    table = build(records, index, ctx.config.gazetteer)
    table.to_parquet(ctx.output(HOUSEHOLDS), index=False)
    memo.save_file(key, HOUSEHOLDS_PART, ctx.output(HOUSEHOLDS))
    log.info("households: %d people in %d households", len(table), table["household_key"].nunique())


HOUSEHOLDS_PART = ".households.parquet"


def rules(ctx: StageContext) -> RulesSummary:
    """Apply the eligibility rules: one warning per rule and person, and what ran tonight."""
    from pipeline.eligibility import INPUT_COLUMNS, find_warnings
    from pipeline.eligibility.facts import INDEX_COLUMNS, cases_acted_on
    from pipeline.eligibility.warnings import expected_wrong
    from pipeline.schema import RECORD_COLUMNS

    rule_set, params = ctx.config.rules, ctx.config.params
    step("rules", 0, 2)
    # The fields the evidence quotes; those the facts derive (a request's hardship) are not stored.
    stored = set(RECORD_COLUMNS)
    columns = [*INPUT_COLUMNS, *(f for f in rule_set.fields() if f not in INPUT_COLUMNS and f in stored)]
    records = pd.read_parquet(ctx.input(RECORDS), columns=columns)
    index = pd.read_parquet(ctx.input(PERSON_INDEX), columns=INDEX_COLUMNS)
    persons = pd.read_parquet(ctx.input(PERSONS))
    households_table = pd.read_parquet(ctx.input(HOUSEHOLDS))
    missing = QualitySummary.read(ctx.input(QUALITY)).not_read()
    runnable, skipped = rule_set.runnable(missing)
    for rid, sources in skipped.items():
        log.warning("rules: %s skipped: source(s) %s not read tonight", rid, ", ".join(sources))
    step("rules", 1, 2)
    from pipeline.cases.config import CLOSED
    from pipeline.cases.db import cases as case_table

    # Cases not closed: a village report about someone the township already handles is not new.
    live = cases_acted_on(
        ctx.state.cases().frame(where=case_table.c.status != CLOSED), ctx.config.all_rules.rules
    )
    warnings, fr = find_warnings(
        records,
        index,
        households_table,
        persons,
        params,
        runnable,
        ctx.config.gazetteer,
        lexicon=ctx.config.lexicon,
        cases=live[["person_id", "rule", "status", "first_seen"]],
    )
    warnings.to_parquet(ctx.output(WARNINGS), index=False)
    # What the case store checks tonight (verification, 条件已消失, holds), for every person.
    wanted = ["latest_record_date", *(f for r in ctx.config.all_rules.rules for f in r.case_facts())]
    fr.facts[list(dict.fromkeys(wanted))].reset_index().to_parquet(ctx.output(CASE_FACTS), index=False)
    del fr
    counts = warnings["rule"].value_counts().to_dict()
    wrong = expected_wrong(warnings)
    summary = RulesSummary(
        run_date=ctx.config.settings.run_date.isoformat(),
        rules=[
            RuleOutcome(
                id=r.id,
                name=r.name,
                status="skipped" if r.id in skipped else "ran",
                missing_sources=skipped.get(r.id, []),
                warnings=int(counts.get(r.id, 0)),
                incomplete_sources=[]
                if r.id in skipped
                else sorted({e.source for e in r.evidence} & missing),
                channel=r.channel,
                expected_wrong_link=wrong.get(r.id, 0.0),
            )
            for r in rule_set.rules
        ],
        # Without the deaths source nobody can be excluded as deceased: say so where it is read.
        deceased_excluded="deaths" not in missing,
        params=dict(params.scalars().items()),
    )
    summary.write(ctx.output(RULES_SUMMARY))
    step("rules", 2, 2)
    log.info("rules: %d warnings %s", len(warnings), dict(sorted(counts.items())))
    return summary


def feedback(ctx: StageContext) -> FeedbackSummary:
    """Import every returned township workbook dropped into ``<state>/inbox`` (first thing at night).

    Each file is checked and applied alone (``pipeline.cases.feedback``), then moved to
    ``inbox/done/`` (with its 导入结果 workbook beside it) or, when it could not be read at all,
    ``inbox/failed/``. A bad file never stops the night.
    """
    import shutil
    from datetime import datetime

    from pipeline.cases.results import ImportResult, write_result
    from pipeline.settings import TIMEZONE, today_shanghai

    files = ctx.state.feedback_workbooks()
    results: list[ImportResult] = []
    entries: list[dict[str, Any]] = []
    stamp = datetime.now(TIMEZONE).strftime("%Y%m%d-%H%M%S")
    for path in files:
        from pipeline.cases.feedback import import_workbook  # the database libraries: only when needed

        r = import_workbook(
            ctx.state.cases(),
            path,
            ctx.config.rules_by_id,
            ctx.config.case_rules,
            ctx.config.townships,
            today_shanghai(),
            user="inbox",
            passwords=ctx.config.passwords,
        )
        results.append(r)
        folder = ctx.state.feedback_inbox / ("failed" if r.error else "done")
        folder.mkdir(parents=True, exist_ok=True)
        moved = folder / f"{stamp}_{path.name}"
        shutil.move(str(path), moved)
        write_result(moved.with_name(moved.stem + "_导入结果.xlsx"), [r])
        (log.error if r.error else log.info)("feedback: %s", r.line())
        entries.append(
            {
                "file": r.file,
                "township_code": r.township_code,
                "applied": r.applied,
                "unchanged": r.unchanged,
                "rejected": r.rejected,
                "blank": r.blank,
                "duplicate_of": r.duplicate_of,
                "error": r.error,
                "moved_to": str(moved.relative_to(ctx.state.root)),
            }
        )
    write_result(ctx.output(FEEDBACK_RESULT), results)
    summary = FeedbackSummary(files=entries)
    summary.write(ctx.output(FEEDBACK_SUMMARY))
    return summary


def cases(ctx: StageContext) -> CaseSummary:
    """Carry tonight's warnings into the case store: open, continue, hold, re-send, close, verify.

    Writes the warnings that go out tonight with their case (``cases.parquet``) and the revisits
    due; the reports stage marks the sent ones 已下发 once their workbooks are written.
    """
    from pipeline.cases.night import update_cases
    from pipeline.cases.store import Origin
    from pipeline.cases.views import open_counts, revisits_due, to_send

    cfg = ctx.config
    warnings = pd.read_parquet(ctx.input(WARNINGS))
    facts = pd.read_parquet(ctx.input(CASE_FACTS)).set_index("person_id")
    ran = [r.id for r in RulesSummary.read(ctx.input(RULES_SUMMARY)).rules if not r.skipped]
    store = ctx.state.cases()
    run_date = cfg.settings.run_date
    with store.begin() as conn:
        before = store.frame(conn)
        night = update_cases(
            before, warnings, facts, cfg.rules_by_id, ran, cfg.counties, cfg.case_rules, run_date
        )
        store.save(conn, before, night.after, Origin(run_date=run_date))
    del facts
    names = {code: name for code, (_, name) in cfg.townships.items()}
    to_send(warnings, night.after, night.send, cfg.case_rules, names).to_parquet(
        ctx.output(CASES), index=False
    )
    persons = pd.read_parquet(ctx.input(PERSONS), columns=["person_id", "phone"])
    revisits_due(night.after, persons, cfg.counties).to_parquet(ctx.output(REVISITS), index=False)
    summary = CaseSummary(
        run_date=run_date.isoformat(),
        counts=night.counts,
        open_cases=int(night.after["status"].isin(list(cfg.case_rules.send)).sum()),
        by_status=open_counts(night.after, cfg.case_rules),
    )
    summary.write(ctx.output(CASE_SUMMARY))
    log.info("cases: %s", ", ".join(f"{k} {v}" for k, v in night.counts.items() if v))
    return summary


def reports(ctx: StageContext) -> Any:
    """Township workbooks, summary.html/.xlsx and index.html; returns a ``ReportsResult``.

    A run limited to some counties or rules stays out of the trend (``RunConfig.whole_run``).
    """
    from pipeline.match.review import order_by_impact, write_review
    from pipeline.reports import ReportInputs, write_reports

    step("reports", 0, 1)
    cases_tonight = pd.read_parquet(ctx.input(CASES))
    write_review(
        ctx.output(REVIEW_BOOK),
        order_by_impact(pd.read_parquet(ctx.input(REVIEW_QUEUE)), set(cases_tonight["person_id"].dropna())),
        ctx.config.settings.run_date.isoformat(),
        ctx.state.review_inbox,
        pd.read_parquet(ctx.input(REVIEW_CHECKS)),
    )
    inputs = ReportInputs(
        warnings=cases_tonight,
        revisits=pd.read_parquet(ctx.input(REVISITS)),
        households=pd.read_parquet(ctx.input(HOUSEHOLDS), columns=["household_key", "household_size"]),
        persons=pd.read_parquet(ctx.input(PERSONS), columns=["person_id", "id_number", "name"]),
        rules_summary=RulesSummary.read(ctx.input(RULES_SUMMARY)),
        quality=QualitySummary.read(ctx.input(QUALITY)),
        match=MatchSummary.read(ctx.input(MATCH_SUMMARY)),
    )
    cfg = ctx.config
    # The townships the run covers (a run limited to some counties lists theirs only).
    places = [t for t in cfg.gazetteer.townships if not cfg.counties or t.county_code in cfg.counties]
    result = write_reports(
        ctx.run_dir,
        inputs,
        ctx.state,
        cfg.settings.run_date,
        cfg.all_rules,
        cfg.source_labels,
        # A night with a source not read whole is not a whole night: it stays out of the trend.
        cfg.whole_run and inputs.quality.complete,
        places,
        cfg.case_rules,
        cfg.passwords,
        ctx.memo("reports"),  # a re-run of the same date writes only the workbooks that change
    )
    step("reports", 1, 1)
    return result


#: The night, in order. Each stage's reads are written by an earlier stage.
STAGES: tuple[Stage, ...] = (
    Stage("feedback", feedback, reads=(), writes=(FEEDBACK_SUMMARY, FEEDBACK_RESULT)),
    Stage("ingest", ingest, reads=(), writes=(RAW, UNSPLIT, INGEST_REPORT), retry_on_io=True),
    Stage("normalize", normalize, reads=(INGEST_REPORT, RAW), writes=(NORMALIZED,)),
    Stage(
        "validate",
        validate,
        reads=(INGEST_REPORT, NORMALIZED, RAW, UNSPLIT),
        writes=(RECORDS, QUALITY, QUALITY_XLSX, QUALITY_HTML, REJECTED, FLAGGED, GX_DOCS),
    ),
    Stage(
        "match",
        match,
        reads=(RECORDS,),
        writes=(PERSON_INDEX, PERSONS, MATCH_SUMMARY, REVIEW_QUEUE, REVIEW_CHECKS),
    ),
    Stage("households", households, reads=(RECORDS, PERSON_INDEX), writes=(HOUSEHOLDS,)),
    Stage(
        "rules",
        rules,
        reads=(RECORDS, PERSON_INDEX, PERSONS, HOUSEHOLDS, QUALITY),
        writes=(WARNINGS, RULES_SUMMARY, CASE_FACTS),
    ),
    Stage(
        "cases",
        cases,
        reads=(WARNINGS, CASE_FACTS, RULES_SUMMARY, PERSONS),
        writes=(CASES, REVISITS, CASE_SUMMARY),
    ),
    Stage(
        "reports",
        reports,
        reads=(
            CASES,
            REVISITS,
            HOUSEHOLDS,
            PERSONS,
            RULES_SUMMARY,
            QUALITY,
            MATCH_SUMMARY,
            REVIEW_QUEUE,
            REVIEW_CHECKS,
        ),
        writes=(TOWNSHIPS, SUMMARY_HTML, STEWARD_HTML, SUMMARY_XLSX, INDEX_HTML, REVIEW_BOOK),
    ),
)


def stage(name: str) -> Stage:
    return next(s for s in STAGES if s.name == name)


def row_counts(run_dir: Path) -> dict[str, Any]:
    """Rows per stage for the run manifest, from the stage outputs already written."""
    out: dict[str, Any] = {}
    if QUALITY.at(run_dir).exists():
        q = QualitySummary.read(QUALITY.at(run_dir))
        out["rows_read"] = q.rows_read
        out["rows_rejected"] = q.rows_rejected
        out["records"] = q.records
        # Sources not read whole, with the files that could not be read: the run is partial.
        out["sources_incomplete"] = {
            k: e.error or e.error_zh or e.status for k, e in q.sources.items() if not e.ok
        }
    if MATCH_SUMMARY.at(run_dir).exists():
        m = MatchSummary.read(MATCH_SUMMARY.at(run_dir))
        out["persons"] = m.persons
        out["review_pairs"] = m.review_pairs
        out["review_questions"] = m.review_questions
        out["model"] = {"fitted_on": m.model_fitted_on, "refit_reason": m.refit_reason}
    if HOUSEHOLDS.at(run_dir).exists():
        keys = pd.read_parquet(HOUSEHOLDS.at(run_dir), columns=["household_key"])["household_key"]
        out["households"] = int(keys.nunique())
    if WARNINGS.at(run_dir).exists():
        rule = pd.read_parquet(WARNINGS.at(run_dir), columns=["rule"])["rule"]
        out["warnings"] = len(rule)
        out["warnings_by_rule"] = {str(k): int(v) for k, v in rule.value_counts().sort_index().items()}
    if RULES_SUMMARY.at(run_dir).exists():
        out["rules_skipped"] = [r.id for r in RulesSummary.read(RULES_SUMMARY.at(run_dir)).rules if r.skipped]
    if CASE_SUMMARY.at(run_dir).exists():
        c = CaseSummary.read(CASE_SUMMARY.at(run_dir))
        out["cases"] = {**c.counts, "open": c.open_cases}
    if FEEDBACK_SUMMARY.at(run_dir).exists():
        f = FeedbackSummary.read(FEEDBACK_SUMMARY.at(run_dir))
        out["feedback"] = {"files": len(f.files), "rows_applied": f.applied, "rows_rejected": f.rejected}
    if INDEX_HTML.at(run_dir).exists():
        out["township_workbooks"] = sum(1 for _ in TOWNSHIPS.at(run_dir).rglob("*.xlsx"))
    return out
