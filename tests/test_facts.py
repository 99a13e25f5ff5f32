"""Snapshot -> Facts: the facts read from tensor names and shapes."""

from __future__ import annotations

import pytest
from conftest import SAMPLES

from inspector.api import Inspector
from inspector.facts import TensorIndex, _layer_of, _top_layer, build_facts, params_of
from inspector.readout import Snapshot, TensorInfo


def index_of(*names: str) -> TensorIndex:
    return TensorIndex.build({n: TensorInfo(n) for n in names})


@pytest.mark.parametrize("names, top", [
    (["model.layers.0.mlp.w", "model.layers.31.mlp.w", "lm_head.weight"], 31),
    (["transformer.h.11.attn.c_attn.weight"], 11),
    (["blk.7.attn_q.weight"], 7),
    # The first container followed by a number counts: `layers.x` is passed over for `blocks.3`.
    (["a.layers.x.blocks.3.w"], 3),
    # Digits of other scripts and numbers of over six digits are no layer numbers.
    (["a.layers.\u00b2\u00b3.blocks.4.w"], 4),
    (["a.h.1234567.layers.2.w"], 2),
    (["embed_tokens.weight", "norm.weight"], None),
    (["model.layers.07.mlp.w", "model.layers.9.mlp.w"], 9),
    (["model.layers.3.mlp.experts.60.w", "model.layers.12.attn.w"], 12),
    # A number of another script in one group: every group is read name by name, the others still count.
    (["x.layers.\u0661\u0662.w", "model.layers.5.w"], 5),
], ids=["llama", "gpt2", "gguf", "second-container", "superscript-digits", "too-long", "no-layers", "leading-zero",
        "experts", "arabic-indic-digits"])
def test_the_top_layer_is_the_highest_number_after_a_layer_container(names, top):
    assert _top_layer(index_of(*names)) == top


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.iterdir() if p.is_dir()))
def test_reading_layer_numbers_by_skeleton_agrees_with_reading_each_name(sample):
    snap = Inspector().snapshot(str(SAMPLES / sample))
    each = [n for n in (_layer_of(t) for t in snap.tensors) if n is not None]
    assert _top_layer(TensorIndex.build(snap.tensors)) == (max(each) if each else None)


def test_parameters_are_counted_once_per_snapshot_and_every_shape_is_known():
    snap = Snapshot(target="t", source="local", tensors={
        "a": TensorInfo("a", dtype="F16", shape=(4, 8)), "b": TensorInfo("b", dtype="F16", shape=(8,))})
    facts = build_facts(snap, {})
    assert facts.values["param_count"] == 40 and facts.values["params_exact"] is True
    assert params_of(snap, facts.tensors) is facts.tensors.params and facts.tensors.every_shape
