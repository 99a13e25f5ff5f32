"""Tokenizer evidence (--with-tokenizer): specials, base vocabulary, class, chat-template digest.

The tokenizer_config.json contents are written here after the public files of Qwen2.5-7B-Instruct,
Meta-Llama-3-8B and THUDM/chatglm-6b (the keys that matter, values as published).
"""

from __future__ import annotations

import json

import pytest

from inspector.api import Inspector
from inspector.formats.tokenizer import from_tokenizer_config, read_tokenizer_json_head
from inspector.transport.ranged import LocalRangeFile

_FLAGS = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                 "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                 "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
QWEN_PLAIN = ["<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
              "<|repo_name|>", "<|file_sep|>"]
QWEN_TEMPLATE = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}"


def qwen25_tokenizer_config() -> dict:
    dec = {str(151643 + i): {"content": t, **_FLAGS, "special": True} for i, t in enumerate(QWEN_SPECIALS)}
    dec |= {str(151657 + i): {"content": t, **_FLAGS, "special": False} for i, t in enumerate(QWEN_PLAIN)}
    return {"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": dec,
            "additional_special_tokens": QWEN_SPECIALS[1:], "bos_token": None, "chat_template": QWEN_TEMPLATE,
            "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>", "errors": "replace",
            "model_max_length": 131072, "pad_token": "<|endoftext|>", "split_special_tokens": False,
            "tokenizer_class": "Qwen2Tokenizer", "unk_token": None}


def llama3_tokenizer_config() -> dict:
    names = ["<|begin_of_text|>", "<|end_of_text|>"] + [f"<|reserved_special_token_{i}|>" for i in range(254)]
    dec = {str(128000 + i): {"content": t, **_FLAGS, "special": True} for i, t in enumerate(names)}
    return {"added_tokens_decoder": dec, "bos_token": "<|begin_of_text|>", "clean_up_tokenization_spaces": True,
            "eos_token": "<|end_of_text|>", "model_input_names": ["input_ids", "attention_mask"],
            "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "PreTrainedTokenizerFast"}


CHATGLM6B_TOKENIZER_CONFIG = {
    "name_or_path": "THUDM/chatglm-6b", "bos_token": "<sop>", "eos_token": "<eop>", "end_token": "</s>",
    "gmask_token": "[gMASK]", "mask_token": "[MASK]", "pad_token": "<pad>", "unk_token": "<unk>",
    "remove_space": False, "do_lower_case": False, "tokenizer_class": "ChatGLMTokenizer", "num_image_tokens": 0,
    "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]},
}

# A llamafied Qwen-7B whose embeddings were extended to 160,000 rows (domain tokens added for a
# fine-tune): the config carries LLaMA's tag and Llama-2-7B's shape, and no vocab_size rule knows
# 160000. Only the tokenizer still says Qwen. (Constructed case; dims are Qwen-7B's real ones.)
HARD_CASE_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
                    "intermediate_size": 11008, "num_attention_heads": 32, "num_hidden_layers": 32,
                    "num_key_value_heads": 32, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6,
                    "rope_theta": 10000.0, "tie_word_embeddings": False, "vocab_size": 160000, "torch_dtype": "bfloat16"}


def hard_case_files() -> dict[str, bytes]:
    tc = qwen25_tokenizer_config()
    tc["added_tokens_decoder"] |= {str(151665 + i): {"content": f"\u672f\u8bed{i}", **_FLAGS, "special": False} for i in range(50)}
    return {"config.json": json.dumps(HARD_CASE_CONFIG, indent=2).encode(),
            "tokenizer_config.json": json.dumps(tc, indent=2, ensure_ascii=False).encode()}


