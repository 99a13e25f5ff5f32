"""`inspector eval` on the corpus copy meets the accuracy targets of the rules."""

from __future__ import annotations

import json

from click.testing import CliRunner
from conftest import REPO

from inspector.cli import main


def test_eval_on_the_corpus_meets_the_targets():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus"), "--check"])
    assert r.exit_code == 0, r.output


def test_the_targets_hold_without_tags_and_with_lying_tags():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus"), "--tags", "all", "--check"])
    assert r.exit_code == 0, r.output
    assert [line.split()[0] for line in r.output.splitlines()[1:]] == ["as-is", "stripped", "lying"]


def test_lying_tags_claim_another_family():
    from inspector.evaluation import retag

    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "_name_or_path": "x", "hidden_size": 8}
    assert retag(cfg, "stripped", "llama") == {"hidden_size": 8}
    assert retag(cfg, "lying", "llama")["model_type"] == "qwen2"
    assert retag(cfg, "lying", "qwen")["architectures"] == ["LlamaForCausalLM"]


def test_eval_json_summary_has_every_measure():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus"), "--json"])
    s = json.loads(r.output)
    assert {"lineage_accuracy", "kind_accuracy", "base_accuracy", "per_family", "bands", "low_confidence"} <= set(s)


def test_eval_reads_a_folder_labelled_by_source_md_only(tmp_path):
    src = REPO / "corpus" / "Qwen__Qwen-7B"
    dst = tmp_path / "Qwen__Qwen-7B"
    dst.mkdir()
    for f in ("config.json", "SOURCE.md", "weight_map.json"):
        (dst / f).write_bytes((src / f).read_bytes())
    r = CliRunner().invoke(main, ["eval", str(tmp_path), "--json"])
    assert json.loads(r.output)["lineage"] == [1, 1]
