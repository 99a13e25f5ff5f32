#!/usr/bin/env python
"""Build the samples of the other weight formats (torch .bin, GGUF) under samples/.

Usage:
    /tmp/venv/bin/python tools/build_format_samples.py

Run it after tools/build_samples.py (which rewrites samples/expected.tsv without these rows): it
(re)writes its sample folders and adds or updates their rows in samples/expected.tsv. The writers
are tests/formatbuild.py's (stdlib only); running it again rebuilds the same bytes.

* THUDM__chatglm-6b__bin: the real THUDM/chatglm-6b config.json and pytorch_model.bin.index.json
  (corpus), with 8 HEADER-ONLY torch .bin shards as torch.save writes them: the zip structure and
  the real tensor names per shard, shapes/dtypes from samples/THUDM__chatglm-6b (derived there from
  config.json), every storage record EMPTY (a metadata-only copy; the directory says 0 bytes).
* TheBloke__Llama-2-7B-GGUF: a GGUF-only repo (no config.json), CONSTRUCTED as llama.cpp's convert
  writes Llama-2-7B at Q4_K_M: the metadata keys and values from the real config.json of
  samples/TheBloke__Llama-2-7B-fp16, 32,000 SYNTHESIZED tokens (the real vocabulary is not in the
  corpus; the SentencePiece specials and byte tokens are laid out as in Llama-2's), tensor names,
  shapes and Q4_K_M types as llama.cpp writes them. HEADER-ONLY: the file ends after the metadata.
"""

from __future__ import annotations

import csv
import json
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from formatbuild import gguf_bytes, torch_zip  # noqa: E402

SAMPLES = ROOT / "samples"
CORPUS = ROOT / "corpus"
MARKER = "Built by tools/build_format_samples.py"
ROWS = {
    "THUDM__chatglm-6b__bin": ("decoder", "chatglm1", "chatglm", "chatglm-6b"),
    "TheBloke__Llama-2-7B-GGUF": ("decoder", "llama", "llama", "Llama-2-7B"),
}


def _headers(folder: Path) -> dict[str, tuple[str, list[int]]]:
    out: dict[str, tuple[str, list[int]]] = {}
    for p in sorted(folder.glob("*.safetensors")):
        raw = p.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        for k, v in json.loads(raw[8: 8 + n]).items():
            if k != "__metadata__":
                out[k] = (v["dtype"], v["shape"])
    return out


def build_chatglm_bin() -> None:
    slug = "THUDM__chatglm-6b__bin"
    out = SAMPLES / slug
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    src = CORPUS / "THUDM__chatglm-6b"
    shutil.copyfile(src / "config.json", out / "config.json")
    shutil.copyfile(src / "weight_map.json", out / "pytorch_model.bin.index.json")
    shapes = _headers(SAMPLES / "THUDM__chatglm-6b")
    wm = json.loads((src / "weight_map.json").read_text())["weight_map"]
    shards: dict[str, dict[str, tuple[str, list[int]]]] = {}
    for name, shard in wm.items():
        shards.setdefault(shard, {})[name] = shapes[name]
    for shard, tensors in sorted(shards.items()):
        (out / shard).write_bytes(torch_zip(tensors, prefix=shard.rsplit(".", 1)[0], data_bytes=0))
    (out / "SOURCE.md").write_text(
        (src / "SOURCE.md").read_text()
        + f"\n## This sample\n{MARKER}: config.json and pytorch_model.bin.index.json (= corpus weight_map.json) copied "
        "byte for byte; the .bin shards are constructed (see README.md).\n")
    (out / "README.md").write_text(
        f"# {slug}\n\n{MARKER}. THUDM/chatglm-6b as it ships: pytorch .bin shards, no safetensors.\n\n"
        "- REAL: `config.json`, `pytorch_model.bin.index.json` (copied from corpus/THUDM__chatglm-6b).\n"
        "- CONSTRUCTED: 8 header-only torch.save zip shards `pytorch_model-0000N-of-00008.bin`: stored members, "
        "64-byte aligned, `<prefix>/data.pkl` first (protocol-2 pickle of a dict of `_rebuild_tensor_v2` tensors "
        "with `('storage', torch.HalfStorage, key, 'cpu', numel)` persistent ids), the real tensor names per "
        "shard, shapes and dtypes from samples/THUDM__chatglm-6b (derived from config.json there). Every "
        "`data/<key>` record is EMPTY: a metadata-only copy, like the header-only safetensors samples.\n"
        f"- expected verdict: {' / '.join(ROWS[slug])}\n")


