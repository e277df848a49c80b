"""What the stages hand each other, declared once.

Every file a stage writes under the run folder is an ``Output`` here: its path relative to the run
folder, what it holds, and for Parquet the columns its readers rely on. Stages and report code
resolve paths through these declarations (``StageContext.input``/``output`` in ``pipeline.stages``),
never by spelling a file name, and the run summaries are typed objects that write and read
themselves as JSON.

    >>> WARNINGS.at(Path("reports/2026-11-29"))
    PosixPath('reports/2026-11-29/data/warnings.parquet')
    >>> RAW.at(Path("r"), "medical")
    PosixPath('r/work/raw/medical.parquet')
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Self

import pyarrow.parquet as pq

from pipeline import schema as S
from pipeline.errors import ActiveDiscoveryError
from pipeline.ingest import FileReport

SOURCE_PART = "{source}"


class ContractError(ActiveDiscoveryError):
    """A stage did not honour its declared inputs or outputs (a bug, or a file removed mid-run)."""


@dataclass(frozen=True)
class Output:
    """One stage output: ``name`` in ``folder`` (relative to the run folder, "" for the run folder
    itself); ``{source}`` in the name makes one file per source."""

    key: str
    folder: str
    name: str
    about: str
    columns: tuple[str, ...] = ()  # Parquet: the columns every reader may rely on
    required: bool = True  # False: written only when there is something to write

    @property
    def path(self) -> str:
        """Relative to the run folder."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    def link_from(self, page: Output) -> str:
        """The relative link to this output from the page ``page`` (both in one run folder).

        >>> TOWNSHIPS.link_from(INDEX_HTML), SUMMARY_HTML.link_from(STEWARD_HTML)
        ('townships', 'publish/summary.html')
        """
        import posixpath

        return posixpath.relpath(self.path, page.folder or ".")

    @property
    def per_source(self) -> bool:
        return SOURCE_PART in self.name

    def at(self, run_dir: Path, source: str | None = None) -> Path:
        if self.per_source != (source is not None):
            raise ContractError(
                f"output {self.key}: {'a source is needed' if self.per_source else 'no source'}"
            )
        return run_dir / (self.path.replace(SOURCE_PART, source) if source else self.path)

    def check(self, run_dir: Path) -> None:
        """The output exists (when required) and a Parquet output has its declared columns."""
        if self.per_source:
            return
        path = self.at(run_dir)
        if not path.exists():
            if self.required:
                raise ContractError(f"output {self.key} is missing: {path}")
            return
        if self.columns:
            have = set(pq.read_schema(path).names)
            missing = [c for c in self.columns if c not in have]
            if missing:
                raise ContractError(f"output {self.key} ({path}) lacks the declared columns {missing}")


