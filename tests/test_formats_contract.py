"""The contract every weights format keeps: read from disk (LocalOpener) and from the Hub (HubOpener),
the same files give the same snapshot. A new format adds its case to CASES (a test checks that every
registered format has one), nothing else here.

Repos are the samples' real files (header-only safetensors, chatglm's .bin shards) or synthetic GGUF.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES
from fakehub import from_folder, safetensors_file
from test_formats import synthetic_gguf

from inspector.api import Inspector
from inspector.formats.registry import FORMATS, shards_to_read
from inspector.sources.local import read_local

LLAMA7 = SAMPLES / "TheBloke__Llama-2-7B-fp16"
CHATGLM_BIN = SAMPLES / "THUDM__chatglm-6b__bin"


def _copy(src: Path, dst: Path, pick: dict[str, str] | None = None) -> None:
    """The folder, or only `pick` ({name in src: name in dst}) and its config."""
    if pick is None:
        shutil.copytree(src, dst)
        return
    dst.mkdir()
    shutil.copy(src / "config.json", dst / "config.json")
    for a, b in pick.items():
        shutil.copy(src / a, dst / b)


def _gguf(dst: Path) -> None:
    dst.mkdir()
    (dst / "m.Q8_0.gguf").write_bytes(synthetic_gguf())


CASES = {
    "safetensors-index": ("safetensors", lambda d: _copy(LLAMA7, d)),
    "safetensors-single": ("safetensors", lambda d: _copy(LLAMA7, d, {"model-00001-of-00003.safetensors": "model.safetensors"})),
    "bin-index": ("bin", lambda d: _copy(CHATGLM_BIN, d)),
    "bin-single": ("bin", lambda d: _copy(CHATGLM_BIN, d, {"pytorch_model-00001-of-00008.bin": "pytorch_model.bin"})),
    "gguf": ("gguf", _gguf),
}

FACTS = ("weights_format", "shards_total", "shards_read", "total_size", "config", "weights_error", "weights_invalid")


def test_every_registered_format_has_a_contract_case():
    assert {f.name for f in FORMATS} <= {fmt for fmt, _ in CASES.values()}


@pytest.mark.parametrize("headers", ["all", "none"])
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("sharded", [True, False], ids=["sharded-metadata", "ranged"])
def test_disk_and_hub_give_the_same_snapshot(tmp_path, hub, hub_client, insp, case, headers, sharded):
    folder = tmp_path / "repo"
    CASES[case][1](folder)
    hub.add_repo("org/repo", from_folder(folder))
    hub_client.sharded_metadata = sharded
    local = read_local(str(folder), headers=headers)
    remote = Inspector(insp.rules, client=hub_client, headers=headers).snapshot("org/repo")
    assert not local.weights_invalid, local.weights_error
    assert {k: getattr(remote, k) for k in FACTS} == {k: getattr(local, k) for k in FACTS}
    assert remote.tensors == local.tensors
    assert local.tensors or headers == "none"  # a single file without an index names nothing unread


@pytest.mark.parametrize("headers, every, want", [
    ("none", True, []),
    ("all", False, ["a", "b", "c"]),
    ("default", True, ["a", "b", "c"]),
    ("default", False, ["b"]),
])
def test_the_headers_mode_has_one_meaning(headers, every, want):
    assert shards_to_read(headers, ["a", "b", "c"], lambda: ["b"], every) == want


@pytest.fixture
def low_tensor_limit(monkeypatch):
    """The 400,000-tensor limit per repo, lowered to 1,000 so that a test repo passes it cheaply."""
    import inspector.formats.registry as formats
    import inspector.formats.safetensors_header as sh

    monkeypatch.setattr(sh, "MAX_TENSORS", 1_000)
    monkeypatch.setattr(formats, "MAX_TENSORS", 1_000)


def _past_the_limit(folder: Path) -> None:
    # The index names one tensor a shard (the limit is not passed there); the headers hold 600 each.
    folder.mkdir()
    wm = {}
    for i, lead in enumerate(("model.embed_tokens.weight", "lm_head.weight")):
        shard = f"model-{i + 1:05d}-of-00002.safetensors"
        tensors = {lead: ("F16", [8, 8])} | {f"model.layers.{i}.x{j}.weight": ("F16", [8]) for j in range(599)}
        (folder / shard).write_bytes(safetensors_file(tensors).prefix)
        wm[lead] = shard
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))


@pytest.mark.parametrize("where", ["disk", "hub-ranged", "hub-sharded-metadata"])
def test_the_tensor_limit_per_repo_holds_from_disk_and_hub(tmp_path, hub, hub_client, insp, low_tensor_limit, where):
    folder = tmp_path / "synthetic-past-the-limit"
    _past_the_limit(folder)
    if where == "disk":
        snap = read_local(str(folder), headers="all")
    else:
        hub.add_repo("org/many", from_folder(folder))
        hub_client.sharded_metadata = where == "hub-sharded-metadata"
        snap = Inspector(insp.rules, client=hub_client, headers="all").snapshot("org/many")
    assert snap.weights_invalid and "1000 tensors" in snap.weights_error, snap.weights_error
