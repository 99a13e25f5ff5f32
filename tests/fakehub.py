"""A loopback fake of the Hugging Face Hub, faithful enough for unmodified ``huggingface_hub``.

Stdlib only. Serves the endpoints ``huggingface_hub`` 2.4 uses to inspect model repos:

* ``GET /api/models/{repo}[/revision/{rev}]`` (``expand=``, ``blobs=``), ``GET /api/models`` (paginated
  with ``Link: <...>; rel="next"``), ``GET /api/models/{repo}/tree/{rev}[/{path}]``,
  ``GET /api/models/{repo}/safetensors-metadata/{index}``, ``GET /api/whoami-v2``;
* ``HEAD|GET /{repo}/resolve/{rev}/{path}``: small files answer 307 to ``/api/resolve-cache/...`` on the
  same origin, LFS files answer 302 to a "CDN" on another origin (``http://localhost:PORT/cdn/...``),
  like the real Hub, with ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` and ``X-Linked-Size``.

Typical use::

    with FakeHub() as hub:
        hub.add_repo("org/m", {"config.json": {"model_type": "llama"},
                               "model.safetensors": safetensors_file({"w": ("BF16", [4, 4])})})
        api = HfApi(endpoint=hub.endpoint, token=False)   # explicit route, nothing patched
        with use_endpoint(hub.endpoint, hf_home=tmp_path):  # in-process route: module-level
            huggingface_hub.model_info("org/m")              # functions and constants.ENDPOINT
    # subprocesses: env={**os.environ, **hub.env(tmp_path)} (HF_ENDPOINT is read at import time)

Request pattern of huggingface_hub 2.4 against it (each hop is counted in ``hub.stats``):

* ``hf_hub_download`` small file: HEAD resolve (307) + HEAD resolve-cache (200) + GET resolve-cache = 3;
  again when cached: the 2 HEADs. LFS file: HEAD resolve (302 left unfollowed because the CDN is another
  origin; size from ``X-Linked-Size``, etag from ``X-Linked-Etag``) + GET cdn without Authorization = 2.
  A 5xx/429 on the first HEAD is retried once at once (no backoff sleep) when nothing is cached.
* ``parse_safetensors_file_metadata``: GET resolve (302, followed by httpx, which drops Authorization
  cross-origin) + GET cdn ``Range: bytes=0-100000`` = 2, +2 if the header is bigger. It always asks for
  100 KB, and reads the body non-streamed: a server ignoring Range would make it download the whole file.
* ``get_safetensors_metadata``: single file = HEAD + 2 = 3; sharded = HEAD model.safetensors (404) +
  HEAD resolve + HEAD cache (index exists) + 3 (download the index) + 2 per shard.
* ``model_info`` and the safetensors GETs use the session directly (no retry); ``list_models`` and tree
  listings go through ``http_backoff`` (429 -> sleeps ``t + 1`` s from the RateLimit header).
* Without HF_HUB_DISABLE_TELEMETRY the first header build fetches ``{ENDPOINT}/api/agent-harnesses``
  (counted here as kind "meta"); ``use_endpoint`` disables telemetry.
* ``hf_raise_for_status`` maps a bare 401 to RepositoryNotFoundError only for ``https://`` URLs, so on
  this http endpoint the ``X-Error-Code`` header (always sent here) is what carries the error class.
"""

from __future__ import annotations

import contextlib
import functools
import gzip as _gzip
import hashlib
import json
import math
import os
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = [
    "FakeHub",
    "Faults",
    "LogEntry",
    "RateLimit",
    "Stats",
    "VirtualFile",
    "from_folder",
    "safetensors_file",
    "safetensors_header",
    "sharded_safetensors_files",
    "use_endpoint",
]

# Files stored in LFS on the fake (the real Hub decides by .gitattributes; these are its defaults).
LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".model")
LFS_THRESHOLD = 10 * 1024 * 1024

_CHUNK = 256 * 1024
_ZEROS = memoryview(bytes(_CHUNK))
_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z: fixed so model_info output is reproducible

_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
    "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
}  # fmt: skip

_EXPANDABLE = frozenset({
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled", "downloads",
    "downloadsAllTime", "evalResults", "gated", "gguf", "inference", "inferenceProviderMapping", "lastModified",
    "library_name", "likes", "mask_token", "model-index", "pipeline_tag", "private", "resourceGroup",
    "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage",
    "widgetData",
})  # fmt: skip
_API_SUBROUTES = frozenset({"revision", "tree", "safetensors-metadata", "refs", "commits", "paths-info"})
_HEX40 = re.compile(r"[0-9a-f]{40}")
_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)
_UNSATISFIABLE = "unsatisfiable"


# --------------------------------------------------------------------------------------------------------
# File contents


@dataclass(frozen=True)
class VirtualFile:
    """A file of ``size`` bytes: ``prefix`` followed by zeros generated on the fly (never materialised)."""

    prefix: bytes
    size: int

    def __post_init__(self) -> None:
        if self.size < len(self.prefix):
            raise ValueError(f"size {self.size} smaller than prefix ({len(self.prefix)} bytes)")


FileContent = bytes | str | dict | list | VirtualFile


def _iter_content(data: bytes | VirtualFile, start: int, end: int) -> Iterator[bytes | memoryview]:
    """Yield bytes ``[start, end)`` of ``data`` in chunks."""
    if isinstance(data, VirtualFile):
        prefix = data.prefix
        if start < len(prefix):
            stop = min(end, len(prefix))
            for i in range(start, stop, _CHUNK):
                yield prefix[i : min(i + _CHUNK, stop)]
            start = stop
        while start < end:
            n = min(_CHUNK, end - start)
            yield _ZEROS[:n]
            start += n
        return
    view = memoryview(data)
    for i in range(start, end, _CHUNK):
        yield view[i : min(i + _CHUNK, end)]


def _head_bytes(data: bytes | VirtualFile, n: int) -> bytes:
    """First ``n`` bytes, padded with the virtual zeros where needed."""
    if isinstance(data, VirtualFile):
        out = data.prefix[:n]
        return out + bytes(min(n, data.size) - len(out))
    return data[:n]


def _header_blob(data: bytes | VirtualFile) -> bytes | None:
    """The JSON text of a safetensors file's header (unparsed), or None if it has none."""
    raw = data.prefix if isinstance(data, VirtualFile) else data
    if len(raw) < 8:
        return None
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[8 : 8 + n] if 8 + n <= len(raw) else None


@functools.lru_cache(maxsize=8192)
def _parsed_header(blob: bytes) -> tuple[dict | None, str | None]:
    """(header, its JSON as the Hub re-serializes it) of a header's text: every listing, model_info and
    sharded-metadata answer reads the same few headers again, and parsing them was a third of this
    server's CPU in the audit bench (both clients pay it). Shared: callers never mutate the dict."""
    try:
        header = json.loads(blob)
    except (ValueError, UnicodeDecodeError):
        return None, None
    return (header, json.dumps(header)) if isinstance(header, dict) else (None, None)


