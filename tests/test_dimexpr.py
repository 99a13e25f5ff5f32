"""Dimension expressions in `shape:`: Python's integer arithmetic, parsed once and bounded (issue 12)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.dimexpr import MAX_TERMS, DimError, parse

FACTS = {"hidden_size": 4096, "num_heads": 32, "num_kv_heads": 8, "head_dim": 128, "flag": True}


@pytest.mark.parametrize("text", [
    "hidden_size", "num_kv_heads * head_dim", "hidden_size // num_heads", "2 * hidden_size + 1",
    "-head_dim + hidden_size", "(hidden_size - 1) // (num_kv_heads * 2)", "1_024 * 2", "- -head_dim",
])
def test_values_are_pythons(text):
    assert parse(text).value(FACTS.get) == eval(text, {}, dict(FACTS))  # noqa: S307 - the oracle, on our own strings


@pytest.mark.parametrize("text", ["missing * 2", "flag * 2", "hidden_size // (head_dim - 128)", "hidden_size" + " * hidden_size" * 7])
def test_no_value_when_a_fact_is_missing_not_an_integer_zero_or_huge(text):
    assert parse(text).value(FACTS.get) is None


@pytest.mark.parametrize("text, message", [
    (" + ".join(["head_dim"] * 3000), "characters (limit"),
    (" + ".join(["a"] * (MAX_TERMS + 1)), "terms"),
    ("(" * 9 + "a" + ")" * 9, "parentheses"),
    ("a ** 2", "cannot read"),
    ("a.b", "cannot read"),
    ("", "cannot read"),
    ("(a", "cannot read"),
    ("a)", "cannot read"),
    ("a b", "cannot read"),
])
def test_bad_or_oversized_expressions_are_refused(text, message):
    with pytest.raises(DimError, match=message.replace("(", r"\(")):
        parse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab_0123456789 +-*/()x.", max_size=80))
def test_any_text_parses_or_is_refused_with_our_error(text):
    try:
        expr = parse(text)
    except DimError as e:
        assert "\n" not in str(e)
        return
    value = expr.value({"a": 3, "b": 0, "ab": 7, "x": 2, "_": 1}.get)
    assert value is None or isinstance(value, int)
