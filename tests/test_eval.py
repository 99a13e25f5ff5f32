"""`inspector eval` on the corpus copy meets the accuracy targets of the rules."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import REPO

from inspector.cli import main


def test_eval_on_the_corpus_meets_the_targets():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus"), "--check"])
    assert r.exit_code == 0, r.output


def test_the_targets_hold_without_tags_and_with_lying_tags():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus"), "--tags", "all", "--check"])
    assert r.exit_code == 0, r.output
    assert [line.split()[0] for line in r.output.splitlines()[1:4]] == ["as-is", "stripped", "lying"]


@pytest.mark.parametrize("mode", ["as-is", "stripped", "lying"])
def test_the_new_generation_is_named_right_or_unknown(mode):
    """corpus2 (2024-2026 repos): lineage >= 97% and every confident verdict right, in each tag mode."""
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus2"), "--tags", mode, "--json"])
    s = json.loads(r.output)
    right, n = s["lineage"]
    assert right / n >= 0.97, r.output
    top = s["bands"][0]
    assert top["right"] == top["n"]


def test_relabelled_repos_are_flagged():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus2"), "--tags", "lying", "--json"])
    flagged, relabelled = json.loads(r.output)["relabelled_flagged"]
    assert relabelled and flagged / relabelled >= 0.97


def test_lying_tags_claim_another_family():
    from inspector.accuracy import retag

    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "_name_or_path": "x", "hidden_size": 8}
    assert retag(cfg, "stripped", "llama") == {"hidden_size": 8}
    assert retag(cfg, "lying", "llama")["model_type"] == "qwen2"
    assert retag(cfg, "lying", "qwen")["architectures"] == ["LlamaForCausalLM"]


def test_eval_json_summary_has_every_measure():
    r = CliRunner().invoke(main, ["eval", str(REPO / "corpus"), "--json"])
    s = json.loads(r.output)
    assert {"lineage_accuracy", "named_wrongly", "relabelled_flagged", "kind_accuracy", "base_accuracy", "per_family", "bands",
            "low_confidence"} <= set(s)


def test_eval_reads_a_folder_labelled_by_source_md_only(tmp_path):
    src = REPO / "corpus" / "Qwen__Qwen-7B"
    dst = tmp_path / "Qwen__Qwen-7B"
    dst.mkdir()
    for f in ("config.json", "SOURCE.md", "weight_map.json"):
        (dst / f).write_bytes((src / f).read_bytes())
    r = CliRunner().invoke(main, ["eval", str(tmp_path), "--json"])
    assert json.loads(r.output)["lineage"] == [1, 1]


def test_an_unseen_tokenizer_on_a_known_architecture_is_unknown_with_its_layout(tmp_path):
    """SYNTHETIC: a real LLaMA-architecture config whose vocabulary no family has (an own pretrain),
    relabelled as LLaMA: no family is named, the layout is, and the evidence says why."""
    from inspector.accuracy import snapshot_of
    from inspector.api import Inspector

    src = REPO / "corpus2" / "instructlab__granite-7b-lab"
    dst = tmp_path / "synthetic-own-pretrain"
    dst.mkdir()
    cfg = json.loads((src / "config.json").read_text())
    cfg["vocab_size"] = 77777
    (dst / "config.json").write_text(json.dumps(cfg))
    (dst / "weight_map.json").write_bytes((src / "weight_map.json").read_bytes())
    v = Inspector().judge(snapshot_of(dst), full=False)[0]
    assert (v.lineage, v.layout) == ("unknown", "llama")
    line = next(e for e in v.evidence if e.rule == "lineage:unknown")
    assert "resembles llama" in line.signal and "77777" in line.observed
    assert v.mismatch  # the LLaMA claim is ruled out by the tokenizer