@functools.lru_cache(maxsize=4096)
def _config_field(data: bytes) -> dict | None:
    """model_info's `config`: architectures and model_type of a config.json (shared: never mutated)."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return {k: raw[k] for k in ("architectures", "model_type") if k in raw} if isinstance(raw, dict) else None


def _read_safetensors_header(data: bytes | VirtualFile) -> dict | None:
    """The JSON header of a safetensors file, or None if it is not one (shared: do not mutate)."""
    blob = _header_blob(data)
    return None if blob is None else _parsed_header(blob)[0]


def safetensors_header(
    tensors: Mapping[str, tuple[str, Sequence[int]]], metadata: Mapping[str, str] | None = None
) -> tuple[bytes, int]:
    """Build ``8-byte length + JSON header`` for ``{name: (dtype, shape)}``; return (prefix, data length)."""
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, (dtype, shape) in tensors.items():
        nbytes = _DTYPE_BYTES[dtype] * math.prod(shape)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8 bytes with spaces
    return struct.pack("<Q", len(raw)) + raw, offset


def safetensors_file(
    tensors: Mapping[str, tuple[str, Sequence[int]]], metadata: Mapping[str, str] | None = None
) -> VirtualFile:
    """A full-size safetensors file whose tensor data is virtual zeros."""
    prefix, data_len = safetensors_header(tensors, metadata)
    return VirtualFile(prefix, len(prefix) + data_len)


def sharded_safetensors_files(
    shards: Mapping[str, Mapping[str, tuple[str, Sequence[int]]]],
    metadata: Mapping[str, Any] | None = None,
    *,
    index_name: str = "model.safetensors.index.json",
) -> dict[str, FileContent]:
    """Shards ``{filename: tensors}`` plus the index (``weight_map`` and ``metadata.total_size``)."""
    files: dict[str, FileContent] = {}
    weight_map: dict[str, str] = {}
    total = 0
    for filename, tensors in shards.items():
        vf = safetensors_file(tensors, {"format": "pt"})
        files[filename] = vf
        total += vf.size - len(vf.prefix)
        weight_map.update(dict.fromkeys(tensors, filename))
    files[index_name] = {"metadata": {"total_size": total, **(metadata or {})}, "weight_map": weight_map}
    return files


def from_folder(path: str | os.PathLike[str]) -> dict[str, FileContent]:
    """Load a local model folder as repo files.

    Header-only safetensors files (8-byte length + JSON header, data cut off) become VirtualFiles of
    their full size, ``8 + header_len + max(data_offsets end)``; every other file is read as is.
    """
    root = Path(path)
    files: dict[str, FileContent] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        data = p.read_bytes()
        if rel.endswith(".safetensors") and (header := _read_safetensors_header(data)) is not None:
            (n,) = struct.unpack("<Q", data[:8])
            ends = [
                t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)
            ]
            full = 8 + n + max(ends, default=0)
            if len(data) < full:
                files[rel] = VirtualFile(data[: 8 + n], full)
                continue
        files[rel] = data
    return files


# --------------------------------------------------------------------------------------------------------
# Repos


def _git_blob_sha1(size: int, chunks: Iterable[bytes | memoryview]) -> str:
    h = hashlib.sha1(b"blob %d\0" % size)
    for c in chunks:
        h.update(c)
    return h.hexdigest()


@dataclass(frozen=True)
class _Entry:
    data: bytes | VirtualFile
    size: int
    lfs: bool
    blob_id: str  # git oid (of the LFS pointer for LFS files)
    sha256: str | None
    pointer_size: int | None

    @property
    def etag(self) -> str:
        return self.sha256 or self.blob_id


def _to_bytes(content: FileContent) -> bytes | VirtualFile:
    if isinstance(content, (bytes, VirtualFile)):
        return content
    if isinstance(content, str):
        return content.encode()
    if isinstance(content, (dict, list)):
        return json.dumps(content, indent=2).encode()
    raise TypeError(f"unsupported file content {type(content).__name__}")


def _make_entry(path: str, content: FileContent) -> _Entry:
    data = _to_bytes(content)
    size = data.size if isinstance(data, VirtualFile) else len(data)
    if path.endswith(LFS_SUFFIXES) or size > LFS_THRESHOLD:
        if isinstance(data, VirtualFile):
            # Hashing GBs of zeros is pointless: a stable pseudo-sha256 of (prefix, size) stands in.
            sha256 = hashlib.sha256(b"fakehub-virtual\0%d\0" % size + data.prefix).hexdigest()
        else:
            sha256 = hashlib.sha256(data).hexdigest()
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
        return _Entry(data, size, True, _git_blob_sha1(len(pointer), [pointer]), sha256, len(pointer))
    return _Entry(data, size, False, _git_blob_sha1(size, _iter_content(data, 0, size)), None, None)


@dataclass
class _Repo:
    repo_id: str
    head: str
    commits: dict[str, dict[str, _Entry]]
    gated: Literal[False, "auto", "manual"]
    private: bool
    card_data: dict | None
    tags: list[str]
    safetensors_params: dict[str, int] | Literal["auto"] | None
    info: dict[str, Any]
    authorized_tokens: frozenset[str] | None
    created_at: str
    last_modified: str


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


# --------------------------------------------------------------------------------------------------------
# Accounting and faults


@dataclass
class LogEntry:
    """One request as served (``bytes`` grows while the body streams)."""

    method: str
    host: str
    path: str  # raw path with query string
    range: str | None
    status: int
    bytes: int
    kind: str
    repo_id: str | None = None
    file: str | None = None
    fault: str | None = None  # "5xx", "429", "drop", "stall", "scripted" when injected


@dataclass
class Stats:
    """Counters for everything the hub served. Kinds: api, stmeta (safetensors-metadata), list, resolve, cache,
    cdn, meta, other."""

    total: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_host: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0
    by_repo: Counter[str] = field(default_factory=Counter)
    by_file: Counter[tuple[str, str]] = field(default_factory=Counter)  # resolve+cache+cdn hops
    max_offset: dict[tuple[str, str], int] = field(default_factory=dict)  # highest byte sent, exclusive
    auth_by_host: dict[str, list[str]] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    served_429: int = 0
    served_5xx: int = 0
    drops: int = 0
    stalls: int = 0
    delayed: int = 0  # requests held back by the `latency` fault (counted, so tests need no clock)

    def entries(
        self, *, kind: str | None = None, repo_id: str | None = None, file: str | None = None
    ) -> list[LogEntry]:
        """Log entries matching every given filter."""
        return [
            e
            for e in list(self.log)
            if (kind is None or e.kind == kind)
            and (repo_id is None or e.repo_id == repo_id)
            and (file is None or e.file == file)
        ]


@dataclass(frozen=True)
class Faults:
    """Injected faults. Random ones are deterministic per (seed, request key, occurrence)."""

    latency: float = 0.0  # seconds slept before answering each request
    fail_rate_5xx: float = 0.0
    fail_status: int = 503
    drop_rate: float = 0.0  # close mid-response: after the headers and half of the body
    ignore_range: bool = False  # answer file requests 200 with the whole body
    stall: float = 0.0  # seconds of silence before closing without an answer
    stall_rate: float = 1.0  # share of requests that stall when stall > 0
    kinds: frozenset[str] | None = None  # request kinds faults apply to; None = all
    seed: int = 0


@dataclass(frozen=True)
class RateLimit:
    """Hub-like fixed-window quotas: "api" for /api/* calls, "resolvers" for /resolve/ calls."""

    api: int | None = None
    resolvers: int | None = None
    window: float = 300.0


@dataclass
class _Scripted:
    remaining: int
    status: int | Literal["drop", "stall", "half-header", "drip"]
    path_substring: str | None
    retry_after: int | str
    response: _Resp | None = None  # answered as is (respond_next)
    ratelimit_headers: bool = True  # a scripted 429 says it is a spent quota (False: edge throttling)
    drip: float = 0.0  # "drip": seconds between bytes
    drip_headers: bool = False  # "drip": the status line and headers dripped too


@dataclass
class _Resp:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: bytes | VirtualFile | None = None  # streamed instead of body when set
    start: int = 0
    end: int = 0  # exclusive
    file_key: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Route:
    kind: str
    repo_id: str | None = None
    rest: tuple[str, ...] = ()  # api subroute segments
    sha: str | None = None  # cache / cdn
    rev: str | None = None  # resolve
    file: str | None = None


def _json(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> _Resp:
    body = json.dumps(obj).encode()
    return _Resp(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


def _error(status: int, code: str | None, message: str, headers: Mapping[str, str] | None = None) -> _Resp:
    h = {"X-Error-Message": message, **(headers or {})}
    if code:
        h["X-Error-Code"] = code
    return _json(status, {"error": message}, h)


def _parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end exclusive), _UNSATISFIABLE, or None when absent/invalid (then ignored, per RFC 9110)."""
    if not value:
        return None
    m = _RANGE.fullmatch(value)
    if not m or not (m.group(1) or m.group(2)):
        return None
    first, last = m.groups()
    if not first:
        n = int(last)
        if n == 0 or size == 0:
            return _UNSATISFIABLE
        return max(0, size - n), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return _UNSATISFIABLE
    return start, min(int(last), size - 1) + 1 if last else size


# --------------------------------------------------------------------------------------------------------
# Server plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for stalled or idle keep-alive connections
    request_queue_size = 1024
    hub: FakeHub

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client disconnects are normal (drops, ignore_range); anything else is a fake-hub bug: keep it.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            self.hub.errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, every response carries Content-Length
    # Without it, reused connections stall on Nagle + delayed ACK (40 ms) after small responses.
    disable_nagle_algorithm = True
    server_version = "FakeHub/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.hub._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.hub._track(self.connection, add=False)

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.hub._serve(self, "GET")

    def do_HEAD(self) -> None:
        self.server.hub._serve(self, "HEAD")

    def _not_allowed(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.hub._serve(self, self.command)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


# --------------------------------------------------------------------------------------------------------
# The hub


class FakeHub:
    """A fake Hub on 127.0.0.1 (port 0) served from a daemon thread; CDN answers as ``cdn_host``."""

    def __init__(self, *, cdn_host: str = "localhost", page_size: int = 100, start: bool = True) -> None:
        self.cdn_host = cdn_host
        self.page_size = page_size  # /api/models page size (``limit`` lowers it)
        self.tree_page_size = 1000
        self.tokens: set[str] = set()  # valid "hf_..." tokens
        self.reject_invalid_tokens = True  # real Hub: 401 "Invalid credentials" even on public repos
        self.faults = Faults()
        self.rate_limit: RateLimit | None = None
        self.errors: list[str] = []  # tracebacks of unexpected server-side exceptions
        self.keep_log = True  # benchmarks with millions of requests may turn the per-request log off
        # 2026 Hub behaviours (see the module docstring, "Real Hub behaviours"):
        self.compress_text = True  # gzip JSON/text answers (errors too) when the client accepts gzip
        self.cdn_gzip_ignores_range = False  # a CDN answering a ranged read that accepts gzip with 200 + all
        self.serve_sharded_metadata = True  # False: a mirror without /api/models/{repo}/safetensors-metadata
        self.serve_resolve_cache = True  # False: a mirror whose /resolve/ answers small files itself
        self.charge_resolve_cache = True  # the /api/resolve-cache/ hop counts against "resolvers" too
        self.page_link_base: str | None = None  # listing Link: rel="next" on another base (hostile)
        self.extra_headers: dict[str, str] = {}  # sent on every answer (hostile RateLimit values...)
        self._cdn_generation = 0  # bumped by expire_cdn_urls(): older signed URLs get 403
        self._renamed: dict[str, str] = {}
        self._tls = threading.local()
        self._disabled: set[str] = set()
        self._repos: dict[str, _Repo] = {}
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._stats = Stats()
        self._scripted: list[_Scripted] = []
        self._occurrences: Counter[tuple[str, str]] = Counter()
        self._rl_window = -1
        self._rl_used: Counter[str] = Counter()
        self._t0 = time.monotonic()
        self._clock = 0
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # ---- lifecycle

    def start(self) -> FakeHub:
        """Bind 127.0.0.1:0 and serve in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.hub = self
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="fakehub"
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection (idle keep-alive ones included)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes latency/stall sleepers
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "hub not started"
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def cdn_endpoint(self) -> str:
        # Same socket, another host name: a different origin for httpx and huggingface_hub alike.
        return f"http://{self.cdn_host}:{self.port}"

    def env(self, hf_home: str | os.PathLike[str]) -> dict[str, str]:
        """Environment for a subprocess using huggingface_hub against this hub (unset HF_TOKEN yourself)."""
        return {
            "HF_ENDPOINT": self.endpoint,
            "HF_HOME": os.fspath(hf_home),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_OFFLINE": "0",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }

    # ---- repos

    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, FileContent],
        *,
        sha: str | None = None,
        gated: bool | Literal["auto", "manual"] = False,
        private: bool = False,
        card_data: dict | None = None,
        tags: Iterable[str] | None = None,
        safetensors_params: dict[str, int] | Literal["auto"] | None = None,
        info: Mapping[str, Any] | None = None,
        authorized_tokens: Iterable[str] | None = None,
    ) -> str:
        """Create (or replace) a model repo; return its commit sha.

        ``safetensors_params``: ``{dtype: count}`` for model_info's ``safetensors`` field, or "auto" to
        count the headers. ``info``: extra model_info fields (pipeline_tag, library_name, downloads...).
        ``authorized_tokens``: who passes the gate / sees the private repo (None = any valid token).
        """
        with self._lock:
            self._clock += 1
            sha = sha or self._auto_sha(repo_id)
            ts = _iso(_EPOCH + self._clock * 3600)
            self._repos[repo_id] = _Repo(
                repo_id=repo_id,
                head=sha,
                commits={sha: {p: _make_entry(p, c) for p, c in files.items()}},
                gated="manual" if gated is True else gated,
                private=private,
                card_data=card_data,
                tags=list(tags or []),
                safetensors_params=safetensors_params,
                info=dict(info or {}),
                authorized_tokens=None if authorized_tokens is None else frozenset(authorized_tokens),
                created_at=ts,
                last_modified=ts,
            )
            return sha

    def add_folder(self, repo_id: str, path: str | os.PathLike[str], **kwargs: Any) -> str:
        """``add_repo(repo_id, from_folder(path), **kwargs)``."""
        return self.add_repo(repo_id, from_folder(path), **kwargs)

    def remove_repo(self, repo_id: str) -> None:
        with self._lock:
            self._repos.pop(repo_id, None)

    def set_sha(
        self, repo_id: str, sha: str | None = None, files: Mapping[str, FileContent] | None = None
    ) -> str:
        """New commit on main (same files unless given); the old sha stays resolvable. Return the sha."""
        with self._lock:
            repo = self._repos[repo_id]
            self._clock += 1
            sha = sha or self._auto_sha(repo_id)
            entries = (
                {p: _make_entry(p, c) for p, c in files.items()}
                if files is not None
                else repo.commits[repo.head]
            )
            repo.commits[sha] = entries
            repo.head = sha
            repo.last_modified = _iso(_EPOCH + self._clock * 3600)
            return sha

    def sha(self, repo_id: str) -> str:
        with self._lock:
            return self._repos[repo_id].head

    def _auto_sha(self, repo_id: str) -> str:
        return hashlib.sha1(f"{repo_id}\0{self._clock}".encode()).hexdigest()

    # ---- faults, limits, stats

    def set_faults(self, **changes: Any) -> Faults:
        """Update some fault settings (see Faults); takes effect for the next requests."""
        if "kinds" in changes and changes["kinds"] is not None:
            changes["kinds"] = frozenset(changes["kinds"])
        with self._lock:
            self.faults = replace(self.faults, **changes)
            return self.faults

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = Faults()
            self._scripted.clear()
            self._occurrences.clear()

    def fail_next(
        self,
        n: int = 1,
        status: int | Literal["drop", "stall"] = 503,
        path_substring: str | None = None,
        *,
        retry_after: int = 1,
    ) -> None:
        """Answer the next ``n`` requests whose path contains ``path_substring`` with ``status``."""
        with self._lock:
            self._scripted.append(_Scripted(n, status, path_substring, retry_after))

    def throttle_next(self, n: int = 1, path_substring: str | None = None, *, retry_after: int | str | None = None,
                      ratelimit: bool = False) -> None:
        """429 for the next ``n`` matching requests; without RateLimit headers unless ``ratelimit`` (edge
        throttling), with ``Retry-After`` only when given (any string: hostile values too)."""
        with self._lock:
            self._scripted.append(_Scripted(n, 429, path_substring, "" if retry_after is None else retry_after,
                                            ratelimit_headers=ratelimit))

    def respond_next(self, n: int = 1, path_substring: str | None = None, status: int = 200, body: bytes | str = b"",
                     headers: Mapping[str, str] | None = None) -> None:
        """Answer the next ``n`` matching requests with exactly this (``Content-Length`` is added)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._scripted.append(_Scripted(n, status, path_substring, 0, response=_Resp(status, dict(headers or {}), raw)))

    def drip_next(self, n: int = 1, path_substring: str | None = None, *, every: float = 0.02,
                  headers: bool = False) -> None:
        """Serve the next ``n`` matching requests one byte every ``every`` seconds (a slow-drip server);
        with ``headers`` the status line and headers drip too."""
        with self._lock:
            self._scripted.append(_Scripted(n, "drip", path_substring, 0, drip=every, drip_headers=headers))

    def expire_cdn_urls(self) -> None:
        """Signed CDN URLs handed out so far expire: the CDN answers them 403 (as after about an hour)."""
        with self._lock:
            self._cdn_generation += 1

    def rename_repo(self, old: str, new: str) -> None:
        """The repo moves; its old id answers 307 to the same path under the new id, as the Hub does."""
        with self._lock:
            self._repos[new] = replace(self._repos.pop(old), repo_id=new)
            self._renamed[old] = new

    def disable_repo(self, repo_id: str) -> None:
        """Every request for the repo gets 403 "Access to this resource is disabled." """
        with self._lock:
            self._disabled.add(repo_id)

    def set_rate_limit(
        self, api: int | None = None, resolvers: int | None = None, window: float = 300.0
    ) -> None:
        """Enable quotas (None = unlimited bucket, still reported); restarts the window."""
        with self._lock:
            self.rate_limit = RateLimit(api, resolvers, window)
            self._t0 = time.monotonic()
            self._rl_window = -1

    def disable_rate_limit(self) -> None:
        with self._lock:
            self.rate_limit = None

    @property
    def stats(self) -> Stats:
        return self._stats

    def reset_stats(self) -> Stats:
        """Start new counters; return the old ones (in-flight requests keep updating the old object)."""
        with self._lock:
            old, self._stats = self._stats, Stats()
            return old

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no request is being served (e.g. a body still streaming after a client hung up)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _chance(self, seed: int, what: str, key: str) -> float:
        """Deterministic draw in [0, 1) for the n-th occurrence of ``key``, independent of thread timing."""
        self._occurrences[(what, key)] += 1
        n = self._occurrences[(what, key)]
        digest = hashlib.blake2b(f"{seed}\0{what}\0{key}\0{n}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def _rate_check(self, bucket: str | None) -> tuple[bool, dict[str, str], int]:
        """Count one call against ``bucket``: (allowed, RateLimit headers, seconds to the window reset)."""
        rl = self.rate_limit
        if rl is None or bucket is None:
            return True, {}, 0
        quota = rl.api if bucket == "api" else rl.resolvers
        now = time.monotonic()
        window = int((now - self._t0) // rl.window)
        if window != self._rl_window:
            self._rl_window, self._rl_used = window, Counter()
        self._rl_used[bucket] += 1
        reset = max(1, math.ceil(self._t0 + (window + 1) * rl.window - now))
        q = quota if quota is not None else 10**9
        remaining = max(0, q - self._rl_used[bucket])
        headers = {
            "RateLimit": f'"{bucket}";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"{bucket}";q={q};w={math.ceil(rl.window)}',
        }
        return self._rl_used[bucket] <= q, headers, reset

    # ---- request handling

    def _route(self, path: str) -> _Route:
        segs = [unquote(s) for s in path.split("/")[1:]]
        if path == "/api/models":
            return _Route("list")
        if path in ("/api/agent-harnesses", "/api/whoami-v2"):
            return _Route("meta", rest=(segs[1],))
        if path.startswith("/api/resolve-cache/models/"):
            return self._route_blob("cache", segs[3:])
        if path.startswith("/cdn/"):
            return self._route_blob("cdn", segs[1:])
        if path.startswith("/api/models/"):
            s = segs[2:]
            if len(s) >= 2 and (
                f"{s[0]}/{s[1]}" in self._repos or f"{s[0]}/{s[1]}" in self._renamed
                or (s[0] not in self._repos and s[0] not in self._renamed and s[1] not in _API_SUBROUTES)
            ):
                repo, rest = f"{s[0]}/{s[1]}", tuple(s[2:])
            else:
                repo, rest = (s[0] if s and s[0] else None), tuple(s[1:])
            # The sharded-metadata call has its own kind (it is charged to "api" like model_info).
            return _Route("stmeta" if rest[:1] == ("safetensors-metadata",) else "api", repo, rest)
        if path.startswith("/api/"):
            return _Route("other")
        for i in (1, 2):
            if len(segs) > i + 2 and segs[i] == "resolve":
                return _Route("resolve", "/".join(segs[:i]), rev=segs[i + 1], file="/".join(segs[i + 2 :]))
        return _Route("other")

    @staticmethod
    def _route_blob(kind: str, s: list[str]) -> _Route:
        for i in (1, 2):
            if len(s) > i + 1 and _HEX40.fullmatch(s[i]):
                return _Route(kind, "/".join(s[:i]), sha=s[i], file="/".join(s[i + 1 :]))
        return _Route(kind)

    def _serve(self, h: _Handler, method: str) -> None:
        url = urlsplit(h.path)
        self._tls.path = h.path  # read by _handle (renames) in this request's thread
        self._tls.accept = h.headers.get("Accept-Encoding") or ""
        host = h.headers.get("Host", "")
        auth = h.headers.get("Authorization")
        rng = h.headers.get("Range")
        faults = self.faults
        with self._lock:
            route = self._route(url.path)
            stats = self._stats
            entry = LogEntry(method, host, h.path, rng, 0, 0, route.kind, route.repo_id, route.file)
            stats.total += 1
            stats.by_kind[route.kind] += 1
            stats.by_host[host] += 1
            if route.repo_id:
                stats.by_repo[route.repo_id] += 1
            if route.file is not None and route.kind in ("resolve", "cache", "cdn"):
                stats.by_file[(route.repo_id or "", route.file)] += 1
            if auth is not None:
                stats.auth_by_host.setdefault(host, []).append(auth)
            if self.keep_log:
                stats.log.append(entry)
            self._inflight += 1
        try:
            self._serve_inner(h, method, url.path, url.query, route, entry, stats, faults, auth, rng)
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def _serve_inner(
        self,
        h: _Handler,
        method: str,
        path: str,
        query: str,
        route: _Route,
        entry: LogEntry,
        stats: Stats,
        faults: Faults,
        auth: str | None,
        rng: str | None,
    ) -> None:
        applies = faults.kinds is None or route.kind in faults.kinds
        key = f"{method} {h.path} {rng}"
        scripted: _Scripted | None = None
        with self._lock:
            for s in self._scripted:
                if s.path_substring is None or s.path_substring in h.path:
                    scripted = s
                    s.remaining -= 1
                    if s.remaining <= 0:
                        self._scripted.remove(s)
                    break
            stall = (
                applies and faults.stall > 0 and self._chance(faults.seed, "stall", key) < faults.stall_rate
            )
            fail = (
                applies
                and faults.fail_rate_5xx > 0
                and self._chance(faults.seed, "5xx", key) < faults.fail_rate_5xx
            )
            drop = (
                applies and faults.drop_rate > 0 and self._chance(faults.seed, "drop", key) < faults.drop_rate
            )
            bucket = (
                "resolvers"
                if route.kind == "resolve" or (route.kind == "cache" and self.charge_resolve_cache)
                else "api"
                if route.kind in ("api", "list", "meta", "stmeta")
                else None
            )
            allowed, rl_headers, reset = self._rate_check(bucket)

        if applies and faults.latency > 0:
            with self._lock:
                stats.delayed += 1
            self._stopping.wait(faults.latency)

        if scripted is not None and scripted.status in ("drop", "stall"):
            drop, stall = scripted.status == "drop", scripted.status == "stall"
            entry.fault = "scripted"
        if scripted is not None and scripted.status == "half-header":
            entry.fault = "scripted"
            with contextlib.suppress(OSError):
                h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: applica")
                h.wfile.flush()
            self._stopping.wait(30.0)
            h.close_connection = True
            return
        if stall:
            with self._lock:
                stats.stalls += 1
                entry.fault = entry.fault or "stall"
            self._stopping.wait(faults.stall if faults.stall > 0 else 30.0)
            h.close_connection = True  # then hang up without a word
            return

        if scripted is not None and scripted.response is not None:
            resp = replace(scripted.response, headers=dict(scripted.response.headers))
            entry.fault = "scripted"
        elif scripted is not None and isinstance(scripted.status, int):
            if not scripted.ratelimit_headers:
                rl_headers = {}
            resp = self._fault_response(
                scripted.status, scripted.retry_after, rl_headers, bucket, scripted=scripted.ratelimit_headers
            )
            entry.fault = "scripted"
        elif not allowed:
            resp = self._fault_response(429, reset, rl_headers, bucket)
            entry.fault = "429"
        elif fail:
            resp = _error(
                faults.fail_status,
                None,
                "Internal Error - We're working hard to fix this as soon as possible!",
            )
            entry.fault = "5xx"
        else:
            try:
                resp = self._handle(method, route, query, auth, rng, faults)
            except Exception:
                self.errors.append(traceback.format_exc())
                resp = _error(500, None, "fakehub internal error")
        if scripted is None or scripted.response is None:
            resp.headers.update(rl_headers)
            resp.headers.update(self.extra_headers)
        if drop:
            entry.fault = entry.fault or "drop"
        if self.compress_text and resp.file is None and resp.body and method == "GET" and "Content-Encoding" not in resp.headers \
                and "gzip" in (h.headers.get("Accept-Encoding") or "").lower():
            resp.body = _gzip.compress(resp.body, 6, mtime=0)
            resp.headers["Content-Encoding"] = "gzip"
        if scripted is not None and scripted.status == "drip":
            entry.fault = "scripted"
            self._drip(h, method, resp, entry, stats, scripted)
            return
        self._send(h, method, resp, entry, stats, drop)

    def _drip(self, h: _Handler, method: str, resp: _Resp, entry: LogEntry, stats: Stats, s: _Scripted) -> None:
        body = resp.body if resp.file is None else b"".join(bytes(c) for c in _iter_content(resp.file, resp.start, resp.end))
        head = f"HTTP/1.1 {resp.status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        entry.status = resp.status
        h.close_connection = True
        try:
            if not s.drip_headers:
                h.wfile.write(head.encode("latin-1", "backslashreplace"))
                head = ""
            for b in head.encode("latin-1", "backslashreplace") + (body if method == "GET" else b""):
                if self._stopping.wait(s.drip):
                    return
                h.wfile.write(bytes([b]))
                h.wfile.flush()
                self._account(stats, entry, 1, None, 0)
        except OSError:
            return

    @staticmethod
    def _fault_response(
        status: int,
        retry_after: int,
        rl_headers: dict[str, str],
        bucket: str | None,
        *,
        scripted: bool = False,
    ) -> _Resp:
        if status != 429:
            return _error(status, None, f"Injected error {status}")
        if scripted:  # make it look like a spent quota too
            b = bucket or "api"
            rl_headers.update(
                {
                    "RateLimit": f'"{b}";r=0;t={retry_after}',
                    "RateLimit-Policy": rl_headers.get("RateLimit-Policy", f'"fixed window";"{b}";q=0;w=300'),
                }
            )
        return _error(
            429,
            None,
            "Too Many Requests: you have exceeded your rate limit",
            {"Retry-After": str(retry_after)} if str(retry_after) else {},
        )

    def _send(self, h: _Handler, method: str, resp: _Resp, entry: LogEntry, stats: Stats, drop: bool) -> None:
        length = resp.end - resp.start if resp.file is not None else len(resp.body)
        with self._lock:
            entry.status = resp.status
            stats.by_status[resp.status] += 1
            if resp.status == 429:
                stats.served_429 += 1
            elif resp.status >= 500:
                stats.served_5xx += 1
            if drop:
                stats.drops += 1
        if drop and (method == "HEAD" or length == 0):
            h.close_connection = True  # nothing to cut in half: hang up before answering
            return
        try:
            h.send_response(resp.status)
            for k, v in resp.headers.items():
                # http.server encodes headers as strict latin-1: escape anything else (repo paths, revs).
                h.send_header(k, v.encode("latin-1", "backslashreplace").decode("latin-1"))
            h.send_header("Content-Length", str(length))
            h.end_headers()
            if method == "HEAD":
                return
            todo = length // 2 if drop else length
            if resp.file is None:
                self._account(stats, entry, todo, None, 0)
                h.wfile.write(resp.body[:todo])
            else:
                pos = resp.start
                for chunk in _iter_content(resp.file, resp.start, resp.start + todo):
                    pos += len(chunk)
                    # Count before writing: once the client holds the bytes, the stats already show them.
                    self._account(stats, entry, len(chunk), resp.file_key, pos)
                    h.wfile.write(chunk)
            if drop:
                h.wfile.flush()
                h.close_connection = True
        except (ConnectionError, TimeoutError, OSError):
            h.close_connection = True  # client went away (it stopped reading): normal

    def _account(self, stats: Stats, entry: LogEntry, n: int, key: tuple[str, str] | None, pos: int) -> None:
        with self._lock:
            stats.bytes_sent += n
            entry.bytes += n
            if key is not None and pos > stats.max_offset.get(key, -1):
                stats.max_offset[key] = pos

    # ---- endpoints

    def _token_state(self, auth: str | None) -> str | None | Literal[False]:
        """The valid token, None when absent, False when invalid."""
        if auth is None:
            return None
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
        return token if token in self.tokens else False

    @staticmethod
    def _authorized(repo: _Repo, token: str | None | Literal[False]) -> bool:
        return bool(token) and (repo.authorized_tokens is None or token in repo.authorized_tokens)

    def _handle(
        self, method: str, route: _Route, query: str, auth: str | None, rng: str | None, faults: Faults
    ) -> _Resp:
        if method not in ("GET", "HEAD"):
            return _error(405, None, "Method not allowed")
        params = parse_qsl(query, keep_blank_values=True)
        if route.kind == "cdn":
            return self._cdn(route, rng, faults, query, self._tls.accept)
        token = self._token_state(auth)
        if token is False and self.reject_invalid_tokens:
            return _error(401, None, "Invalid credentials in Authorization header")
        if route.kind == "meta":
            if route.rest == ("agent-harnesses",):
                return _json(200, {"standardEnvVars": [], "harnesses": {}})
            if not token:
                return _error(401, None, "Invalid credentials in Authorization header")
            return _json(200, {"type": "user", "name": "fakehub-user", "auth": {"type": "access_token"}})
        if route.kind == "list":
            return self._list_models(params, token)
        if route.kind == "other" or (route.kind == "cache" and not self.serve_resolve_cache):
            return _error(404, None, "Sorry, we can't find the page you are looking for.")

        with self._lock:
            if route.repo_id in self._renamed and route.kind in ("api", "stmeta", "resolve"):
                old, new = route.repo_id, self._renamed[route.repo_id]
                raw = self._tls.path
                api = f"/api/models/{old}"
                path = f"/api/models/{new}{raw[len(api):]}" if raw.startswith(api) else f"/{new}{raw[len(old) + 1:]}"
                return _Resp(307, {"Location": path}, f"Moved. Redirecting to {path}".encode())
            if route.repo_id in self._disabled:
                return _error(403, None, "Access to this resource is disabled.")
            repo = self._repos.get(route.repo_id or "")
            if repo is None or (repo.private and not self._authorized(repo, token)):
                # The Hub answers 401 to anonymous callers for missing *and* private repos.
                return _error(404 if token else 401, "RepoNotFound", "Repository not found")
            if route.kind in ("api", "stmeta"):
                return self._api(repo, route, params)
            if repo.gated and not self._authorized(repo, token):
                what = f"Access to model {repo.repo_id} is restricted"
                if token:
                    return _error(403, "GatedRepo", f"{what} and you are not in the authorized list. "
                                  f"Visit {self.endpoint}/{repo.repo_id} to ask for access.")  # fmt: skip
                return _error(401, "GatedRepo", f"{what}. You must have access to it and be authenticated "
                              "to access it. Please log in.")  # fmt: skip
            if route.kind == "resolve":
                return self._resolve(repo, route)
            return self._cache(repo, route, rng, faults)

    def _commit(self, repo: _Repo, rev: str | None) -> str | None:
        if rev in (None, "main"):
            return repo.head
        return rev if rev in repo.commits else None

    def _resolve(self, repo: _Repo, route: _Route) -> _Resp:
        sha = self._commit(repo, route.rev)
        if sha is None:
            return _error(404, "RevisionNotFound", f"Invalid rev id: {route.rev}")
        entry = repo.commits[sha].get(route.file or "")
        if entry is None:
            return _error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": sha})
        qfile = quote(route.file or "")
        headers = {
            "X-Repo-Commit": sha,
            "ETag": f'"{entry.etag}"',
            "Accept-Ranges": "bytes",
            "Vary": "Origin, Accept-Encoding",
            "Content-Type": "text/plain; charset=utf-8",
        }
        if entry.lfs:
            # A signed CDN URL on another origin: clients must not forward the Authorization header there.
            sig = hashlib.sha256(f"{repo.repo_id}/{sha}/{route.file}".encode()).hexdigest()[:32]
            location = (
                f"{self.cdn_endpoint}/cdn/{repo.repo_id}/{sha}/{qfile}?Expires=4102444800&Signature={sig}"
                f"&Key-Pair-Id={self._cdn_generation}"
            )
            headers.update({
                "Location": location,
                "X-Linked-Size": str(entry.size),
                "X-Linked-Etag": f'"{entry.sha256}"',
            })  # fmt: skip
            return _Resp(302, headers, f"Found. Redirecting to {location}".encode())
        if not self.serve_resolve_cache:
            resp = self._file_response(entry, (repo.repo_id, route.file or ""), None, Faults())
            resp.headers.update({"X-Repo-Commit": sha, "ETag": headers["ETag"]})
            return resp
        location = f"/api/resolve-cache/models/{repo.repo_id}/{sha}/{qfile}?etag={quote(headers['ETag'])}"
        headers["Location"] = location
        return _Resp(307, headers, f"Temporary Redirect. Redirecting to {location}".encode())

    def _file_response(self, entry: _Entry, key: tuple[str, str], rng: str | None, faults: Faults) -> _Resp:
        r = None if faults.ignore_range else _parse_range(rng, entry.size)
        headers = {"Accept-Ranges": "bytes"}
        if r == _UNSATISFIABLE:
            headers["Content-Range"] = f"bytes */{entry.size}"
            return _Resp(416, headers)
        if r is None:
            return _Resp(200, headers, file=entry.data, start=0, end=entry.size, file_key=key)
        assert isinstance(r, tuple)
        start, end = r
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
        return _Resp(206, headers, file=entry.data, start=start, end=end, file_key=key)

    def _cache(self, repo: _Repo, route: _Route, rng: str | None, faults: Faults) -> _Resp:
        if route.sha not in repo.commits:
            return _error(404, "RevisionNotFound", f"Invalid rev id: {route.sha}")
        entry = repo.commits.get(route.sha or "", {}).get(route.file or "")
        if entry is None:
            return _error(404, "EntryNotFound", "Entry not found")
        resp = self._file_response(
            entry, (repo.repo_id, route.file or ""), rng, self._file_faults(faults, "cache")
        )
        name = (route.file or "").rsplit("/", 1)[-1]
        ctype = "application/json; charset=utf-8" if name.endswith(".json") else "text/plain; charset=utf-8"
        resp.headers.update({
            "X-Repo-Commit": route.sha or "",
            "ETag": f'"{entry.etag}"',
            "Content-Type": ctype,
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
        })  # fmt: skip
        return resp

    def _cdn(self, route: _Route, rng: str | None, faults: Faults, query: str = "", accept: str = "") -> _Resp:
        gen = dict(parse_qsl(query)).get("Key-Pair-Id")
        if gen is not None and gen != str(self._cdn_generation):
            return _Resp(403, {"Content-Type": "application/xml"},
                         b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        with self._lock:
            repo = self._repos.get(route.repo_id or "")
            entry = repo.commits.get(route.sha or "", {}).get(route.file or "") if repo else None
        if entry is None:
            return _Resp(404, {"Content-Type": "text/plain"}, b"NoSuchKey")
        if self.cdn_gzip_ignores_range and rng and "gzip" in accept.lower() and entry.size <= 64 * 1024 * 1024:
            # What CDNs do: a ranged read that accepts gzip gets the whole object, compressed, 200.
            whole = b"".join(bytes(c) for c in _iter_content(entry.data, 0, entry.size))
            return _Resp(200, {"Content-Encoding": "gzip", "Content-Type": "binary/octet-stream"},
                         _gzip.compress(whole, 6, mtime=0))
        resp = self._file_response(
            entry, (route.repo_id or "", route.file or ""), rng, self._file_faults(faults, "cdn")
        )
        name = (route.file or "").rsplit("/", 1)[-1]
        resp.headers.update({
            "ETag": f'"{entry.etag}"',
            "Content-Type": "binary/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
        })  # fmt: skip
        return resp

    @staticmethod
    def _file_faults(faults: Faults, kind: str) -> Faults:
        if faults.ignore_range and faults.kinds is not None and kind not in faults.kinds:
            return replace(faults, ignore_range=False)
        return faults

    # ---- /api/models

    def _model_json(
        self, repo: _Repo, sha: str, *, blobs: bool = False, expand: Sequence[str] | None = None
    ) -> dict[str, Any]:
        entries = repo.commits[sha]
        siblings = []
        for path, e in entries.items():
            s: dict[str, Any] = {"rfilename": path}
            if blobs:
                s.update({"size": e.size, "blobId": e.blob_id})
                if e.lfs:
                    s["lfs"] = {"sha256": e.sha256, "size": e.size, "pointerSize": e.pointer_size}
            siblings.append(s)
        cfg = entries.get("config.json")
        config = _config_field(cfg.data) if cfg is not None and isinstance(cfg.data, bytes) else None
        full: dict[str, Any] = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
            "sha": sha,
            "lastModified": repo.last_modified,
            "createdAt": repo.created_at,
            "private": repo.private,
            "disabled": False,
            "gated": repo.gated,
            "downloads": 0,
            "likes": 0,
            "trendingScore": 0,
            "tags": list(repo.tags),
            "cardData": repo.card_data,
            "config": config,
            "siblings": siblings,
            "spaces": [],
            "safetensors": self._safetensors_field(repo, sha),
            "usedStorage": sum(e.size for e in entries.values()),
            **repo.info,
        }
        if expand:
            return {
                "_id": full["_id"],
                "id": full["id"],
                **{k: full.get(k) for k in expand if full.get(k) is not None},
            }
        return {k: v for k, v in full.items() if v is not None}

    def _safetensors_field(self, repo: _Repo, sha: str) -> dict[str, Any] | None:
        params = repo.safetensors_params
        if params == "auto":
            counts: Counter[str] = Counter()
            for path, e in repo.commits[sha].items():
                if path.endswith(".safetensors") and (header := _read_safetensors_header(e.data)):
                    for name, t in header.items():
                        if name != "__metadata__" and isinstance(t, dict):
                            counts[t["dtype"]] += math.prod(t["shape"])
            params = dict(counts) if counts else None
        if not params:
            return None
        return {"parameters": dict(params), "total": sum(params.values())}

    def _api(self, repo: _Repo, route: _Route, params: list[tuple[str, str]]) -> _Resp:
        rest = route.rest
        sub = rest[0] if rest else None
        if sub in (None, "revision"):
            rev = rest[1] if sub == "revision" and len(rest) > 1 else None
            sha = self._commit(repo, rev)
            if sha is None:
                return _error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            expand = [v for k, v in params if k in ("expand", "expand[]")]
            if bad := [e for e in expand if e not in _EXPANDABLE]:
                return _error(400, None, f'"expand" must be one of {sorted(_EXPANDABLE)}, got {bad}')
            blobs = any(k == "blobs" and v.lower() in ("1", "true") for k, v in params)
            data = self._model_json(repo, sha, blobs=blobs, expand=expand or None)
            if any(k == "securityStatus" for k, _ in params):
                data["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": []}
            return _json(200, data)
        if sub == "tree" and len(rest) > 1:
            return self._tree(repo, rest[1], "/".join(rest[2:]), params)
        if sub == "safetensors-metadata" and len(rest) > 1 and self.serve_sharded_metadata:
            return self._safetensors_metadata(repo, "/".join(rest[1:]))
        return _error(404, None, "Sorry, we can't find the page you are looking for.")

    def _tree(self, repo: _Repo, rev: str, base: str, params: list[tuple[str, str]]) -> _Resp:
        sha = self._commit(repo, rev)
        if sha is None:
            return _error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        q = dict(params)
        recursive = q.get("recursive", "").lower() in ("1", "true")
        expand = q.get("expand", "").lower() in ("1", "true")
        base = base.strip("/")
        prefix = f"{base}/" if base else ""
        entries = repo.commits[sha]
        dirs: set[str] = set()
        files: list[str] = []
        for path in entries:
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            for i in range(1, len(parts)):
                if recursive or i == 1:
                    dirs.add(prefix + "/".join(parts[:i]))
            if recursive or len(parts) == 1:
                files.append(path)
        if base and not files and not dirs:
            return _error(404, "EntryNotFound", f"{base} does not exist on {rev}", {"X-Repo-Commit": sha})
        commit = {"id": sha, "title": "Upload folder", "date": repo.last_modified}
        items: list[dict[str, Any]] = []
        for d in sorted(dirs):
            items.append({"type": "directory", "oid": hashlib.sha1(f"{sha}:{d}".encode()).hexdigest(), "size": 0,
                          "path": d, **({"lastCommit": commit} if expand else {})})  # fmt: skip
        for p in sorted(files):
            e = entries[p]
            item: dict[str, Any] = {"type": "file", "oid": e.blob_id, "size": e.size, "path": p}
            if e.lfs:
                item["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": e.pointer_size}
            if expand:
                item["lastCommit"] = commit
            items.append(item)
        page = 50 if expand else self.tree_page_size
        return self._page(items, params, page, f"/api/models/{repo.repo_id}/tree/{quote(rev, safe='')}"
                          + (f"/{quote(base)}" if base else ""))  # fmt: skip

    def _safetensors_metadata(self, repo: _Repo, filename: str) -> _Resp:
        entries = repo.commits[repo.head]
        index_entry = entries.get(filename)
        if index_entry is None:
            return _error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": repo.head})
        index = json.loads(_head_bytes(index_entry.data, index_entry.size))
        headers = []
        base = filename.rsplit("/", 1)[0] + "/" if "/" in filename else ""
        for shard in sorted(set(index.get("weight_map", {}).values())):
            e = entries.get(base + shard)
            blob = _header_blob(e.data) if e else None
            text = None if blob is None else _parsed_header(blob)[1]
            if text is None:
                return _error(404, "EntryNotFound", f"Cannot read safetensors header of {shard}")
            headers.append(f"{json.dumps(shard)}: {text}")
        # json.dumps({"index": ..., "headers": {...}}) spelled out, with each header's JSON made once.
        index_json = json.dumps({k: v for k, v in index.items() if k != "weight_map"})
        body = f'{{"index": {index_json}, "headers": {{{", ".join(headers)}}}}}'.encode()
        return _Resp(200, {"Content-Type": "application/json; charset=utf-8", "X-Repo-Commit": repo.head}, body)

    def _list_models(self, params: list[tuple[str, str]], token: str | None | Literal[False]) -> _Resp:
        q: dict[str, list[str]] = {}
        for k, v in params:
            q.setdefault(k.removesuffix("[]"), []).append(v)
        one = {k: v[-1] for k, v in q.items()}
        expand = q.get("expand", [])
        if bad := [e for e in expand if e not in _EXPANDABLE]:
            return _error(400, None, f'"expand" must be one of {sorted(_EXPANDABLE)}, got {bad}')
        truthy = ("1", "true", "True")
        author, search = one.get("author"), one.get("search")

        def named(r: _Repo) -> bool:  # by the id the answer will show, before its JSON is built
            rid = r.info.get("id", r.repo_id)
            if not isinstance(rid, str):
                return True  # left to the filters below, on the answer itself
            return ((not author or (rid.split("/")[0] == author and "/" in rid))
                    and (not search or search.lower() in rid.lower()))

        with self._lock:
            # Only the repos the author and search keep get their JSON built: a page built every
            # repo's under the lock (each of a bench's hundreds, for every page).
            repos = [r for r in self._repos.values() if (not r.private or self._authorized(r, token)) and named(r)]
            models = [self._model_json(r, r.head, expand=None) for r in repos]
        if author:
            models = [m for m in models if m["id"].split("/")[0] == author and "/" in m["id"]]
        if search:
            models = [m for m in models if search.lower() in m["id"].lower()]
        for f in q.get("filter", []):
            models = [
                m
                for m in models
                if f in m.get("tags", []) or f in (m.get("library_name"), m.get("pipeline_tag"))
            ]
        if pipeline := one.get("pipeline_tag"):
            models = [m for m in models if m.get("pipeline_tag") == pipeline]
        if "gated" in one:
            want = one["gated"] in truthy
            models = [m for m in models if bool(m.get("gated")) == want]
        if sort := one.get("sort"):
            # The Hub sorts descending; direction=1 is accepted for older clients.
            models.sort(
                key=lambda m: (m.get(sort) is not None, m.get(sort) or 0), reverse=one.get("direction") != "1"
            )
        light = ("_id", "id", "modelId", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                 "library_name", "createdAt")  # fmt: skip
        items = []
        for m in models:
            if expand:
                item = {"_id": m["_id"], "id": m["id"], **{k: m[k] for k in expand if k in m}}
            elif one.get("full") in truthy:
                item = {k: v for k, v in m.items() if k not in ("config", "cardData")}
            else:
                item = {k: m[k] for k in light if k in m}
            if one.get("config") in truthy and "config" in m:
                item["config"] = m["config"]
            if one.get("cardData") in truthy and "cardData" in m:
                item["cardData"] = m["cardData"]
            items.append(item)
        limit = int(one["limit"]) if one.get("limit", "").isdigit() else None
        page = min(limit, self.page_size) if limit else self.page_size
        return self._page(items, params, page, "/api/models")

    def _page(self, items: list[Any], params: list[tuple[str, str]], page: int, path: str) -> _Resp:
        cursor = next((v for k, v in params if k == "cursor"), "0")
        start = int(cursor) if cursor.isdigit() else 0
        chunk = items[start : start + max(1, page)]
        headers = {}
        if start + len(chunk) < len(items):
            qs = urlencode(
                [(k, v) for k, v in params if k != "cursor"] + [("cursor", str(start + len(chunk)))]
            )
            headers["Link"] = f'<{self.page_link_base or self.endpoint}{path}?{qs}>; rel="next"'
        return _json(200, chunk, headers)


