"""GGUF reader: header, typed metadata and tensor infos by growing range reads; never the weights.

GGUF files are built by the tests: with llama.cpp's own `gguf` package (the reference writer and
reader, used when it is installed) and with tests/formatbuild.py's writer for realistic sizes.
"""

from __future__ import annotations

import random
import struct

import pytest
from conftest import SAMPLES
from formatbuild import gguf_bytes

from inspector.errors import InvalidData
from inspector.formats.gguf import MAX_KEPT_STRING, gguf_config, gguf_tokenizer, read_gguf
from inspector.transport.ranged import LocalRangeFile

LLAMA2_GGUF = SAMPLES / "TheBloke__Llama-2-7B-GGUF"


def qwen_tokens(total: int = 151936, base: int = 151643) -> list[str]:
    """A vocabulary shaped like Qwen2's: 151,643 BPE tokens (synthesized, growing longer like real
    merges do), the 208 Qwen specials from id 151643, then llama.cpp's [PAD] fillers to the config size."""
    rnd = random.Random(0)
    alpha = "abcdefghijklmnopqrstuvwxyz\u0120"
    toks = ["".join(rnd.choice(alpha) for _ in range(1 + min(15, int(i**0.25)))) for i in range(base)]
    toks += ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]
    return toks + [f"[PAD{i}]" for i in range(len(toks), total)]