# Ingest and normalize: intermediates under work/.
RAW = Output("raw", "work/raw", "{source}.parquet", "one source's rows as read: all text, with file and row")
UNSPLIT = Output(
    "unsplit", "work/raw", "{source}_unsplit.parquet", "rows that could not be split into columns"
)
INGEST_REPORT = Output("ingest_report", "work", "ingest_report.json", "per source: status, files, rows read")
NORMALIZED = Output("normalized", "work/normalized", "{source}.parquet", "one source in the canonical schema")
# Validate.
RECORDS = Output(
    "records",
    "data",
    "records.parquet",
    "every accepted record, canonical schema (pipeline.schema.RECORD_SCHEMA)",
    columns=tuple(S.RECORD_COLUMNS),
)
QUALITY = Output(
    "quality", "data_quality", "summary.json", "per source: status, rows read, rejected, reasons"
)
QUALITY_XLSX = Output("quality_xlsx", "data_quality", "summary.xlsx", "the quality summary in Chinese")
FLAGGED = Output(
    "flagged", "data_quality", "{source}_flagged.xlsx", "问题数据反馈清单: kept rows with a flagged problem"
)
REJECTED = Output("rejected", "data_quality", "{source}_rejected.xlsx", "rows that failed a hard check")
QUALITY_HTML = Output(
    "quality_html", "data_quality", "index.html", "the quality page in Chinese: checks, actions, file rows"
)
GX_DOCS = Output("gx_docs", "data_quality", "gx", "Great Expectations project and Data Docs of the run")
# Match.
PERSON_INDEX = Output(
    "person_index",
    "data",
    "person_index.parquet",
    "record -> person, with how and how surely it was linked",
    columns=(
        "source",
        "file",
        "row",
        "person_id",
        "match_probability",
        "match_weight",
        "link_rule",
        "linked_via",
        "evidence",
        "record_key",
    ),
)
PERSONS = Output(
    "persons",
    "data",
    "persons.parquet",
    "one row per person: best ID, name, sex, birth date, place, sources",
    columns=(
        "person_id",
        "id_number",
        "name",
        "sex",
        "birth_date",
        "county_code",
        "township_code",
        "sources",
    ),
)
MATCH_SUMMARY = Output("match_summary", "data", "match_summary.json", "pairs per pass, links, review, model")
REVIEW_QUEUE = Output(
    "review_queue",
    "data",
    "review_queue.parquet",
    "one question per uncertain record, as the review book shows it",
)
REVIEW_CHECKS = Output(
    "review_checks", "data", "review_checks.parquet", "records of people a township answered 人员信息有误 for"
)
REVIEW_BOOK = Output(
    "review_book", "review", "match_review.xlsx", "the review questions, those deciding a warning first"
)
# Households.
HOUSEHOLDS = Output(
    "households",
    "data",
    "households.parquet",
    "person -> household key, size, assistance flags, urban/rural, place",
    columns=(
        "person_id",
        "household_key",
        "household_size",
        "active_assistance",
        "active_dibao",
        "dibao_edge",
        "urban",
        "township_code",
        "county_code",
    ),
)
# Rules.
WARNINGS = Output(
    "warnings",
    "data",
    "warnings.parquet",
    "one row per rule and person, with the evidence",
    columns=(
        "warning_id",
        "rule",
        "person_id",
        "id_number",
        "name",
        "county_code",
        "township_code",
        "evidence",
    ),
)
RULES_SUMMARY = Output(
    "rules_summary", "data", "rules_summary.json", "per rule: ran or skipped, warnings, expected wrong links"
)
# Reports.
CASE_FACTS = Output(
    "case_facts",
    "data",
    "case_facts.parquet",
    "per person, the facts the case store checks (verification, 条件已消失, holds)",
    columns=("person_id",),
)
FEEDBACK_SUMMARY = Output(
    "feedback_summary", "feedback", "feedback_summary.json", "returned workbooks imported from the inbox"
)
FEEDBACK_RESULT = Output(
    "feedback_result", "feedback", "导入结果.xlsx", "per returned workbook: rows imported, rows not and why"
)
CASES = Output(
    "cases",
    "data",
    "cases.parquet",
    "tonight's warnings to send, with their case: status, first date, last answer, what changed",
    columns=("warning_id", "rule", "person_id", "township_code", "case_status", "first_seen", "case_note"),
)
REVISITS = Output(
    "revisits",
    "data",
    "revisits.parquet",
    "cases whose revisit is due (the workbooks' 待回访 sheet)",
    columns=("warning_id", "rule", "person_id", "county_code", "township_code"),
)
CASE_SUMMARY = Output("case_summary", "data", "case_summary.json", "what the night did with the cases")
#: What people may open, in a folder of its own: serving it (AD_REPORTS_URL) exposes nothing else.
PUBLISH = "publish"
TOWNSHIPS = Output("townships", PUBLISH, "townships", "one workbook per township", required=False)
SUMMARY_HTML = Output("summary_html", PUBLISH, "summary.html", "the city summary page")
STEWARD_HTML = Output(
    "steward_html", "", "steward.html", "the data steward's page: data quality, matching, review queue"
)
SUMMARY_XLSX = Output("summary_xlsx", PUBLISH, "summary.xlsx", "warnings per township x rule")
INDEX_HTML = Output("index_html", PUBLISH, "index.html", "the workbooks by county, to download")
# The run itself.
MANIFEST = Output("manifest", "", "run_manifest.json", "inputs, rules, code version, rows, outcome")


# --- Typed run summaries ------------------------------------------------------------------------


class JsonFile:
    """A dataclass that writes itself as pretty JSON (UTF-8, Chinese as is) and reads itself back."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Self:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


#: A source's night: every file read (ok); some files could not be read, the rest are used
#: (partial); no file could be used (failed); no folder (missing).
OK, PARTIAL, FAILED, MISSING = "ok", "partial", "failed", "missing"


@dataclass
class SourceStatus(JsonFile):
    """One source's night: read (ingest), then accepted and rejected (validate)."""

    label: str
    status: str  # OK | PARTIAL | FAILED | MISSING
    error_zh: str | None = None
    folder: str | None = None
    files: list[FileReport] = field(default_factory=list)
    error: str | None = None
    rows_read: int = 0
    rejected: int = 0
    accepted: int = 0
    out_of_scope: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    gx_success: bool | None = None

    @property
    def ok(self) -> bool:
        """Every file of the source was read: its rows are the department's whole extract."""
        return self.status == OK

    @property
    def used(self) -> bool:
        """Some of its rows are used tonight (all of them, or the readable files')."""
        return self.status in (OK, PARTIAL)

    @property
    def failed_files(self) -> list[FileReport]:
        return [f for f in self.files if f.error]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        out = super().from_dict(d)
        out.files = [f if isinstance(f, FileReport) else FileReport(**f) for f in out.files]
        return out