def write_folder(path, files: dict[str, bytes]):
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def test_qwen_config_gives_specials_base_vocab_and_template_digest():
    ev = from_tokenizer_config(json.dumps(qwen25_tokenizer_config()).encode(), "x")
    assert ev["tokenizer_class"] == "Qwen2Tokenizer" and ev["base_vocab"] == 151643
    assert ev["special_tokens"][:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert "<tool_call>" not in ev["special_tokens"]  # added but not special
    assert len(ev["chat_template_sha256"]) == 64


def test_llama3_and_chatglm_configs():
    ev = from_tokenizer_config(json.dumps(llama3_tokenizer_config()).encode(), "x")
    assert ev["base_vocab"] == 128000 and "<|begin_of_text|>" in ev["special_tokens"]
    ev = from_tokenizer_config(json.dumps(CHATGLM6B_TOKENIZER_CONFIG).encode(), "x")
    assert {"[gMASK]", "<sop>", "<eop>"} <= set(ev["special_tokens"]) and "base_vocab" not in ev


def test_tokenizer_json_head_read_stops_before_the_vocabulary(tmp_path):
    doc = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": 151643 + i, "content": t, **_FLAGS, "special": True} for i, t in enumerate(QWEN_SPECIALS)],
           "normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "ByteLevel"}, "post_processor": None, "decoder": None,
           "model": {"type": "BPE", "dropout": None, "vocab": {f"t{i}": i for i in range(151643)},
                     "merges": [f"t{i} t{i + 1}" for i in range(150000)]}}
    p = tmp_path / "tokenizer.json"
    p.write_text(json.dumps(doc, indent=2))
    src = LocalRangeFile(p)
    ev, _ = read_tokenizer_json_head(src)
    assert ev["base_vocab"] == 151643 and ev["tokenizer_model"] == "BPE" and "<|im_start|>" in ev["special_tokens"]
    assert src.io.bytes <= 32_768 and src.io.requests == 1 and p.stat().st_size > 5_000_000


def test_long_added_tokens_grow_the_read(tmp_path):
    doc = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": 100000 + i, "content": f"<|tok_{i}|>", **_FLAGS, "special": True} for i in range(2000)],
           "model": {"type": "Unigram", "vocab": [["x", 0.0]] * 10000}}
    p = tmp_path / "tokenizer.json"
    p.write_text(json.dumps(doc))
    src = LocalRangeFile(p)
    ev, used = read_tokenizer_json_head(src)
    assert len(ev["special_tokens"]) == 1024 and ev["tokenizer_model"] == "Unigram" and ev["base_vocab"] == 100000
    assert src.io.bytes <= 2 * used


@pytest.mark.parametrize("raw", [b"[1, 2]", b"{\"version\": ", b"\xff\xfe", b"{\"added_tokens\": [}"])
def test_broken_tokenizer_json_is_invalid_data(tmp_path, raw):
    from inspector.errors import InvalidData

    p = tmp_path / "tokenizer.json"
    p.write_bytes(raw)
    with pytest.raises(InvalidData):
        read_tokenizer_json_head(LocalRangeFile(p))


def test_hard_case_is_decided_by_the_tokenizer(tmp_path, ruleset):
    folder = write_folder(tmp_path / "llamafied-qwen-160k", hard_case_files())
    plain = Inspector(ruleset).inspect(str(folder))
    withtok = Inspector(ruleset, with_tokenizer=True).inspect(str(folder))
    assert plain.lineage != "qwen"
    assert withtok.lineage == "qwen" and withtok.mismatch
    fired = {e.rule for e in withtok.evidence}
    assert {"tokenizer.qwen-base-vocab", "tokenizer.qwen-specials", "tokenizer.not-llama-qwen-vocab"} <= fired


def test_chatglm_tokenizer_rule(tmp_path, ruleset):
    cfg = {"architectures": ["ChatGLMModel"], "hidden_size": 4096, "num_layers": 28, "vocab_size": 130528}
    folder = write_folder(tmp_path / "glm", {"config.json": json.dumps(cfg).encode(),
                                             "tokenizer_config.json": json.dumps(CHATGLM6B_TOKENIZER_CONFIG).encode()})
    v = Inspector(ruleset, with_tokenizer=True).inspect(str(folder))
    assert v.lineage == "chatglm" and "tokenizer.chatglm" in {e.rule for e in v.evidence}


def test_a_broken_tokenizer_config_is_noted_not_fatal(tmp_path, ruleset):
    folder = write_folder(tmp_path / "m", {"config.json": json.dumps(HARD_CASE_CONFIG).encode(),
                                           "tokenizer_config.json": b"{not json"})
    insp = Inspector(ruleset, with_tokenizer=True)
    snap = insp.snapshot(str(folder))
    assert "not valid JSON" in snap.tokenizer["error"]
    assert insp.inspect(str(folder)).status == "no_weights_metadata"  # config only: usable, not invalid
