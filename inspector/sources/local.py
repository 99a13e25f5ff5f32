"""Read a model folder or a single .safetensors file from disk: headers only, never the data."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidData, TargetNotFound
from ..safetensors_header import header_length, parse_header
from ..snapshot import Snapshot, TensorInfo
from .gguf import fill_gguf
from .plan import (
    MAX_CONFIG_BYTES,
    MAX_INDEX_BYTES,
    bin_files,
    other_index,
    parse_config,
    parse_index,
    pick_gguf,
    plan_weights,
)
from .ranged import LocalRangeFile
from .tokenizer import fill_tokenizer
from .torchzip import fill_bin

MAX_LISTED_FILES = 10_000


def _read_capped(path: Path, cap: int, where: str) -> bytes:
    size = path.stat().st_size
    if size > cap:
        raise InvalidData(f"{path.name} is {size} bytes (limit {cap})", where=where)
    return path.read_bytes()


def read_safetensors_header(path: Path, where: str) -> dict[str, TensorInfo]:
    """Header of a local file. A file cut short after its header (a metadata-only copy) is fine."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        n = header_length(fh.read(8), where, file_size=size)
        raw = fh.read(n)
    if len(raw) < n:
        raise InvalidData(f"safetensors header is cut short ({len(raw)} of {n} bytes)", where=where)
    # The data section may be absent on purpose (metadata-only copies end right after the header):
    # offsets are then checked for consistency and overlap only. A file with data is checked in full.
    data_size = size - 8 - n if size > 8 + n else None
    return parse_header(raw, where, data_size=data_size, file=path.name)


def _list_files(folder: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(folder)
        for f in sorted(filenames):
            out.append((rel / f).as_posix() if rel.parts else f)
            if len(out) >= MAX_LISTED_FILES:
                return out
        if len(rel.parts) >= 2:
            dirnames[:] = []
    return out


def read_local(target: str, *, headers: str = "default", with_tokenizer: bool = False) -> Snapshot:
    path = Path(target)
    if not path.exists():
        raise TargetNotFound("no such file or folder", where=target)
    if path.is_file():
        snap = Snapshot(target=target, source="local", files=[path.name])
        snap.config_error = "no config.json (a single weights file)"
        if path.suffix in (".bin", ".gguf"):
            try:
                if path.suffix == ".gguf":
                    fill_gguf(snap, path.name, LocalRangeFile(path, target), count_io=False)
                else:
                    fill_bin(snap, lambda f: LocalRangeFile(path, target), weight_map=None, singles=[path.name],
                             headers=headers, count_io=False)
            except InvalidData as e:
                snap.weights_invalid, snap.weights_error = True, e.one_line()
            return snap
        if path.suffix != ".safetensors":
            raise InvalidData("a single file must be a .safetensors, .bin or .gguf file (or give the model folder)", where=target)
        try:
            snap.tensors = read_safetensors_header(path, target)
        except InvalidData as e:
            snap.weights_invalid, snap.weights_error = True, e.one_line()
        snap.weights_format = "safetensors"
        snap.shards_total = snap.shards_read = 1
        return snap
    folder = path
    snap = Snapshot(target=target, source="local", files=_list_files(folder))
    cfg = folder / "config.json"
    if cfg.is_file():
        try:
            snap.config = parse_config(_read_capped(cfg, MAX_CONFIG_BYTES, str(cfg)), str(cfg))
            snap.config_status = "ok"
        except InvalidData as e:
            snap.config_status, snap.config_error = "invalid", e.one_line()
    else:
        snap.config_error = f"{target}: no config.json"
    try:
        _read_weights(folder, snap, headers)
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    if with_tokenizer:
        fill_tokenizer(snap, lambda f, cap: _read_capped(folder / f, cap, str(folder / f)),
                       lambda f: LocalRangeFile(folder / f), count_io=False)
    return snap


def _read_weights(folder: Path, snap: Snapshot, headers: str) -> None:
    plan = plan_weights(snap.files)
    if plan.index:
        where = str(folder / plan.index)
        wm, snap.total_size = parse_index(_read_capped(folder / plan.index, MAX_INDEX_BYTES, where), where)
        snap.tensors = {name: TensorInfo(name, file=shard) for name, shard in wm.items()}
        snap.weights_format = "safetensors-index"
        shards = sorted(set(wm.values()))
        snap.shards_total = len(shards)
        if headers == "none":
            return
        for shard in shards:
            p = folder / shard
            if not p.is_file():
                continue
            found = read_safetensors_header(p, str(p))
            snap.shards_read += 1
            snap.weights_format = "safetensors"
            for name, info in found.items():
                snap.tensors[name] = info
        return
    if plan.singles:
        snap.weights_format = "safetensors"
        snap.shards_total = len(plan.singles)
        for f in plan.singles:
            if headers == "none":
                break
            p = folder / f
            snap.tensors.update(read_safetensors_header(p, str(p)))
            snap.shards_read += 1
        return
    idx = other_index(snap.files)
    bins = bin_files(snap.files)
    if idx or bins:
        wm = None
        if idx:
            where = str(folder / idx)
            wm, snap.total_size = parse_index(_read_capped(folder / idx, MAX_INDEX_BYTES, where), where)
        fill_bin(snap, lambda f: LocalRangeFile(folder / f), weight_map=wm, singles=bins, headers=headers, count_io=False)
        return
    gguf = pick_gguf(snap.files)
    if gguf:
        fill_gguf(snap, gguf, LocalRangeFile(folder / gguf), count_io=False)
        return
    snap.weights_error = f"{snap.target}: no safetensors, .bin or GGUF weights"