@dataclass
class QualitySummary(JsonFile):
    """The ingest report (``INGEST_REPORT``) and, completed by validate, the quality summary
    (``QUALITY``): the same object at two stages of the night."""

    run_date: str
    counties: list[str] | None
    extracts: str
    sources: dict[str, SourceStatus]
    unknown_folders: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    records: int = 0  # accepted records (validate)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        out = super().from_dict(d)
        out.sources = {k: SourceStatus.from_dict(v) for k, v in d["sources"].items()}
        return out

    def ok_sources(self) -> list[str]:
        """Sources with rows to use tonight: read whole, or partly (their readable files)."""
        return [k for k, e in self.sources.items() if e.used]

    def not_read(self) -> set[str]:
        """Sources not read whole tonight (partial, failed or missing): the rules that need one of
        them complete (``requires``: they reason about absences) are skipped."""
        return {k for k, e in self.sources.items() if not e.ok}

    @property
    def complete(self) -> bool:
        """Every source read whole: the night may count as a whole night."""
        return not self.not_read()

    @property
    def rows_read(self) -> int:
        return sum(e.rows_read for e in self.sources.values())

    @property
    def rows_rejected(self) -> int:
        return sum(e.rejected for e in self.sources.values())


@dataclass
class MatchSummary(JsonFile):
    records: int
    persons: int
    without_usable_id: int
    detached_under_another_id: int
    pairs_per_pass: dict[str, int]
    pairs_compared: int
    pairs_linked: int
    review_pairs: int
    decisions: dict[str, int]  # reviewers' verdicts honoured: same, different
    model: dict[str, Any]  # the fitted m, u and prior
    review_questions: int = 0  # the review pairs as questions: one per record asking
    #: expected false and missed links from the model alone (pipeline.match.errors.ErrorEstimates)
    errors: dict[str, Any] = field(default_factory=dict)
    #: The model tonight linked with: fitted tonight (with the reason) or the saved one, and when
    #: it was fitted (pipeline.match.saved).
    model_fitted_on: str | None = None
    refit_reason: str | None = None  # None: the saved model was reused
    #: Links the model wanted that would have given a person two birth dates more than
    #: decision.birth_conflict_years apart (refused; a steward's count of mixed-up records).
    links_refused_birth: int = 0


@dataclass
class RuleOutcome(JsonFile):
    id: str
    name: str
    status: str  # "ran" | "skipped"
    missing_sources: list[str]
    warnings: int
    #: Ran, but with evidence sources not read whole: warnings from their unread files may be missing.
    incomplete_sources: list[str] = field(default_factory=list)
    #: Where the rule's warnings come from (pipeline.eligibility.rules.CHANNELS): the summary counts by it.
    channel: str = "extracts"
    #: Tonight's warnings that probably stand on a record linked to the wrong person (expected
    #: count: pipeline.eligibility.warnings.expected_wrong).
    expected_wrong_link: float = 0.0

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"


@dataclass
class RulesSummary(JsonFile):
    run_date: str
    rules: list[RuleOutcome]
    deceased_excluded: bool  # false without the deaths source: nobody could be excluded as deceased
    params: dict[str, Any]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        out = super().from_dict(d)
        out.rules = [RuleOutcome.from_dict(r) for r in d["rules"]]
        return out

    def by_id(self) -> dict[str, RuleOutcome]:
        return {r.id: r for r in self.rules}


@dataclass
class FeedbackSummary(JsonFile):
    """The returned workbooks a night imported from ``<state>/inbox`` (no personal data)."""

    files: list[dict[str, Any]]  # file, township_code, applied, unchanged, rejected, blank, error, moved_to

    @property
    def applied(self) -> int:
        return sum(int(f.get("applied", 0)) for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(int(f.get("rejected", 0)) for f in self.files)


@dataclass
class CaseSummary(JsonFile):
    """What the night did with the cases (the manifest's case counts)."""

    run_date: str
    counts: dict[str, int]  # opened, continued, reraised, suppressed, closed_vanished, verified, …
    open_cases: int
    by_status: dict[str, int]
