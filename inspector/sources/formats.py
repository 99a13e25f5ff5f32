"""The weights formats, in the order a repo's files are tried: each picks its files and reads them
through an `Opener`, which is all a source (a local folder, the Hub) has to supply.

Adding a format is one `WeightsFormat` here (its `pick` and `read`) and its parser module; the
sources do not change. Behaviour is that of the chains in `local.py` and `hub.py` before:
an index beats single files, safetensors beat `.bin`, `.bin` beats GGUF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..errors import InvalidData
from ..safetensors_header import (
    MAX_HEADER_BYTES,
    check_tensor_count,
    estimate_header_from_config,
    estimate_header_length,
    header_length,
    parse_header,
)
from ..snapshot import Snapshot, TensorInfo
from .gguf import fill_gguf
from .plan import (
    MAX_INDEX_BYTES,
    bin_files,
    evidence_shards,
    other_index,
    parse_index,
    pick_gguf,
    plan_weights,
)
from .ranged import RangeFile
from .torchzip import config_layers, fill_bin

T = TypeVar("T")


class Opener(Protocol):
    """How a source lets a format read a repo's files."""

    count_io: bool  # add each file's IOStats to the snapshot (the Hub counts requests; disk does not)
    every_shard: bool  # headers="default" reads every shard (cheap on disk) or only the evidence shards

    def where(self, name: str) -> str:
        """The file as errors name it."""

    def open(self, name: str) -> RangeFile:
        """Ranged reads of one file."""

    def read(self, name: str, cap: int) -> bytes:
        """The whole of a small file, at most `cap` bytes."""

    def has(self, name: str) -> bool:
        """Whether the file is there to be read."""

    def map(self, fn: Callable[[str], T], names: Sequence[str]) -> Iterable[T]:
        """fn over names, results in order; a source may run them in parallel, or lazily one by one."""


def read_header(src: RangeFile, file: str | None = None, predicted: int = 0) -> dict[str, TensorInfo]:
    """A safetensors header by ranged reads: the prefix and `predicted` header bytes in one read,
    the rest in a second one only when the header is longer. A file cut short after its header (a
    metadata-only copy) is fine; a file with data is checked against it."""
    head = src.read(0, 8 + min(max(predicted, 0), MAX_HEADER_BYTES))  # a guess from names may be hostile
    size = src.size()
    n = header_length(head[:8], src.where, file_size=size)
    raw = head[8: 8 + n]
    if len(raw) < n:
        raw += src.read(8 + len(raw), n - len(raw))
    if len(raw) < n:
        raise InvalidData(f"safetensors header is cut short ({len(raw)} of {n} bytes)", where=src.where)
    data_size = size - 8 - n if size is not None and size > 8 + n else None
    return parse_header(raw, src.where, data_size=data_size, file=file)


@dataclass(frozen=True)
class Selection:
    index: str | None = None  # a JSON index naming every tensor's file
    files: tuple[str, ...] = ()  # weight files to read when there is no index


class WeightsFormat(Protocol):
    name: str
    suffix: str  # of a single weights file named on its own (`inspect model.gguf`)

    def pick(self, files: list[str]) -> Selection | None:
        """The files this format would read in a repo listing `files`, or None when it has none."""

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        """Tensors (and format facts) into the snapshot; InvalidData for a hostile or broken file."""


def _index(opener: Opener, name: str) -> tuple[dict[str, str], int | None]:
    return parse_index(opener.read(name, MAX_INDEX_BYTES), opener.where(name))


class Safetensors:
    name = "safetensors"
    suffix = ".safetensors"

    def pick(self, files: list[str]) -> Selection | None:
        plan = plan_weights(files)
        if plan.index:
            return Selection(index=plan.index)
        return Selection(files=plan.singles) if plan.singles else None

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        if sel.index:
            wm, snap.total_size = _index(opener, sel.index)
            snap.tensors = {name: TensorInfo(name, file=shard) for name, shard in wm.items()}
            snap.weights_format = "safetensors-index"
            shards = sorted(set(wm.values()))
            snap.shards_total = len(shards)
            if headers == "none":
                return
            if headers == "default" and not opener.every_shard:
                shards = evidence_shards(wm)
            picked = [s for s in shards if opener.has(s)]
            # One read a shard when the guess holds: the header's size predicted from the names it holds.
            by_shard: dict[str, list[str]] = {}
            for name, shard in wm.items():
                by_shard.setdefault(shard, []).append(name)
            per_shard = snap.total_size // len(by_shard) if snap.total_size and by_shard else None
            predicted = {s: estimate_header_length(by_shard.get(s, []), per_shard) for s in picked}
        else:
            snap.weights_format = "safetensors"
            snap.shards_total = len(sel.files)
            if headers == "none":
                return
            picked = list(sel.files) if headers == "all" or opener.every_shard else list(sel.files[:1])
            guess = estimate_header_from_config(config_layers(snap.config))
            predicted = dict.fromkeys(picked, guess)
        self._headers(snap, picked, predicted, opener)

    @staticmethod
    def _headers(snap: Snapshot, picked: list[str], predicted: dict[str, int], opener: Opener) -> None:
        def one(name: str) -> tuple[dict[str, TensorInfo], Any]:
            src = opener.open(name)
            return read_header(src, name.rsplit("/", 1)[-1], predicted.get(name, 0)), src

        # Lazily on a sequential opener: the tensor limit stops the reads at the shard that passes it.
        for found, src in opener.map(one, picked):
            if opener.count_io:
                snap.io.add(src.io)
            snap.shards_read += 1
            snap.weights_format = "safetensors"
            snap.tensors.update(found)
            check_tensor_count(len(snap.tensors), snap.target)


class TorchBin:
    name = "bin"
    suffix = ".bin"

    def pick(self, files: list[str]) -> Selection | None:
        idx, bins = other_index(files), bin_files(files)
        return Selection(index=idx, files=tuple(bins)) if idx or bins else None

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        wm = None
        if sel.index:
            wm, snap.total_size = _index(opener, sel.index)
        fill_bin(snap, opener.open, weight_map=wm, singles=list(sel.files), headers=headers, count_io=opener.count_io)


class GGUF:
    name = "gguf"
    suffix = ".gguf"

    def pick(self, files: list[str]) -> Selection | None:
        f = pick_gguf(files)
        return Selection(files=(f,)) if f else None

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        fill_gguf(snap, sel.files[0], opener.open(sel.files[0]), count_io=opener.count_io)


FORMATS: tuple[WeightsFormat, ...] = (Safetensors(), TorchBin(), GGUF())


def format_of_file(name: str) -> WeightsFormat | None:
    return next((f for f in FORMATS if name.endswith(f.suffix)), None)


def read_weights(snap: Snapshot, opener: Opener, headers: str) -> None:
    """The first format that has files in the listing reads them; none: a `weights_error` note."""
    for fmt in FORMATS:
        sel = fmt.pick(snap.files)
        if sel is not None:
            fmt.read(snap, sel, opener, headers)
            return
    note = f" ({snap.listing_note})" if snap.listing_note else ""
    snap.weights_error = f"{snap.repo_id or snap.target}: no safetensors, .bin or GGUF weights{note}"
