"""Property tests: normalizers never raise on arbitrary text and are idempotent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.normalize.common import clean_text, squeeze
from pipeline.normalize.dates import parse_date, parse_month
from pipeline.normalize.ids import normalize_id, parse_cert
from pipeline.normalize.names import normalize_name
from pipeline.normalize.places import Gazetteer, default_gazetteer_path
from pipeline.normalize.values import Unreadable, normalize_phone, normalize_sex, parse_int, parse_money

GAZ = Gazetteer.from_csv(default_gazetteer_path())
# Text shaped like extracts: digits, X, CJK, full-width forms, spaces of every width, punctuation.
texty = st.text(
    alphabet=st.sampled_from(list("0123456789Xx.E+-/年月日 \t\u3000'\"=张伟磊蕾張偉镇街道县区１２３Ｘ·•")),
    max_size=24,
) | st.text(max_size=24)
id_like = st.from_regex(r"[ '\t]?[0-9０-９]{15,18}[Xx]?[ \u3000]?", fullmatch=True)


@given(texty | id_like)
@settings(max_examples=400)
def test_id_never_raises_and_is_idempotent(raw: str) -> None:
    r = normalize_id(raw)
    if r.value is not None:
        again = normalize_id(r.value)
        assert again.value == r.value
        # An upgraded 15-digit ID is a valid 18-digit one the second time round.
        assert again.status == (r.status if r.status.value != "upgraded" else again.status)


@given(texty)
@settings(max_examples=300)
def test_cert_never_raises(raw: str) -> None:
    parse_cert(raw)


@given(texty)
@settings(max_examples=300)
def test_names_idempotent(raw: str) -> None:
    once = normalize_name(raw)
    assert once is None or normalize_name(once) == once


@given(texty)
def test_text_cleaning_idempotent(raw: str) -> None:
    for fn in (clean_text, squeeze):
        once = fn(raw)
        assert once is None or fn(once) == once


@given(texty)
def test_dates_never_raise_and_round_trip(raw: str) -> None:
    d = parse_date(raw)
    if d is not None:
        assert parse_date(d.isoformat()) == d
    m = parse_month(raw)
    if m is not None:
        assert parse_month(m.isoformat()) == m


@given(texty)
def test_phone_idempotent(raw: str) -> None:
    once = normalize_phone(raw)
    assert once is None or normalize_phone(once) == once


@given(texty)
def test_scalar_readers_raise_only_unreadable(raw: str) -> None:
    for fn in (parse_money, parse_int, normalize_sex):
        try:
            fn(raw)
        except Unreadable:
            pass


@given(st.sampled_from([None, "410822", "410882", "博爱县"]), texty, texty)
@settings(max_examples=300)
def test_places_never_raise(county: str | None, township: str, address: str) -> None:
    code = GAZ.county_code(county)
    t = GAZ.township_code(code, township, address)
    assert t is None or t in GAZ.by_code
