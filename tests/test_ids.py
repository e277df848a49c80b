"""Hand-worked ID cases: one per error kind of ../shared/DOMAIN.md and of the sample generator."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.normalize.ids import (
    birth_date_of,
    check_char,
    normalize_id,
    one_edit_corrections,
    parse_cert,
    sex_of,
)
from pipeline.sample.errors import ID_ERRORS
from pipeline.schema import IdStatus

# DOMAIN.md's example: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 on 11010519491231002 sum to 167,
# 167 mod 11 = 2, "10X98765432"[2] = "X".
GOOD = "11010519491231002X"


def test_check_character_of_the_domain_example() -> None:
    assert check_char(GOOD[:17]) == "X"


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        (GOOD, GOOD, IdStatus.VALID),
        ("11010519491231002x", GOOD, IdStatus.VALID),  # lower-case x
        ("１１０１０５１９４９１２３１００２Ｘ", GOOD, IdStatus.VALID),  # full-width digits and X
        ("110105 19491231 002X", GOOD, IdStatus.VALID),  # spaces inside
        ("11010519491231002X\u3000", GOOD, IdStatus.VALID),  # ideographic space
        ("'11010519491231002X", GOOD, IdStatus.VALID),  # Excel's leading apostrophe
        ("\t11010519491231002X", GOOD, IdStatus.VALID),  # a tab from a database export
        ('="11010519491231002X"', GOOD, IdStatus.VALID),  # the ="..." text trick
        # One digit typo (5 -> 6 at position 6): the check character no longer matches. Kept, flagged.
        ("11010619491231002X", "11010619491231002X", IdStatus.INVALID),
        # Two adjacent digits swapped (positions 14/15: "00" -> no change, so use 15/16: "02" -> "20").
        ("11010519491231020X", "11010519491231020X", IdStatus.INVALID),
        # 15-digit legacy ID: 110105 491231 002 -> insert 19, append the check character (X as above).
        ("110105491231002", GOOD, IdStatus.UPGRADED),
        # Excel's float display and its 15 significant digits: unrecoverable.
        ("4.10822E+17", None, IdStatus.MANGLED),
        ("1.10105194912310E+17", None, IdStatus.MANGLED),
        ("110105194912310000", None, IdStatus.MANGLED),
        ("110105194912310021.0", None, IdStatus.MANGLED),
        ("", None, IdStatus.MISSING),
        (None, None, IdStatus.MISSING),
        ("1101051949123100", "1101051949123100", IdStatus.MALFORMED),  # two digits dropped
        ("E12345678", "E12345678", IdStatus.MALFORMED),  # a passport number
    ],
)
def test_normalize_id(raw: str | None, value: str | None, status: IdStatus) -> None:
    r = normalize_id(raw)
    assert (r.value, r.status) == (value, status)


@pytest.mark.parametrize(
    "id18",
    # Historical 焦作 area codes stay valid for life (check characters computed by hand-checked check_char).
    [
        "410811198503150218",
        "41082419850315021X",
        "410826198503150212",
        "410827198503150219",
        "410881198503150217",
    ],
)
def test_historical_jiaozuo_area_codes_are_accepted(id18: str) -> None:
    assert normalize_id(id18).status is IdStatus.VALID


def test_birth_date_and_sex_from_id() -> None:
    assert birth_date_of(GOOD) == date(1949, 12, 31)
    assert sex_of(GOOD) == "女"  # sequence 002: even
    assert sex_of("410811198503150218") == "男"  # sequence 021: odd


def test_impossible_birth_date_is_invalid_even_with_a_matching_check_character() -> None:
    first17 = "41082219801301123"  # month 13
    assert normalize_id(first17 + check_char(first17)).status is IdStatus.INVALID


def test_disability_certificate_gives_id_category_and_grade() -> None:
    c = parse_cert(GOOD + "42")
    assert (c.id.value, c.category, c.grade, c.usable_id) == (GOOD, "肢体", "二级", GOOD)
    c = parse_cert("11010519491231002x 71")
    assert (c.category, c.grade) == ("多重", "一级")
    assert parse_cert("4.10822E+19").usable_id is None
    assert parse_cert(None).value is None


# What each corruption of the generator must normalize to, starting from GOOD (born 1949, so the
# legacy form exists). A new corruption without an entry here fails test_every_generator_error_is_covered.
EXPECTED_AFTER_CORRUPTION = {
    "id_lower_x": {IdStatus.VALID},
    "id_fullwidth": {IdStatus.VALID},
    "id_spaces": {IdStatus.VALID},
    "id_apostrophe": {IdStatus.VALID},
    "id_tab": {IdStatus.VALID},
    "id_typo": {IdStatus.INVALID},
    "id_swap": {IdStatus.INVALID},
    "id_legacy15": {IdStatus.UPGRADED},
    "id_mangled": {IdStatus.MANGLED},
}


def test_every_generator_error_is_covered() -> None:
    assert set(EXPECTED_AFTER_CORRUPTION) == set(ID_ERRORS)


@pytest.mark.parametrize("kind", sorted(ID_ERRORS))
def test_generator_id_errors_normalize_as_expected(kind: str) -> None:
    import numpy as np

    fn, _ = ID_ERRORS[kind]
    rng = np.random.default_rng(0)
    for _ in range(30):  # several random draws of the corruption
        bad = fn(GOOD, rng)
        assert bad is not None
        r = normalize_id(bad)
        assert r.status in EXPECTED_AFTER_CORRUPTION[kind], (bad, r)
        if r.status in (IdStatus.VALID, IdStatus.UPGRADED):
            assert r.value == GOOD


def test_a_legacy_id_whose_upgrade_ends_in_000_is_as_unusable_as_a_zero_filled_one() -> None:
    # 211339 900206 000 -> 211339 19900206 000 + check "0": ends in 000 like an Excel-zeroed ID, so
    # the 15- and 18-digit forms of it must get the same answer (found by the idempotence property).
    assert normalize_id("211339900206000").status is IdStatus.MANGLED
    assert normalize_id("211339199002060000").status is IdStatus.MANGLED


def _one_edit_by_hand(ids: list[str]) -> list[tuple[int, str]]:
    """one_edit_corrections spelled out: try every substitution (position, digit), the check
    character, every neighbour swap; keep the variants whose check character holds; order by kind
    of edit, then by input."""
    digits = "0123456789"

    def valid(v: str) -> bool:
        return all(c in digits for c in v[:17]) and check_char(v[:17]) == v[17]

    found = []
    for row, raw in enumerate(ids):
        s = raw.ljust(18, "\x00")
        for p in range(17):
            for d in digits:
                v = s[:p] + d + s[p + 1 :]
                if s[p] != d and valid(v):
                    found.append((p * 10 + int(d), row, v))
        if all(c in digits for c in s[:17]):
            found.append((170, row, s[:17] + check_char(s[:17])))
        for p in range(17):
            v = s[:p] + s[p + 1] + s[p] + s[p + 2 :]
            if s[p] != s[p + 1] and valid(v):
                found.append((171 + p, row, v))
    return [(row, v) for _, row, v in sorted(found, key=lambda f: (f[0], f[1]))]


def test_one_edit_corrections_equal_trying_every_edit() -> None:
    """The solved candidates are exactly those of trying each of the 188 edits, in the same order,
    on IDs with one or two wrong characters, letters, an X moved inside, a short one."""
    rng = np.random.default_rng(7)
    ids = []
    for _ in range(600):
        body = "".join(rng.choice(list("0123456789"), 17))
        s = list(body + check_char(body))
        kind = rng.integers(6)
        p = int(rng.integers(17))
        if kind == 0:
            s[p] = str(rng.integers(10))
        elif kind == 1:
            s[p], s[p + 1] = s[p + 1], s[p]
        elif kind == 2:
            s[p] = str(rng.choice(list("OXlx ")))
        elif kind == 3:
            s[p], s[int(rng.integers(18))] = str(rng.integers(10)), str(rng.integers(10))
        elif kind == 4:
            s[17] = str(rng.choice(list("0123456789Xx")))
        else:
            s = s[: int(rng.integers(14, 18))]
        ids.append("".join(s))
    index = np.arange(len(ids)) * 3 + 5  # the frame's index labels, not positions
    got = one_edit_corrections(pd.Series(ids, index=index))
    want = _one_edit_by_hand(ids)
    assert list(zip(got["index"], got["candidate"], strict=True)) == [(index[r], v) for r, v in want]
    assert len(want) > 1000
