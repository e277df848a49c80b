"""Synthetic department extracts for a 焦作 population, with the truth of every row.

``python -m pipeline.sample --households N --seed S --out DIR`` writes DIR/<source>/*.csv|xlsx in
the input contract of rules/sources.yaml, with the errors of ../shared/DOMAIN.md, and
DIR/truth.csv: for each (source, file, row), the true person and the errors injected into the row.
The pipeline never reads truth.csv (it is not inside a source folder); benchmarks do.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.normalize.places import Gazetteer, default_gazetteer_path
from pipeline.sample import channels as C
from pipeline.sample import extracts as X
from pipeline.sample.errors import ID_ERRORS, NAME_ERRORS, corrupt
from pipeline.sample.population import make_population

log = logging.getLogger(__name__)

TRUTH_FILE = "truth.csv"
DEFAULT_AS_OF = date(2026, 11, 1)

# Date styles seen in extracts; each file uses one.
DATE_STYLES = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "serial")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
_EXCEL_EPOCH = date(1899, 12, 30)

# Headers that hold IDs, names and places, per source (standard headers).
ID_HEADERS = {
    "monitoring": ["证件号码"],
    "disability": ["身份证号"],
    "assistance": ["成员身份证号", "户主身份证号"],
    "subsidy": ["身份证号"],
    "medical": ["证件号码"],
    "deaths": ["身份证号"],
    "students": ["学生身份证号", "监护人身份证号"],
    "hotline": ["身份证号"],
    "reports": ["身份证号"],
    "vehicles": ["车主身份证号"],
    "property": ["权利人身份证号"],
}
NAME_HEADERS = {
    "monitoring": ["姓名"],
    "disability": ["姓名"],
    "assistance": ["成员姓名", "户主姓名"],
    "subsidy": ["姓名"],
    "medical": ["姓名"],
    "deaths": ["姓名"],
    "students": ["学生姓名", "监护人姓名"],
    "hotline": ["诉求人姓名"],
    "reports": ["姓名"],
    "vehicles": ["车主姓名"],
    "property": ["权利人姓名"],
}
TOWNSHIP_HEADERS = {
    "monitoring": "乡(镇、街道)",
    "disability": "所属乡镇",
    "assistance": "乡(镇、街道)",
    "subsidy": "乡(镇、街道)",
    "students": "所属乡镇",
    "reports": "所属乡镇",
}
COUNTY_HEADERS = {
    "monitoring": "县(市、区)",
    "disability": "所属县区",
    "assistance": "县(市、区)",
    "subsidy": "县(市、区)",
    "medical": "参保地",
}


@dataclass(frozen=True)
class SampleSpec:
    households: int
    seed: int = 7
    as_of: date = DEFAULT_AS_OF
    xlsx_sources: tuple[str, ...] = ("disability",)
    error_scale: float = 1.0  # multiply every error rate (0 = clean data)


def _fmt_date(d: object, style: str) -> str | None:
    if d is None or (isinstance(d, float) and d != d):
        return None
    if isinstance(d, pd.Timestamp):
        d = d.to_pydatetime()
    clock = ""
    if isinstance(d, datetime):  # a time of day (a hotline ticket's): kept after the date
        clock = d.strftime(" %H:%M") if (d.hour, d.minute) != (0, 0) else ""
        d = d.date()
    assert isinstance(d, date)
    if style == "serial":
        return str((d - _EXCEL_EPOCH).days)
    return d.strftime(style).replace("年0", "年").replace("月0", "月") + clock


def _place_variants(frame: pd.DataFrame, source: str, rng: np.random.Generator, scale: float) -> None:
    """Township names without suffix or with a county prefix; county names prefixed or shortened."""
    th = TOWNSHIP_HEADERS.get(source)
    ch = COUNTY_HEADERS.get(source)
    n = len(frame)
    if th:
        t = frame[th].astype(object)
        r = rng.random(n)
        nosuf = r < 0.12 * scale
        t = t.where(~nosuf, t.str.replace(r"(街道|镇|乡)$", "", regex=True))
        if ch:
            prefixed = (r >= 0.12 * scale) & (r < 0.17 * scale) & frame[ch].notna().to_numpy()
            t = t.where(~prefixed, frame[ch] + t)
        if source in ("disability", "students", "reports"):  # the address still tells the township
            t = t.where(~((r >= 0.17 * scale) & (r < 0.2 * scale)), None)
        frame[th] = t
    if ch and source != "medical":
        c = frame[ch].astype(object)
        r = rng.random(n)
        c = c.where(~(r < 0.08 * scale), "焦作市" + c)
        c = c.where(
            ~((r >= 0.08 * scale) & (r < 0.12 * scale)), c.str.replace(r"(县|区|市)$", "", regex=True)
        )
        frame[ch] = c


def _invalid_values(
    frame: pd.DataFrame, source: str, rng: np.random.Generator, tags: pd.Series, scale: float
) -> None:
    """A few rows that validation must reject: negative amounts, future dates, unknown codes, no name."""
    n = len(frame)
    plans: dict[str, list[tuple[str, Any]]] = {
        "monitoring": [("家庭年人均纯收入(元)", "-1200"), ("风险是否已消除", "待定")],
        "disability": [("残疾等级", "五级"), ("发证日期", date(2031, 1, 1))],
        "assistance": [("救助类别", "临时救助"), ("月保障金额", "-330")],
        "subsidy": [("发放金额", "八十")],
        "medical": [("个人自付", "-50.00"), ("出院日期", date(2030, 6, 1))],
        "deaths": [("死亡日期", date(2031, 3, 1))],
        "students": [],
        "hotline": [("受理时间", datetime(2031, 1, 5, 9, 30))],
        "reports": [("上报日期", date(2031, 2, 1))],
        "vehicles": [],
        "property": [("建筑面积", "-80")],
    }
    plan = plans[source]
    name_col = NAME_HEADERS[source][0]
    for col, bad in [*plan, (name_col, None)]:  # a blank name too
        chosen = rng.random(n) < 0.0015 * scale
        if not chosen.any():
            continue
        frame.loc[chosen, col] = bad
        tags[chosen] = tags[chosen].map(lambda t: f"{t},invalid" if t else "invalid")


def _files(source: str, frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Split a source into the files a department would send."""
    if source in ("monitoring", "assistance"):
        label = {"monitoring": "防返贫监测对象", "assistance": "低保特困人员名册"}[source]
        return [(f"{code}_{label}", part) for code, part in frame.groupby("_county_code", sort=True)]
    if source == "subsidy":
        return [(f"两项补贴发放_{m}", part) for m, part in frame.groupby("_month", sort=True)]
    if source == "medical":
        return [(f"住院结算_{y}", part) for y, part in frame.groupby("_year", sort=True)]
    if source == "deaths":
        return [(f"火化信息_{y}", part) for y, part in frame.groupby("_year", sort=True)]
    if source == "students":
        return [(f"{code}_学生学籍", part) for code, part in frame.groupby("_county_code", sort=True)]
    if source == "hotline":
        return [("12345热线工单_民政类", frame)]
    if source == "reports":
        return [(f"{code}_协理员走访上报", part) for code, part in frame.groupby("_county_code", sort=True)]
    if source == "vehicles":
        return [("车辆登记信息_核对", frame)]
    if source == "property":
        return [("不动产登记信息_核对", frame)]
    return [("残疾人信息", frame)]


