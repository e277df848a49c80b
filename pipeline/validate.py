"""Validate normalized rows with Great Expectations 1.x and quarantine the rows that fail.

One expectation suite per source, built from ``rules/sources.yaml`` (required values, enumerations)
and the schema's kinds (dates not in the future, money >= 0, values that could not be read).
``critical`` expectations reject the row, with a reason, to
``data_quality/<source>_rejected.xlsx``; ``warning`` expectations (ID check character, unresolved
township) only count, since those rows are still useful. GX Data Docs for the run are written under
``<run_dir>/data_quality/gx``.

GX is imported lazily: importing it costs seconds, and nothing else needs it.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline import schema as S
from pipeline.memo import REJECTED_TABLE, TABLE, Memo, digest
from pipeline.sources import BLANK, FieldSpec, SourcesConfig, SourceSpec

log = logging.getLogger(__name__)

HARD = "critical"
SOFT = "warning"
REASON = "reason"


@dataclass(frozen=True)
class Check:
    """One expectation: its GX class name, arguments, severity and the reason shown in Chinese."""

    expectation: str
    column: str
    severity: str
    reason_zh: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    blank: bool = False  # instead of rejecting the row, blank the value and flag it (on_bad: blank)
    flag: bool = False  # a soft check whose rows say why in their flags (the value is already blank)


def checks_for(spec: SourceSpec, cfg: SourcesConfig, run_date: date) -> list[Check]:
    """The checks of one source, from the sources file and the schema's kinds."""
    out: list[Check] = [
        Check("ExpectColumnValuesToBeNull", S.PARSE_ERRORS, HARD, "数值无法识别"),
    ]
    latest = datetime.combine(run_date, datetime.max.time())
    out += [_value_check(c, f.on_bad == BLANK) for f in spec.fields for c in _field_checks(f, cfg, latest)]
    return out


def _value_check(c: Check, blank: bool) -> Check:
    """A check of a field whose bad values are blanked: soft, and says so."""
    if not blank or c.severity != HARD or c.expectation == "ExpectColumnValuesToNotBeNull":
        return c
    return Check(c.expectation, c.column, SOFT, f"{c.reason_zh},已置空", c.kwargs, blank=True)


def _field_checks(f: FieldSpec, cfg: SourcesConfig, latest: datetime) -> list[Check]:
    """The checks of one field (not the source-wide ones)."""
    out: list[Check] = []
    label = S.LABELS.get(f.name, f.standard_header)
    if f.not_null and f.unless_id:
        # The ID says who the row is about: a blank name costs the row nothing but its name (the
        # person's other records have it), so only a row that has neither is rejected. Thrown away,
        # a disability row without a name would take the person's certificate with it.
        usable = sorted(s.value for s in S.USABLE_ID)
        for severity, op, reason in (
            (HARD, "not in", f"{label}为空且身份证号无法使用"),
            (SOFT, "in", f"{label}为空(身份证号有效,已保留该行)"),
        ):
            where = {"row_condition": f"{S.ID_STATUS} {op} {usable!r}", "condition_parser": "pandas"}
            out.append(
                Check("ExpectColumnValuesToNotBeNull", f.name, severity, reason, where, flag=severity == SOFT)
            )
    elif f.not_null:
        out.append(Check("ExpectColumnValuesToNotBeNull", f.name, HARD, f"{label}为空"))
    kind = f.kind
    if kind is S.Kind.ENUM:
        values = list(cfg.enum_values(f.name))
        out.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                f.name,
                HARD,
                f"{label}不在规定取值内(应为:{'/'.join(values)})",
                {"value_set": values},
            )
        )
    elif kind in (S.Kind.DATE, S.Kind.MONTH):
        lo, hi = f.range or (None, None)
        first = datetime.combine(lo, datetime.min.time()) if lo else datetime(1900, 1, 1)
        last = min(datetime.combine(hi, datetime.max.time()), latest) if hi else latest
        text = "晚于运行日期或早于1900年" if not f.range else f"应在{first:%Y-%m-%d}到{last:%Y-%m-%d}之间"
        out.append(
            Check(
                "ExpectColumnValuesToBeBetween",
                f.name,
                HARD,
                f"{label}不合理({text})",
                {"min_value": first, "max_value": last},
            )
        )
    elif kind in (S.Kind.MONEY, S.Kind.INT):
        # Plausible values are data (``range`` in rules/sources.yaml): an ID number pasted into an
        # amount column is a number, but not an amount anyone is paid.
        default = (0, None) if kind is S.Kind.MONEY else (0, 150)
        lo, hi = f.range or default
        bounds = {k: v for k, v in (("min_value", lo), ("max_value", hi)) if v is not None}
        if lo is not None and hi is None:
            text = f"{label}为负数" if lo == 0 else f"{label}不合理(应不小于{lo:,})"
        else:
            text = f"{label}不合理(应在{lo if lo is not None else '-∞'}到{hi:,}之间)"
        out.append(Check("ExpectColumnValuesToBeBetween", f.name, HARD, text, bounds))
    elif kind is S.Kind.ID and f.name == S.ID_NUMBER:
        statuses = [s.value for s in S.IdStatus]
        out.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                S.ID_STATUS,
                HARD,
                "身份证号状态未知",
                {"value_set": statuses},
            )
        )
        out.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                S.ID_STATUS,
                SOFT,
                "身份证号无效(已标记,保留该行)",
                {"value_set": [s.value for s in S.USABLE_ID]},
            )
        )
    elif kind is S.Kind.TOWNSHIP:
        out.append(
            Check("ExpectColumnValuesToNotBeNull", S.TOWNSHIP_CODE, SOFT, "乡镇无法识别(已标记,保留该行)")
        )
    return out


