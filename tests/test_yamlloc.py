"""The rule loader closes PyYAML's traps and keeps a location for every node."""

from __future__ import annotations

import pytest
from conftest import REPO

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


# --- reading: only regular files, the cap enforced while reading (issue 12) ---------------------
def _problem(path, display=None):
    from inspector.yamlloc import load_file

    with pytest.raises(YamlProblem) as e:
        load_file(path, display)
    return e.value.problem


def test_a_fifo_is_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "rules.yaml"
    os.mkfifo(fifo)
    p = _problem(fifo)
    assert (p.code, p.location.line, p.location.col) == ("E100", 1, 1) and "not a regular file" in p.message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused(device):
    assert "not a regular file" in _problem(__import__("pathlib").Path(device)).message


def test_the_size_cap_holds_while_reading(tmp_path, monkeypatch):
    import inspector.yamlloc as yl

    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" * 100)
    monkeypatch.setattr(yl, "MAX_RULE_FILE_BYTES", 64)
    monkeypatch.setattr(yl.read_capped, "__defaults__", (None, 64))  # the cap is read at call time
    assert _problem(big).code == "E105"


def test_collections_nested_too_deeply_are_invalid_yaml_not_a_crash():
    with pytest.raises(YamlProblem) as e:
        load_text("rules: " + "[" * 100_000 + "]" * 100_000, "f.yaml")
    assert e.value.problem.code == "E101" and "nest too deeply" in e.value.problem.message


def _with_locations(x):
    """A document with every location it carries, to compare two loaders."""
    if isinstance(x, dict):
        return ("map", str(x.loc), [(k, str(x.key_locs[k]), str(x.value_locs[k]), _with_locations(v)) for k, v in x.items()])
    if isinstance(x, list):
        return ("seq", str(x.loc), [str(loc) for loc in x.item_locs], [_with_locations(v) for v in x])
    return (type(x).__name__, x)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(REPO)) for p in (REPO / "rules").rglob("*.yaml")))
def test_the_direct_builder_gives_what_pyyamls_constructors_give(path):
    from inspector.yamlloc import _FastLoader

    text = (REPO / path).read_text()
    loader = _FastLoader(text)
    loader.file_name = path
    try:
        by_constructors = loader.construct_document(loader.get_single_node())
    finally:
        loader.dispose()
    assert _with_locations(load_text(text, path)) == _with_locations(by_constructors)


@pytest.mark.parametrize("text", ["a: !!python/object/apply:os.system ['x']", "a: !!set {b}", "<<: {a: 1}\nb: 2",
                                  "a: !!binary aGk=", "? [a]\n: 1"])
def test_tags_and_merge_keys_take_pyyamls_path(text):
    from inspector.yamlloc import _Loader

    try:
        expected = _Loader(text).get_single_data()
    except Exception:
        with pytest.raises(YamlProblem):
            load_text(text, "f.yaml")
        return
    assert load_text(text, "f.yaml") == expected
