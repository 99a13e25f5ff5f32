"""torch .bin (torch.save zip) reader: names, dtypes, shapes from data.pkl, never unpickled.

Every .bin here is built by tests/formatbuild.py (CPython's own pickler with torch's reduce
protocol, torch's zip layout); samples/THUDM__chatglm-6b__bin by tools/build_format_samples.py.
"""

from __future__ import annotations

import json
import pickle
import random
import struct

import pytest
from conftest import SAMPLES
from formatbuild import Call, Global, legacy_torch, raw_pickle, state_pickle, torch_zip, zip_archive

from inspector.errors import InvalidData
from inspector.formats.torchzip import MAX_PICKLE_BYTES, read_torch_bin, tensors_from_pickle
from inspector.transport.ranged import LocalRangeFile

CHATGLM_BIN = SAMPLES / "THUDM__chatglm-6b__bin"

TENSORS = {
    "model.embed_tokens.weight": ("BF16", [32000, 4096]),
    "model.layers.0.self_attn.q_proj.weight": ("F16", [4096, 4096]),
    "model.layers.0.input_layernorm.weight": ("F32", [4096]),
    "model.layers.0.self_attn.rotary_emb.inv_freq": ("F32", [64]),
    "lm_head.weight": ("F16", [32000, 4096]),
    "position_ids": ("I64", [1, 2048]),
    "mask": ("BOOL", [8, 8]),
    "scalar": ("F32", []),
}


@pytest.fixture(autouse=True)
def no_unpickling(monkeypatch):
    """The reader must never reach pickle's loaders: any call fails the test."""

    def refuse(*a, **k):
        raise AssertionError("pickle loader called")

    for name in ("load", "loads", "Unpickler", "_Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)


def write(tmp_path, data: bytes, name: str = "pytorch_model.bin"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def read(path, **kw):
    src = LocalRangeFile(path)
    return read_torch_bin(src, file=path.name, **kw), src


def expect(tensors):
    return {k: (d, tuple(s)) for k, (d, s) in tensors.items()}


def got(res):
    return {k: (t.dtype, t.shape) for k, t in res.tensors.items()}


@pytest.mark.parametrize("ordered", [False, True])
def test_names_dtypes_shapes_round_trip(tmp_path, ordered):
    pkl, _ = state_pickle(TENSORS, ordered_metadata=ordered)
    assert tensors_from_pickle(pkl, "x") and {k: (t.dtype, t.shape) for k, t in tensors_from_pickle(pkl, "x").items()} == expect(TENSORS)
    res, _ = read(write(tmp_path, torch_zip(TENSORS, data_bytes=None)))
    assert got(res) == expect(TENSORS) and res.note is None


def test_zip64_archive(tmp_path):
    res, _ = read(write(tmp_path, torch_zip(TENSORS, zip64=True)))
    assert got(res) == expect(TENSORS)


def test_archive_comment_and_other_prefix(tmp_path):
    res, _ = read(write(tmp_path, torch_zip(TENSORS, prefix="archive", comment=b"PK\x05\x06 fake eocd in a comment")))
    assert got(res) == expect(TENSORS)


def test_deflated_data_pkl_is_inflated_within_a_cap(tmp_path):
    res, _ = read(write(tmp_path, torch_zip(TENSORS, compress=["data.pkl"])))
    assert got(res) == expect(TENSORS)
    bomb = zip_archive([("archive/data.pkl", b"\x00" * (MAX_PICKLE_BYTES + 10))], compress=["archive/data.pkl"])
    with pytest.raises(InvalidData, match="limit|inflates past"):
        read(write(tmp_path, bomb, "bomb.bin"))


def test_reads_only_the_metadata_of_a_full_shard(tmp_path):
    """A shard with its data present: bytes read stay within 1.2x of EOCD + directory + data.pkl."""
    wm = json.loads((CHATGLM_BIN / "pytorch_model.bin.index.json").read_text())["weight_map"]
    names = [n for n, s in wm.items() if s == "pytorch_model-00002-of-00008.bin"]
    tensors = {n: ("F16", [64, 64]) for n in names}
    path = write(tmp_path, torch_zip(tensors, prefix="pytorch_model-00002-of-00008", data_bytes=None),
                 "pytorch_model-00002-of-00008.bin")
    res, src = read(path, names=names)
    assert set(res.tensors) == set(names)
    assert src.io.bytes <= 1.2 * res.needed, (src.io.bytes, res.needed)
    assert src.io.requests <= 3
    assert src.io.bytes < path.stat().st_size / 10


def test_sample_shards_match_the_safetensors_sample(insp):
    v = insp.inspect(str(CHATGLM_BIN))
    assert (v.status, v.kind, v.layout, v.lineage) == ("ok", "decoder", "chatglm1", "chatglm")
    snap = insp.snapshot(str(CHATGLM_BIN))
    ref = insp.snapshot(str(SAMPLES / "THUDM__chatglm-6b"))
    read_shapes = {k: (t.dtype, t.shape) for k, t in snap.tensors.items() if t.shape is not None}
    assert read_shapes and all(ref.tensors[k].shape == s and ref.tensors[k].dtype == d for k, (d, s) in read_shapes.items())
    assert set(snap.tensors) == set(ref.tensors) and snap.weights_format == "bin"


def test_headers_all_reads_every_shard(ruleset):
    from inspector.api import Inspector

    snap = Inspector(ruleset, headers="all").snapshot(str(CHATGLM_BIN))
    assert snap.shards_read == snap.shards_total == 8 and all(t.shape is not None for t in snap.tensors.values())


def test_legacy_pickle_is_never_unpickled(tmp_path, insp):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "pytorch_model.bin").write_bytes(legacy_torch() + b"\x00" * 1000)
    res, src = read(folder / "pytorch_model.bin")
    assert res.tensors == {} and "legacy torch pickle" in (res.note or "") and src.io.requests == 1
    v = insp.inspect(str(folder))
    assert v.status == "no_weights_metadata" and "never unpickled" in (v.error or "")


def test_torchscript_archive_is_noted(tmp_path):
    z = zip_archive([("m/data.pkl", raw_pickle({})), ("m/constants.pkl", raw_pickle(())), ("m/code/__torch__/x.py", b"")])
    res, _ = read(write(tmp_path, z))
    assert res.tensors == {} and "TorchScript" in (res.note or "")


# --- hostile input: reported, never run -------------------------------------------------------------


def hostile_pickles(marker) -> dict[str, bytes]:
    cmd = f"touch {marker}"
    inst = b"\x80\x02(X" + struct.pack("<I", len(cmd)) + cmd.encode() + b"ios\nsystem\n."
    return {
        "os.system": raw_pickle({"w": Call(Global("os", "system"), (cmd,))}),
        "posix.system": raw_pickle(Call(Global("posix", "system"), (cmd,))),
        "builtins.eval": raw_pickle({"w": Call(Global("builtins", "eval"), (f"__import__('os').system('{cmd}')",))}, protocol=4),
        "builtins.exec": raw_pickle(Call(Global("builtins", "exec"), ("import os",)), protocol=4),
        "subprocess.Popen": raw_pickle(Call(Global("subprocess", "Popen"), (["touch", str(marker)],))),
        "nested in a tensor": raw_pickle({"w": Call(Global("torch._utils", "_rebuild_tensor_v2"), (Call(Global("os", "system"), (cmd,)), 0, (1,)))}),
        "INST": inst,
    }


@pytest.mark.parametrize("case", ["os.system", "posix.system", "builtins.eval", "builtins.exec", "subprocess.Popen", "nested in a tensor", "INST"])
def test_hostile_pickle_is_reported_not_executed(tmp_path, insp, case):
    marker = tmp_path / "PWNED"
    pkl = hostile_pickles(marker)[case]
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "pytorch_model.bin").write_bytes(torch_zip({}, pickle_bytes=pkl))
    with pytest.raises(InvalidData, match="refused") as e:
        read(folder / "pytorch_model.bin")
    if case == "os.system":
        assert e.value.message == "pickle references os.system: refused, not executed"
    v = insp.inspect(str(folder))
    assert v.status == "invalid" and "refused" in (v.error or "") and "\n" not in v.error
    assert not marker.exists()


