from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def expected_samples() -> list[dict[str, str]]:
    with (SAMPLES / "expected.tsv").open() as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def ruleset():
    from inspector.ruleset import load_ruleset

    return load_ruleset()


@pytest.fixture(scope="session")
def insp(ruleset):
    from inspector.api import Inspector

    return Inspector(ruleset)


def write_rules(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p