def _write_csv(
    path: Path, headers: list[str], rows: list[list[str | None]], encoding: str, title: str | None
) -> None:
    with open(path, "w", encoding=encoding, newline="", errors="strict") as f:
        w = csv.writer(f)
        if title:
            w.writerow([title])
        w.writerow(headers)
        w.writerows([[("" if v is None else v) for v in r] for r in rows])


def _write_xlsx(path: Path, headers: list[str], rows: list[list[object]], numeric_cols: set[int]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet("Sheet1")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, h in enumerate(headers):
        ws.write_string(0, j, h)
    for i, r in enumerate(rows, start=1):
        for j, v in enumerate(r):
            if v is None:
                continue
            if isinstance(v, date):
                ws.write_datetime(i, j, datetime.combine(v, datetime.min.time()), date_fmt)
            elif j in numeric_cols and isinstance(v, str) and v.replace(".", "", 1).isdigit():
                ws.write_number(i, j, float(v))  # a clerk typed it as a number: Excel keeps 15 digits
            elif isinstance(v, str) and "E+" in v and v[0].isdigit():
                ws.write_number(i, j, float(v))  # the mangled ID as Excel stores it
            else:
                ws.write_string(i, j, str(v))
    wb.close()


def generate(spec: SampleSpec, out: str | Path, clean_out: str | Path | None = None) -> pd.DataFrame:
    """Write the extracts and truth.csv under ``out``; return the truth frame.

    With ``clean_out``, also write the same rows before any error was injected, every row with its
    correct values (also those whose values were made invalid on purpose), with their own truth.csv:
    the data as it should have been, from which benchmarks derive the warnings a perfect pipeline
    would give. A row the pipeline rejects therefore costs what it really costs.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    gaz = Gazetteer.from_csv(default_gazetteer_path())
    pop = make_population(spec.households, spec.seed, spec.as_of, gaz)
    rng = np.random.default_rng(spec.seed + 1)
    mon = X.monitoring(pop, rng, spec.as_of)
    monitored = set(pop.persons.loc[pop.persons["pid"].isin(mon[X.PID]), "hh"])
    at_risk = set(
        pop.persons.loc[pop.persons["pid"].isin(mon.loc[mon["风险是否已消除"] == "否", X.PID]), "hh"]
    )
    death = X.death_dates(pop, rng, spec.as_of, monitored)
    dis = X.disability(pop, rng, spec.as_of, monitored)
    ast = X.assistance(pop, rng, spec.as_of, at_risk, death)
    frames = {
        "monitoring": mon,
        "disability": dis,
        "assistance": ast,
        "subsidy": X.subsidy(pop, rng, spec.as_of, dis, ast, death),
        "medical": X.medical(pop, rng, spec.as_of, death),
        "deaths": X.deaths(pop, rng, spec.as_of, death),
        "students": X.students(pop, rng, spec.as_of, death),
    }
    # The other channels draw from their own stream: the department extracts above stay the same.
    crng = np.random.default_rng(spec.seed + 3)
    people = X.person_frame(pop)
    # Only the living call the hotline or are reported (a death record would exclude them anyway).
    people = people[people["pid"].map(death).isna().to_numpy()]
    signals = C.signals(pop.persons, frames)
    frames["hotline"] = C.hotline(people, signals, crng, spec.as_of)
    frames["reports"] = C.reports(people, signals, crng, spec.as_of)
    frames["vehicles"] = C.vehicles(people, signals, frames, crng, spec.as_of)
    frames["property"] = C.real_estate(people, signals, frames, crng, spec.as_of)
    truth_parts = []
    clean_parts = []
    clean_rng = np.random.default_rng(spec.seed + 2)  # its own: the main stream must not depend on it
    for source, frame in frames.items():
        frame = frame.reset_index(drop=True)
        clean = frame.copy()
        # Errors the builders made on purpose (an infant under a parent's ID) start the tag list.
        tags = (
            frame["_tag"].astype(object)
            if "_tag" in frame
            else pd.Series("", index=frame.index, dtype=object)
        )
        for h in ID_HEADERS[source]:
            frame[h] = corrupt(frame[h].astype(object), ID_ERRORS, rng, tags, spec.error_scale)
        for h in NAME_HEADERS[source]:
            frame[h] = corrupt(frame[h].astype(object), NAME_ERRORS, rng, tags, spec.error_scale)
        _place_variants(frame, source, rng, spec.error_scale)
        _invalid_values(frame, source, rng, tags, spec.error_scale)
        truth_parts += _write_source(out, source, frame, tags, rng, source in spec.xlsx_sources, spec.seed)
        if clean_out is not None:
            clean_parts += _write_source(
                Path(clean_out), source, clean, tags, clean_rng, False, spec.seed, plain=True
            )
    truth = _write_truth(truth_parts, out)
    if clean_out is not None:
        _write_truth(clean_parts, Path(clean_out))
    log.info(
        "sample: %d households, %d people, %d rows in %d sources -> %s",
        spec.households,
        len(pop.persons),
        len(truth),
        len(frames),
        out,
    )
    return truth


def _write_truth(parts: list[pd.DataFrame], out: Path) -> pd.DataFrame:
    truth = pd.concat(parts, ignore_index=True)
    truth["person"] = truth["person"].map(lambda p: f"P{p:08d}")
    truth.to_csv(out / TRUTH_FILE, index=False, encoding="utf-8")
    return truth


def _write_source(
    out: Path,
    source: str,
    frame: pd.DataFrame,
    tags: pd.Series,
    rng: np.random.Generator,
    as_xlsx: bool,
    seed: int,
    plain: bool = False,
) -> list[pd.DataFrame]:
    """Write one source's files (one date style per file); return their truth rows.

    ``plain``: UTF-8 CSV with ISO dates, no title lines or renamed headers (the clean copy).
    """
    folder = out / source
    folder.mkdir(parents=True, exist_ok=True)
    headers = [c for c in frame.columns if not c.startswith("_")]
    parts = []
    for k, (stem, part) in enumerate(_files(source, frame)):
        style = DATE_STYLES[int(rng.integers(0, len(DATE_STYLES)))]
        if plain:
            style = DATE_STYLES[0]
        values = part[headers].astype(object).where(part[headers].notna(), None)
        date_cols = {j for j, h in enumerate(headers) if h.endswith(("日期", "时间"))}
        rows = [
            [
                (v if as_xlsx and rng_choice_keep_date(j, date_cols, k) else _fmt_date(v, style))
                if j in date_cols
                else v
                for j, v in enumerate(r)
            ]
            for r in values.itertuples(index=False)
        ]
        names = list(headers)
        title = None
        if source == "monitoring" and k == 1 and not plain:
            title = "防返贫监测对象名单(2026年)"  # a title line above the header
        if source == "monitoring" and k == 2 and not plain:
            names = [{"证件号码": "身份证号码", "乡(镇、街道)": "乡镇"}.get(h, h) for h in names]
        if as_xlsx:
            path = folder / f"{stem}.xlsx"
            numeric = {j for j, h in enumerate(headers) if h in ("联系电话",)}
            _write_xlsx(path, names, rows, numeric)
            first_row = 2
        else:
            path = folder / f"{stem}.csv"
            encoding = "utf-8" if plain else ENCODINGS[(k + seed) % len(ENCODINGS)]
            _write_csv(path, names, rows, encoding, title)
            first_row = 3 if title else 2
        parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "file": path.name,
                    "row": np.arange(first_row, first_row + len(part)),
                    "person": part[X.PID].to_numpy(),
                    "errors": tags.loc[part.index].to_numpy(),
                    # the true hardship categories of a request or report ("" for none)
                    "hardship": part[C.HARDSHIP].to_numpy() if C.HARDSHIP in part else "",
                }
            )
        )
    return parts


def rng_choice_keep_date(j: int, date_cols: set[int], file_index: int) -> bool:
    """In workbooks, the first date column of every other file holds real Excel dates."""
    return file_index % 2 == 0 and j == min(date_cols)
