"""Resolve county and township names to division codes from the reference table.

Townships are keyed by (county, name), never by name alone: 太行街道 exists in both 山阳区 and
沁阳市. A township name is tolerated without its suffix (磨头 for 磨头镇), with a county or city
prefix (博爱县磨头镇), or as 办事处 for 街道; when the township column fails, the address is searched.
Nothing is guessed across counties: a name found in two counties with no county given stays
unresolved, and is counted.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.normalize.common import squeeze

_TOWN_SUFFIXES = ("街道办事处", "街道办", "办事处", "街道", "镇", "乡")
_COUNTY_SUFFIXES = ("县", "区", "市")
_PREFIXES = ("河南省", "河南", "焦作市", "焦作")
# Former names of county-level units still written in extracts (county code of today's unit).
_COUNTY_FORMER = {"孟县": "410883", "沁阳县": "410882", "郊区": "410811", "示范区": "410871"}


def _core(name: str, suffixes: tuple[str, ...]) -> str:
    for suf in suffixes:
        if name.endswith(suf) and len(name) > len(suf) + 1:
            return name[: -len(suf)]
    return name


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    county_code: str
    county: str
    kind: str  # 街道 / 镇 / 乡 / 其他


@dataclass
class Gazetteer:
    """The reference table with lookup indexes, built once per run."""

    townships: list[Township]
    counties: dict[str, str] = field(default_factory=dict)  # county code -> name
    _county_by_name: dict[str, str] = field(default_factory=dict)
    _by_county: dict[str, dict[str, str]] = field(default_factory=dict)  # county -> name/core -> code
    _by_name: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # name/core -> codes
    _county_names: list[tuple[str, str]] = field(default_factory=list)
    by_code: dict[str, Township] = field(default_factory=dict)
    _unique_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.townships:
            self.counties[t.county_code] = t.county
            names = {t.name, _core(t.name, _TOWN_SUFFIXES)}
            if t.kind == "街道":
                names.add(_core(t.name, _TOWN_SUFFIXES) + "办事处")
            bucket = self._by_county.setdefault(t.county_code, {})
            for n in names:
                bucket[n] = t.code
                self._by_name[n].add(t.code)
        for code, name in self.counties.items():
            short = _strip_prefixes(name)  # 焦作城乡一体化示范区 is written 城乡一体化示范区 too
            for n in (name, short, _core(short, _COUNTY_SUFFIXES), code):
                self._county_by_name[n] = code
            if len(short) == 2:
                # 温县 is written 温: allowed for a whole cell, never as a prefix (see _county_names).
                self._county_by_name[short[0]] = code
        for name, code in _COUNTY_FORMER.items():
            self._county_by_name.setdefault(name, code)
        self.by_code = {t.code: t for t in self.townships}
        # Names that exist in one county only: the only ones an address without a county can use.
        self._unique_names = {n: next(iter(c)) for n, c in self._by_name.items() if len(c) == 1}
        # The names an address is searched for, longest first (磨头镇 before a shorter core that
        # happens to appear), sorted once: per county, and those unique in the city (no county).
        self._search_pools: dict[str | None, list[tuple[str, str]]] = {
            key: sorted(((n, c) for n, c in pool.items() if len(n) >= 2), key=lambda kv: -len(kv[0]))
            for key, pool in [*self._by_county.items(), (None, self._unique_names)]
        }
        # Longest first, so 焦作城乡一体化示范区 is tried before 示范区.
        self._county_names = sorted(
            ((n, c) for n, c in self._county_by_name.items() if len(n) >= 2 and not n.isdigit()),
            key=lambda kv: -len(kv[0]),
        )

    @classmethod
    def from_csv(cls, path: str | Path) -> Gazetteer:
        with open(path, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return cls(
            [
                Township(r["township_code"], r["township"], r["county_code"], r["county"], r["kind"])
                for r in rows
            ]
        )

    # -- counties ------------------------------------------------------------------------------
    def county_code(self, raw: object) -> str | None:
        """County code from a name, a short name, a former name, a code or a prefixed address.

        >>> g = Gazetteer([Township("410822101", "磨头镇", "410822", "博爱县", "镇")])
        >>> g.county_code("焦作市博爱县"), g.county_code("博爱"), g.county_code("410822")
        ('410822', '410822', '410822')
        """
        s = squeeze(raw)
        if s is None:
            return None
        s = _strip_prefixes(s)
        if s in self._county_by_name:
            return self._county_by_name[s]
        m = re.match(r"^(\d{6})", s)
        if m and m[1] in self.counties:
            return m[1]
        # A county name at the start of a longer string (参保地 "博爱县医保中心").
        for name, code in self._county_names:
            if s.startswith(name):
                return code
        return None

    # -- townships -----------------------------------------------------------------------------
    def township_code(self, county_code: str | None, raw: object, address: object = None) -> str | None:
        """Township code from the township column, else from the address; None when unsure.

        >>> g = Gazetteer([Township("410822101", "磨头镇", "410822", "博爱县", "镇"),
        ...                Township("410811004", "太行街道", "410811", "山阳区", "街道"),
        ...                Township("410882003", "太行街道", "410882", "沁阳市", "街道")])
        >>> g.township_code("410822", "博爱县磨头"), g.township_code(None, "太行街道")
        ('410822101', None)
        """
        s = squeeze(raw)
        if s is not None:
            code = self._lookup(county_code, s)
            if code:
                return code
        a = squeeze(address)
        if a is not None:
            return self._search_address(county_code, a)
        return None

    def _lookup(self, county_code: str | None, s: str) -> str | None:
        s = _strip_prefixes(s)
        county = county_code
        candidates = [s, _core(s, _TOWN_SUFFIXES)]
        # A county prefix inside the township cell ("博爱县磨头镇") also tells the county. The cell
        # as written is tried first: 武陟宁郭农场 is a township's own name, not 武陟 + 宁郭农场.
        for name, code in self._county_names:
            if s.startswith(name) and len(s) > len(name):
                if county is None or county == code:
                    county = code
                    rest = s[len(name) :]
                    candidates += [rest, _core(rest, _TOWN_SUFFIXES)]
                break
        if county is not None:
            bucket = self._by_county.get(county, {})
            for c in candidates:
                if c in bucket:
                    return bucket[c]
            return None
        codes: set[str] = set()
        for c in candidates:
            codes |= self._by_name.get(c, set())
        return next(iter(codes)) if len(codes) == 1 else None

    def _search_address(self, county_code: str | None, address: str) -> str | None:
        address = _strip_prefixes(address)
        if county_code is None:
            county_code = self.county_code(address)
        for name, code in self._search_pools.get(county_code or None, ()):
            if name in address:
                return code
        return None


def _strip_prefixes(s: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if s.startswith(p) and len(s) > len(p):
                s = s[len(p) :]
                changed = True
    return s


def default_gazetteer_path() -> Path:
    return Path(__file__).resolve().parents[2] / "rules" / "reference" / "jiaozuo_townships_2022.csv"


# A village (村) or community (社区, 居委会) named after the township in an address: the shortest run
# of characters that is not itself a place level or a house number.
_VILLAGE = re.compile(r"([^\d\s省市县区乡镇路街道号巷弄楼栋单元室]{1,10}?(?:社区|居委会|村(?!社区|居委会)))")


def village_in_address(address: str | None, township: str | None) -> str | None:
    """The village or community an address names after its township, when it names one.

    >>> village_in_address("河南省焦作市解放区民生街道新华社区1号", "民生街道")
    '新华社区'
    >>> village_in_address("河南省焦作市沁阳市紫陵镇老高坡村110号", "紫陵镇")
    '老高坡村'
    >>> village_in_address("河南省焦作市山阳区焦东街道西后新村社区24号", "焦东街道")
    '西后新村社区'
    >>> village_in_address("河南省焦作市沁阳市紫陵镇人民路5号", "紫陵镇") is None
    True
    """
    if not address:
        return None
    rest = address
    if isinstance(township, str) and township and township in address:
        rest = address.split(township, 1)[1]
    else:
        # Without the township's name, only what follows the last township-level word.
        cut = max(address.rfind(k) + len(k) if address.rfind(k) >= 0 else -1 for k in ("乡", "镇", "街道"))
        if cut < 0:
            return None
        rest = address[cut:]
    m = _VILLAGE.match(rest)
    return m.group(1) if m else None
