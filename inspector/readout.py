"""The readout of one repo: what a source read from it (`Snapshot`), the seam between reading and judging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, init=False)
class TensorInfo:
    name: str
    dtype: str | None = None  # None when only the name is known (index-only)
    shape: tuple[int, ...] | None = None
    file: str | None = None

    def __init__(self, name: str, dtype: str | None = None, shape: tuple[int, ...] | None = None,
                 file: str | None = None) -> None:
        # One per tensor, hundreds a repo, up to MAX_TENSORS: in slots it takes half the memory of a
        # __dict__ and is one object for the garbage collector, not two. The generated frozen __init__
        # goes through object.__setattr__ per field; the slots' own setters are quicker. Still
        # frozen, hashed and compared as before.
        _name(self, name)
        _dtype(self, dtype)
        _shape(self, shape)
        _file(self, file)

    @property
    def numel(self) -> int | None:
        if self.shape is None:
            return None
        n = 1
        for d in self.shape:
            n *= d
        return n


# The slots' setters, which a frozen class's __setattr__ does not guard (used by __init__ only).
_name, _dtype, _shape, _file = (TensorInfo.__dict__[f].__set__ for f in ("name", "dtype", "shape", "file"))


@dataclass
class IOStats:
    requests: int = 0
    bytes: int = 0
    retries: int = 0

    def add(self, other: IOStats) -> None:
        self.requests += other.requests
        self.bytes += other.bytes
        self.retries += other.retries


@dataclass
class Snapshot:
    """Everything known about one repo at one revision; no weights, ever."""

    target: str
    source: str  # "hub" | "local" | "fixture"
    revision: str | None = None
    repo_id: str | None = None
    files: list[str] = field(default_factory=list)
    listing_note: str | None = None  # set when the file listing was not complete, saying where it stopped
    config: dict[str, Any] | None = None
    config_error: str | None = None
    config_status: str = "missing"  # ok | missing | invalid
    config_origin: str | None = None  # set when the config was synthesized, e.g. "gguf:model.Q4_K_M.gguf"
    config_notes: list[str] = field(default_factory=list)  # what reading config.json tolerated (duplicate keys, NaN)
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    weights_format: str | None = None  # "safetensors" | "safetensors-index" | "bin" | "bin-index" | "gguf" | None
    weights_error: str | None = None
    weights_invalid: bool = False
    total_size: int | None = None  # from an index's metadata
    shards_total: int = 0
    shards_read: int = 0
    hub_params: dict[str, int] | None = None  # the Hub's own count by dtype, when it gave one
    card: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    gated: bool = False
    io: IOStats = field(default_factory=IOStats)
    # special tokens, class, base vocabulary, chat-template digest (--with-tokenizer, or a GGUF's own)
    tokenizer: dict[str, Any] | None = None
