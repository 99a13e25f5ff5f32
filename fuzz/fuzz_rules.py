"""Fuzz a rule file: the safe YAML loader and the rule builder/validator (shipped rules not loaded)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from _common import run

from inspector.ruleset import load_ruleset
from inspector.yamlloc import YamlProblem, load_text

TMP = Path(tempfile.mkdtemp(prefix="inspector-fuzz-rules-"))
RULE_FILE = TMP / "r.yaml"


def test_one_input(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        try:
            load_text(text, "fuzz.yaml")
        except YamlProblem as e:
            assert "\n" not in str(e.problem), str(e.problem)[:200]
    RULE_FILE.write_bytes(data)
    rs = load_ruleset([RULE_FILE], shipped=False, strict=False)
    for p in rs.errors:
        assert "\n" not in str(p), str(p)[:200]


if __name__ == "__main__":
    try:
        run(test_one_input)
    finally:
        with contextlib.suppress(OSError):
            RULE_FILE.unlink()
            TMP.rmdir()
