"""The base catalogue: the index on core keys only skips bases the comparison would rule out."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, expected_samples

from inspector import catalogue
from inspector.facts import build_facts
from inspector.rule_fixtures import load_fixtures

FIXTURES = load_fixtures().fixtures


def _same_with_and_without_the_index(snap, ruleset, monkeypatch) -> None:
    facts = build_facts(snap, ruleset.facts)
    indexed = catalogue.match_bases(facts, ruleset.bases)
    with monkeypatch.context() as m:
        m.setattr(catalogue, "INDEX_KEYS", ())
        assert catalogue.match_bases(facts, ruleset.bases) == indexed


@pytest.mark.parametrize("sample", [c["sample"] for c in expected_samples()])
def test_a_sample_gets_the_same_bases_with_and_without_the_index(sample, insp, ruleset, monkeypatch):
    _same_with_and_without_the_index(insp.snapshot(str(SAMPLES / sample)), ruleset, monkeypatch)


@pytest.mark.parametrize("fx", FIXTURES[::3], ids=[f.id for f in FIXTURES[::3]])
def test_a_fixture_gets_the_same_bases_with_and_without_the_index(fx, ruleset, monkeypatch):
    _same_with_and_without_the_index(fx.snapshot(), ruleset, monkeypatch)


def test_a_model_that_states_no_index_key_is_compared_with_every_base(ruleset):
    facts = build_facts(next(f for f in FIXTURES).snapshot(), ruleset.facts)
    for name in catalogue.INDEX_KEYS:
        facts.values.pop(name, None)
    assert list(catalogue._candidates(facts, ruleset.bases)) == list(range(len(ruleset.bases)))