@pytest.mark.parametrize("pkl, msg", [
    (b"\x80\x02}q\x00(X\x01\x00\x00\x00ah\x05u.", "memo slot"),
    (b"\x80\x02t.", "mark"),
    (b"\x80\x02\x85.", "underflow"),
    (b"\x80\x02(X\x07\x00\x00\x00storageX\x01\x00\x00\x00xtQ.", "persistent id"),
    (b"\x80\x02\x82\x01.", "extension registry"),
    (b"\x80\x02X\x01\x00\x00\x00a", "before seeing STOP|without STOP"),
    (b"\x80\x02\xff.", "not a valid pickle"),
    (b"\x80\x02}q\x00X\x01\x00\x00\x00aa.", "not a list"),
])
def test_malformed_pickles(pkl, msg):
    with pytest.raises(InvalidData, match=msg):
        tensors_from_pickle(pkl, "x")


def test_impossible_shapes_are_refused():
    pkl, _ = state_pickle({"w": ("F16", [2**60, 2])})
    with pytest.raises(InvalidData, match="invalid dimension"):
        tensors_from_pickle(pkl, "x")


@pytest.mark.parametrize("mutate, msg", [
    (lambda z: z[:-10], "end-of-central-directory|cut short"),
    (lambda z: z[:200] + b"\x00" * (len(z) - 200), "end-of-central-directory"),
    (lambda z: b"\x7fELF" + z[4:], "not a torch zip"),
    (lambda z: z[:-6] + struct.pack("<I", 2**31) + z[-2:], "central directory|past"),
])
def test_broken_archives(tmp_path, mutate, msg):
    with pytest.raises(InvalidData, match=msg):
        read(write(tmp_path, mutate(torch_zip(TENSORS))))


def test_crc_is_checked(tmp_path):
    z = bytearray(torch_zip(TENSORS))
    at = z.index(b"model.embed_tokens")
    z[at] ^= 0x20
    with pytest.raises(InvalidData, match="CRC"):
        read(write(tmp_path, bytes(z)))


def test_random_corruption_only_ever_raises_invalid_data(tmp_path):
    base = torch_zip(TENSORS, data_bytes=64)
    rnd = random.Random(8)
    p = tmp_path / "f.bin"
    for _ in range(300):
        z = bytearray(base)
        for _ in range(rnd.randint(1, 8)):
            z[rnd.randrange(len(z))] = rnd.randrange(256)
        if rnd.random() < 0.2:
            z = z[: rnd.randrange(len(z))]
        p.write_bytes(bytes(z))
        try:
            read(p)
        except InvalidData as e:
            assert "\n" not in e.one_line()
