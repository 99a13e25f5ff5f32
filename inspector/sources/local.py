"""Read a model folder, or one weights file a user names, from disk: headers only, never the data.

Files are opened through `localfs` (inside the folder, regular files, caps while reading) and read
by the formats of `formats/registry.py`; this module lists the folder and supplies the opener."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from ..errors import InvalidData, TargetNotFound
from ..formats.plan import MAX_CONFIG_BYTES, parse_config
from ..formats.registry import FORMATS, Selection, format_of_file, read_weights
from ..formats.tokenizer import fill_tokenizer
from ..inert import json_safe
from ..readout import Snapshot
from ..transport.localfs import LocalFolder
from ..transport.ranged import LocalRangeFile

T = TypeVar("T")

# A folder's top level is listed in full (the weights are there) up to this many entries, then
# refused; its subfolders (two levels, for GGUF quants and the like) up to MAX_LISTED_FILES files,
# a stop the snapshot records (`listing_note`) rather than hides.
MAX_ROOT_ENTRIES = 200_000
MAX_LISTED_FILES = 10_000
MAX_SCANNED_ENTRIES = 100_000


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
            snap.config = parse_config(folder.read("config.json", MAX_CONFIG_BYTES), where, snap.config_notes)
            snap.config_status = "ok"
        except InvalidData as e:
            snap.config_status, snap.config_error = "invalid", e.one_line()
    else:
        snap.config_error = f"{target}: no config.json"
    try:
        read_weights(snap, LocalOpener(folder), headers)
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    if snap.config_status == "missing" and snap.weights_format is None and not snap.weights_invalid:
        # Nothing a model is made of: a wrong folder, not a model with a missing part (no_config and
        # no_weights_metadata are usable statuses; this must not be).
        note = f" ({snap.listing_note})" if snap.listing_note else ""
        raise TargetNotFound(f"no model here: neither config.json nor weights (.safetensors, .bin, .gguf){note}",
                             where=target)
    if with_tokenizer:
        fill_tokenizer(snap, folder.read, LocalOpener(folder).open, count_io=False)
    return snap


def _read_single(path: Path, target: str, headers: str) -> Snapshot:
    # The user named this file: a symlink is followed, yet only to a regular file.
    snap = Snapshot(target=target, source="local", files=[_name(path.name)])
    snap.config_error = "no config.json (a single weights file)"
    fmt = format_of_file(path.name)
    if fmt is None:
        kinds = ", ".join(f.suffix for f in FORMATS[:-1]) + f" or {FORMATS[-1].suffix}"
        raise InvalidData(f"a single file must be a {kinds} file (or give the model folder)", where=target)
    try:
        fmt.read(snap, Selection(files=(path.name,)), _SingleFile(path, target), headers)
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    return snap


class LocalOpener:
    """A model folder as the weights formats see it (see formats.Opener): reads are cheap, so the
    default reads every shard, one at a time."""

    count_io = False
    every_shard = True

    def __init__(self, folder: LocalFolder) -> None:
        self.folder = folder

    def where(self, name: str) -> str:
        return self.folder.where(name)

    def open(self, name: str) -> LocalRangeFile:
        return LocalRangeFile(self.folder.path(name), self.folder.where(name))

    def read(self, name: str, cap: int) -> bytes:
        return self.folder.read(name, cap)

    def readable(self, names: list[str]) -> list[str]:
        return [n for n in names if self.folder.is_file(n)]

    def map(self, fn: Callable[[str], T], names: Sequence[str]) -> Iterator[T]:
        return (fn(n) for n in names)

    def served_headers(self, index: str) -> None:
        return None


class _SingleFile(LocalOpener):
    """The one file a user named, whatever its name: every `name` a format asks for is that file."""

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self._src: LocalRangeFile | None = None

    def where(self, name: str) -> str:
        return self.target

    def open(self, name: str) -> LocalRangeFile:
        if self._src is None:
            self._src = LocalRangeFile(self.path, self.target)
        return self._src

    def read(self, name: str, cap: int) -> bytes:
        raise InvalidData("a single weights file has no companion files", where=self.target)

    def readable(self, names: list[str]) -> list[str]:
        return list(names)
