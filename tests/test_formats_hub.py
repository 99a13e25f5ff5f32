"""The .bin, GGUF and tokenizer readers through the fake Hub: verdicts, and bytes within 1.2x of need.

Repos are built by the tests (tests/formatbuild.py) from the samples' real names, shapes and configs.
"""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES
from fakehub import VirtualFile, from_folder
from formatbuild import Call, Global, legacy_torch, raw_pickle, torch_zip
from test_gguf import qwen2_7b_gguf
from test_tokenizer import hard_case_files

from inspector.api import Inspector
from inspector.formats.gguf import read_gguf
from inspector.formats.torchzip import read_torch_bin
from inspector.transport.ranged import LocalRangeFile

CHATGLM_BIN = SAMPLES / "THUDM__chatglm-6b__bin"


def file_bytes(hub, repo: str, suffix: str) -> int:
    return sum(e.bytes for e in hub.stats.entries(repo_id=repo) if (e.file or "").endswith(suffix))


def needed_bin(tmp_path, name: str, data: bytes, names=None) -> int:
    p = tmp_path / name
    p.write_bytes(data)
    return read_torch_bin(LocalRangeFile(p), file=name, names=names).needed


def chatglm_bin_repo() -> dict:
    """THUDM/chatglm-6b as shipped (.bin shards + index), each storage holding 16 KiB of real data
    so that the metadata sits among real bytes (names/shapes from the sample, sizes scaled down)."""
    files = from_folder(CHATGLM_BIN)
    wm = json.loads(files["pytorch_model.bin.index.json"])["weight_map"]
    ref = Inspector().snapshot(str(SAMPLES / "THUDM__chatglm-6b")).tensors
    shards: dict[str, dict] = {}
    for name, shard in wm.items():
        shards.setdefault(shard, {})[name] = (ref[name].dtype, list(ref[name].shape))
    for shard, tensors in shards.items():
        files[shard] = torch_zip(tensors, prefix=shard.rsplit(".", 1)[0], data_bytes=16_384)
    return files


def test_bin_only_sharded_repo(hub, hub_client, tmp_path, insp):
    files = chatglm_bin_repo()
    hub.add_repo("THUDM/chatglm-6b", files)
    v = Inspector(insp.rules, client=hub_client).inspect("THUDM/chatglm-6b")
    local = insp.inspect(str(CHATGLM_BIN))
    assert (v.status, v.kind, v.layout, v.lineage, v.base) == ("ok", "decoder", "chatglm1", "chatglm", "chatglm-6b")
    assert (v.layout, v.lineage, v.base) == (local.layout, local.lineage, local.base)
    assert v.io["shards_read"] < v.io["shards_total"] == 8  # the evidence shards only
    wm = json.loads(files["pytorch_model.bin.index.json"])["weight_map"]
    read = [s for s in sorted(set(wm.values())) if file_bytes(hub, "THUDM/chatglm-6b", s)]
    need = sum(needed_bin(tmp_path, s, files[s], [n for n, x in wm.items() if x == s]) for s in read)
    got = sum(file_bytes(hub, "THUDM/chatglm-6b", s) for s in read)
    assert got <= 1.2 * need, (got, need)
    assert got < sum(len(files[s]) for s in read) / 20


def test_single_bin_without_index(hub, hub_client, tmp_path, insp):
    cfg = json.loads((SAMPLES / "TheBloke__Llama-2-7B-fp16" / "config.json").read_text())
    tensors = {"model.embed_tokens.weight": ("F16", [32000, 4096]), "lm_head.weight": ("F16", [32000, 4096])}
    for i in range(32):
        for p in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[f"model.layers.{i}.self_attn.{p}.weight"] = ("F16", [4096, 4096])
        for p, s in (("gate_proj", [11008, 4096]), ("up_proj", [11008, 4096]), ("down_proj", [4096, 11008])):
            tensors[f"model.layers.{i}.mlp.{p}.weight"] = ("F16", s)
        tensors[f"model.layers.{i}.input_layernorm.weight"] = ("F16", [4096])
        tensors[f"model.layers.{i}.post_attention_layernorm.weight"] = ("F16", [4096])
    tensors["model.norm.weight"] = ("F16", [4096])
    data = torch_zip(tensors, data_bytes=4_096)
    hub.add_repo("TheBloke/Llama-2-7B-fp16", {"config.json": json.dumps(cfg), "pytorch_model.bin": data,
                                               "training_args.bin": b"not read"})
    v = Inspector(insp.rules, client=hub_client).inspect("TheBloke/Llama-2-7B-fp16")
    assert (v.status, v.layout, v.lineage, v.base) == ("ok", "llama", "llama", "Llama-2-7B")
    assert v.params_exact and v.params == 6_738_415_616
    got = file_bytes(hub, "TheBloke/Llama-2-7B-fp16", "pytorch_model.bin")
    need = needed_bin(tmp_path, "pytorch_model.bin", data)
    assert got <= 1.2 * need, (got, need)
    assert file_bytes(hub, "TheBloke/Llama-2-7B-fp16", "training_args.bin") == 0