def _slim_column(frame: pd.DataFrame, col: str) -> pd.Series:
    """A column as GX gets it: dates as YYYYMMDD numbers. Checks are made only for the frame's
    columns, so the one that can be absent is the ID status a row condition reads: a file without
    an ID column has no usable ID."""
    if col not in frame.columns:
        return pd.Series(S.IdStatus.MISSING.value, index=frame.index, dtype="object")
    return _yyyymmdd(frame[col]) if pd.api.types.is_datetime64_any_dtype(frame[col]) else frame[col]


REJECT, BLANK_FLAG, FLAG = "拒收该行", "清空该值并标记,保留该行", "仅标记,保留该行"
#: Row numbers kept per check for the quality page (the count is always whole; the rejected-rows
#: and 问题数据反馈清单 workbooks list every row).
ROWS_SHOWN = 300


@dataclass
class CheckOutcome:
    """One check (or one kind of unreadable value) that some rows failed: what, what was done,
    how many rows, and which file rows (the first ``ROWS_SHOWN``), for the Chinese quality page."""

    reason: str
    action: str
    rows: int
    where: dict[str, list[int]]  # file -> 1-based data row numbers as the department counts them

    @classmethod
    def of(cls, reason: str, action: str, frame: pd.DataFrame, idx: Any) -> CheckOutcome:
        at = frame.loc[idx, [S.FILE, S.ROW]]
        shown = at.head(ROWS_SHOWN)
        where: dict[str, list[int]] = {}
        for f, r in zip(shown[S.FILE].astype(str), shown[S.ROW], strict=True):
            where.setdefault(f, []).append(int(r))
        return cls(reason, action, len(at), where)


@dataclass
class SourceValidation:
    source: str
    rows: int
    rejected: int
    reasons: dict[str, int]  # hard reasons -> rows
    warnings: dict[str, int]  # soft checks -> rows
    success: bool
    checks: list[CheckOutcome] = field(default_factory=list)


#: The memo part holding a night's built Data Docs (the whole GX project folder, zipped).
DOCS_PART = ".docs.zip"


def _gx_version() -> str:
    """Great Expectations' version, without importing it (the docs it builds are its own)."""
    from importlib.metadata import version

    return version("great_expectations")


_warming: threading.Thread | None = None  # warm_up_validation's import, once per process