def qwen2_7b_gguf(arch: str = "qwen2", vocab: list[str] | None = None) -> tuple[bytes, int]:
    """Qwen2.5-7B-Instruct as llama.cpp writes it at Q4_K_M (dims from its config.json)."""
    toks = vocab or qwen_tokens(152064)  # llama.cpp pads the token list to the config's vocab_size
    n_vocab, hidden, layers, inter = len(toks), 3584, 28, 18944
    kv = [("general.architecture", "str", arch), ("general.type", "str", "model"), ("general.name", "str", "Qwen2.5 7B Instruct"),
          ("general.basename", "str", "Qwen2.5"), ("general.size_label", "str", "7B"), (f"{arch}.block_count", "u32", layers),
          (f"{arch}.context_length", "u32", 32768), (f"{arch}.embedding_length", "u32", hidden),
          (f"{arch}.feed_forward_length", "u32", inter), (f"{arch}.attention.head_count", "u32", 28),
          (f"{arch}.attention.head_count_kv", "u32", 4), (f"{arch}.rope.freq_base", "f32", 1e6),
          (f"{arch}.attention.layer_norm_rms_epsilon", "f32", 1e-6), ("general.file_type", "u32", 15),
          ("general.base_model.count", "u32", 1), ("general.base_model.0.repo_url", "str", "https://huggingface.co/Qwen/Qwen2.5-7B"),
          ("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "qwen2"),
          ("tokenizer.ggml.tokens", "arr", ("str", toks)), ("tokenizer.ggml.token_type", "arr", ("i32", [1] * n_vocab)),
          ("tokenizer.ggml.merges", "arr", ("str", [f"{t[:1]} {t[1:]}" for t in toks[300:151387]])),
          ("tokenizer.ggml.eos_token_id", "u32", 151645), ("tokenizer.ggml.add_bos_token", "bool", False),
          ("tokenizer.chat_template", "str", "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>{% endfor %}"),
          ("general.quantization_version", "u32", 2)]
    tensors = [("token_embd.weight", "Q4_K", [hidden, n_vocab]), ("output_norm.weight", "F32", [hidden]),
               ("output.weight", "Q6_K", [hidden, n_vocab])]
    for i in range(layers):
        for name, t, dims in (("attn_q", "Q4_K", [hidden, hidden]), ("attn_k", "Q4_K", [hidden, 512]),
                              ("attn_v", "Q6_K", [hidden, 512]), ("attn_output", "Q4_K", [hidden, hidden]),
                              ("ffn_gate", "Q4_K", [hidden, inter]), ("ffn_up", "Q4_K", [hidden, inter]),
                              ("ffn_down", "Q6_K", [inter, hidden])):
            tensors.append((f"blk.{i}.{name}.weight", t, dims))
        tensors += [(f"blk.{i}.attn_q.bias", "F32", [hidden]), (f"blk.{i}.attn_k.bias", "F32", [512]),
                    (f"blk.{i}.attn_v.bias", "F32", [512]), (f"blk.{i}.attn_norm.weight", "F32", [hidden]),
                    (f"blk.{i}.ffn_norm.weight", "F32", [hidden])]
    return gguf_bytes(kv, tensors)


@pytest.fixture(scope="module")
def qwen_file(tmp_path_factory):
    prefix, data = qwen2_7b_gguf()
    p = tmp_path_factory.mktemp("gguf") / "qwen2.5-7b-instruct-q4_k_m.gguf"
    with p.open("wb") as fh:
        fh.write(prefix)
        fh.truncate(len(prefix) + data)  # sparse: the real size, no real bytes
    return p, len(prefix)


def test_realistic_vocabulary_is_read_within_1_2x_of_what_is_needed(qwen_file):
    path, prefix_len = qwen_file
    src = LocalRangeFile(path)
    info = read_gguf(src)
    assert len(info.tensors) == 3 + 28 * 12 and info.data_offset == prefix_len
    assert src.io.bytes <= 1.2 * info.needed, (src.io.bytes, info.needed)
    assert info.needed < prefix_len - 152064 * 4 + 1  # the token-type array was skipped, not fetched
    assert src.io.requests <= 25
    assert info.token_count == 152064 and "tokenizer.ggml.tokens" in info.metadata
    assert info.metadata["tokenizer.ggml.tokens"] == {"type": "string", "count": 152064}  # not kept


def test_config_and_tokenizer_are_synthesized(qwen_file):
    info = read_gguf(LocalRangeFile(qwen_file[0]))
    cfg = gguf_config(info)
    assert cfg["model_type"] == "qwen2" and cfg["hidden_size"] == 3584 and cfg["num_hidden_layers"] == 28
    assert cfg["num_key_value_heads"] == 4 and cfg["rope_theta"] == 1e6 and cfg["rms_norm_eps"] == 1e-6
    assert cfg["vocab_size"] == 152064 and cfg["tie_word_embeddings"] is False
    assert cfg["quantization_config"] == {"quant_method": "gguf", "file_type": "Q4_K_M"}
    assert cfg["gguf"]["base_models"] == ["https://huggingface.co/Qwen/Qwen2.5-7B"]
    assert info.tensors["token_embd.weight"].shape == (152064, 3584)  # PyTorch order, like the rules
    tok = gguf_tokenizer(info)
    assert tok["base_vocab"] == 151643 and tok["special_tokens"][:2] == ["<|endoftext|>", "<|im_start|>"]
    assert len(tok["chat_template_sha256"]) == 64 and tok["vocab_size"] == 152064


def test_cross_checked_with_the_reference_gguf_package(tmp_path):
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    p = tmp_path / "ref.gguf"
    w = gguf.GGUFWriter(str(p), "llama")
    w.add_block_count(2)
    w.add_embedding_length(64)
    w.add_context_length(4096)
    w.add_feed_forward_length(172)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(["a", "b", "<|begin_of_text|>", "<|end_of_text|>"])
    w.add_token_types([1, 1, 3, 3])
    w.add_file_type(1)
    w.add_name("tiny-llama3")
    w.add_array("llama.some_per_layer", [4, 4])
    w.add_tensor("token_embd.weight", np.zeros((4, 64), dtype=np.float16))
    for i in range(2):
        w.add_tensor(f"blk.{i}.attn_q.weight", np.zeros((64, 64), dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_down.weight", np.zeros((64, 172), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    ref = gguf.GGUFReader(str(p))
    info = read_gguf(LocalRangeFile(p))
    assert [t.name for t in ref.tensors] == list(info.tensors)
    for t in ref.tensors:
        assert info.tensors[t.name].shape == tuple(int(d) for d in reversed(t.shape.tolist()))
        assert info.tensors[t.name].dtype == t.tensor_type.name
    assert info.data_offset == ref.tensors[0].data_offset
    for key in ("general.architecture", "llama.block_count", "llama.rope.freq_base", "llama.attention.head_count_kv"):
        field = ref.fields[key]
        value = field.contents()
        assert info.metadata[key] == pytest.approx(value) if isinstance(value, float) else info.metadata[key] == value
    assert info.metadata["llama.some_per_layer"] == [4, 4]
    cfg = gguf_config(info)
    assert cfg["rope_theta"] == 500000.0 and cfg["num_key_value_heads"] == 2 and cfg["vocab_size"] == 4


def test_our_writer_is_read_by_the_reference_package(tmp_path):
    gguf = pytest.importorskip("gguf")
    prefix, data = gguf_bytes([("general.architecture", "str", "llama"), ("llama.block_count", "u32", 1),
                               ("tokenizer.ggml.tokens", "arr", ("str", ["<s>", "x"]))],
                              [("token_embd.weight", "F16", [8, 2]), ("blk.0.attn_q.weight", "Q8_0", [32, 8])])
    p = tmp_path / "ours.gguf"
    p.write_bytes(prefix + bytes(data))
    ref = gguf.GGUFReader(str(p))
    assert [(t.name, t.shape.tolist()) for t in ref.tensors] == [("token_embd.weight", [8, 2]), ("blk.0.attn_q.weight", [32, 8])]


def test_sample_gguf_repo(insp):
    v = insp.inspect(str(LLAMA2_GGUF))
    assert (v.status, v.kind, v.layout, v.lineage, v.base) == ("ok", "decoder", "llama", "llama", "Llama-2-7B")
    snap = insp.snapshot(str(LLAMA2_GGUF))
    assert snap.config_origin == "gguf:llama-2-7b.Q4_K_M.gguf" and snap.weights_format == "gguf"
    assert snap.config["rms_norm_eps"] == 1e-5 and v.params_exact and v.dtypes["Q4_K"] > 100


def test_a_single_gguf_file_can_be_inspected(insp):
    v = insp.inspect(str(LLAMA2_GGUF / "llama-2-7b.Q4_K_M.gguf"))
    assert v.status == "ok" and v.lineage == "llama"


# --- hostile and broken files ---------------------------------------------------------------------


def small(kv=(), tensors=(("token_embd.weight", "F32", [4, 4]),), version=3) -> bytes:
    prefix, data = gguf_bytes(list(kv) or [("general.architecture", "str", "llama")], list(tensors), version=version)
    return prefix + bytes(data)


def _patch(raw: bytes, at: int, fmt: str, value) -> bytes:
    return raw[:at] + struct.pack(fmt, value) + raw[at + struct.calcsize(fmt):]


@pytest.mark.parametrize("make, msg", [
    (lambda: b"GGML" + small()[4:], "not a GGUF"),
    (lambda: small(version=1), "v1"),
    (lambda: _patch(small(), 4, ">I", 3), "big-endian"),
    (lambda: _patch(small(), 16, "<Q", 2**40), "claims"),
    (lambda: _patch(small(), 24, "<Q", 2**40), "key of"),
    (lambda: small()[:40], "ends at byte"),
    (lambda: small(kv=[("a", "bool", 1)]).replace(b"\x01\x00\x00\x00\x00\x00\x00\x00a\x07\x00\x00\x00\x01", b"\x01\x00\x00\x00\x00\x00\x00\x00a\x07\x00\x00\x00\x02"), "bool"),
    (lambda: small(kv=[("a", "u32", 1)]).replace(b"a\x04\x00\x00\x00", b"a\x63\x00\x00\x00"), "unknown type"),
    (lambda: small(kv=[("a", "str", "x")]) + b"", None),
])
def test_broken_files(tmp_path, make, msg):
    p = tmp_path / "f.gguf"
    p.write_bytes(make())
    if msg is None:
        read_gguf(LocalRangeFile(p))
        return
    with pytest.raises(InvalidData, match=msg):
        read_gguf(LocalRangeFile(p))


def test_a_huge_string_is_skipped_not_fetched(tmp_path):
    prefix, _ = gguf_bytes([("general.architecture", "str", "llama"), ("blob", "str", "x" * (MAX_KEPT_STRING + 1))],
                           [("token_embd.weight", "F32", [4, 4])])
    p = tmp_path / "f.gguf"
    p.write_bytes(prefix)
    src = LocalRangeFile(p)
    info = read_gguf(src)
    assert info.metadata["blob"] == {"type": "string", "bytes": MAX_KEPT_STRING + 1}
    assert src.io.bytes < MAX_KEPT_STRING // 4


def test_a_length_past_the_file_is_refused_without_reading_it(tmp_path):
    raw = small(kv=[("general.architecture", "str", "llama"), ("x", "arr", ("u8", [1] * 2000))])
    at = raw.index(b"x\x09\x00\x00\x00") + 9
    p = tmp_path / "f.gguf"
    p.write_bytes(_patch(raw, at, "<Q", 2**50))
    with pytest.raises(InvalidData, match="past the end"):
        read_gguf(LocalRangeFile(p))


def test_random_corruption_only_ever_raises_invalid_data(tmp_path):
    base = small(kv=[("general.architecture", "str", "llama"), ("tokenizer.ggml.tokens", "arr", ("str", ["<s>", "a", "bb"]))])
    rnd = random.Random(3)
    p = tmp_path / "f.gguf"
    for _ in range(400):
        b = bytearray(base)
        for _ in range(rnd.randint(1, 6)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        p.write_bytes(bytes(b))
        try:
            read_gguf(LocalRangeFile(p))
        except InvalidData as e:
            assert "\n" not in e.one_line()