def llama2_gguf() -> bytes:
    cfg = json.loads((SAMPLES / "TheBloke__Llama-2-7B-fp16" / "config.json").read_text())
    h, layers, inter, heads, vocab = (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"],
                                      cfg["num_attention_heads"], cfg["vocab_size"])
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [f"\u2581t{i}" for i in range(vocab - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (vocab - 259)
    kv = [
        ("general.architecture", "str", "llama"), ("general.name", "str", "LLaMA v2"),
        ("llama.context_length", "u32", 4096), ("llama.embedding_length", "u32", h), ("llama.block_count", "u32", layers),
        ("llama.feed_forward_length", "u32", inter), ("llama.rope.dimension_count", "u32", h // heads),
        ("llama.attention.head_count", "u32", heads), ("llama.attention.head_count_kv", "u32", heads),
        ("llama.attention.layer_norm_rms_epsilon", "f32", cfg["rms_norm_eps"]), ("general.file_type", "u32", 15),
        ("tokenizer.ggml.model", "str", "llama"), ("tokenizer.ggml.tokens", "arr", ("str", tokens)),
        ("tokenizer.ggml.scores", "arr", ("f32", [0.0] * vocab)), ("tokenizer.ggml.token_type", "arr", ("i32", types)),
        ("tokenizer.ggml.bos_token_id", "u32", 1), ("tokenizer.ggml.eos_token_id", "u32", 2),
        ("tokenizer.ggml.unknown_token_id", "u32", 0), ("general.quantization_version", "u32", 2),
    ]
    tensors = [("token_embd.weight", "Q4_K", [h, vocab])]
    for i in range(layers):
        down = "Q6_K" if i < layers // 8 or i >= 7 * layers // 8 or (i - layers // 8) % 3 == 2 else "Q4_K"
        tensors += [(f"blk.{i}.attn_q.weight", "Q4_K", [h, h]), (f"blk.{i}.attn_k.weight", "Q4_K", [h, h]),
                    (f"blk.{i}.attn_v.weight", down, [h, h]), (f"blk.{i}.attn_output.weight", "Q4_K", [h, h]),
                    (f"blk.{i}.ffn_gate.weight", "Q4_K", [h, inter]), (f"blk.{i}.ffn_down.weight", down, [inter, h]),
                    (f"blk.{i}.ffn_up.weight", "Q4_K", [h, inter]), (f"blk.{i}.attn_norm.weight", "F32", [h]),
                    (f"blk.{i}.ffn_norm.weight", "F32", [h])]
    tensors += [("output_norm.weight", "F32", [h]), ("output.weight", "Q6_K", [h, vocab])]
    prefix, _data = gguf_bytes(kv, tensors)
    return prefix


def build_llama2_gguf() -> None:
    slug = "TheBloke__Llama-2-7B-GGUF"
    out = SAMPLES / slug
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    (out / "llama-2-7b.Q4_K_M.gguf").write_bytes(llama2_gguf())
    (out / "SOURCE.md").write_text(
        f"# {slug}\n\n- model_id: TheBloke/Llama-2-7B-GGUF (layout of the files llama.cpp's convert writes)\n"
        "- family: llama\n- confidence: high (constructed)\n"
        "- config_source_path: samples/TheBloke__Llama-2-7B-fp16/config.json (real, from the corpus)\n\n"
        f"## This sample\n{MARKER}: everything here is CONSTRUCTED (see README.md).\n")
    (out / "README.md").write_text(
        f"# {slug}\n\n{MARKER}. A GGUF-only repo: no config.json, no safetensors.\n\n"
        "- CONSTRUCTED: `llama-2-7b.Q4_K_M.gguf`, GGUF v3, HEADER-ONLY (metadata and tensor infos; the file ends "
        "where the tensor data would start). Metadata keys as llama.cpp writes them for Llama-2-7B, values "
        "from the real config.json of TheBloke/Llama-2-7B-fp16; the 32,000 tokens are SYNTHESIZED (`<unk>`, "
        "`<s>`, `</s>`, 256 byte tokens, then placeholders), with scores and token types; Q4_K_M tensor "
        "types (Q4_K, Q6_K for output and some attn_v/ffn_down, F32 norms).\n"
        f"- expected verdict: {' / '.join(ROWS[slug])}\n")


def update_expected() -> None:
    path = SAMPLES / "expected.tsv"
    with path.open() as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and r[0] not in ROWS]
    rows += [[slug, *ROWS[slug]] for slug in ROWS]
    with path.open("w", newline="") as fh:
        csv.writer(fh, delimiter="\t", lineterminator="\n").writerows(rows)


def main() -> None:
    build_chatglm_bin()
    build_llama2_gguf()
    update_expected()
    for slug in ROWS:
        size = sum(p.stat().st_size for p in (SAMPLES / slug).iterdir())
        print(f"{slug:40} {size / 1e3:8.1f} kB")


if __name__ == "__main__":
    main()
