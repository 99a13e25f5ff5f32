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


class RecordedSleep:
    """Injected instead of time.sleep: tests never wait, and can assert what would have been waited."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def hub(tmp_path):
    from fakehub import FakeHub, use_endpoint

    with FakeHub() as h, use_endpoint(h.endpoint, hf_home=tmp_path / "hf"):
        yield h


@pytest.fixture
def hub_client(hub):
    from inspector.transport.http import HubClient

    return HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep(), timeout=5.0, seed=1)
