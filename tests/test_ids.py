"""Hand-worked ID cases: one per error kind of ../shared/DOMAIN.md and of the sample generator."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.normalize.ids import birth_date_of, check_char, normalize_id, parse_cert, sex_of
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
