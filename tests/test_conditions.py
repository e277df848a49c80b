"""The rule condition language: parsing, checking names, and three-valued evaluation."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.conditions import compile_condition
from pipeline.errors import ConfigError

FACTS = {"grade", "age", "active_assistance", "income", "county"}
PARAMS = {"dibao_standard"}


def run(text: str, frame: pd.DataFrame, **params: object) -> list[bool]:
    return compile_condition(text, FACTS, PARAMS, "rules/x.yaml, rule T").evaluate(frame, params).tolist()


@pytest.fixture()
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "grade": ["一级", "二级", "三级", None],
            "age": [17, 18, 40, 50],
            "active_assistance": [False, True, None, False],
            "income": [10_000.0, 8_000.0, None, 8_460.0],
            "county": ["410822", "410822", "410823", "410822"],
        }
    )


def test_membership_comparison_and_negation(people: pd.DataFrame) -> None:
    # Row 2 has no assistance information: "not active_assistance" is unknown there, so false.
    assert run("grade in ['一级', '二级'] and age >= 18 and not active_assistance", people) == [False] * 4
    assert run("grade in ['一级', '二级'] and age >= 17", people) == [True, True, False, False]
    assert run("grade not in ['一级', '二级']", people) == [False, False, True, False]  # unknown grade: false
    assert run("not active_assistance", people) == [True, False, False, True]


def test_arithmetic_with_parameters(people: pd.DataFrame) -> None:
    # 1.5 x 12 x 470 = 8,460: strictly below, so exactly 8,460 does not qualify.
    got = run("income < 1.5 * 12 * $dibao_standard", people, dibao_standard=470)
    assert got == [False, True, False, False]


def test_or_with_unknowns(people: pd.DataFrame) -> None:
    # true or unknown is true; false or unknown is unknown (false).
    assert run("active_assistance or age > 45", people) == [False, True, False, True]
    assert run("(county == '410823') or active_assistance", people) == [False, True, True, False]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grade in ['一级'] and shoe_size > 40", "unknown fact 'shoe_size'"),
        ("income < $dibao", "unknown parameter '$dibao'"),
        ("age >= ", "end of condition"),
        ("age >= 18 18", "unexpected «18»"),
        ("__import__('os')", "unexpected «(»"),  # a call is not in the language
        ("age ; 1", "cannot read the condition"),
    ],
)
def test_errors_name_the_file_rule_and_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        compile_condition(text, FACTS, PARAMS, "rules/x.yaml, rule T")
    assert "rules/x.yaml, rule T" in str(e.value) and message in str(e.value)


@given(
    st.text(alphabet=st.sampled_from(list("ageincomr_ $<>=!()[],'0123456789.+-*/ andotrinfls")), max_size=40)
)
def test_any_text_compiles_or_raises_config_error(text: str) -> None:
    try:
        compile_condition(text, FACTS, PARAMS, "f, r")
    except ConfigError:
        pass
