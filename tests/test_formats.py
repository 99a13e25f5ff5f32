"""The weights-format registry: which format a listing picks, and a file read alone or in its folder."""

from __future__ import annotations

import shutil
import struct

import pytest
from conftest import SAMPLES

from inspector.formats.registry import FORMATS, format_of_file, read_weights
from inspector.readout import Snapshot
from inspector.sources.local import LocalOpener, read_local
from inspector.transport.localfs import LocalFolder

LLAMA7 = SAMPLES / "TheBloke__Llama-2-7B-fp16"
CHATGLM_BIN = SAMPLES / "THUDM__chatglm-6b__bin"


def synthetic_gguf() -> bytes:
    """One key and one F32 tensor of shape [2, 3] (ggml order 3, 2): the smallest GGUF v3."""
    key, name = b"general.architecture", b"blk.0.attn_q.weight"
    return (b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
            + struct.pack("<Q", 5) + b"llama" + struct.pack("<Q", len(name)) + name + struct.pack("<I", 2)
            + struct.pack("<QQ", 3, 2) + struct.pack("<IQ", 0, 0))


@pytest.mark.parametrize("files, want", [
    (["model.safetensors.index.json", "pytorch_model.bin", "x.gguf"], "safetensors"),
    (["model.safetensors", "pytorch_model.bin"], "safetensors"),
    (["pytorch_model.bin.index.json", "x.gguf"], "bin"),
    (["pytorch_model.bin", "x.gguf"], "bin"),
    (["sub/x.Q4_K_M.gguf", "README.md"], "gguf"),
], ids=["index", "single", "bin-index", "bin", "gguf"])
def test_the_first_format_with_files_in_the_listing_is_picked(files, want):
    picked = next(f for f in FORMATS if f.pick(files) is not None)
    assert picked.name == want


def test_every_format_picks_nothing_from_an_empty_listing_and_has_its_own_suffix():
    assert all(f.pick([]) is None for f in FORMATS)
    assert len({f.suffix for f in FORMATS}) == len(FORMATS)


def test_a_listing_without_weights_gets_a_note_not_an_error(tmp_path):
    snap = Snapshot(target="t", source="local", files=["config.json", "README.md"])
    read_weights(snap, LocalOpener(LocalFolder(tmp_path)), "default")
    assert snap.weights_error == "t: no safetensors, .bin or GGUF weights" and not snap.weights_invalid


@pytest.mark.parametrize("folder, name", [
    (LLAMA7, "model-00001-of-00003.safetensors"),
    (CHATGLM_BIN, "pytorch_model-00001-of-00008.bin"),
], ids=["safetensors", "bin"])
def test_a_file_named_alone_reads_as_it_does_in_its_folder(folder, name):
    alone = read_local(str(folder / name), headers="all")
    whole = read_local(str(folder), headers="all")
    assert alone.tensors and not alone.weights_invalid, alone.weights_error
    assert alone.weights_format == format_of_file(name).name
    for t in alone.tensors.values():
        assert whole.tensors[t.name] == t


def test_a_gguf_named_alone_or_in_a_folder_reads_the_same(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "m.Q8_0.gguf").write_bytes(synthetic_gguf())
    alone, whole = read_local(str(folder / "m.Q8_0.gguf")), read_local(str(folder))
    assert alone.tensors == whole.tensors
    assert alone.tensors["blk.0.attn_q.weight"].shape == (2, 3)
    assert alone.config["model_type"] == "llama" and alone.config_origin == "gguf:m.Q8_0.gguf"


def test_a_single_file_whose_suffix_no_format_reads_is_refused(tmp_path):
    p = tmp_path / "weights.npz"
    p.write_bytes(b"PK")
    from inspector.errors import InvalidData

    with pytest.raises(InvalidData, match="a single file must be"):
        read_local(str(p))


def test_default_reads_every_shard_on_disk(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(LLAMA7, folder)
    snap = read_local(str(folder))
    assert snap.shards_read == snap.shards_total == 3
