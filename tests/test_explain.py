"""explain.py: the scoreboard per field, the runner-up's near misses, and --rule id checks."""

from __future__ import annotations

import pytest
from conftest import SAMPLES

from inspector.errors import UsageError
from inspector.explain import boards, check_rule_ids, explain, explain_dict, failing_predicates, near_misses

LLAMAFIED = str(SAMPLES / "JosephusCheung__Qwen-LLaMAfied-7B-Chat__gpupoor-partial")


@pytest.fixture(scope="module")
def examined(insp):
    return insp.examine(LLAMAFIED)


def test_the_board_ranks_values_by_score_with_the_winner_first(examined):
    v, ev = examined
    lineage = next(b for b in boards(v, ev) if b.field == "lineage")
    assert lineage.winner == v.lineage == lineage.ranked[0][0] and lineage.runner_up == "llama"
    assert [s for _v, s in lineage.ranked] == sorted((s for _v, s in lineage.ranked), reverse=True)


def test_near_misses_vote_for_the_runner_up_did_not_hold_and_come_closest_first(examined):
    v, ev = examined
    lineage = next(b for b in boards(v, ev) if b.field == "lineage")
    misses = near_misses(lineage, ev)
    assert misses and all(not o.holds and o.rule.votes["lineage"] == "llama" for o in misses)
    assert [failing_predicates(o) for o in misses] == sorted(failing_predicates(o) for o in misses)


def test_a_field_without_a_runner_up_has_no_near_misses(examined):
    v, ev = examined
    kind = next(b for b in boards(v, ev) if b.field == "kind")
    assert kind.runner_up is None and near_misses(kind, ev) == []


def test_text_and_json_name_the_same_rules(examined):
    v, ev = examined
    doc = explain_dict(v, ev)
    text = explain(v, ev)
    assert all(f"{r['id']} [" in text for r in doc["held"] + doc["near_misses"]["lineage"])
    assert f"{doc['others']} other rules did not hold" in text


def test_unknown_rule_ids_are_usage_errors_with_a_hint():
    with pytest.raises(UsageError, match="did you mean 'qwen.tokenizer'"):
        check_rule_ids({"qwen.tokenzer"}, ["qwen.tokenizer", "llama.vocab"])
    check_rule_ids({"qwen.tokenizer"}, ["qwen.tokenizer"])
