"""Read a model folder or a single .safetensors file from disk: headers only, never the data."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidData, TargetNotFound
from ..inert import json_safe
from ..safetensors_header import check_tensor_count, header_length, parse_header
from ..snapshot import Snapshot, TensorInfo
from .gguf import fill_gguf
from .localfs import LocalFolder
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

# A folder's top level is listed in full (the weights are there) up to this many entries, then
# refused; its subfolders (two levels, for GGUF quants and the like) up to MAX_LISTED_FILES files,
# a stop the snapshot records (`listing_note`) rather than hides.
MAX_ROOT_ENTRIES = 200_000
MAX_LISTED_FILES = 10_000
MAX_SCANNED_ENTRIES = 100_000


def read_safetensors_header(src: LocalRangeFile, file: str | None = None) -> dict[str, TensorInfo]:
    """Header of a local file. A file cut short after its header (a metadata-only copy) is fine."""
    size = src.size() or 0
    n = header_length(src.read(0, 8), src.where, file_size=size)
    raw = src.read(8, n)
    if len(raw) < n:
        raise InvalidData(f"safetensors header is cut short ({len(raw)} of {n} bytes)", where=src.where)
    # The data section may be absent on purpose (metadata-only copies end right after the header):
    # offsets are then checked for consistency and overlap only. A file with data is checked in full.
    data_size = size - 8 - n if size > 8 + n else None
    return parse_header(raw, src.where, data_size=data_size, file=file or Path(src.where).name)


def _name(name: str) -> str:
    # os.listdir gives undecodable bytes as lone surrogates: shown escaped, and refused if read.
    return json_safe(name)


def _list_files(folder: Path) -> tuple[list[str], str | None]:
    """(files, a note when the subfolders were not listed in full)."""
    root: list[str] = []
    subdirs: list[str] = []
    try:
        with os.scandir(folder) as it:
            for n, entry in enumerate(it):
                if n >= MAX_ROOT_ENTRIES:
                    raise InvalidData(f"the folder holds more than {MAX_ROOT_ENTRIES} entries: refused", where=str(folder))
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        subdirs.append(entry.name)
                else:
                    root.append(_name(entry.name))
    except OSError as e:
        raise InvalidData(f"cannot be listed ({e.strerror})", where=str(folder)) from None
    out = sorted(root)
    listed = scanned = 0
    queue = [(d, 1) for d in sorted(subdirs)]
    while queue:
        rel, depth = queue.pop(0)
        files: list[str] = []
        dirs: list[str] = []
        try:
            with os.scandir(folder / rel) as it:
                for entry in it:
                    scanned += 1
                    if scanned > MAX_SCANNED_ENTRIES:
                        break
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith(".") and depth < 2:
                            dirs.append(f"{rel}/{entry.name}")
                    else:
                        files.append(f"{_name(rel)}/{_name(entry.name)}")
        except OSError:
            continue  # an unreadable subfolder holds nothing we could read either
        for f in sorted(files):
            if listed >= MAX_LISTED_FILES:
                break
            out.append(f)
            listed += 1
        if listed >= MAX_LISTED_FILES or scanned > MAX_SCANNED_ENTRIES:
            return out, f"subfolders listed up to {min(listed, MAX_LISTED_FILES)} files ({scanned} entries scanned): the rest not listed"
        queue.extend((d, depth + 1) for d in sorted(dirs))
    return out, None


def read_local(target: str, *, headers: str = "default", with_tokenizer: bool = False,
               follow_symlinks: bool = False) -> Snapshot:
    """A model folder or one weights file. Symlinks that leave the folder are refused unless
    `follow_symlinks` (the Hugging Face cache's snapshots -> blobs links are always followed)."""
    path = Path(target)
    if not (path.exists() or path.is_symlink()):
        raise TargetNotFound("no such file or folder", where=target)
    if not path.is_dir():
        return _read_single(path, target, headers)
    folder = LocalFolder(path, follow_symlinks=follow_symlinks)
    snap = Snapshot(target=target, source="local")
    snap.files, snap.listing_note = _list_files(path)
    if folder.is_file("config.json"):
        where = folder.where("config.json")
        try:
            snap.config = parse_config(folder.read("config.json", MAX_CONFIG_BYTES), where)
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
        fill_tokenizer(snap, folder.read, lambda f: LocalRangeFile(folder.path(f), folder.where(f)), count_io=False)
    return snap


def _read_single(path: Path, target: str, headers: str) -> Snapshot:
    # The user named this file: a symlink is followed, yet only to a regular file.
    snap = Snapshot(target=target, source="local", files=[_name(path.name)])
    snap.config_error = "no config.json (a single weights file)"
    if path.suffix not in (".bin", ".gguf", ".safetensors"):
        raise InvalidData("a single file must be a .safetensors, .bin or .gguf file (or give the model folder)", where=target)
    try:
        src = LocalRangeFile(path, target)
        if path.suffix == ".gguf":
            fill_gguf(snap, path.name, src, count_io=False)
        elif path.suffix == ".bin":
            fill_bin(snap, lambda f: src, weight_map=None, singles=[path.name], headers=headers, count_io=False)
        else:
            snap.weights_format = "safetensors"
            snap.shards_total = 1
            snap.tensors = read_safetensors_header(src, path.name)
            snap.shards_read = 1
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    return snap


def _add(snap: Snapshot, found: dict[str, TensorInfo]) -> None:
    snap.tensors.update(found)
    check_tensor_count(len(snap.tensors), snap.target)


def _read_weights(folder: LocalFolder, snap: Snapshot, headers: str) -> None:
    plan = plan_weights(snap.files)
    if plan.index:
        where = folder.where(plan.index)
        wm, snap.total_size = parse_index(folder.read(plan.index, MAX_INDEX_BYTES), where)
        snap.tensors = {name: TensorInfo(name, file=shard) for name, shard in wm.items()}
        snap.weights_format = "safetensors-index"
        shards = sorted(set(wm.values()))
        snap.shards_total = len(shards)
        if headers == "none":
            return
        for shard in shards:
            if not folder.is_file(shard):
                continue
            found = read_safetensors_header(LocalRangeFile(folder.path(shard), folder.where(shard)), Path(shard).name)
            snap.shards_read += 1
            snap.weights_format = "safetensors"
            _add(snap, found)
        return
    if plan.singles:
        snap.weights_format = "safetensors"
        snap.shards_total = len(plan.singles)
        for f in plan.singles:
            if headers == "none":
                break
            _add(snap, read_safetensors_header(LocalRangeFile(folder.path(f), folder.where(f)), Path(f).name))
            snap.shards_read += 1
        return
    idx = other_index(snap.files)
    bins = bin_files(snap.files)

    def open_file(f: str) -> LocalRangeFile:
        return LocalRangeFile(folder.path(f), folder.where(f))

    if idx or bins:
        wm = None
        if idx:
            wm, snap.total_size = parse_index(folder.read(idx, MAX_INDEX_BYTES), folder.where(idx))
        fill_bin(snap, open_file, weight_map=wm, singles=bins, headers=headers, count_io=False)
        return
    gguf = pick_gguf(snap.files)
    if gguf:
        fill_gguf(snap, gguf, open_file(gguf), count_io=False)
        return
    note = f" ({snap.listing_note})" if snap.listing_note else ""
    snap.weights_error = f"{snap.target}: no safetensors, .bin or GGUF weights{note}"
