#!/usr/bin/env python
"""Build /work/main/samples/ from chosen folders of /work/main/corpus/.

Usage:
    /tmp/venv/bin/python tools/build_samples.py [--corpus DIR] [--out DIR] [--check]

Each sample is a folder a user could have downloaded from the Hugging Face Hub:

* config.json and SOURCE.md are copied byte for byte from the corpus folder.
* When the corpus folder has a weight_map.json:
  - model.safetensors.index.json: copied byte for byte when the corpus file is
    already a safetensors index; otherwise (pytorch_model.bin index) constructed
    from it: same tensor names, shard files renamed
    pytorch_model-XXXXX-of-YYYYY.bin -> model-XXXXX-of-YYYYY.safetensors, and
    metadata.total_size recomputed as the sum of the constructed tensor bytes.
  - one HEADER-ONLY safetensors file per shard: 8-byte little-endian header
    length + JSON header (padded with spaces to a multiple of 8). The data
    section is absent on purpose (the files are truncated). Tensor names are
    the real ones; shapes are derived from config.json for the layout; dtypes
    from config torch_dtype (quantized tensors get I32/F16).
* README.md per sample, samples/README.md and samples/expected.tsv.

Only the standard library is used. Running it again rebuilds the same bytes.
--check re-reads everything written and validates it (also done after a build).
"""

import argparse
import json
import os
import re
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "Built by tools/build_samples.py"

# ---------------------------------------------------------------------------
# The chosen samples and the verdict a correct tool should give.
# slug = corpus folder name = sample folder name.
# ---------------------------------------------------------------------------
SAMPLES = [
    # --- llama
    dict(slug="TheBloke__Llama-2-7B-fp16", kind="decoder", layout="llama", lineage="llama",
         base="Llama-2-7B", note="Llama-2-7B re-upload in fp32 despite the name (torch_dtype float32)."),
    dict(slug="meta-llama__Llama-2-70b-chat-hf", kind="decoder", layout="llama", lineage="llama",
         base="Llama-2-70B", note="GQA: 64 heads / 8 kv heads."),
    dict(slug="Orenguteng__Lexi-Llama-3-8B-Uncensored", kind="decoder", layout="llama", lineage="llama",
         base="Llama-3-8B", note="Llama-3 fine-tune (vocab 128256, GQA 8 kv heads)."),
    dict(slug="cognitivecomputations__Wizard-Vicuna-30B-Uncensored", kind="decoder", layout="llama",
         lineage="llama", base="LLaMA-30B", note="Vicuna-style fine-tune of LLaMA-1 30B (33B); fp32."),
    dict(slug="mlc-preset__codellama__CodeLlama-7b-hf", kind="decoder", layout="llama", lineage="llama",
         base="CodeLlama-7B", note="Config only. CodeLlama-7B is continued pre-training of Llama-2-7B "
         "(vocab 32016, rope_theta 1e6): the catalogue names CodeLlama-7B, a llama lineage."),
    # --- qwen
    dict(slug="Qwen__Qwen-7B", kind="decoder", layout="qwen1", lineage="qwen", base="Qwen-7B",
         note="Qwen-1 layout (QWenLMHeadModel, transformer.h.N.attn.c_attn)."),
    dict(slug="Qwen__Qwen-VL-Chat-Int4", kind="decoder", layout="qwen1", lineage="qwen", base="Qwen-VL",
         note="Qwen-1 layout + vision tower (transformer.visual.*) + GPTQ 4-bit "
         "(qweight/qzeros/scales/g_idx). The LLM part is Qwen-7B."),
    dict(slug="SakuraLLM__Sakura-14B-Qwen2.5-v1.0", kind="decoder", layout="llama", lineage="qwen",
         base="Qwen2.5-14B", note="Qwen2 naming = llama naming plus q/k/v biases."),
    dict(slug="Qwen__Qwen3-4B__sophgo-copy", kind="decoder", layout="llama", lineage="qwen",
         base="Qwen3-4B", note="Qwen3: llama naming plus q_norm/k_norm; tied embeddings (no lm_head)."),
    dict(slug="JosephusCheung__Qwen-LLaMAfied-7B-Chat__gpupoor-partial", kind="decoder", layout="llama",
         lineage="qwen", base="-",
         note="HARD CASE, config only (partial: 6 keys): LlamaForCausalLM, but Qwen-7B-Chat "
         "converted to llama format (vocab 151936). Base `-`: these keys fit Qwen1.5-7B exactly as well."),
    # --- chatglm
    dict(slug="THUDM__chatglm-6b", kind="decoder", layout="chatglm1", lineage="chatglm",
         base="chatglm-6b", note="ChatGLM v1 (GLM-130B style: transformer.layers.N.attention.query_key_value)."),
    dict(slug="THUDM__chatglm2-6b", kind="decoder", layout="chatglm", lineage="chatglm",
         base="chatglm2-6b", note="ChatGLM2 (transformer.encoder.layers.N.self_attention.query_key_value, MQA 2 groups)."),
    dict(slug="emotibot-inc__Zhuzhi-6B", kind="decoder", layout="chatglm", lineage="chatglm",
         base="chatglm2-6b", note="Fine-tune of chatglm2-6b (_name_or_path); index also lists lm_head.weight "
         "(shares storage with transformer.output_layer.weight)."),
    dict(slug="THUDM__glm-4-9b-chat", kind="decoder", layout="chatglm", lineage="chatglm", base="glm-4-9b",
         note="Config only (transcribed from a log). GLM-4 keeps model_type chatglm; vocab 151552."),
    # --- baichuan
    dict(slug="baichuan-inc__Baichuan2-13B-Chat", kind="decoder", layout="baichuan", lineage="baichuan",
         base="Baichuan2-13B", note="W_pack fused qkv; ALiBi (no rotary)."),
    dict(slug="baichuan-inc__Baichuan2-7B__sophgo-copy", kind="decoder", layout="baichuan",
         lineage="baichuan", base="Baichuan2-7B", note="Config only."),
    # --- yi
    dict(slug="01-ai__Yi-6B-Chat__Temp-LoRA-copy", kind="decoder", layout="llama", lineage="yi",
         base="Yi-6B", note="HARD CASE, config only: LlamaForCausalLM/model_type llama, but Yi (vocab 64000, "
         "4 kv heads, rope_theta 5e6)."),
    dict(slug="01-ai__Yi-34B-Chat-4bits", kind="decoder", layout="llama", lineage="yi", base="Yi-34B",
         note="HARD CASE, config only: llama-tagged AWQ 4-bit Yi-34B-Chat."),
    # --- other lineages in llama layout
    dict(slug="internlm__internlm-20b__llama-format-copy", kind="decoder", layout="llama",
         lineage="internlm", base="internlm-20b",
         note="HARD CASE: LlamaForCausalLM with llama tensor names, but InternLM-20B (vocab 103168, 60 x 5120)."),
    dict(slug="mistralai__Devstral-Small-2507", kind="decoder", layout="llama", lineage="mistral",
         base="Mistral-Small-3.1-24B", note="MistralForCausalLM (llama naming); head_dim 128 != hidden/heads."),
    # --- other layouts
    dict(slug="internlm__internlm2-chat-7b", kind="decoder", layout="internlm2", lineage="internlm",
         base="internlm2-7b", note="InternLM2 (attention.wqkv, feed_forward.w1/w2/w3)."),
    dict(slug="microsoft__WizardLM-2-8x22B", kind="decoder", layout="mixtral-moe", shapes="mixtral", lineage="mixtral",
         base="Mixtral-8x22B", note="MixtralForCausalLM (block_sparse_moe.experts.N.w1/w2/w3), 8 experts."),
    dict(slug="google__gemma-2b__mirror", kind="decoder", layout="llama", shapes="gemma", lineage="gemma", base="gemma-2b",
         note="Gemma: llama-like tensor names, head_dim 256, MQA (1 kv head), tied embeddings (no lm_head)."),
    dict(slug="YouriLalain__3PRYMMAL-PHI3-3B-SLERP", kind="decoder", layout="phi3", lineage="phi",
         base="Phi-3-mini-4k", note="Phi-3 merge (self_attn.qkv_proj, mlp.gate_up_proj); vocab 32064 is a decoy."),
    dict(slug="tiiuae__falcon-40b", kind="decoder", layout="falcon", lineage="falcon", base="falcon-40b",
         note="RWForCausalLM (transformer.h.N.self_attention.query_key_value, grouped kv 8)."),
    dict(slug="togethercomputer__RedPajama-INCITE-7B-Base", kind="decoder", layout="gpt-neox",
         lineage="gpt-neox", base="RedPajama-INCITE-7B-Base", note="GPTNeoXForCausalLM (gpt_neox.layers.N.*)."),
    dict(slug="mlc-preset__gpt2", kind="decoder", layout="gpt2", lineage="gpt2", base="gpt2",
         note="Config only (mlc-llm preset)."),
    # --- non-decoders
    dict(slug="google-bert__bert-base-uncased", kind="encoder", layout="bert", lineage="bert",
         base="bert-base-uncased", note="Config only."),
    dict(slug="google-t5__t5-small", kind="encoder-decoder", layout="t5", lineage="t5", base="t5-small",
         note="Config only."),
]

DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F16": 2, "BF16": 2, "I16": 2, "I32": 4, "U32": 4,
               "F32": 4, "I64": 8, "F64": 8}
TORCH_DTYPE = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


class Unsure(Exception):
    pass


# ---------------------------------------------------------------------------
# Config helpers
# ---------------------------------------------------------------------------
def cfg_get(cfg, *keys, default=None):
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return default


def dims(cfg):
    """Common decoder dimensions, with the various key spellings."""
    H = cfg_get(cfg, "hidden_size", "n_embd", "d_model")
    nh = cfg_get(cfg, "num_attention_heads", "n_head", "num_heads")
    L = cfg_get(cfg, "num_hidden_layers", "num_layers", "n_layer")
    kv = cfg_get(cfg, "num_key_value_heads", "n_head_kv", "multi_query_group_num", default=nh)
    hd = cfg_get(cfg, "head_dim", default=None) or (H // nh)
    V = cfg_get(cfg, "padded_vocab_size", "vocab_size")
    I = cfg_get(cfg, "intermediate_size", "ffn_hidden_size", "inner_hidden_size", "n_inner")
    return dict(H=H, nh=nh, L=L, kv=kv, hd=hd, V=V, I=I)


def base_dtype(cfg):
    td = cfg.get("torch_dtype")
    return TORCH_DTYPE.get(td, "F16")


# ---------------------------------------------------------------------------
# Shape derivation per layout. Each returns (shape, dtype_override_or_None, unsure_reason_or_None).
# Linear weights are [out_features, in_features] (torch nn.Linear).
# ---------------------------------------------------------------------------
def llama_like(name, cfg):
    d = dims(cfg)
    H, nh, kv, hd, V, I = d["H"], d["nh"], d["kv"], d["hd"], d["V"], d["I"]
    tail = re.sub(r"^model\.layers\.\d+\.", "", name)
    table = {
        "model.embed_tokens.weight": [V, H],
        "lm_head.weight": [V, H],
        "model.norm.weight": [H],
        "input_layernorm.weight": [H],
        "post_attention_layernorm.weight": [H],
        "self_attn.q_proj.weight": [nh * hd, H],
        "self_attn.k_proj.weight": [kv * hd, H],
        "self_attn.v_proj.weight": [kv * hd, H],
        "self_attn.o_proj.weight": [H, nh * hd],
        "self_attn.q_proj.bias": [nh * hd],
        "self_attn.k_proj.bias": [kv * hd],
        "self_attn.v_proj.bias": [kv * hd],
        "self_attn.q_norm.weight": [hd],
        "self_attn.k_norm.weight": [hd],
        "mlp.gate_proj.weight": [I, H],
        "mlp.up_proj.weight": [I, H],
        "mlp.down_proj.weight": [H, I],
        # Baichuan: fused q,k,v (MHA)
        "self_attn.W_pack.weight": [3 * H, H],
        # Phi-3: fused qkv and gate/up
        "self_attn.qkv_proj.weight": [(nh + 2 * kv) * hd, H],
        "mlp.gate_up_proj.weight": [2 * I, H],
        # Mixtral
        "block_sparse_moe.gate.weight": [cfg_get(cfg, "num_local_experts", default=8), H],
    }
    if tail in table:
        return table[tail], None, None
    if tail == "self_attn.rotary_emb.inv_freq":
        # non-persistent buffer saved by older transformers; float32 even in fp16 checkpoints
        return [hd // 2], "F32", None
    m = re.match(r"block_sparse_moe\.experts\.\d+\.(w[123])\.weight$", tail)
    if m:
        return ([H, I] if m.group(1) == "w2" else [I, H]), None, None
    raise Unsure(name)


def internlm2(name, cfg):
    d = dims(cfg)
    H, nh, kv, hd, V, I = d["H"], d["nh"], d["kv"], d["hd"], d["V"], d["I"]
    tail = re.sub(r"^model\.layers\.\d+\.", "", name)
    table = {
        "model.tok_embeddings.weight": [V, H],
        "output.weight": [V, H],
        "model.norm.weight": [H],
        "attention_norm.weight": [H],
        "ffn_norm.weight": [H],
        "attention.wqkv.weight": [(nh + 2 * kv) * hd, H],
        "attention.wo.weight": [H, nh * hd],
        "feed_forward.w1.weight": [I, H],
        "feed_forward.w3.weight": [I, H],
        "feed_forward.w2.weight": [H, I],
    }
    if tail in table:
        return table[tail], None, None
    raise Unsure(name)


def qwen1(name, cfg):
    d = dims(cfg)
    H, V = d["H"], d["V"]
    ff = cfg["intermediate_size"] // 2  # Qwen-1 counts w1+w2 together
    tail = re.sub(r"^transformer\.h\.\d+\.", "", name)
    linears = {  # prefix -> (out, in)
        "attn.c_attn": (3 * H, H),
        "attn.c_proj": (H, H),
        "mlp.w1": (ff, H),
        "mlp.w2": (ff, H),
        "mlp.c_proj": (H, ff),
    }
    table = {
        "transformer.wte.weight": [V, H],
        "lm_head.weight": [V, H],
        "transformer.ln_f.weight": [H],
        "ln_1.weight": [H],
        "ln_2.weight": [H],
        "attn.c_attn.bias": [3 * H],
    }
    if tail in table:
        return table[tail], None, None
    pre, _, suf = tail.rpartition(".")
    if pre in linears:
        out, inn = linears[pre]
        if suf == "weight":
            return [out, inn], None, None
        q = gptq(suf, out, inn, cfg)
        if q:
            return q
        if suf == "bias":
            return [out], None, None
    if name.startswith("transformer.visual."):
        return qwen_vl_visual(name, cfg)
    raise Unsure(name)


def gptq(suf, out, inn, cfg):
    """GPTQ (auto-gptq QuantLinear) buffers for a Linear(in=inn, out=out)."""
    qc = cfg.get("quantization_config") or {}
    if qc.get("quant_method") != "gptq":
        return None
    bits, gs = qc.get("bits", 4), qc.get("group_size", 128)
    groups = -(-inn // gs) if gs > 0 else 1
    if suf == "qweight":
        return [inn * bits // 32, out], "I32", None
    if suf == "qzeros":
        return [groups, out * bits // 32], "I32", None
    if suf == "scales":
        return [groups, out], "F16", None
    if suf == "g_idx":
        return [inn], "I32", None
    if suf == "bias":
        return [out], "F16", None
    return None


def qwen_vl_visual(name, cfg):
    """Qwen-VL VisionTransformer + Resampler (visual.py of Qwen-VL)."""
    v = cfg["visual"]
    W = v["width"]
    mlp = int(W * v["mlp_ratio"])
    out = v["output_dim"]
    p = v["patch_size"]
    nq = 256  # n_queries of the Resampler in Qwen-VL
    why = "Qwen-VL vision tower: shape from visual.py conventions (not in config.json alone)"
    tail = name[len("transformer.visual."):]
    tail = re.sub(r"^transformer\.resblocks\.\d+\.", "blk.", tail)
    table = {
        "conv1.weight": [W, 3, p, p],
        "positional_embedding": [256, W],  # fixed 16x16 grid, interpolated at run time
        "ln_pre.weight": [W], "ln_pre.bias": [W],
        "blk.ln_1.weight": [W], "blk.ln_1.bias": [W],
        "blk.ln_2.weight": [W], "blk.ln_2.bias": [W],
        "blk.attn.in_proj.weight": [3 * W, W], "blk.attn.in_proj.bias": [3 * W],
        "blk.attn.out_proj.weight": [W, W], "blk.attn.out_proj.bias": [W],
        "blk.mlp.c_fc.weight": [mlp, W], "blk.mlp.c_fc.bias": [mlp],
        "blk.mlp.c_proj.weight": [W, mlp], "blk.mlp.c_proj.bias": [W],
        "attn_pool.query": [nq, out],
        "attn_pool.pos_embed": [nq, out],
        "attn_pool.kv_proj.weight": [out, W],
        "attn_pool.attn.in_proj_weight": [3 * out, out],
        "attn_pool.attn.in_proj_bias": [3 * out],
        "attn_pool.attn.out_proj.weight": [out, out],
        "attn_pool.attn.out_proj.bias": [out],
        "attn_pool.ln_q.weight": [out], "attn_pool.ln_q.bias": [out],
        "attn_pool.ln_kv.weight": [out], "attn_pool.ln_kv.bias": [out],
        "ln_post.weight": [out], "ln_post.bias": [out],
        "proj": [out, out],
    }
    if tail in table:
        unsure = why if tail in ("positional_embedding", "attn_pool.query", "attn_pool.pos_embed") else None
        return table[tail], None, unsure
    raise Unsure(name)


def chatglm1(name, cfg):
    d = dims(cfg)
    H, V, nh = d["H"], d["V"], d["nh"]
    I = cfg.get("inner_hidden_size") or 4 * H
    hd = H // nh
    tail = re.sub(r"^transformer\.layers\.\d+\.", "", name)
    table = {
        "transformer.word_embeddings.weight": [V, H],
        "lm_head.weight": [V, H],
        "transformer.final_layernorm.weight": [H], "transformer.final_layernorm.bias": [H],
        "input_layernorm.weight": [H], "input_layernorm.bias": [H],
        "post_attention_layernorm.weight": [H], "post_attention_layernorm.bias": [H],
        "attention.query_key_value.weight": [3 * H, H], "attention.query_key_value.bias": [3 * H],
        "attention.dense.weight": [H, H], "attention.dense.bias": [H],
        "mlp.dense_h_to_4h.weight": [I, H], "mlp.dense_h_to_4h.bias": [I],
        "mlp.dense_4h_to_h.weight": [H, I], "mlp.dense_4h_to_h.bias": [H],
    }
    if tail in table:
        return table[tail], None, None
    if tail == "attention.rotary_emb.inv_freq":
        # RotaryEmbedding(head_dim // 2 if position_encoding_2d) -> dim/2 entries, kept in half precision
        rd = hd // 2 if cfg.get("position_encoding_2d", True) else hd
        return [rd // 2], None, ("rotary buffer: [head_dim/4] and half precision per modeling_chatglm.py "
                                 "of ChatGLM-6B; not confirmable by total_size (it differs, see above)")
    raise Unsure(name)


def chatglm2(name, cfg):
    d = dims(cfg)
    H, V, nh = d["H"], d["V"], d["nh"]
    kvc = cfg.get("kv_channels") or H // nh
    g = cfg.get("multi_query_group_num") if cfg.get("multi_query_attention") else nh
    ffn = cfg["ffn_hidden_size"]
    qkv = nh * kvc + 2 * g * kvc
    tail = re.sub(r"^transformer\.encoder\.layers\.\d+\.", "", name)
    table = {
        "transformer.embedding.word_embeddings.weight": [V, H],
        "transformer.output_layer.weight": [V, H],
        "lm_head.weight": [V, H],
        "transformer.encoder.final_layernorm.weight": [H],
        "input_layernorm.weight": [H],
        "post_attention_layernorm.weight": [H],
        "self_attention.query_key_value.weight": [qkv, H],
        "self_attention.query_key_value.bias": [qkv],
        "self_attention.dense.weight": [H, nh * kvc],
        "mlp.dense_h_to_4h.weight": [2 * ffn, H],  # SwiGLU: gate and up fused
        "mlp.dense_4h_to_h.weight": [H, ffn],
        # RotaryEmbedding(rotary_dim // 2), rotary_dim = kv_channels; buffer in config dtype
        "transformer.rotary_pos_emb.inv_freq": [kvc // 4],
    }
    if tail in table:
        return table[tail], None, None
    raise Unsure(name)


def falcon(name, cfg):
    d = dims(cfg)
    H, V, nh = d["H"], d["V"], d["nh"]
    kv = cfg_get(cfg, "n_head_kv", "num_kv_heads", default=1)
    hd = H // nh
    tail = re.sub(r"^transformer\.h\.\d+\.", "", name)
    table = {
        "transformer.word_embeddings.weight": [V, H],
        "lm_head.weight": [V, H],
        "transformer.ln_f.weight": [H], "transformer.ln_f.bias": [H],
        "ln_attn.weight": [H], "ln_attn.bias": [H],
        "ln_mlp.weight": [H], "ln_mlp.bias": [H],
        "input_layernorm.weight": [H], "input_layernorm.bias": [H],
        "self_attention.query_key_value.weight": [(nh + 2 * kv) * hd, H],
        "self_attention.dense.weight": [H, H],
        "mlp.dense_h_to_4h.weight": [4 * H, H],
        "mlp.dense_4h_to_h.weight": [H, 4 * H],
    }
    if tail in table:
        return table[tail], None, None
    raise Unsure(name)


def gpt_neox(name, cfg):
    d = dims(cfg)
    H, V, nh, I = d["H"], d["V"], d["nh"], d["I"]
    hd = H // nh
    rot = int(hd * cfg.get("rotary_pct", 1.0))
    P = cfg.get("max_position_embeddings", 2048)
    tail = re.sub(r"^gpt_neox\.layers\.\d+\.", "", name)
    table = {
        "gpt_neox.embed_in.weight": [V, H],
        "embed_out.weight": [V, H],
        "gpt_neox.final_layer_norm.weight": [H], "gpt_neox.final_layer_norm.bias": [H],
        "input_layernorm.weight": [H], "input_layernorm.bias": [H],
        "post_attention_layernorm.weight": [H], "post_attention_layernorm.bias": [H],
        "attention.query_key_value.weight": [3 * H, H], "attention.query_key_value.bias": [3 * H],
        "attention.dense.weight": [H, H], "attention.dense.bias": [H],
        "mlp.dense_h_to_4h.weight": [I, H], "mlp.dense_h_to_4h.bias": [I],
        "mlp.dense_4h_to_h.weight": [H, I], "mlp.dense_4h_to_h.bias": [H],
    }
    if tail in table:
        return table[tail], None, None
    # buffers saved by older transformers (4.28): causal mask, masked_bias, rotary inv_freq
    if tail == "attention.bias":
        return [1, 1, P, P], "BOOL", "causal-mask buffer; dtype/shape from transformers 4.28 GPTNeoXAttention"
    if tail == "attention.masked_bias":
        return [], None, "scalar buffer (-1e9) in the model dtype (fits the source total_size)"
    if tail == "attention.rotary_emb.inv_freq":
        return [rot // 2], None, "rotary buffer in the model dtype (fits the source total_size)"
    raise Unsure(name)


LAYOUT_FN = {
    "llama": llama_like, "gemma": llama_like, "mixtral": llama_like, "phi3": llama_like,
    "baichuan": llama_like, "qwen1": qwen1, "chatglm1": chatglm1, "chatglm": chatglm2,
    "internlm2": internlm2, "falcon": falcon, "gpt-neox": gpt_neox,
}


# ---------------------------------------------------------------------------
# safetensors header writing / reading
# ---------------------------------------------------------------------------
def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def header_bytes(tensors):
    """tensors: dict name -> (dtype, shape). Returns the file bytes (header only)."""
    # safetensors orders data by dtype alignment (largest first) then name
    order = sorted(tensors, key=lambda n: (-DTYPE_BYTES[tensors[n][0]], n))
    hdr = {"__metadata__": {"format": "pt"}}
    off = 0
    for n in order:
        dt, shape = tensors[n]
        size = numel(shape) * DTYPE_BYTES[dt]
        hdr[n] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + size]}
        off += size
    js = json.dumps(hdr, separators=(",", ":")).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)
    return struct.pack("<Q", len(js)) + js


def read_header(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if len(raw) != 8 + n:
        raise ValueError("%s: expected exactly 8+%d bytes (header only), got %d" % (path, n, len(raw)))
    if n % 8:
        raise ValueError("%s: header length %d not a multiple of 8" % (path, n))
    return json.loads(raw[8:].decode("utf-8"))


def st_shard_name(bin_name):
    m = re.match(r"^pytorch_model-(\d+)-of-(\d+)\.bin$", bin_name)
    if m:
        return f"model-{m.group(1)}-of-{m.group(2)}.safetensors"
    if bin_name == "pytorch_model.bin":
        return "model.safetensors"
    raise ValueError(f"unexpected shard name {bin_name!r}")


# ---------------------------------------------------------------------------
# Build one sample
# ---------------------------------------------------------------------------
def build_sample(spec, corpus, out):
    slug = spec["slug"]
    src = os.path.join(corpus, slug)
    dst = os.path.join(out, slug)
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    shutil.copyfile(os.path.join(src, "config.json"), os.path.join(dst, "config.json"))
    shutil.copyfile(os.path.join(src, "SOURCE.md"), os.path.join(dst, "SOURCE.md"))
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    src_md = open(os.path.join(src, "SOURCE.md"), encoding="utf-8").read()
    m = re.search(r"^- model_id: (.*)$", src_md, re.M)
    spec["model_id"] = m.group(1).strip() if m else slug
    m = re.search(r"^- family: (.*)$", src_md, re.M)
    spec["family"] = m.group(1).strip() if m else "?"
    m = re.search(r"^- confidence: (.*)$", src_md, re.M)
    spec["confidence"] = m.group(1).strip() if m else "?"
    m = re.search(r"^- weight_map_source_path: (.*)$", src_md, re.M)
    wm_src_path = m.group(1).strip() if m else "?"

    info = dict(verbatim=["config.json", "SOURCE.md"], constructed=["README.md"], unsure={},
                index_note=None, shards=[], ntensors=0, total=None, corpus_total=None, dtype=None)
    wm_path = os.path.join(src, "weight_map.json")
    if os.path.exists(wm_path):
        raw = open(wm_path, "rb").read()
        wm = json.loads(raw)
        given_shapes = {}
        if isinstance(wm, dict) and isinstance(wm.get("weight_map"), dict) and wm["weight_map"]:
            weight_map = wm["weight_map"]
            is_st = all(s.endswith(".safetensors") for s in set(weight_map.values()))
            src_kind = "index"
        else:
            # a plain list of names, or names with shapes: one shard, shapes kept when given
            weight_map, src_kind, is_st = {}, "list", False
            items = wm.items() if isinstance(wm, dict) else wm
            for it in items:
                if isinstance(it, str):
                    weight_map[it] = "model.safetensors"
                    continue
                if isinstance(it, dict):
                    it = (it.get("name"), it.get("shape"))
                name, shape = it[0], it[1]
                weight_map[name] = "model.safetensors"
                if isinstance(shape, list):
                    given_shapes[name] = shape
            if not weight_map:
                raise SystemExit(f"{slug}: weight_map.json is not usable")
            wm = {}
        dt0 = base_dtype(cfg)
        info["dtype"] = dt0 + ("" if cfg.get("torch_dtype") else " (assumed: config has no torch_dtype)")
        fn = LAYOUT_FN[spec.get("shapes", spec["layout"])]  # the shape family, when the layout id differs
        per_shard = {}
        for name, shard in weight_map.items():
            try:
                shape, dt, why = fn(name, cfg)
            except Unsure:
                if name not in given_shapes:
                    raise SystemExit(f"{slug}: cannot derive shape for {name}")
                shape, dt, why = None, None, None
            if name in given_shapes:
                shape, why = given_shapes[name], None
            dt = dt or dt0
            if why:
                info["unsure"].setdefault(why, []).append(name)
            sh = shard if (is_st or src_kind == "list") else st_shard_name(shard)
            per_shard.setdefault(sh, {})[name] = (dt, list(shape))
        total = sum(numel(s) * DTYPE_BYTES[d] for t in per_shard.values() for d, s in t.values())
        info["total"] = total
        info["corpus_total"] = (wm.get("metadata") or {}).get("total_size")
        info["ntensors"] = len(weight_map)
        if is_st:
            with open(os.path.join(dst, "model.safetensors.index.json"), "wb") as f:
                f.write(raw)
            info["verbatim"].append("model.safetensors.index.json")
            info["index_note"] = (f"copied byte for byte from the corpus weight_map.json (the source's {wm_src_path})")
        elif src_kind == "list":
            new = {"metadata": {"total_size": total}, "weight_map": dict(weight_map)}
            with open(os.path.join(dst, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
                json.dump(new, f, indent=2)
                f.write("\n")
            info["constructed"].append("model.safetensors.index.json")
            info["index_note"] = (
                "CONSTRUCTED from the corpus weight_map.json, which is a plain list of %d tensor names%s "
                "(the source's %s): all tensors put in one shard `model.safetensors` (the real shard split "
                "is unknown); total_size = sum of tensor bytes." % (
                    len(weight_map), " with shapes (kept)" if given_shapes else "", wm_src_path))
        else:
            new = {"metadata": {"total_size": total},
                   "weight_map": {n: st_shard_name(s) for n, s in weight_map.items()}}
            with open(os.path.join(dst, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
                json.dump(new, f, indent=2)
                f.write("\n")
            info["constructed"].append("model.safetensors.index.json")
            info["index_note"] = (
                "CONSTRUCTED from the corpus weight_map.json, which is the source's %s "
                "(a pytorch_model.bin index): same %d tensor names and the same shard split, shard files "
                "renamed pytorch_model-XXXXX-of-YYYYY.bin -> model-XXXXX-of-YYYYY.safetensors; "
                "metadata.total_size recomputed as the sum of the constructed tensor bytes (%d; the "
                "source index says %s)." % (wm_src_path, len(weight_map), total, info["corpus_total"]))
        for sh in sorted(per_shard):
            with open(os.path.join(dst, sh), "wb") as f:
                f.write(header_bytes(per_shard[sh]))
            info["shards"].append(sh)
            info["constructed"].append(sh)
    write_sample_readme(spec, info, dst)
    spec["info"] = info
    return info


def write_sample_readme(spec, info, dst):
    L = []
    L.append("# {}".format(spec["slug"]))
    L.append("")
    L.append(f"{MARKER}. Sample folder for `inspector`, laid out like a Hugging Face model download "
             "(metadata only, no weights).")
    L.append("")
    L.append("- model id: {}".format(spec["model_id"]))
    L.append("- corpus family label: `{}` (confidence {}, see SOURCE.md)".format(spec["family"], spec["confidence"]))
    L.append("- expected verdict: kind `{}`, layout `{}`, lineage `{}`, base `{}`".format(spec["kind"], spec["layout"], spec["lineage"], spec["base"]))
    L.append("- note: {}".format(spec["note"]))
    L.append("")
    L.append("## Files")
    L.append("")
    L.append("Copied byte for byte from `corpus/{}/` (real public data, provenance in SOURCE.md):".format(spec["slug"]))
    L.append("")
    for f in info["verbatim"]:
        if f == "model.safetensors.index.json":
            L.append("- `{}`: {}".format(f, info["index_note"]))
        elif f == "config.json":
            L.append("- `config.json` (SOURCE.md says whether it is the hub file as found, converted or partial)")
        else:
            L.append(f"- `{f}`")
    L.append("")
    L.append("Constructed by `tools/build_samples.py` (NOT real files):")
    L.append("")
    L.append("- `README.md` (this file)")
    if info["index_note"] and "model.safetensors.index.json" in info["constructed"]:
        L.append("- `model.safetensors.index.json`: {}".format(info["index_note"]))
    if info["shards"]:
        L.append("- %d header-only safetensors shard file(s): %s. Each holds the 8-byte header length and "
                 "the JSON header only; the data section is ABSENT (the file is truncated on purpose, "
                 "offsets are laid out as if the data were there). Tensor names and the shard of each "
                 "tensor are real (from the index); shapes are DERIVED from config.json for the `%s` layout; "
                 "dtype %s from config torch_dtype (quantized tensors: qweight/qzeros/g_idx I32, scales F16)."
                 % (len(info["shards"]), ", ".join(f"`{s}`" for s in info["shards"]), spec["layout"],
                    info["dtype"]))
        ct = info["corpus_total"]
        if ct is not None:
            match = "matches" if int(ct) == info["total"] else "DIFFERS from"
            L.append("- check: the derived shapes sum to %d bytes over %d tensors, which %s the source "
                     "index's total_size %s." % (info["total"], info["ntensors"], match, ct))
            if int(ct) != info["total"]:
                L.append("  Reason: {}".format(TOTAL_DIFF_REASON.get(spec["slug"], "unknown")))
        if info["unsure"]:
            ok = ct is not None and int(ct) == info["total"]
            L.append("- shapes/dtypes derived with less certainty%s:" % (
                " (taken from modeling-code conventions, not from config.json alone; the exact "
                "total_size match above supports them)" if ok else ""))
            for why, names in sorted(info["unsure"].items()):
                ex = ", ".join(f"`{n}`" for n in names[:3]) + (" ..." if len(names) > 3 else "")
                L.append("  - %d tensor(s), %s: %s" % (len(names), why, ex))
    else:
        L.append("")
        L.append("The corpus has no weight map for this model, so this sample is config-only "
                 "(as a user who has only config.json).")
    L.append("")
    with open(os.path.join(dst, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


TOTAL_DIFF_REASON = {
    "emotibot-inc__Zhuzhi-6B": "the index lists lm_head.weight, which shares storage with "
    "transformer.output_layer.weight; transformers counts shared storage once in total_size, the "
    "constructed headers count both (difference 532676608 = 65024 x 4096 x 2 bytes exactly).",
    "togethercomputer__RedPajama-INCITE-7B-Base": "the 32 causal-mask buffers attention.bias are BOOL "
    "[1,1,2048,2048]; transformers 4.28 counted a bool as 1/8 byte in total_size (hence the source's "
    "float 13731385408.0), safetensors stores 1 byte per bool. Difference 117440512 = 32 x 4194304 x 7/8 "
    "exactly.",
    "Orenguteng__Lexi-Llama-3-8B-Uncensored": "not explained. The derived shapes are the standard "
    "Llama-3-8B ones (8030261248 parameters x 2 bytes = 16060522496, the total_size of Meta's own "
    "Llama-3-8B index); the source index's total_size is 1610612736 bytes larger (maybe some tensors "
    "were saved in float32 by the fine-tuning or merge tool). Tensor names and shards are kept as found.",
    "THUDM__chatglm-6b": "the source index says 328613888 bytes more. 327680000 of it is exactly "
    "20000 rows x 4096 x 2 matrices (word_embeddings, lm_head) x 2 bytes: consistent with the index "
    "having been written for ChatGLM-6B's original 150528-token vocabulary before THUDM cut it to "
    "130528 (the vocab_size in config.json, used here). The remaining 933888 bytes are unexplained.",
}


# ---------------------------------------------------------------------------
# Top-level files
# ---------------------------------------------------------------------------
def write_expected(out):
    with open(os.path.join(out, "expected.tsv"), "w", encoding="utf-8") as f:
        f.write("sample\tkind\tlayout\tlineage\tbase\n")
        for s in SAMPLES:
            f.write("\t".join([s["slug"], s["kind"], s["layout"], s["lineage"], s["base"]]) + "\n")


def write_top_readme(out):
    L = []
    L.append("# samples: real model metadata as a user would have it")
    L.append("")
    L.append(f"{MARKER} from `corpus/` (see `corpus/README.md`). Do not edit by hand; re-run "
             "`/tmp/venv/bin/python tools/build_samples.py`.")
    L.append("")
    L.append("Each folder is one real public model (%d in all), laid out like a Hugging Face download "
             "without weights. Provenance of every real file is in the folder's `SOURCE.md` (source "
             "repository, path, commit, family label and its confidence)." % len(SAMPLES))
    L.append("")
    L.append("## What is real and what is constructed")
    L.append("")
    L.append("- REAL, copied byte for byte from the corpus: `config.json` and `SOURCE.md` in every folder; "
             "`model.safetensors.index.json` where the source already had a safetensors index.")
    L.append("- CONSTRUCTED by `tools/build_samples.py`:")
    L.append("  - every `README.md`, this file and `expected.tsv`;")
    L.append("  - `model.safetensors.index.json` where the source only had a `pytorch_model.bin.index.json` "
             "(real tensor names and shard split, shard files renamed to `model-XXXXX-of-YYYYY.safetensors`, "
             "total_size recomputed); the folder README says so;")
    L.append("  - every `*.safetensors` file: HEADER ONLY (8-byte little-endian header length + JSON header "
             "padded with spaces to a multiple of 8, compact separators, `__metadata__ {\"format\":\"pt\"}`). "
             "The data section is absent: a reader must treat the files as truncated on purpose "
             "(`safetensors.safe_open` will refuse them; parse the header yourself). Tensor names are the "
             "real ones from the index; shapes are derived from config.json for the layout; data_offsets "
             "are contiguous as if the data were there.")
    L.append("- Config-only samples have no weight map in the corpus and get no index or shards.")
    L.append("- Where the source index had a total_size, the derived shapes were checked against it "
             "(the folder README gives the result).")
    L.append("")
    L.append("## Other weights formats")
    L.append("")
    L.append("Two more folders are built by `tools/build_format_samples.py` (run it after this script; it adds "
             "their rows to expected.tsv): `THUDM__chatglm-6b__bin` (the real config and .bin index of "
             "THUDM/chatglm-6b with constructed header-only torch-zip .bin shards) and "
             "`TheBloke__Llama-2-7B-GGUF` (a constructed header-only GGUF v3 file with Llama-2-7B's metadata "
             "and synthesized tokens). Their README files say what is real and what is constructed.")
    L.append("")
    L.append("## expected.tsv")
    L.append("")
    L.append("The verdict a correct tool should give: `kind` (decoder / encoder / encoder-decoder), `layout` "
             "(tensor naming scheme; for config-only samples the layout the config's architecture implies), "
             "`lineage` (the model family, not the layout: Yi in llama layout is `yi`, llamafied Qwen is "
             "`qwen`), `base` (closest known base model, `-` if unsure). Layout ids: `llama` "
             "(model.layers.N.self_attn.q_proj..., also Mistral/Qwen2/Qwen3 naming), `qwen1`, `chatglm` "
             "(v2/v3/GLM-4), `chatglm1`, `baichuan`, `internlm2`, `mixtral-moe`, `gemma` (llama-like names; told "
             "apart by config), `phi3`, `falcon`, `gpt-neox`, `gpt2`, `bert`, `t5`.")
    L.append("")
    L.append("## Samples")
    L.append("")
    L.append("| sample | model id | corpus family (confidence) | kind | layout | lineage | base | files |")
    L.append("|---|---|---|---|---|---|---|---|")
    for s in SAMPLES:
        i = s["info"]
        if i["shards"]:
            idx = "index (real)" if "model.safetensors.index.json" in i["verbatim"] else "index (constructed from .bin index)"
            files = "config, %s, %d header-only shards" % (idx, len(i["shards"]))
        else:
            files = "config only"
        L.append("| {} | {} | {} ({}) | {} | {} | {} | {} | {} |".format(
            s["slug"], s["model_id"].replace("|", "/"), s["family"], s["confidence"], s["kind"],
            s["layout"], s["lineage"], s["base"], files))
    L.append("")
    L.append("Notes per sample are in each folder's README.md.")
    L.append("")
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------
def check(out, corpus):
    problems = []
    total_bytes = 0
    for s in SAMPLES:
        d = os.path.join(out, s["slug"])
        for f in ("config.json", "SOURCE.md", "README.md"):
            if not os.path.exists(os.path.join(d, f)):
                problems.append("{}: missing {}".format(s["slug"], f))
        for f in ("config.json", "SOURCE.md"):
            if open(os.path.join(d, f), "rb").read() != open(os.path.join(corpus, s["slug"], f), "rb").read():
                problems.append("{}: {} differs from corpus".format(s["slug"], f))
        for f in os.listdir(d):
            total_bytes += os.path.getsize(os.path.join(d, f))
        ip = os.path.join(d, "model.safetensors.index.json")
        if not os.path.exists(ip):
            if any(f.endswith(".safetensors") for f in os.listdir(d)):
                problems.append("{}: shards without index".format(s["slug"]))
            continue
        idx = json.load(open(ip))
        wmap = idx["weight_map"]
        headers = {}
        for sh in sorted(set(wmap.values())):
            try:
                headers[sh] = read_header(os.path.join(d, sh))
            except Exception as e:  # noqa
                problems.append("{}: {}".format(s["slug"], e))
                continue
            h = headers[sh]
            if h.get("__metadata__") != {"format": "pt"}:
                problems.append("{}/{}: bad __metadata__".format(s["slug"], sh))
            spans = sorted(tuple(v["data_offsets"]) for k, v in h.items() if k != "__metadata__")
            pos = 0
            for b, e in spans:
                if b != pos:
                    problems.append("%s/%s: offsets not contiguous at %d" % (s["slug"], sh, b))
                pos = e
            for k, v in h.items():
                if k == "__metadata__":
                    continue
                b, e = v["data_offsets"]
                if e - b != numel(v["shape"]) * DTYPE_BYTES[v["dtype"]]:
                    problems.append("{}/{}: {} size/offset mismatch".format(s["slug"], sh, k))
                if wmap.get(k) != sh:
                    problems.append("{}/{}: {} not mapped to this shard in index".format(s["slug"], sh, k))
        for name, sh in wmap.items():
            if sh in headers and name not in headers[sh]:
                problems.append("{}: {} missing from header of {}".format(s["slug"], name, sh))
        if "model.safetensors.index.json" in os.listdir(d) and not all(
                f in wmap.values() for f in os.listdir(d) if f.endswith(".safetensors")):
            problems.append("{}: stray shard file".format(s["slug"]))
    for f in os.listdir(out):
        p = os.path.join(out, f)
        if os.path.isfile(p):
            total_bytes += os.path.getsize(p)
    return problems, total_bytes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "corpus"))
    ap.add_argument("--out", default=os.path.join(ROOT, "samples"))
    ap.add_argument("--check", action="store_true", help="only validate an existing build")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if not a.check:
        wanted = {s["slug"] for s in SAMPLES}
        # remove sample folders from earlier runs that are no longer chosen (only ours, by marker)
        for f in sorted(os.listdir(a.out)):
            p = os.path.join(a.out, f)
            rd = os.path.join(p, "README.md")
            if os.path.isdir(p) and f not in wanted and os.path.exists(rd) and MARKER in open(rd).read():
                shutil.rmtree(p)
        for s in SAMPLES:
            i = build_sample(s, a.corpus, a.out)
            ct = i["corpus_total"]
            tot = "" if i["total"] is None else " derived_total=%d corpus_total=%s%s" % (
                i["total"], ct, "" if ct is None or int(ct) == i["total"] else "  <-- DIFF")
            print("%-58s %-9s %2d shards%s" % (s["slug"], s["layout"], len(i["shards"]), tot))
        write_expected(a.out)
        write_top_readme(a.out)
    problems, size = check(a.out, a.corpus)
    for p in problems:
        print("PROBLEM:", p)
    print("%d samples, %.2f MB, %d problems" % (len(SAMPLES), size / 1e6, len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