# --------------------------------------------------------------------------------------------------------
# In-process endpoint switch


@contextlib.contextmanager
def use_endpoint(
    endpoint: str, *, hf_home: str | os.PathLike[str] | None = None, disable_telemetry: bool = True
) -> Iterator[None]:
    """Point an already-imported huggingface_hub at ``endpoint`` (and optionally ``hf_home``).

    huggingface_hub reads HF_ENDPOINT/HF_HOME once, at import, and several values are copied from it:
    ``constants.ENDPOINT``, ``constants.HUGGINGFACE_CO_URL_TEMPLATE`` (used by ``hf_hub_url``),
    ``constants.HF_URL_HOSTS``, ``utils._http._HUB_ORIGINS`` (which redirects keep the token), and the
    module-level ``hf_api.api`` behind ``huggingface_hub.model_info`` & co. All are patched and restored.
    With ``hf_home``: cache, token path (so no stored token leaks in) and HF_TOKEN env are isolated.
    ``disable_telemetry`` avoids the once-per-process ``GET /api/agent-harnesses`` that the user-agent
    builder otherwise sends to ``constants.ENDPOINT``.
    """
    from urllib.parse import urlsplit as _split

    from huggingface_hub import constants, hf_api
    from huggingface_hub.utils import _cache_manager, _http

    endpoint = endpoint.rstrip("/")
    saved: list[tuple[object, str, object]] = []

    def patch(obj: object, name: str, value: object) -> None:
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    patch(constants, "ENDPOINT", endpoint)
    patch(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    patch(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {(_split(endpoint).hostname or "").lower()})
    patch(_http, "_HUB_ORIGINS", _http._HUB_ORIGINS | {_http._url_origin(endpoint)})
    patch(hf_api.api, "endpoint", endpoint)
    patch(constants, "HF_HUB_OFFLINE", False)
    if disable_telemetry:
        patch(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    saved_env: dict[str, str | None] = {}
    if hf_home is not None:
        home = os.fspath(hf_home)
        for name, value in {
            "HF_HOME": home,
            "HF_HUB_CACHE": os.path.join(home, "hub"),
            "HF_ASSETS_CACHE": os.path.join(home, "assets"),
            "HF_XET_CACHE": os.path.join(home, "xet"),
            "HF_TOKEN_PATH": os.path.join(home, "token"),
            "HF_STORED_TOKENS_PATH": os.path.join(home, "stored_tokens"),
            "AGENT_HARNESSES_PATH": os.path.join(home, ".agent_harnesses.json"),
        }.items():
            if hasattr(constants, name):
                patch(constants, name, value)
        patch(_cache_manager, "HF_HUB_CACHE", os.path.join(home, "hub"))
        for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            saved_env[var] = os.environ.pop(var, None)
    _http.close_session()  # pooled connections may point at a previous hub
    try:
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)
        for var, val in saved_env.items():
            if val is not None:
                os.environ[var] = val
        _http.close_session()