def warm_up_validation() -> None:
    """Start importing Great Expectations (about 4 s of this process's time) on a thread, when a
    night knows early that it will validate: the import then runs while worker processes read and
    normalize the new files, on a core they leave idle, instead of while the night waits for it.
    A night whose every source comes from the memo never calls this, and never imports GX."""
    global _warming
    if _warming is None and "great_expectations" not in sys.modules:
        # Not a daemon: a night that ends before validating waits for the import to finish,
        # rather than the interpreter shutting down under a half-imported module.
        _warming = threading.Thread(target=_import_gx, name="import-great-expectations")
        _warming.start()


def _import_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        import great_expectations  # noqa: F401
        import great_expectations.expectations  # noqa: F401
    except Exception:  # the validate stage imports it again, and that error is the one reported
        log.debug("validate: importing Great Expectations ahead failed", exc_info=True)


def _gx_imported() -> None:
    """Wait for warm_up_validation's import, if one is running (an import on two threads at once
    is safe in Python, but one at a time keeps a failure on the thread that reports it)."""
    if _warming is not None:
        _warming.join()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _context(docs_dir: Path | None) -> Any:
    _gx_imported()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx: Any
    if docs_dir is not None:
        ctx = gx.get_context(mode="file", project_root_dir=str(docs_dir))
    else:
        ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


