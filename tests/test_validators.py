"""Every check of `inspector rules validate`, from its own module: the failing example is reported
at its line and column with the check's code and severity, the passing example is not."""

from __future__ import annotations

import pytest

from inspector.authoring import validate
from inspector.validators import CHECKS, Check, write_example


def _problems(example, folder):
    write_example(example, folder)
    paths = [folder / rel for rel, text in Check.files(example).items() if text is None] or [folder]
    return validate(paths, shipped=False, samples=folder).problems


@pytest.mark.parametrize("check", CHECKS.values(), ids=list(CHECKS))
def test_the_failing_example_is_reported_at_its_line_and_column(check, tmp_path):
    mine = [p for p in _problems(check.failing, tmp_path) if p.code == check.code]
    assert mine, f"{check.code} not reported on its failing example"
    p = mine[0]
    assert p.severity == check.severity
    if check.at is None:
        assert p.location is None
    else:
        assert (p.location.file, p.location.line, p.location.col) == (str(tmp_path / check.at_file), *check.at)


@pytest.mark.parametrize("check", CHECKS.values(), ids=list(CHECKS))
def test_the_passing_example_is_clean_of_it(check, tmp_path):
    assert not [p for p in _problems(check.passing, tmp_path) if p.code == check.code]


def test_codes_live_only_in_the_validators():
    """No bare problem-code strings in the loaders: each is a check with its documentation."""
    import re
    from pathlib import Path

    import inspector

    package = Path(inspector.__file__).parent
    for py in package.glob("*.py"):
        assert not re.search(r"\"[EW]\d{3}\"", py.read_text()), py.name


def test_codes_are_unique_and_severities_known():
    assert all(c.severity in ("error", "warning") and c.code[0] == c.severity[0].upper() for c in CHECKS.values())
