"""Resident ID numbers (GB 11643-1999) and disability certificate numbers.

A failing ID is flagged and kept as written (cleaned), never "fixed": a one-digit typo is evidence
the matcher can use, but only VALID/UPGRADED IDs are trusted as identifiers. A value that passed
through a spreadsheet float (``4.10822E+17``, trailing digits zeroed) is MANGLED: unrecoverable,
treated as missing and never matched on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipeline.schema import IdStatus

# The one home of GB 11643 arithmetic: the scalar and vectorized normalizers, blocking, the rules'
# facts and the sample generator all take the check character and one-edit corrections from here.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_WEIGHTS_NP = np.array(_WEIGHTS, dtype=np.int64)
_CHECK_BYTES = np.frombuffer(_CHECK.encode("ascii"), dtype=np.uint8)
#: Per ASCII code, the checksum residue (mod 11) whose check character it is; -1 for the others.
_CHECK_RESIDUE = np.full(256, -1, dtype=np.int64)
_CHECK_RESIDUE[_CHECK_BYTES] = np.arange(11)
#: Per position, the inverse of its weight mod 11 (the weights are all nonzero mod 11).
_WEIGHT_INVERSE = np.array([pow(w, -1, 11) for w in _WEIGHTS], dtype=np.int64)
# First two digits of an area code: the provinces of GB/T 2260. Historical area codes within a
# province (410811 郊区, 410824 沁阳县, 410826 孟县, 410827 济源县 ...) stay valid for life, so only the
# province is checked, never the full six digits.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
# Characters people and spreadsheets put around an ID: spaces of every width, tabs, the leading
# apostrophe that forces text in Excel, quotes, and the ="..." text-formula trick.
_STRIP = re.compile(r"[\s'\"‘’“”`=]")
_SCI = re.compile(r"^\d(\.\d+)?E[+]?\d+$")
_FLOATY = re.compile(r"^(\d+)\.0+$")


def _clean(text: str) -> str:
    """NFKC, separators removed, upper case; repeated until stable (removing a space can let NFKC
    compose a letter with a following combining mark)."""
    for _ in range(4):
        new = _STRIP.sub("", unicodedata.normalize("NFKC", text)).upper()
        if new == text:
            break
        text = new
    return text


def check_char(first17: str) -> str:
    """The check character for 17 digits.

    >>> check_char("11010519491231002")
    'X'
    """
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def check_bytes(digits: np.ndarray) -> np.ndarray:
    """Check characters (ASCII codes) of an (n, >=17) uint8 matrix of ASCII digits, one per row.

    >>> check_bytes(np.frombuffer(b"11010519491231002", dtype=np.uint8).reshape(1, 17)).tobytes()
    b'X'
    """
    return _CHECK_BYTES[((digits[:, :17].astype(np.int64) - 48) @ _WEIGHTS_NP) % 11]


def ascii_matrix(values: np.ndarray | pd.Series, width: int) -> np.ndarray:
    """Fixed-width ASCII strings as an (n, width) uint8 matrix (a copy, safe to modify)."""
    arr = np.asarray(values).astype(f"S{width}")
    return np.frombuffer(arr.tobytes(), dtype=np.uint8).reshape(-1, width).copy()


def check_chars(first17: np.ndarray) -> np.ndarray:
    """Check characters of an array of 17-digit strings, as an array of one-character strings.

    >>> check_chars(np.array(["11010519491231002", "41082219900101123"])).tolist()
    ['X', '8']
    """
    return check_bytes(ascii_matrix(first17, 17)).view("S1").astype(str)


def one_edit_corrections(typo_ids: pd.Series) -> pd.DataFrame:
    """Every valid 18-character ID one substitution or one adjacent swap away from each typo'd ID.

    A single wrong digit at position p leaves at most one digit at p that restores the check
    character (the weights are all nonzero mod 11), so each ID has at most 17 substitution
    candidates, one check-character fix, and up to 16 swap candidates that happen to pass.

    Returns columns ``index`` (the typo'd record) and ``candidate`` (a valid ID), ordered by kind
    of edit (substitutions by position and digit, the check character, swaps by position) and
    then by the typo'd IDs' order.

    The candidates are solved for, not tried: a variant's checksum is the ID's checksum with the
    edited positions' terms exchanged, and a substitution's one passing digit is found with the
    inverse of its position's weight mod 11. Trying all 188 variants of every ID took 7 s and a
    gigabyte for the 33,000 typo'd IDs of three million records.
    """
    s = typo_ids.dropna()
    if s.empty:
        return pd.DataFrame({"index": pd.Series(dtype="int64"), "candidate": pd.Series(dtype="object")})
    m = ascii_matrix(s.to_numpy(), 18)
    n = len(m)
    first = m[:, :17]
    digit = (first >= 48) & (first <= 57)
    value = np.where(digit, first.astype(np.int64) - 48, 0)
    others_bad = (~digit).sum(axis=1)[:, None] - ~digit  # non-digits among the other 16 positions
    total = value @ _WEIGHTS_NP  # over the digits only
    check = _CHECK_RESIDUE[m[:, 17]]  # the residue the 18th character stands for; -1: none
    rows = np.arange(n)
    found_row: list[np.ndarray] = []
    found_kind: list[np.ndarray] = []
    found_id: list[np.ndarray] = []

    def keep(kind: np.ndarray, ok: np.ndarray, variants: np.ndarray) -> None:
        found_row.append(rows[ok] if ok.ndim == 1 else np.broadcast_to(rows[:, None], ok.shape)[ok])
        found_kind.append(kind[ok])
        found_id.append(variants)

    # Substitutions: at p, the digit d with (total without p) + d * w_p = check (mod 11).
    rest = total[:, None] - value * _WEIGHTS_NP
    d = ((check[:, None] - rest) * _WEIGHT_INVERSE) % 11
    ok = (check[:, None] >= 0) & (others_bad == 0) & (d <= 9) & (first != 48 + d)
    r_, p_ = np.nonzero(ok)
    v = m[r_].copy()
    v[np.arange(len(r_)), p_] = 48 + d[r_, p_]
    keep(np.broadcast_to(np.arange(17) * 10, ok.shape) + d, ok, v)
    # The check character mistyped: the first 17 all digits.
    all_digits = np.asarray(digit.all(axis=1))
    v = m[all_digits].copy()
    v[:, 17] = _CHECK_BYTES[total[all_digits] % 11]
    keep(np.full(n, 170), all_digits, v)
    # Swaps of neighbours inside the first 17: the same characters, the checksum changes by
    # (a[p+1] - a[p]) * (w[p] - w[p+1]).
    step = (value[:, 1:] - value[:, :-1]) * (_WEIGHTS_NP[:-1] - _WEIGHTS_NP[1:])
    ok = (all_digits & (check >= 0))[:, None] & (first[:, :-1] != first[:, 1:])
    ok &= (total[:, None] + step) % 11 == check[:, None]
    r_, p_ = np.nonzero(ok)
    v = m[r_].copy()
    v[np.arange(len(r_)), p_], v[np.arange(len(r_)), p_ + 1] = m[r_, p_ + 1], m[r_, p_]
    keep(np.broadcast_to(171 + np.arange(16), ok.shape), ok, v)
    # The 17th and the check character swapped: the check character becomes the 17th digit.
    last = m[:, 17]
    moved = (last >= 48) & (last <= 57)
    body = others_bad[:, 16] == 0  # the first 16 all digits
    sums = total - value[:, 16] * _WEIGHTS_NP[16] + (last.astype(np.int64) - 48) * _WEIGHTS_NP[16]
    ok = body & moved & (m[:, 16] != last) & (_CHECK_BYTES[sums % 11] == m[:, 16])
    v = m[ok].copy()
    v[:, 16], v[:, 17] = m[ok, 17], m[ok, 16]
    keep(np.full(n, 187), ok, v)

    row = np.concatenate(found_row)
    kind = np.concatenate(found_kind)
    order = np.lexsort((row, kind))
    ids = np.concatenate(found_id)[order].view("S18").ravel().astype(str)
    return pd.DataFrame({"index": s.index.to_numpy()[row[order]], "candidate": ids}).drop_duplicates()


def _valid_date(yyyymmdd: str) -> bool:
    try:
        d = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return date(1890, 1, 1) <= d <= date(2100, 1, 1)


@dataclass(frozen=True)
class IdResult:
    """``value``: the 18-character ID when usable, the cleaned text when INVALID/MALFORMED, None
    when MANGLED or MISSING (such values must never be matched on)."""

    value: str | None
    status: IdStatus

    @property
    def status_text(self) -> str:
        return self.status.value

    @property
    def usable(self) -> bool:
        return self.status in (IdStatus.VALID, IdStatus.UPGRADED)


def normalize_id(raw: object) -> IdResult:
    """Normalize one ID cell.

    >>> normalize_id(" 11010519491231002x ")
    IdResult(value='11010519491231002X', status=<IdStatus.VALID: 'valid'>)
    >>> normalize_id("4.10822E+17").status
    <IdStatus.MANGLED: 'mangled'>
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return IdResult(None, IdStatus.MISSING)
    s = _clean(str(raw))
    if not s:
        return IdResult(None, IdStatus.MISSING)
    if _SCI.match(s):
        return IdResult(None, IdStatus.MANGLED)
    m = _FLOATY.match(s)
    if m:
        # "410822199001011234.0": the value went through a float; past 15 digits it lost precision.
        s = m.group(1)
        if len(s) > 15:
            return IdResult(None, IdStatus.MANGLED)
    if len(s) == 18 and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        if s.endswith("000"):
            # Excel kept 15 significant digits and zeroed the rest. One time in eleven the zeroed
            # ID even passes its check, and then it names someone else; a genuine ID ending in 000
            # (sequence x00, check 0: about 1 in 1,100) cannot be told apart, so neither is trusted.
            return IdResult(None, IdStatus.MANGLED)
        ok = s[:2] in _PROVINCES and _valid_date(s[6:14]) and check_char(s[:17]) == s[17]
        if ok:
            return IdResult(s, IdStatus.VALID)
        return IdResult(s, IdStatus.INVALID)
    if len(s) == 15 and s.isdigit():
        full17 = s[:6] + "19" + s[6:]
        if s[:2] in _PROVINCES and _valid_date(full17[6:14]):
            upgraded = full17 + check_char(full17)
            if upgraded.endswith("000"):
                # Indistinguishable from a zero-filled 18-digit ID (see above) once upgraded; keeping
                # it would make normalization depend on which form a department happened to send.
                return IdResult(None, IdStatus.MANGLED)
            return IdResult(upgraded, IdStatus.UPGRADED)
        return IdResult(s, IdStatus.INVALID)
    # Wrong length or characters (a dropped digit, a passport number): kept for the record and for
    # fuzzy comparison, never trusted as an identifier.
    return IdResult(s[:40], IdStatus.MALFORMED)


#: The digits of an ID that survive a spreadsheet's 15 significant digits: area (6), birth date (8)
#: and the first sequence digit.
CUT_DIGITS = 15
_CUT = re.compile(r"\d{15}000|\d{16,}\.0+")


def cut_prefix(raw: pd.Series, status: pd.Series) -> pd.Series:
    """The first 15 digits of each ID that a spreadsheet cut to 15 significant digits (status
    MANGLED, written ``…000`` or as a float of more than 15 digits), else None. The cut zeroed only
    the last three digits, so these 15 (area, birth date, first sequence digit) still say whose ID
    it was, up to the few people of one area born on one day: evidence to compare, never an ID.
    ``4.10822E+17`` kept six digits and gives nothing.

    >>> cut_prefix(pd.Series(["410822199001011000", " 4.10822E+17", "410822199001011234"]),
    ...            pd.Series(["mangled", "mangled", "valid"])).tolist()
    ['410822199001011', None, None]
    """
    out = pd.Series(np.full(len(raw), None, dtype=object), index=raw.index, dtype="object")
    mangled = (status.astype("object") == IdStatus.MANGLED.value).to_numpy()
    if not mangled.any():
        return out
    text = pd.Series([_clean(str(v)) if isinstance(v, str) else "" for v in raw[mangled]], dtype="object")
    cut = text.str.fullmatch(_CUT.pattern).to_numpy(dtype=bool)
    out.iloc[np.flatnonzero(mangled)[cut]] = text[cut].str.slice(0, CUT_DIGITS).to_numpy()
    return out


def birth_date_of(id18: str) -> date:
    """Birth date of a usable 18-character ID."""
    return date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def sex_of(id18: str) -> str:
    """男 for an odd sequence digit, 女 for even."""
    return "男" if int(id18[16]) % 2 else "女"


_CATEGORY = {"1": "视力", "2": "听力", "3": "言语", "4": "肢体", "5": "智力", "6": "精神", "7": "多重"}
_GRADE = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}


@dataclass(frozen=True)
class CertResult:
    """A second-generation disability certificate: the holder's ID, then category, then grade."""

    value: str | None
    id: IdResult
    category: str | None
    grade: str | None

    @property
    def usable_id(self) -> str | None:
        return self.id.value if self.id.usable else None


def parse_cert(raw: object) -> CertResult:
    """Split a 20-character certificate number.

    >>> r = parse_cert("11010519491231002X42")
    >>> (r.id.value, r.category, r.grade)
    ('11010519491231002X', '肢体', '二级')
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return CertResult(None, IdResult(None, IdStatus.MISSING), None, None)
    s = _clean(str(raw))
    if not s:
        return CertResult(None, IdResult(None, IdStatus.MISSING), None, None)
    if len(s) == 20:
        return CertResult(s, normalize_id(s[:18]), _CATEGORY.get(s[18]), _GRADE.get(s[19]))
    # Anything else is kept for the record but yields nothing (a spreadsheet float, a typo).
    return CertResult(s, IdResult(None, IdStatus.MALFORMED), None, None)