class Validator:
    """Runs each source's suite as its frame arrives, so only one source is in memory at a time.

    GX sees a slim copy of the frame: only the checked columns, dates as YYYYMMDD numbers. GX hashes
    every column it is given and compares datetimes one Python call per row; numbers it compares
    vectorized.
    """

    def __init__(self, cfg: SourcesConfig, run_date: date, docs_dir: Path | None = None) -> None:
        self.cfg = cfg
        self.run_date = run_date
        self.docs_dir = docs_dir
        self._ctx: Any = None  # Great Expectations' context, made (and GX imported) when first used
        self.ran = False
        #: Sources validated tonight with their memo key: their suite and result go to the memo.
        self.fresh: list[tuple[str, str]] = []
        #: The memo keys of the sources whose suite and result were taken from the memo, in order.
        self.adopted: list[str] = []
        self._emptied = False

    def _empty_project(self) -> None:
        """Empty tonight's GX project folder, once: a re-run of the same date replaces the previous
        run's suites, results and docs."""
        if self.docs_dir is not None and not self._emptied:
            shutil.rmtree(self.docs_dir, ignore_errors=True)
            self.docs_dir.mkdir(parents=True, exist_ok=True)
            self._emptied = True

    @property
    def ctx(self) -> Any:
        # Importing GX takes about 5 s: a night whose sources all come from the memo never does.
        if self._ctx is None:
            self._empty_project()
            self._ctx = _context(self.docs_dir)
        return self._ctx

    def validate(self, key: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, SourceValidation]:
        """(accepted rows without parse_errors, rejected rows with ``reason``, summary); each
        frame keeps the rows' positions in ``frame`` as its index."""
        accepted, rejected, summary = self.validate_tables(key, frame)
        return accepted.to_pandas(), rejected.to_pandas(), summary

    def validate_tables(self, key: str, frame: pd.DataFrame) -> tuple[pa.Table, pa.Table, SourceValidation]:
        """``validate`` with the two row sets as Arrow tables (the rows' positions as their
        pandas index column)."""
        _gx_imported()
        import great_expectations as gx
        import great_expectations.expectations as gxe

        spec = self.cfg.by_key(key)
        frame = frame.reset_index(drop=True)
        checks = [c for c in checks_for(spec, self.cfg, self.run_date) if c.column in frame.columns]
        suite = self.ctx.suites.add(gx.ExpectationSuite(name=f"{key}_records"))
        for i, c in enumerate(checks):
            kwargs = dict(c.kwargs)
            for bound in ("min_value", "max_value"):
                if isinstance(kwargs.get(bound), datetime):
                    kwargs[bound] = _yyyymmdd_scalar(kwargs[bound])
            cls = getattr(gxe, c.expectation)
            suite.add_expectation(
                cls(
                    column=c.column,
                    severity=c.severity,
                    meta={"check": i, "reason_zh": c.reason_zh},
                    **kwargs,
                )
            )
        asset = self.ctx.data_sources.add_pandas(key).add_dataframe_asset(f"{key}_records")
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
        vd = self.ctx.validation_definitions.add(
            gx.ValidationDefinition(name=key, data=batch_def, suite=suite)
        )
        # The checked columns, and those a check's row condition reads.
        wanted = [c.column for c in checks] + [S.ID_STATUS for c in checks if "row_condition" in c.kwargs]
        slim = pd.DataFrame({col: _slim_column(frame, col) for col in dict.fromkeys(wanted)})
        result = vd.run(batch_parameters={"dataframe": slim}, result_format="COMPLETE")
        self.ran = True
        del slim

        row_reasons: dict[int, list[str]] = {}
        blanked: dict[str, list[int]] = {}
        hard_counts: dict[str, int] = {}
        soft_counts: dict[str, int] = {}
        outcomes: list[CheckOutcome] = []
        for r in result.results:
            check = checks[int(r.expectation_config.meta["check"])]
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"GX check {check.expectation} on {key}.{check.column} raised: {r.exception_info}"
                )
            idx = list(r.result.get("unexpected_index_list") or [])
            if not idx:
                continue
            if check.blank or check.flag:
                # The row stays; the value goes, and the row says why (counted with the flags).
                if check.blank:
                    blanked.setdefault(check.column, []).extend(idx)
                flags = frame[S.FLAGS].astype("object")
                flags.loc[idx] = [
                    check.reason_zh if pd.isna(v) else f"{v}; {check.reason_zh}" for v in flags.loc[idx]
                ]
                frame[S.FLAGS] = flags
            if check.severity == SOFT:
                soft_counts[check.reason_zh] = len(idx)
                action = BLANK_FLAG if check.blank else FLAG
                outcomes.append(CheckOutcome.of(check.reason_zh, action, frame, idx))
                continue
            if check.column == S.PARSE_ERRORS:
                # The row's own messages say which value could not be read.
                messages = [str(m) for m in frame.loc[idx, S.PARSE_ERRORS]]
                rows_of_kind: dict[str, list[int]] = {}
                for i, m in zip(idx, messages, strict=True):
                    for part in m.split("; "):
                        # "label: problem: value" counts under "label: problem".
                        kind = ": ".join(part.split(": ")[:2])
                        hard_counts[kind] = hard_counts.get(kind, 0) + 1
                        rows_of_kind.setdefault(kind, []).append(i)
                for kind, rows in rows_of_kind.items():
                    outcomes.append(CheckOutcome.of(kind, REJECT, frame, rows))
            else:
                messages = [check.reason_zh] * len(idx)
                hard_counts[check.reason_zh] = len(idx)
                outcomes.append(CheckOutcome.of(check.reason_zh, REJECT, frame, idx))
            for i, m in zip(idx, messages, strict=True):
                row_reasons.setdefault(int(i), []).append(m)
        for column, rows in blanked.items():
            frame.loc[rows, column] = None
        reasons = pd.Series({i: "; ".join(ms) for i, ms in row_reasons.items()}, dtype="object")
        frame[REASON] = reasons.reindex(frame.index)
        bad = frame[REASON].notna().to_numpy()
        # Split in Arrow: pandas' boolean indexing takes every column through row positions (about
        # 5 s over the sources at 1M records); Arrow's filter copies the runs of kept rows. The
        # index goes along as a column, so both row sets keep their rows' positions.
        table = pa.Table.from_pandas(frame, preserve_index=True)
        rejected = table.filter(pa.array(bad))
        accepted = table.filter(pa.array(~bad)).drop_columns([S.PARSE_ERRORS, REASON])
        del table
        summary = SourceValidation(
            source=key,
            rows=len(frame),
            rejected=int(bad.sum()),
            reasons=dict(sorted(hard_counts.items(), key=lambda kv: -kv[1])),
            warnings=soft_counts,
            success=bool(result.success),
            checks=sorted(outcomes, key=lambda o: (o.action != REJECT, -o.rows)),
        )
        log.info("validate %s: %d rows, %d rejected", key, len(frame), int(bad.sum()))
        return accepted, rejected, summary

    def finish(self, memo: Memo | None = None) -> None:
        """Build the Data Docs of every suite run or taken from the memo, from results without a
        single cell value; keep tonight's suites and results in the memo for the nights after."""
        if self.docs_dir is None or not (self.ran or self.adopted):
            return
        scrub_values(self.docs_dir)
        if memo is not None:
            for key, mkey in self.fresh:
                suite, result = self._gx_files(key)
                if suite.exists() and result is not None:
                    memo.save_file(mkey, ".suite.json", suite)
                    memo.save_file(mkey, ".result.json", result)
                    memo.save_json(mkey, {"result": str(result.relative_to(self.docs_dir))}, ".gx.json")
        if self.ran or memo is None:
            self.ctx.build_data_docs()
            return
        # Every source from the memo (a night on which no file changed, or a re-run): the Data Docs
        # of exactly these suites and results were built before; taken as built, without GX.
        key = digest("data-docs", _gx_version(), *self.adopted)
        if memo.has(key, (DOCS_PART,)):
            with tempfile.TemporaryDirectory(dir=self.docs_dir.parent) as tmp:
                kept = Path(tmp) / f"docs{DOCS_PART}"
                memo.load_file(key, DOCS_PART, kept)
                shutil.unpack_archive(kept, self.docs_dir, "zip")
            return
        self.ctx.build_data_docs()
        with tempfile.TemporaryDirectory(dir=self.docs_dir.parent) as tmp:
            made = shutil.make_archive(str(Path(tmp) / "docs"), "zip", root_dir=self.docs_dir)
            memo.save_file(key, DOCS_PART, Path(made))

    def _gx_files(self, key: str) -> tuple[Path, Path | None]:
        """A source's expectation suite and (newest) validation result in the GX project."""
        assert self.docs_dir is not None
        suite = self.docs_dir / "gx" / "expectations" / f"{key}_records.json"
        results = sorted(
            (self.docs_dir / "gx" / "uncommitted" / "validations" / f"{key}_records").rglob("*.json")
        )
        return suite, results[-1] if results else None

    def adopt(self, key: str, memo: Memo, mkey: str) -> None:
        """Put a source's suite and result from the night that validated it into tonight's GX
        project, so the Data Docs show every source (dated by the night that ran the checks)."""
        if self.docs_dir is None:
            return
        self._empty_project()  # emptied before anything is put in it (GX itself only when needed)
        suite, _result = self._gx_files(key)
        result = self.docs_dir / memo.load_json(mkey, ".gx.json")["result"]
        for part, dest in ((".suite.json", suite), (".result.json", result)):
            dest.parent.mkdir(parents=True, exist_ok=True)
            memo.load_file(mkey, part, dest)
        self.adopted.append(mkey)


