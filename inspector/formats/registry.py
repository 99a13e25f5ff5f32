"""The weights formats, in the order a repo's files are tried: each picks its files and reads them
through an `Opener`, which is all a source (a local folder: `sources.local.LocalOpener`; a Hub repo:
`sources.hub.HubOpener`) supplies. The sources never name a format.

Adding a format: its parser module (bytes -> tensors, through a `RangeFile`), one class here with
`name`, `label`, `suffix`, `pick` and `read`, its entry in FORMATS, and its case in
tests/test_formats_contract.py (disk and Hub must agree). Shared here, once: which shards the
`headers` mode reads (`shards_to_read`), the tensors an index names (`index_tensors`), the per-repo
tensor limit after each file read. Order: an index beats single files, safetensors beat `.bin`,
`.bin` beats GGUF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..errors import InvalidData
from ..readout import Snapshot, TensorInfo
from ..transport.ranged import RangeFile
from .gguf import fill_gguf
from .plan import (
    MAX_INDEX_BYTES,
    bin_files,
    evidence_shards,
    other_index,
    parse_index,
    pick_gguf,
    plan_weights,
    safe_shard_name,
)
from .safetensors_header import (
    MAX_HEADER_BYTES,
    MAX_TENSORS,
    check_tensor_count,
    estimate_header_from_config,
    estimate_header_length,
    header_length,
    parse_header,
    parsed_header,
)
from .torchzip import TorchBin as TorchBinRead
from .torchzip import config_layers, read_torch_bin

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

    def readable(self, names: list[str]) -> list[str]:
        """Those of `names` the source can read, in order."""

    def map(self, fn: Callable[[str], T], names: Sequence[str]) -> Iterable[T]:
        """fn over names, results in order; a source may run them in parallel, or lazily one by one."""

    def served_headers(self, index: str) -> tuple[dict[str, Any], int | None] | None:
        """Every shard's safetensors header at once ({shard: header object}, total_size) where the
        source serves them (the Hub's safetensors-metadata API); None: read the index and the shards."""


def reads_headers(headers: str) -> bool:
    """Whether the `headers` mode reads any weights file (GGUF aside: it is the config's source)."""
    return headers != "none"


def shards_to_read(headers: str, shards: Sequence[str], evidence: Callable[[], list[str]], every: bool) -> list[str]:
    """The one reading of the `headers` mode: none reads no weights file, all reads every one, default
    the evidence shards, or every shard where the source's reads are cheap (`every`: on disk)."""
    if not reads_headers(headers):
        return []
    if headers == "all" or every:
        return list(shards)
    return evidence()


def index_tensors(weight_map: dict[str, str]) -> dict[str, TensorInfo]:
    """The tensors an index names, each with its file: no dtype or shape until a header is read."""
    return {name: TensorInfo(name, None, None, shard) for name, shard in weight_map.items()}


def with_headers(weight_map: dict[str, str], read: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
    """index_tensors(weight_map) updated with the tensors read from headers, without first making
    an index-only entry for each tensor a header then replaces."""
    tensors = {name: read.get(name) or TensorInfo(name, None, None, shard) for name, shard in weight_map.items()}
    tensors.update(read)  # those no index named, after the rest
    return tensors


def by_file(weight_map: dict[str, str]) -> dict[str, list[str]]:
    """file -> the tensor names an index puts in it, files in order of first mention."""
    out: dict[str, list[str]] = {}
    for name, shard in weight_map.items():
        out.setdefault(shard, []).append(name)
    return out


# A first read sized to the predicted header plus this slack covers it in one request almost always
# (on the 188 shards of samples/ the guess is at most 0.4% short), and overshoots by about 1%; a
# second, exact read fixes the rare miss.
SLACK = 1.01
SLACK_BYTES = 64


def read_header(src: RangeFile, file: str | None = None, predicted: int = 0) -> dict[str, TensorInfo]:
    """A safetensors header by ranged reads: the prefix and the predicted header in one read, the
    rest in a second one only when the header is longer. A source that already holds the prefix
    (`src.prefix`, a probe) reads the header exactly. A file cut short after its header (a
    metadata-only copy) is fine; a file with data is checked against it."""
    size = src.size()  # known before any read on disk; on the Hub only after one
    src.head_limit = 8 + MAX_HEADER_BYTES
    known = src.prefix
    if len(known) >= 8:
        head, first_len = known, 0
    else:
        # A guess from names may be hostile: never more than the largest header allowed.
        first_len = 8 + min(int(max(predicted, 0) * SLACK) + SLACK_BYTES, MAX_HEADER_BYTES)
        head = src.read(0, first_len)
    n = header_length(head[:8], src.where, file_size=size)
    raw = head[8: 8 + n]
    if len(raw) < n and len(head) >= first_len:  # a shorter first read ended at the end of the file
        raw += src.read(8 + len(raw), n - len(raw))
    if len(raw) < n:
        raise InvalidData(f"file ends inside its header ({len(raw)} of {n} bytes)", where=src.where)
    data_size = size - 8 - n if size is not None and size > 8 + n else None
    return parse_header(raw, src.where, data_size=data_size, file=file)


@dataclass(frozen=True)
class Selection:
    index: str | None = None  # a JSON index naming every tensor's file
    files: tuple[str, ...] = ()  # weight files to read when there is no index


class WeightsFormat(Protocol):
    name: str
    label: str  # as messages name it
    suffix: str  # of a single weights file named on its own (`inspect model.gguf`)

    def pick(self, files: list[str]) -> Selection | None:
        """The files this format would read in a repo listing `files`, or None when it has none."""

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        """Tensors (and format facts) into the snapshot; InvalidData for a hostile or broken file."""


def _index(opener: Opener, name: str) -> tuple[dict[str, str], int | None]:
    return parse_index(opener.read(name, MAX_INDEX_BYTES), opener.where(name))


class Safetensors:
    name = "safetensors"
    label = "safetensors"
    suffix = ".safetensors"

    def pick(self, files: list[str]) -> Selection | None:
        plan = plan_weights(files)
        if plan.index:
            return Selection(index=plan.index)
        return Selection(files=plan.singles) if plan.singles else None

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        if sel.index:
            served = opener.served_headers(sel.index) if reads_headers(headers) else None
            if served is not None:
                self._served(snap, sel.index, *served, opener, headers)
                return
            wm, snap.total_size = _index(opener, sel.index)
            snap.tensors = index_tensors(wm)
            snap.weights_format = "safetensors-index"
            names = by_file(wm)
            snap.shards_total = len(names)
            shards = sorted(names)
            picked = opener.readable(shards_to_read(headers, shards, lambda: evidence_shards(wm), opener.every_shard))
            # One read a shard when the guess holds: the header's size predicted from the names it holds.
            per_shard = snap.total_size // len(names) if snap.total_size and names else None
            predicted = {s: estimate_header_length(names.get(s, []), per_shard) for s in picked}
        else:
            snap.weights_format = "safetensors"
            snap.shards_total = len(sel.files)
            picked = shards_to_read(headers, sel.files, lambda: list(sel.files[:1]), opener.every_shard)
            guess = estimate_header_from_config(config_layers(snap.config))
            predicted = dict.fromkeys(picked, guess)
        if picked:
            self._headers(snap, picked, predicted, opener)

    @staticmethod
    def _served(snap: Snapshot, index: str, served: dict[str, Any], total: int | None, opener: Opener,
                headers: str) -> None:
        # As when read: the evidence shards' headers in full, the other tensors by name (as an index
        # lists them), so both ways give the same facts, at the same CPU cost.
        where = opener.where(index)
        if total is not None:
            snap.total_size = total
        wm: dict[str, str] = {}
        for shard, header in served.items():
            name = safe_shard_name(shard, where)
            if not isinstance(header, dict):
                raise InvalidData(f"the header of {name[:80]!r} is not an object", where=where)
            wm.update(dict.fromkeys(header, name))  # at C speed; __metadata__ is no tensor
            wm.pop("__metadata__", None)
            if len(wm) > MAX_TENSORS:  # the work per repo is bounded, not only its bytes
                raise InvalidData(f"sharded safetensors metadata lists over {MAX_TENSORS} tensors", where=where)
        picked = shards_to_read(headers, sorted(set(wm.values())), lambda: evidence_shards(wm), opener.every_shard)
        read: dict[str, TensorInfo] = {}
        try:
            for name in picked:
                read.update(parsed_header(served[name], opener.where(name), file=name))
        except RecursionError:
            raise InvalidData("sharded safetensors metadata is nested too deeply", where=where) from None
        finally:  # on an error too: the tensors as far as the reads got, as when read shard by shard
            snap.tensors = with_headers(wm, read)
        snap.weights_format = "safetensors"
        snap.shards_total = len(served)
        snap.shards_read = len(picked)

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
    label = ".bin"
    suffix = ".bin"

    def pick(self, files: list[str]) -> Selection | None:
        idx, bins = other_index(files), bin_files(files)
        return Selection(index=idx, files=tuple(bins)) if idx or bins else None

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        """Names from the index, dtypes and shapes from the shards read. A .bin shard costs a zip
        directory and a pickle walk: the evidence shards only, on disk too, unless headers=all."""
        names: dict[str, list[str]] = {}
        if sel.index:
            wm, snap.total_size = _index(opener, sel.index)
            snap.tensors = index_tensors(wm)
            snap.weights_format = "bin-index"
            names = by_file(wm)
            snap.shards_total = len(names)
            listed = set(snap.files)  # only listed shards, from either source (as before the registry)
            picked = [s for s in shards_to_read(headers, sorted(names), lambda: evidence_shards(wm), False) if s in listed]
        else:
            snap.weights_format = "bin"
            snap.shards_total = len(sel.files)
            picked = shards_to_read(headers, sel.files, lambda: list(sel.files[:1]), False)
        if not picked:
            return
        layers = config_layers(snap.config)

        def one(f: str) -> tuple[TorchBinRead, RangeFile]:
            src = opener.open(f)
            return read_torch_bin(src, file=f, names=names.get(f), layers=layers), src

        for res, src in opener.map(one, picked):  # lazily on disk: the tensor limit stops the next read
            if opener.count_io:
                snap.io.add(src.io)
            if res.note:
                snap.weights_error = res.note
                continue
            snap.shards_read += 1
            snap.weights_format = "bin"
            snap.tensors.update(res.tensors)
            check_tensor_count(len(snap.tensors), snap.target)


class GGUF:
    name = "gguf"
    label = "GGUF"
    suffix = ".gguf"

    def pick(self, files: list[str]) -> Selection | None:
        f = pick_gguf(files)
        return Selection(files=(f,)) if f else None

    def read(self, snap: Snapshot, sel: Selection, opener: Opener, headers: str) -> None:
        fill_gguf(snap, sel.files[0], opener.open(sel.files[0]), count_io=opener.count_io)


FORMATS: tuple[WeightsFormat, ...] = (Safetensors(), TorchBin(), GGUF())


def format_of_file(name: str) -> WeightsFormat | None:
    return next((f for f in FORMATS if name.endswith(f.suffix)), None)


def pick_format(files: list[str]) -> tuple[WeightsFormat, Selection] | None:
    """The first format with files in the listing, and the files it would read."""
    for fmt in FORMATS:
        sel = fmt.pick(files)
        if sel is not None:
            return fmt, sel
    return None


def format_names() -> str:
    """The formats as messages list them: "safetensors, .bin or GGUF"."""
    names = [f.label for f in FORMATS]
    return ", ".join(names[:-1]) + " or " + names[-1]


def read_weights(snap: Snapshot, opener: Opener, headers: str) -> None:
    """The first format that has files in the listing reads them; none: a `weights_error` note."""
    picked = pick_format(snap.files)
    if picked is not None:
        fmt, sel = picked
        fmt.read(snap, sel, opener, headers)
        return
    note = f" ({snap.listing_note})" if snap.listing_note else ""
    snap.weights_error = f"{snap.repo_id or snap.target}: no {format_names()} weights{note}"