def test_gguf_only_repo(hub, hub_client, tmp_path, insp):
    prefix, data_len = qwen2_7b_gguf()
    name = "qwen2.5-7b-instruct-q4_k_m.gguf"
    hub.add_repo("Qwen/Qwen2.5-7B-Instruct-GGUF", {
        name: VirtualFile(prefix, len(prefix) + data_len),
        "qwen2.5-7b-instruct-q8_0.gguf": VirtualFile(prefix, len(prefix) + data_len),
        "README.md": "---\nlicense: apache-2.0\n---\n"})
    v = Inspector(insp.rules, client=hub_client).inspect("Qwen/Qwen2.5-7B-Instruct-GGUF")
    assert (v.status, v.kind, v.layout, v.lineage) == ("ok", "decoder", "llama", "qwen")
    assert v.base in ("Qwen2.5-7B", "Qwen2-7B")  # same shapes: the catalogue cannot tell them apart
    p = tmp_path / name
    p.write_bytes(prefix)
    need = read_gguf(LocalRangeFile(p)).needed
    got = file_bytes(hub, "Qwen/Qwen2.5-7B-Instruct-GGUF", ".gguf")
    assert got <= 1.2 * need, (got, need)
    assert v.io["requests"] <= 40


def test_tokenizer_evidence_decides_a_hub_repo_and_is_counted(hub, hub_client, insp):
    hub.add_repo("someone/llamafied-qwen-160k", hard_case_files())
    plain = Inspector(insp.rules, client=hub_client).inspect("someone/llamafied-qwen-160k")
    withtok = Inspector(insp.rules, client=hub_client, with_tokenizer=True).inspect("someone/llamafied-qwen-160k")
    assert plain.lineage != "qwen" and withtok.lineage == "qwen"
    tok_bytes = len(hard_case_files()["tokenizer_config.json"])
    assert withtok.io["requests"] > plain.io["requests"]
    assert tok_bytes <= withtok.io["bytes"] - plain.io["bytes"] <= 1.2 * tok_bytes


def test_hostile_bin_on_the_hub_is_reported_never_run(hub, hub_client, tmp_path, insp):
    marker = tmp_path / "PWNED"
    pkl = raw_pickle({"w": Call(Global("os", "system"), (f"touch {marker}",))})
    hub.add_repo("evil/model", {"config.json": json.dumps({"model_type": "llama"}), "pytorch_model.bin": torch_zip({}, pickle_bytes=pkl)})
    v = Inspector(insp.rules, client=hub_client).inspect("evil/model")
    assert v.status == "invalid" and v.error == "evil/model/pytorch_model.bin: pickle references os.system: refused, not executed"
    assert not marker.exists()


def test_legacy_bin_costs_one_small_read(hub, hub_client, insp):
    hub.add_repo("old/model", {"config.json": json.dumps({"model_type": "gpt2"}),
                               "pytorch_model.bin": VirtualFile(legacy_torch(), 500_000_000)})
    v = Inspector(insp.rules, client=hub_client).inspect("old/model")
    assert v.status == "no_weights_metadata" and "never unpickled" in v.error
    assert file_bytes(hub, "old/model", ".bin") <= 100_000


def test_a_server_ignoring_range_is_cut_off(hub, hub_client, insp):
    hub.add_repo("THUDM/chatglm-6b", chatglm_bin_repo())
    hub.set_faults(ignore_range=True, kinds=frozenset({"cdn", "cache", "resolve"}))
    v = Inspector(insp.rules, client=hub_client).inspect("THUDM/chatglm-6b")
    assert v.status in ("network_error", "invalid") and "Range" in (v.error or "")
    assert file_bytes(hub, "THUDM/chatglm-6b", ".bin") < 4_000_000


@pytest.mark.parametrize("what", ["bin", "gguf"])
def test_headers_none_reads_no_weights(hub, hub_client, insp, what):
    files = chatglm_bin_repo() if what == "bin" else {"m.gguf": VirtualFile(qwen2_7b_gguf()[0], 10**9)}
    hub.add_repo("x/y", files)
    v = Inspector(insp.rules, client=hub_client, headers="none").inspect("x/y")
    if what == "bin":
        assert v.io["shards_read"] == 0 and file_bytes(hub, "x/y", ".bin") == 0
    else:  # a GGUF is the only source of its config: it is read even then
        assert v.lineage == "qwen"
