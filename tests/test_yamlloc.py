"""The rule loader closes PyYAML's traps and keeps a location for every node."""

from __future__ import annotations

import pytest

from inspector.yamlloc import YamlProblem, load_text


def test_exponent_floats_are_floats():
    assert load_text("x: 1e-5", "f.yaml")["x"] == 1e-5


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n"])
def test_yaml11_booleans_stay_strings(word):
    assert load_text(f"x: {word}", "f.yaml")["x"] == word


def test_true_and_false_are_booleans():
    assert load_text("a: true\nb: false", "f.yaml") == {"a": True, "b": False}


def test_values_remember_their_line_and_column():
    doc = load_text("a:\n  b: [1, 2]\n", "f.yaml")
    assert str(doc["a"].where("b")) == "f.yaml:2:6"
    assert str(doc["a"]["b"].where(1)) == "f.yaml:2:10"


@pytest.mark.parametrize(
    "text, code, line",
    [
        ("a: 1\na: 2\n", "E102", 2),
        ("a: &x [1]\nb: *x\n", "E103", 2),
        ("a: [1,\n", "E101", 2),
        ("a: !!python/object:os.system x\n", "E101", 1),
    ],
)
def test_traps_are_errors_at_the_right_line(text, code, line):
    with pytest.raises(YamlProblem) as e:
        load_text(text, "f.yaml")
    assert e.value.problem.code == code
    assert e.value.problem.location.line == line


def test_a_billion_laughs_is_refused_before_it_grows():
    bomb = 'a: &a ["lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
    with pytest.raises(YamlProblem) as e:
        load_text(bomb, "bomb.yaml")
    assert e.value.problem.code == "E103"
