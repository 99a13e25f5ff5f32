"""Every shipped sample gets the verdict its SOURCE.md and expected.tsv give."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, expected_samples

CASES = expected_samples()


@pytest.fixture(scope="module")
def verdicts(insp):
    return {c["sample"]: insp.inspect(str(SAMPLES / c["sample"])) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["sample"] for c in CASES])
def test_sample_kind(case, verdicts):
    assert verdicts[case["sample"]].kind == case["kind"]


@pytest.mark.parametrize("case", CASES, ids=[c["sample"] for c in CASES])
def test_sample_lineage(case, verdicts):
    assert verdicts[case["sample"]].lineage == case["lineage"]


@pytest.mark.parametrize("case", CASES, ids=[c["sample"] for c in CASES])
def test_sample_layout(case, verdicts):
    assert verdicts[case["sample"]].layout == case["layout"]


@pytest.mark.parametrize("case", [c for c in CASES if c["base"] != "-"], ids=lambda c: c["sample"])
def test_sample_base_when_catalogued(case, verdicts, ruleset):
    known = {b.id.lower() for b in ruleset.bases}
    if case["base"].lower() not in known:
        pytest.skip(f"{case['base']} is not in the base catalogue")
    assert (verdicts[case["sample"]].base or "").lower() == case["base"].lower()


@pytest.mark.parametrize("case", CASES, ids=[c["sample"] for c in CASES])
def test_sample_status_is_usable(case, verdicts):
    assert verdicts[case["sample"]].status in ("ok", "no_weights_metadata")


def test_every_sample_folder_is_listed():
    folders = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    assert folders == {c["sample"] for c in CASES}


def test_every_sample_keeps_its_source():
    for c in CASES:
        assert (SAMPLES / c["sample"] / "SOURCE.md").is_file()
