"""Architecture traits: decided by the YAML trait rules from evidence, over real samples and configs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

from inspector.accuracy import retag
from inspector.readout import Snapshot
from inspector.traits import compute_traits, explain_traits, flat_traits, traits_line

TRAIT_DATA = REPO / "tests" / "data" / "traits"
CORPUS = REPO / "corpus"

# Real folders: every sample, every corpus config, and the newer architectures copied from the
# shared corpus2 (tests/data/traits, each with its SOURCE.md).
FOLDERS = sorted([p for p in SAMPLES.iterdir() if p.is_dir()]
                 + [p for p in CORPUS.iterdir() if (p / "config.json").is_file()]
                 + [p for p in TRAIT_DATA.iterdir() if p.is_dir()])

# Synthetic configs (constructed, not copied) for traits no real config here shows; each holds only
# the keys the trait reads, with the values the named model card and transformers config document.
SYNTHETIC = {
    "synthetic-nemotron-h-pattern": {  # nvidia/Nemotron-H-8B-Base-8K: M = Mamba-2, * = attention, - = MLP
        "hidden_size": 4096, "num_hidden_layers": 52, "num_attention_heads": 32, "num_key_value_heads": 8,
        "vocab_size": 131072, "hybrid_override_pattern": "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-"},
    "synthetic-pure-mamba-pattern": {
        "hidden_size": 2048, "num_hidden_layers": 4, "vocab_size": 50280, "hybrid_override_pattern": "MMMM"},
    "synthetic-kimi-linear": {  # Kimi Linear: KDA layers, MLA every 4th (1-based layer numbers)
        "hidden_size": 2304, "num_hidden_layers": 8, "num_attention_heads": 32, "num_key_value_heads": 32,
        "kv_lora_rank": 512, "vocab_size": 163840,
        "linear_attn_config": {"kda_layers": [1, 2, 3, 5, 6, 7], "full_attn_layers": [4, 8]}},
    "synthetic-llama4-layers": {  # Llama 4: chunked local attention, NoPE every 4th layer
        "hidden_size": 5120, "num_hidden_layers": 4, "num_attention_heads": 40, "num_key_value_heads": 8,
        "vocab_size": 202048, "rope_theta": 500000.0,
        "layer_types": ["chunked_attention", "chunked_attention", "chunked_attention", "full_attention"],
        "no_rope_layers": [1, 1, 1, 0]},
    "synthetic-linear-unknown-mechanism": {
        "hidden_size": 1024, "num_hidden_layers": 4, "num_attention_heads": 8, "vocab_size": 32000,
        "layer_types": ["linear_attention", "full_attention", "linear_attention", "full_attention"]},
}
SYNTHETIC_TENSORS = {  # OLMo 2 layer names: norms after attention and MLP, none before
    "synthetic-olmo2-post-norm": ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.post_attention_layernorm.weight",
                                  "model.layers.0.post_feedforward_layernorm.weight", "model.embed_tokens.weight"],
}


def _synthetic(name: str) -> Snapshot:
    from inspector.readout import TensorInfo

    tensors = {t: TensorInfo(t) for t in SYNTHETIC_TENSORS.get(name, [])}
    config = SYNTHETIC.get(name, {"hidden_size": 2048, "num_hidden_layers": 1, "num_attention_heads": 16})
    return Snapshot(target=name, source="fixture", config=config, config_status="ok", tensors=tensors)


FOLDER_OF = {f"{p.parent.name}/{p.name}": p for p in FOLDERS}  # samples/X, corpus/X, traits/X
CASE_IDS = [*FOLDER_OF, *SYNTHETIC, *SYNTHETIC_TENSORS]


def _stripped(snap: Snapshot) -> Snapshot:
    """The repo without its claims: no model_type, architectures, auto_map, name; no card, no tags."""
    return dataclasses.replace(snap, config=retag(snap.config, "stripped", None), card={}, tags=[])


@pytest.fixture(scope="module")
def judged(insp):
    """case id -> (traits, trait evaluation, stripped traits)."""
    out = {}
    for case in CASE_IDS:
        folder = FOLDER_OF.get(case)
        snap = insp.snapshot(str(folder)) if folder else _synthetic(case)
        _, facts, _ = insp.judge(snap)
        traits, ev = compute_traits(facts, insp.rules)
        _, sfacts, _ = insp.judge(_stripped(snap))
        out[case] = (traits, ev, compute_traits(sfacts, insp.rules)[0])
    return out


def _trait_rule_ids(ruleset) -> list[str]:
    return [tr.rule.id for tr in ruleset.traits.rules]


def test_the_shipped_trait_rules_load(ruleset):
    assert not ruleset.errors
    assert {"attention", "attention_layers", "moe", "params", "positions", "rope_scaling", "context", "norm", "qk_norm",
            "norm_placement", "tied_embeddings", "mtp", "vocab", "tokenizer", "towers", "quantization"} <= set(ruleset.traits.names)


@pytest.mark.parametrize("rule_id", _trait_rule_ids(__import__("inspector.ruleset").ruleset.load_ruleset()))
def test_every_trait_rule_has_a_positive_and_a_negative_case(rule_id, judged):
    fired = {case for case, (_t, ev, _s) in judged.items() for o in ev.all if o.rule.id == rule_id and o.holds}
    assert fired, f"{rule_id} holds on no sample, corpus config or synthetic case"
    assert set(judged) - fired, f"{rule_id} holds on every case"


# What the model cards and papers say, checked against the traits evidence gives.
EXPECTED = {
    "corpus/deepseek-ai__DeepSeek-R1": {"attention": "MLA", "moe": "MoE", "mtp": "MTP", "rope_scaling": "yarn", "tokenizer": "deepseek",
                                 "quantization": "fp8"},
    "traits/deepseek-ai__DeepSeek-V3.2__aiconfigurator-copy": {"attention": "MLA", "sparse_attention": "DSA"},
    "traits/moonshotai__Kimi-K2-Instruct__aiconfigurator": {"attention": "MLA", "moe": "MoE", "tokenizer": "kimi (tiktoken 160k)"},
    "traits/Qwen__Qwen3-Next-80B-A3B-Instruct__alain-copy": {"attention_layers": "hybrid gated DeltaNet", "moe": "MoE", "qk_norm": "yes"},
    "traits/Qwen__Qwen3.5-9B__tt-metal-copy": {"attention_layers": "hybrid gated DeltaNet", "rope_scaling": "mrope", "towers": "vision",
                                        "tokenizer": "qwen3.5 (248k)", "mtp": "MTP"},
    "corpus/MiniMaxAI__MiniMax-M1__mirror": {"attention_layers": "hybrid lightning", "moe": "MoE", "tokenizer": "minimax (200k)"},
    "traits/MiniMaxAI__MiniMax-M2.5__aiconfigurator-copy": {"attention_layers": "full", "qk_norm": "yes", "mtp": "MTP"},
    "traits/Ayush2006128__mithoon-2b": {"attention_layers": "hybrid sliding", "norm_placement": "sandwich", "tokenizer": "gemma (256k)"},
    "traits/ChuDinhKlopp__phi-3-mini-keyformer": {"attention_layers": "full", "rope_scaling": "longrope"},
    "samples/YouriLalain__3PRYMMAL-PHI3-3B-SLERP": {"attention_layers": "sliding window"},
    "traits/Qwen__Qwen2-VL-7B-Instruct__sophgo-copy": {"rope_scaling": "mrope", "towers": "vision"},
    "traits/Qwen__Qwen2.5-Omni-7B-AWQ__sophgo-copy": {"towers": "vision+audio", "attention": "GQA", "quantization": "awq"},
    "traits/Qwen__Qwen3-ASR-0.6B__sophgo-copy": {"towers": "audio"},
    "samples/THUDM__chatglm2-6b": {"attention": "GQA", "norm": "RMSNorm", "tokenizer": "chatglm (sentencepiece)"},
    "samples/THUDM__chatglm-6b": {"attention": "MHA", "norm": "LayerNorm", "positions": "RoPE"},
    "samples/THUDM__glm-4-9b-chat": {"tokenizer": "glm4 (151k)", "context": "<=128k"},
    "samples/Qwen__Qwen-7B": {"attention": "MHA", "norm": "RMSNorm", "rope_scaling": "dynamic", "norm_placement": "pre-norm"},
    "samples/Qwen__Qwen3-4B__sophgo-copy": {"qk_norm": "yes", "tied_embeddings": "yes", "attention": "GQA"},
    "samples/Orenguteng__Lexi-Llama-3-8B-Uncensored": {"attention": "GQA", "qk_norm": "no", "tokenizer": "llama3 (tiktoken 128k)"},
    "samples/baichuan-inc__Baichuan2-13B-Chat": {"positions": "ALiBi", "tokenizer": "baichuan"},
    "traits/Tele-AI__TeleChat-12B__official-github-copy": {"positions": "ALiBi"},
    "samples/google__gemma-2b__mirror": {"attention": "MQA", "tied_embeddings": "yes"},
    "samples/tiiuae__falcon-40b": {"norm_placement": "parallel", "norm": "LayerNorm", "tokenizer": "falcon (65k)"},
    "samples/google-t5__t5-small": {"positions": "relative bias"},
    "samples/google-bert__bert-base-uncased": {"positions": "learned absolute", "tokenizer": "bert wordpiece"},
    "samples/TheBloke__Llama-2-7B-GGUF": {"quantization": "gguf"},
    "samples/Qwen__Qwen-VL-Chat-Int4": {"quantization": "gptq", "towers": "vision"},
    "traits/inclusionAI__Ling-lite__mindie-copy": {"moe": "MoE", "tokenizer": "ling (126k)"},
    "synthetic-nemotron-h-pattern": {"attention_layers": "hybrid Mamba"},
    "synthetic-pure-mamba-pattern": {"attention_layers": "state-space"},
    "synthetic-kimi-linear": {"attention_layers": "hybrid KDA", "attention": "MLA"},
    "synthetic-llama4-layers": {"attention_layers": "hybrid chunked", "positions": "RoPE + NoPE"},
    "synthetic-linear-unknown-mechanism": {"attention_layers": "hybrid linear"},
    "synthetic-olmo2-post-norm": {"norm_placement": "post-norm"},
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_traits_match_what_the_model_card_says(case, judged):
    traits = judged[case][0]
    assert {k: traits[k].value for k in EXPECTED[case]} == EXPECTED[case]


@pytest.mark.parametrize("case, trait, details", [
    ("corpus/deepseek-ai__DeepSeek-R1", "moe", {"experts": 256, "per_token": 8, "shared": 1, "first_dense": 3, "expert_size": 2048}),
    ("corpus/deepseek-ai__DeepSeek-R1", "attention", {"kv_lora_rank": 512, "q_lora_rank": 1536, "rope_head_dim": 64, "heads": 128}),
    ("traits/Qwen__Qwen3-Next-80B-A3B-Instruct__alain-copy", "attention_layers", {"linear_share": 0.75, "full_share": 0.25, "conv_kernel": 4}),
    ("corpus/MiniMaxAI__MiniMax-M1__mirror", "attention_layers", {"linear_share": 0.875, "full_share": 0.125}),
    ("traits/Ayush2006128__mithoon-2b", "attention_layers", {"sliding_share": 0.5, "full_share": 0.5, "window": 4096}),
    ("samples/THUDM__chatglm2-6b", "attention", {"group_size": 16, "kv_heads": 2, "heads": 32, "head_dim": 128}),
    ("synthetic-nemotron-h-pattern", "attention_layers", {"mamba_share": 0.8571, "full_share": 0.1429}),
    ("synthetic-kimi-linear", "attention_layers", {"linear_share": 0.75, "full_share": 0.25}),
    ("synthetic-llama4-layers", "positions", {"nope_share": 0.25, "rope_base": 500000}),
    ("samples/THUDM__glm-4-9b-chat", "positions", {"rope_base": 5000000}),
])
def test_trait_details_carry_the_numbers(case, trait, details, judged):
    assert judged[case][0][trait].details == details


@pytest.mark.parametrize("case, total, active", [
    ("corpus/deepseek-ai__DeepSeek-R1", 671e9, 37e9),
    ("traits/Qwen__Qwen3-Next-80B-A3B-Instruct__alain-copy", 80e9, 3e9),
    ("traits/moonshotai__Kimi-K2-Instruct__aiconfigurator", 1.03e12, 32e9),
    ("corpus/mlc-preset__Mixtral-8x7B-v0.1", 46.7e9, 12.9e9),
    ("corpus/MiniMaxAI__MiniMax-M1__mirror", 456e9, 45.9e9),
    ("corpus/Qwen__Qwen-72B", 72.3e9, 72.3e9),
])
def test_parameters_estimated_from_the_config_are_near_the_published_counts(case, total, active, judged):
    d = judged[case][0]["params"].details
    assert d["basis"] == "config estimate"
    assert abs(d["total"] - total) / total < 0.06
    assert abs(d["active"] - active) / active < 0.2


def test_parameters_counted_from_headers_say_so_and_split_experts_from_the_rest(judged):
    d = judged["samples/microsoft__WizardLM-2-8x22B"][0]["params"].details
    assert d["basis"] == "headers"
    assert d["total"] == 140_620_634_112
    assert 38e9 < d["active"] < 40e9  # 2 of 8 experts per token


def test_the_hubs_own_count_is_used_when_no_headers_were_read(insp):
    config = __import__("json").loads((CORPUS / "deepseek-ai__DeepSeek-R1" / "config.json").read_text())
    config.pop("quantization_config")
    snap = Snapshot(target="synthetic-hub-count", source="fixture", config=config, config_status="ok",
                    hub_params={"BF16": 684_531_386_000, "total": 684_531_386_000})
    d = insp.judge(snap)[0].traits["params"]["details"]
    assert (d["basis"], d["total"]) == ("hub count", 684_531_386_000)
    assert 37e9 < d["active"] < 39e9  # the config's active share of the Hub's total


def test_a_wrapper_that_quantizes_only_its_language_model_says_so(insp):
    # as Kimi-K2.5 (INT4) does: compressed-tensors under text_config, a vision tower beside it
    config = {"vision_config": {"hidden_size": 1152}, "text_config": {
        "hidden_size": 7168, "num_hidden_layers": 61, "num_attention_heads": 64, "vocab_size": 163840,
        "quantization_config": {"quant_method": "compressed-tensors"}}}
    snap = Snapshot(target="synthetic-wrapper-quantized-lm", source="fixture", config=config, config_status="ok")
    traits = insp.judge(snap)[0].traits
    assert traits["quantization"]["value"] == "compressed-tensors"
    assert traits["towers"]["value"] == "vision"


def test_a_dense_model_counted_from_headers_is_all_active(judged):
    d = judged["samples/Orenguteng__Lexi-Llama-3-8B-Uncensored"][0]["params"].details
    assert d["basis"] == "headers" and d["total"] == d["active"] == 8_030_261_248


@pytest.mark.parametrize("case", CASE_IDS)
def test_traits_from_evidence_survive_stripping_the_claims(case, judged):
    traits, _ev, stripped = judged[case]
    changed = {k: (t.value, stripped[k].value) for k, t in traits.items() if t.basis == "evidence" and t.value != stripped[k].value}
    assert not changed


def test_a_trait_that_rests_on_a_model_type_is_labelled_declared(judged):
    t = judged["traits/Ayush2006128__mithoon-2b"][0]["attention_layers"]  # Gemma 2 alternates by its model type
    assert t.basis == "declared"
    assert judged["traits/Ayush2006128__mithoon-2b"][2]["attention_layers"].value != t.value
    assert judged["samples/baichuan-inc__Baichuan2-13B-Chat"][0]["positions"].basis == "declared"


def test_the_quick_evaluation_decides_the_same_traits(insp):
    for folder in FOLDERS:
        facts = insp.judge(insp.snapshot(str(folder)))[1]
        assert compute_traits(facts, insp.rules, full=False)[0] == compute_traits(facts, insp.rules)[0], folder.name


def test_every_trait_names_its_rule_where_it_is_written_and_its_evidence(judged):
    t = judged["corpus/deepseek-ai__DeepSeek-R1"][0]["attention"]
    assert t.rule == "trait.attention.mla" and t.where.startswith("rules/traits.yaml:")
    assert any("kv_lora_rank" in e and "config:kv_lora_rank" in e for e in t.evidence)


def test_a_trait_no_rule_decides_is_unknown_without_evidence(judged):
    t = judged["synthetic-pure-mamba-pattern"][0]["attention"]
    assert (t.value, t.rule, t.evidence, t.basis) == ("unknown", None, [], "none")


def test_a_wrapper_language_model_config_is_read_where_it_sits(judged):
    # Qwen2.5-Omni keeps its LM under thinker_config.text_config
    t = judged["traits/Qwen__Qwen2.5-Omni-7B-AWQ__sophgo-copy"][0]["attention"]
    assert t.details["group_size"] == 7
    assert any("thinker_config.text_config.num_attention_heads" in e for e in t.evidence) or t.details["heads"] == 28


def test_explain_lists_each_trait_with_its_rule_and_evidence(judged):
    traits, ev, _ = judged["corpus/deepseek-ai__DeepSeek-R1"]
    text = "\n".join(explain_traits(traits, ev))
    assert "trait attention: MLA  <- trait.attention.mla (rules/traits.yaml:" in text
    assert "kv_lora_rank gt 0 -> 512" in text
    # the rules tried before the winner, each with the predicate that failed
    assert "    not trait.layers.sliding-hybrid (rules/traits.yaml:" in text and "share_sliding between" in text


def test_explain_can_keep_only_the_traits_a_rule_touches(judged):
    traits, ev, _ = judged["corpus/deepseek-ai__DeepSeek-R1"]
    lines = explain_traits(traits, ev, rule_ids={"trait.moe.dense"})
    assert lines[0].startswith("trait moe: MoE") and not any(x.startswith("trait attention") for x in lines)


def test_inspect_explain_shows_the_traits_after_the_rules():
    from click.testing import CliRunner

    from inspector.cli import main

    r = CliRunner().invoke(main, ["inspect", str(CORPUS / "deepseek-ai__DeepSeek-R1"), "--explain"], catch_exceptions=False)
    assert "\ntrait attention: MLA  <- trait.attention.mla" in r.output


def test_the_verdict_carries_traits_in_schema_version_2(insp):
    v = insp.inspect(str(SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"))
    row = json.loads(json.dumps(v.to_dict()))
    assert row["schema_version"] == 2
    assert row["traits"]["attention"]["value"] == "GQA"
    assert row["traits"]["params"]["details"]["basis"] == "headers"


def test_text_output_shows_the_traits_on_one_line(insp):
    from inspector.output import to_text

    lines = to_text(insp.inspect(str(SAMPLES / "microsoft__WizardLM-2-8x22B")), width=400).splitlines()
    [line] = [x for x in lines if x.lstrip().startswith("traits")]
    assert "attention GQA (group_size 6)" in line and "moe MoE (experts 8)" in line
    assert "params 140.6B total, 39.2B active (basis headers)" in line


def test_a_long_traits_line_continues_aligned_within_the_width(insp):
    from inspector.output import to_text

    lines = to_text(insp.inspect(str(SAMPLES / "microsoft__WizardLM-2-8x22B")), width=80).splitlines()
    start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("traits"))
    block = [lines[start]] + [x for x in lines[start + 1:] if x.startswith(" " * 14) and x.strip()]
    assert len(block) > 1 and all(len(x) <= 80 for x in block)
    assert "moe MoE (experts 8)" in " ".join(block)


def test_a_hostile_config_string_reaches_neither_the_terminal_nor_json_raw(insp):
    from inspector.inert import is_inert
    from inspector.output import to_json, to_text

    config = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000,
              "rope_theta": 10000.0, "rope_scaling": {"type": "\x1b[2J\u202eyarn\ud800", "factor": 4.0}}
    v = insp.judge(Snapshot(target="synthetic-hostile-rope", source="fixture", config=config, config_status="ok"))[0]
    value = v.traits["rope_scaling"]["value"]
    assert is_inert(value) and "\\x1b" in value
    [line] = [x for x in to_text(v).splitlines() if "traits" in x]
    assert is_inert(line)
    to_json(v).encode("utf-8")  # no lone surrogate left to break the encoder


def test_flat_traits_give_one_column_per_trait_and_detail(insp):
    row = flat_traits(insp.inspect(str(SAMPLES / "microsoft__WizardLM-2-8x22B")).traits)
    assert row["attention"] == "GQA" and row["attention.group_size"] == 6
    assert row["moe"] == "MoE" and row["moe.experts"] == 8 and row["params.basis"] == "headers"
    assert flat_traits({}) == {}


def test_the_traits_line_leaves_unknown_traits_out():
    assert traits_line({"a": {"value": "unknown", "details": {}}, "b": {"value": "x", "details": {}}}) == "b x"


# ---- trait rule files: validated like rule files -----------------------------------------------


def _load(tmp_path: Path, text: str):
    from inspector.ruleset import load_ruleset

    (tmp_path / "t.yaml").write_text(text)
    return load_ruleset([tmp_path / "t.yaml"], strict=False)


@pytest.mark.parametrize("text, code, words", [
    ("traits:\n  - {id: x, trait: a, value: b, match: {s: {fact: nosuch, equals: 1}}}\n", "E146", "unknown fact 'nosuch'"),
    ("traits:\n  - {id: x, trait: a, value: b, colour: red, match: {s: {fact: vocab_size, equals: 1}}}\n", "E111", "unknown trait rule key 'colour'"),
    ("traits:\n  - {id: x, trait: a, value: b}\n", "E127", "needs a `match:`"),
    ("traits:\n  - {id: x, value: b, match: {s: {fact: vocab_size, equals: 1}}}\n", "E122", "needs `trait`"),
    ("traits:\n  - {id: x, trait: a, value: b, details: {n: nosuch}, match: {s: {fact: vocab_size, equals: 1}}}\n", "E146", "detail 'n'"),
    ("traits:\n  - {id: x, trait: a, value: b, match: {s: {fact: vocab_size, equals: 1}}, condition: s and t}\n", "E129", "'t'"),
    ("layer_kinds:\n  - {config: layer_types, values: {full_attention: fullish}}\n", "E122", "layer kinds"),
    ("layer_kinds:\n  - {config: full_attention_interval, every: full}\n", "E123", "needs `others`"),
    ("traits:\n  - {id: trait.attention.mla, trait: a, value: b, match: {s: {fact: vocab_size, equals: 1}}}\n"
     "  - {id: trait.attention.mla, trait: a, value: c, match: {s: {fact: vocab_size, equals: 2}}}\n", "E201", "duplicate trait rule id"),
    ("traits:\n  - {id: qwen.declared, trait: a, value: b, match: {s: {fact: vocab_size, equals: 1}}}\n", "E201", "is also a rule id"),
    ("traits: {id: x}\n", "E120", "`traits` must be a list of trait rules"),
    ("traits:\n  - just a string\n", "E120", "a trait rule must be a mapping"),
    ("traits:\n  - {trait: a, value: b, match: {s: {fact: vocab_size, equals: 1}}}\n", "E121", "a trait rule needs an `id`"),
    ("traits:\n  - {id: x, trait: a, value: b, match: {null: {fact: vocab_size, equals: 1}}}\n", "E122", "selection name"),
])
def test_a_broken_trait_rule_is_reported_with_its_code_and_place(tmp_path, text, code, words):
    rs = _load(tmp_path, text)
    hits = [p for p in rs.problems if p.code == code and words in p.message]
    assert hits and hits[0].location.file.endswith("t.yaml"), [str(p) for p in rs.problems]


def test_a_trait_rule_from_a_rules_path_replaces_the_shipped_one(tmp_path):
    rs = _load(tmp_path, "traits:\n  - id: trait.attention.mla\n    trait: attention\n    value: latent\n"
                         "    match: {s: {fact: kv_lora_rank, gt: 0}}\n")
    assert not rs.errors
    [mla] = [tr for tr in rs.traits.rules if tr.rule.id == "trait.attention.mla"]
    assert mla.value == "latent"


def test_a_new_family_needs_only_data(tmp_path, insp):
    """A layer map and a rule in a user file decide a trait for a config spelling no shipped file knows."""
    from inspector.api import Inspector

    rs = _load(tmp_path, "layer_kinds:\n  - {config: block_kinds, values: {attn: full, ssm: mamba}}\n"
                         "traits:\n  - {id: my.hybrid, trait: attention_layers, value: my hybrid, priority: 50,"
                         " details: {ssm: share_mamba}, match: {s: {fact: share_mamba, gt: 0}}}\n")
    snap = Snapshot(target="synthetic-block-kinds", source="fixture", config_status="ok",
                    config={"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "block_kinds": ["ssm", "ssm", "ssm", "attn"]})
    v = Inspector(rs).judge(snap)[0]
    assert v.traits["attention_layers"]["value"] == "my hybrid"
    assert v.traits["attention_layers"]["details"] == {"ssm": 0.75}


def test_a_hostile_layer_count_costs_no_memory(insp):
    # Found by fuzz/fuzz_judge.py (out of memory): the MoE estimate listed every layer the config claims.
    import tracemalloc

    from inspector.readout import Snapshot

    snap = Snapshot(target="synthetic/huge-layers", source="fixture", files=["config.json"], config={
        "model_type": "x", "hidden_size": 64, "num_hidden_layers": 10**12, "num_attention_heads": 4,
        "vocab_size": 1000, "num_experts": 8, "num_experts_per_tok": 2, "intermediate_size": 128})
    tracemalloc.start()
    v = insp.judge(snap)[0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000_000 and v.traits["params"]["value"] != "unknown"
