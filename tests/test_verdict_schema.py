"""docs/schema/verdict-v2.json describes what `inspector inspect --json` really prints."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import REPO, SAMPLES, expected_samples

from inspector.cli import main

SCHEMA = json.loads((REPO / "docs" / "schema" / "verdict-v2.json").read_text())


@pytest.fixture(scope="module")
def rows():
    targets = [str(SAMPLES / c["sample"]) for c in expected_samples()] + [str(REPO / "no-such-folder" / "model.safetensors")]
    r = CliRunner().invoke(main, ["inspect", *targets, "--json"], catch_exceptions=False)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_sample_verdict_and_a_failed_one_match_the_schema(rows):
    assert len(rows) == len(expected_samples()) + 1
    for row in rows:
        jsonschema.validate(row, SCHEMA)
    assert rows[-1]["status"] != "ok" and rows[-1]["traits"] == {}


@pytest.mark.parametrize("breakage", ["drop traits", "version 1", "unknown trait key", "bad basis"])
def test_the_schema_refuses_what_breaks_the_contract(rows, breakage):
    row = copy.deepcopy(rows[0])
    if breakage == "drop traits":
        del row["traits"]
    elif breakage == "version 1":
        row["schema_version"] = 1
    elif breakage == "unknown trait key":
        row["traits"]["attention"]["colour"] = "red"
    else:
        row["traits"]["attention"]["basis"] = "rumour"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(row, SCHEMA)
