"""Load ``rules/sources.yaml`` into frozen, validated objects.

The whole file is checked before anything runs and every problem is reported in one
:class:`~pipeline.errors.ConfigError` naming the file, the source and the field.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, read_yaml
from pipeline.schema import FIELD_KINDS, Kind


def header_key(text: str) -> str:
    """Canonical form of a header for comparison: NFKC (full-width brackets -> ASCII), no spaces.

    >>> header_key("县（市、区） ")
    '县(市、区)'
    """
    return "".join(unicodedata.normalize("NFKC", text).split()).lstrip("\ufeff")


#: What a value that cannot be used does to its row (``on_bad`` in the sources file).
REJECT, BLANK = "reject", "blank"
#: ``not_null: unless_id``: a blank is allowed on a row whose ID number is usable.
UNLESS_ID = "unless_id"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    headers: tuple[str, ...]
    required: bool
    not_null: bool
    on_bad: str = REJECT  # BLANK: an unreadable or implausible value is blanked and flagged, row kept
    #: ``not_null: unless_id``: a blank only rejects a row whose ID number is not usable; with a
    #: usable one the row is kept and flagged (the ID says who it is; a name comes from the person's
    #: other records).
    unless_id: bool = False
    #: Plausible values (``range: [min, max]`` in the sources file; numbers, or dates as text).
    #: None: the kind's default (amounts >= 0, counts 0–150, dates 1900 to the run date).
    range: tuple[Any, Any] | None = None
    #: Two columns of a file with this field's header: an error naming both (None), or take the
    #: first or the last (``duplicates: first | last``, when a department's export is known to).
    duplicates: str | None = None

    @property
    def kind(self) -> Kind:
        return FIELD_KINDS[self.name]

    @property
    def standard_header(self) -> str:
        return self.headers[0]


@dataclass(frozen=True)
class SourceSpec:
    key: str
    label: str
    folders: tuple[str, ...]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def header_map(self) -> dict[str, str]:
        """Header key -> canonical field. The first field to claim a header wins (yaml order)."""
        out: dict[str, str] = {}
        for f in self.fields:
            for h in f.headers:
                out.setdefault(header_key(h), f.name)
        return out


@dataclass(frozen=True)
class SourcesConfig:
    path: str
    sources: tuple[SourceSpec, ...]
    enums: dict[str, dict[str, str]]  # field -> {spelling key: canonical value}

    def by_key(self, key: str) -> SourceSpec:
        return next(s for s in self.sources if s.key == key)

    def source_for_folder(self, folder_name: str) -> SourceSpec | None:
        k = header_key(folder_name).lower()
        for s in self.sources:
            if k == s.key or k in {header_key(a).lower() for a in s.folders}:
                return s
        return None

    def enum_values(self, field: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.enums.get(field, {}).values()))


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and validate the sources file. Raises ConfigError listing every problem."""
    p = Path(path)
    doc = read_yaml(p, "sources file")
    problems: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
        raise ConfigError(f"{p}: expected a mapping with a 'sources' section")

    sources: list[SourceSpec] = []
    for key, body in doc["sources"].items():
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            problems.append(f"source '{key}': needs a 'fields' mapping")
            continue
        fields: list[FieldSpec] = []
        for fname, fbody in body["fields"].items():
            where = f"source '{key}', field '{fname}'"
            if fname not in FIELD_KINDS:
                problems.append(f"{where}: unknown canonical field (add it to pipeline/schema.py first)")
                continue
            fbody = fbody or {}
            unknown = set(fbody) - {"headers", "required", "not_null", "on_bad", "range", "duplicates"}
            if unknown:
                problems.append(f"{where}: unknown keys {sorted(unknown)}")
            headers = fbody.get("headers") or []
            if (
                not headers
                or not isinstance(headers, list)
                or not all(isinstance(h, str) and h for h in headers)
            ):
                problems.append(f"{where}: 'headers' must be a non-empty list of strings")
                continue
            on_bad = fbody.get("on_bad", REJECT)
            if on_bad not in (REJECT, BLANK):
                problems.append(f"{where}: 'on_bad' must be '{REJECT}' or '{BLANK}', not {on_bad!r}")
            elif on_bad == BLANK and fbody.get("not_null"):
                problems.append(f"{where}: a not_null field cannot be blanked (on_bad: {BLANK})")
            not_null = fbody.get("not_null", False)
            if not_null not in (True, False, UNLESS_ID):
                problems.append(f"{where}: 'not_null' must be true, false or {UNLESS_ID}, not {not_null!r}")
                not_null = False
            elif not_null == UNLESS_ID and "id_number" not in (body["fields"] or {}):
                problems.append(f"{where}: 'not_null: {UNLESS_ID}' needs an id_number field in the source")
                not_null = True
            bounds = fbody.get("range")
            if bounds is not None:
                numeric = FIELD_KINDS[fname] in (Kind.MONEY, Kind.INT)
                ok_type = (int, float) if numeric else (date,)
                if (
                    not isinstance(bounds, list)
                    or len(bounds) != 2
                    or not all(
                        b is None or (isinstance(b, ok_type) and not isinstance(b, bool)) for b in bounds
                    )
                    or (None not in bounds and bounds[0] > bounds[1])
                ):
                    what = "numbers" if numeric else "dates (YYYY-MM-DD)"
                    problems.append(f"{where}: 'range' must be [min, max] of {what}, min <= max (null: open)")
                    bounds = None
                elif FIELD_KINDS[fname] not in (Kind.MONEY, Kind.INT, Kind.DATE, Kind.MONTH):
                    problems.append(f"{where}: 'range' applies to amounts, counts and dates only")
                    bounds = None
            duplicates = fbody.get("duplicates")
            if duplicates not in (None, "first", "last"):
                problems.append(f"{where}: 'duplicates' must be 'first' or 'last', not {duplicates!r}")
                duplicates = None
            fields.append(
                FieldSpec(
                    name=fname,
                    headers=tuple(headers),
                    required=bool(fbody.get("required", False)),
                    not_null=bool(not_null),
                    unless_id=not_null == UNLESS_ID,
                    on_bad=str(on_bad),
                    range=tuple(bounds) if bounds is not None else None,
                    duplicates=duplicates,
                )
            )
        sources.append(
            SourceSpec(
                key=str(key),
                label=str(body.get("label", key)),
                folders=tuple(str(a) for a in body.get("folders", [])),
                fields=tuple(fields),
            )
        )

    enums: dict[str, dict[str, str]] = {}
    for fname, values in (doc.get("enums") or {}).items():
        if FIELD_KINDS.get(fname) is not Kind.ENUM:
            problems.append(f"enums: '{fname}' is not an enum field in pipeline/schema.py")
            continue
        spellings: dict[str, str] = {}
        for canonical, aliases in (values or {}).items():
            for a in [canonical, *(aliases or [])]:
                k = header_key(str(a))
                if spellings.get(k, canonical) != canonical:
                    problems.append(f"enums: '{fname}' spelling '{a}' maps to two values")
                spellings[k] = str(canonical)
        enums[fname] = spellings
    for s in sources:
        for f in s.fields:
            if f.kind is Kind.ENUM and f.name not in enums:
                problems.append(f"source '{s.key}', field '{f.name}': enum field without an 'enums' entry")

    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return SourcesConfig(path=str(p), sources=tuple(sources), enums=enums)


def dump_sources(cfg: SourcesConfig) -> dict[str, Any]:
    """The loaded config back as plain data (for the run manifest and round-trip tests)."""
    inverse: dict[str, dict[str, list[str]]] = {}
    for fname, spellings in cfg.enums.items():
        inverse[fname] = {}
        for spelling, canonical in spellings.items():
            inverse[fname].setdefault(canonical, []).append(spelling)
    return {
        "sources": {
            s.key: {
                "label": s.label,
                "folders": list(s.folders),
                "fields": {
                    f.name: {
                        "headers": list(f.headers),
                        "required": f.required,
                        "not_null": UNLESS_ID if f.unless_id else f.not_null,
                        "on_bad": f.on_bad,
                        **({"range": list(f.range)} if f.range is not None else {}),
                        **({"duplicates": f.duplicates} if f.duplicates else {}),
                    }
                    for f in s.fields
                },
            }
            for s in cfg.sources
        },
        "enums": inverse,
    }