#: Parts of a GX result that quote cell values or index them: a failed check would otherwise
#: show people's IDs, names, phones and addresses on the Data Docs pages.
_VALUE_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
)


def scrub_values(docs_dir: Path) -> int:
    """Remove every quoted value from the stored validation results under ``docs_dir``; the counts
    and percentages stay (the rows are in the rejected-rows workbooks, with their reasons).
    Returns the number of results scrubbed."""
    import json

    n = 0
    for path in docs_dir.rglob("uncommitted/validations/**/*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for r in doc.get("results") or []:
            result = r.get("result") or {}
            for k in _VALUE_KEYS:
                if k in result:
                    del result[k]
                    n += 1
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return n


def _yyyymmdd(col: pd.Series) -> pd.Series:
    d = pd.to_datetime(col)
    return (d.dt.year * 10000 + d.dt.month * 100 + d.dt.day).astype("float64")


def _yyyymmdd_scalar(d: datetime) -> int:
    return d.year * 10000 + d.month * 100 + d.day


#: The key in a normalized file's Parquet metadata of what its rows were made from (the normalize
#: memo keys of its files): equal rows written twice are not always equal bytes.
CONTENT_KEY = b"active_discovery.content"

#: The modules whose code decides what validation keeps, rejects and flags (part of every
#: validate memo key).
VALIDATING_CODE = ("pipeline/validate.py", "pipeline/schema.py", "pipeline/sources.py")


def _dates_between(path: Path, a: date, b: date) -> bool:
    """Whether a date in the normalized file ``path`` falls after the earlier of two run dates and
    on or before the later one: the only rows whose verdict ("晚于运行日期") can differ between a
    night for ``a`` and a night for ``b``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    lo, hi = sorted((a, b))
    schema = pq.read_schema(path)
    columns = [f.name for f in schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
    if not columns:
        return False
    table = pq.read_table(path, columns=columns)
    for name in columns:
        days = pc.cast(pc.cast(table[name], pa.timestamp("s")), pa.date32())
        after = pc.greater(days, pa.scalar(lo, pa.date32()))
        until = pc.less_equal(days, pa.scalar(hi, pa.date32()))
        if pc.any(pc.and_(after, until)).as_py():
            return True
    return False


#: The parts of a source's validate memo entry.
VALIDATED_PARTS = (TABLE, REJECTED_TABLE, ".json", ".suite.json", ".result.json", ".gx.json")


def remembered(validator: Validator, memo: Memo, salt: str, key: str, path: Path) -> tuple[str | None, bool]:
    """(the validate memo key of the normalized file ``path``, whether its entry holds tonight):
    see ``validate_memo``. The key is None for a file without ``CONTENT_KEY``."""
    import pyarrow.parquet as pq

    content = (pq.read_schema(path).metadata or {}).get(CONTENT_KEY)
    if content is None:
        return None, False
    mkey = digest(salt, key, content.decode())
    if not memo.has(mkey, VALIDATED_PARTS):
        return mkey, False
    then = date.fromisoformat(memo.load_json(mkey)["run_date"])
    return mkey, then == validator.run_date or not _dates_between(path, then, validator.run_date)


def validate_memo(
    validator: Validator,
    memo: Memo,
    salt: str,
    key: str,
    path: Path,
    known: tuple[str | None, bool] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, SourceValidation, str | None, bool]:
    """``validator.validate`` of the normalized file ``path`` through the memo (pipeline.memo):
    (accepted, rejected, summary, the memo key or None, taken from the memo).

    The key is what the file's rows were made from (``CONTENT_KEY``: a file without it is
    validated and not remembered), the sources file and the validating code. Validation also depends
    on the run date (no date after it), so an entry made for another run date is used only when
    no date in the file lies between the two. Both ways the frames pass through Arrow, so a night
    that takes them from the memo hands the rest of the stage exactly the same frames.
    """
    mkey, usable = known or remembered(validator, memo, salt, key, path)
    if mkey is None:
        return (*validator.validate(key, pd.read_parquet(path)), None, False)
    if usable:
        doc = memo.load_json(mkey)
        summary = SourceValidation(**doc["summary"])
        summary.checks = [CheckOutcome(**c) for c in doc["summary"]["checks"]]
        accepted = memo.load_table(mkey).to_pandas()
        rejected = memo.load_table(mkey, REJECTED_TABLE).to_pandas()
        validator.adopt(key, memo, mkey)
        return accepted, rejected, summary, mkey, True
    accepted_t, rejected_t, summary = validator.validate_tables(key, pd.read_parquet(path))
    memo.save_table(mkey, accepted_t)
    memo.save_table(mkey, rejected_t, REJECTED_TABLE)
    memo.save_json(mkey, {"run_date": validator.run_date.isoformat(), "summary": asdict(summary)})
    validator.fresh.append((key, mkey))  # its suite and result are kept once scrubbed (finish)
    return accepted_t.to_pandas(), rejected_t.to_pandas(), summary, mkey, False
