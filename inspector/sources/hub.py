"""Read a Hub repo: one model_info call pins the sha and lists files; then config, index, headers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from ..errors import InvalidData
from ..formats.plan import MAX_CONFIG_BYTES, MAX_INDEX_BYTES, parse_config
from ..formats.registry import Selection, pick_format, read_weights, reads_headers
from ..formats.safetensors_header import header_length
from ..formats.tokenizer import fill_tokenizer
from ..jsonread import loads_strict
from ..readout import IOStats, Snapshot
from ..repoid import RepoRef, is_sha, valid_repo_id
from ..repoinfo import BadInfo, RepoInfo
from ..transport.http import CdnRefused, FileMissing, HubClient
from ..transport.ranged import HubRangeFile, range_total

T = TypeVar("T")

EXPAND = ("sha", "siblings", "gated", "cardData", "tags", "safetensors", "private")
SHARD_WORKERS = 4
MAX_INFO_BYTES = 16_000_000  # a model_info of 10,000 files is about 1 MB


def parse_repo_target(target: str) -> tuple[str, str | None]:
    """(repo id, revision) of a target, as `RepoRef.parse` reads it."""
    ref = RepoRef.parse(target)
    return ref.repo_id, ref.revision


def _resolve_url(client: HubClient, repo_id: str, revision: str, filename: str) -> str:
    return f"{client.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def fetch_info(client: HubClient, repo_id: str, revision: str | None, io: IOStats) -> RepoInfo:
    path = f"/api/models/{repo_id}" + (f"/revision/{quote(revision, safe='')}" if revision else "")
    query = "&".join(f"expand={e}" for e in EXPAND)
    resp = client.get(f"{client.endpoint}{path}?{query}", what=repo_id, io=io, cap=MAX_INFO_BYTES)
    doc = loads_strict(resp.body, "model info", repo_id)
    if not isinstance(doc, dict):
        raise InvalidData("model info is not a JSON object", where=repo_id)
    if not isinstance(doc.get("id"), str):
        doc["id"] = repo_id
    try:
        return RepoInfo.from_hub(doc)
    except BadInfo as e:  # a Hub answer we cannot read is bad data, not a crash
        raise InvalidData(f"unreadable model info (malformed {e})", where=repo_id) from None


def snapshot_from_info(target: str, repo_id: str, info: RepoInfo) -> Snapshot:
    sha = info.usable_sha
    if sha is None:
        raise InvalidData("the Hub gave no commit sha (40 hex digits)", where=repo_id)
    if info.id != repo_id and valid_repo_id(info.id):
        repo_id = info.id  # renamed: the Hub answered for the new id; read its files there, not via redirects
    snap = Snapshot(target=target, source="hub", revision=sha, repo_id=repo_id, files=list(info.files or ()),
                    card=dict(info.card or {}), tags=list(info.tags), gated=bool(info.gated))
    snap.hub_params = dict(info.params) if info.params else None
    return snap


def read_hub(target: str, client: HubClient, *, headers: str = "default", info: RepoInfo | None = None,
             with_tokenizer: bool = False) -> Snapshot:
    """`info` may come from a listing (audit) so that no metadata call is needed."""
    ref = RepoRef.parse(target, endpoint=client.endpoint)  # a pasted URL of this endpoint counts too
    repo_id, revision = ref.repo_id, ref.revision
    with client.inspection():
        return _read_hub(target, repo_id, revision, client, headers, info, with_tokenizer)


def _read_hub(target: str, repo_id: str, revision: str | None, client: HubClient, headers: str, info: RepoInfo | None,
              with_tokenizer: bool) -> Snapshot:
    io = IOStats()
    if info is None or not info.sha or info.files is None:
        info = fetch_info(client, repo_id, revision, io)
    snap = snapshot_from_info(target, repo_id, info)
    snap.io = io
    opener = HubOpener(client, snap)
    picked = pick_format(snap.files)
    fmt, sel = picked if picked is not None else (None, Selection())
    safetensors = fmt is not None and fmt.name == "safetensors"
    if (reads_headers(headers) and safetensors and sel.index and revision in (None, "main") and not snap.gated
            and client.use_sharded_metadata()):
        # One API call carries every shard's header (the Hub reads them): no index, no shard reads.
        # Asked while the config is read; the format takes it from the opener (`served_headers`).
        fut = client.submit(_read_config, client, snap) if "config.json" in snap.files else None
        opener.sharded = _fetch_sharded_metadata(client, snap, sel.index)
        if fut is not None:
            fut.result()
        else:
            _read_config(client, snap)
        return _finish(client, snap, opener, with_tokenizer, headers)
    frugal = client.pacer.left("resolvers") is not None
    likely = likely_evidence_files(snap.files, sel, frugal=frugal) if reads_headers(headers) and safetensors else []
    if (sel.index or likely) and "config.json" in snap.files and not snap.gated:
        # Neither the index nor the likely evidence shards depend on the config: while it is read,
        # fetch the index and look the likely evidence shards up (which resolves their CDN URLs).
        fut = client.submit(_fetch, client, snap, sel.index, MAX_INDEX_BYTES) if sel.index else None
        # A shard's size is predicted from the index, so its probe need not read: the resolver's
        # redirect tells its CDN URL, and its header is then one sized read there. A single file has
        # no index: its probe reads its first SINGLE_FILE_FIRST_READ bytes, the header in most.
        url_only = sel.index is not None
        futs = {f: client.submit(_probe, client, snap, f, url_only) for f in likely}
        _read_config(client, snap)
        if fut is not None and sel.index:
            opener.prefetched[sel.index] = fut.result()
        opener.probes = {f: x.result() for f, x in futs.items()}
    else:
        # A gated repo is read one request at a time: its first 401/403 ends it, not four of them.
        _read_config(client, snap)
    return _finish(client, snap, opener, with_tokenizer, headers)


def _finish(client: HubClient, snap: Snapshot, opener: HubOpener, with_tokenizer: bool, headers: str) -> Snapshot:
    """The weights, then the tokenizer if asked."""
    try:
        read_weights(snap, opener, headers)
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    except FileMissing as e:
        # Listed, then 404: the weights metadata is missing, the config's verdict still stands.
        snap.tensors, snap.weights_error = {}, f"{e.one_line()} (listed in the repo)"
    except CdnRefused as e:  # unread, not invalid: the config's verdict still stands
        snap.tensors, snap.weights_error = {}, e.one_line()
    for probe in opener.probes.values():  # probes no evidence needed still cost their requests
        if not probe.used:
            snap.io.add(probe.io)
    if with_tokenizer:
        fill_tokenizer(snap, lambda f, cap: _get_small(client, snap, f, cap), opener.open, count_io=True)
    return snap


class HubOpener:
    """A pinned Hub repo as the weights formats see it (see formats.Opener): every read is a counted
    request, so the default reads the evidence shards only, up to SHARD_WORKERS at once. What was
    fetched ahead (the index beside the config, probed shards, the sharded-metadata answer) is
    handed on here, so that no request is made twice."""

    count_io = True
    every_shard = False

    def __init__(self, client: HubClient, snap: Snapshot) -> None:
        self.client, self.snap = client, snap
        self.prefetched: dict[str, tuple[bytes | None, Exception | None, IOStats]] = {}
        self.probes: dict[str, Probe] = {}
        self.sharded: bytes | None = None  # the safetensors-metadata answer, when the Hub served it

    def where(self, name: str) -> str:
        return f"{self.snap.repo_id}/{name}"

    def open(self, name: str) -> HubRangeFile:
        url = _resolve_url(self.client, self.snap.repo_id or "", self.snap.revision or "main", name)
        probe = self.probes.get(name)
        if probe is None or probe.error is not None:
            return HubRangeFile(self.client, url, self.where(name))
        probe.used = True
        return HubRangeFile(self.client, url, self.where(name), cdn_url=probe.url, io=probe.io, prefix=probe.prefix,
                            size=probe.size)

    def read(self, name: str, cap: int) -> bytes:
        return _small(self.client, self.snap, name, cap, self.prefetched)

    def readable(self, names: list[str]) -> list[str]:
        # Listed ones; none listed (a listing that misses them): all the same, a 404 then says so.
        listed = set(self.snap.files)
        return [n for n in names if n in listed] or list(names)

    def map(self, fn: Callable[[str], T], names: Sequence[str]) -> list[T]:
        # At most SHARD_WORKERS reads at once for one repo, the caller's thread being one of them.
        k = min(SHARD_WORKERS, len(names))
        results: list = [None] * len(names)

        def lane(i: int) -> None:
            for j in range(i, len(names), k):
                results[j] = fn(names[j])

        others = [self.client.submit(lane, i) for i in range(1, k)]
        lane(0)
        for f in others:
            f.result()
        return results

    def served_headers(self, index: str) -> tuple[dict[str, Any], int | None] | None:
        if self.sharded is None:
            return None
        where = self.where(index)
        # The Hub's own JSON, re-serialised by it: parsed plainly (the strict parse of every tensor
        # entry cost more than the rest of the read); each evidence header is still parsed strictly.
        try:
            doc = json.loads(self.sharded)
        except (ValueError, UnicodeDecodeError):
            raise InvalidData("sharded safetensors metadata is not valid JSON", where=where) from None
        except RecursionError:
            raise InvalidData("sharded safetensors metadata is nested too deeply", where=where) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("headers"), dict):
            raise InvalidData("sharded safetensors metadata has no `headers` object", where=where)
        meta = doc.get("index", {}).get("metadata") if isinstance(doc.get("index"), dict) else None
        total = meta.get("total_size") if isinstance(meta, dict) else None
        ok = isinstance(total, int | float) and not isinstance(total, bool) and 0 <= total < 2**60
        return doc["headers"], int(total) if ok else None


def _fetch_sharded_metadata(client: HubClient, snap: Snapshot, index: str) -> bytes | None:
    """The answer of `/api/models/{repo}/safetensors-metadata/{index}` (main only): every shard's
    header. None when the endpoint does not serve it, or serves another commit than the pinned one:
    the index and headers are then read the ranged way."""
    where = f"{snap.repo_id}/{index}"
    url = f"{client.endpoint}/api/models/{snap.repo_id}/safetensors-metadata/{quote(index)}"
    io = IOStats()
    try:
        resp = client.get(url, what=where, io=io, cap=MAX_INDEX_BYTES, unsupported_ok=True)
    except FileMissing:
        return None
    finally:
        snap.io.add(io)
    if resp.status != 200:  # the route is not there: a mirror or a private Hub
        client.no_sharded_metadata = True
        return None
    commit = resp.headers.get("x-repo-commit")
    if commit is not None and commit != snap.revision:
        return None  # main moved since the listing: read the pinned commit the other way
    return resp.body


_SHARD_NAME = re.compile(r"^(?P<stem>.+)-(?P<k>\d+)-of-(?P<n>\d+)\.safetensors$")


# A single weights file has no index to size its header from: its first read takes this much, which
# holds the whole header of most (a 7B model's ~300 tensors take ~30 kB): one round trip instead of
# an 8-byte read and then the header. A longer header costs one more read, as before; huggingface_hub
# reads 100,000 bytes here.
SINGLE_FILE_FIRST_READ = 64 * 1024


@dataclass
class Probe:
    """A weights file looked up ahead: its CDN URL, its first bytes when they were read too (b""
    when only the URL was asked for), or the error."""

    url: str | None
    prefix: bytes
    error: Exception | None
    io: IOStats
    used: bool = False
    size: int | None = None  # the file's, when the read's Content-Range said it


def likely_evidence_files(files: list[str], sel: Selection, *, frugal: bool = False) -> list[str]:
    """Before the index arrives: the single weights file, or the first and last shard by name
    (where the embedding, the first layer and the output head sit in HF's sharding). `frugal` (the
    Hub reports a resolver quota): the first shard only, as the head is not always in the last one
    and a wrong guess spends a resolver call; the index then says where the head is."""
    if sel.files:
        return list(sel.files[:1])
    if sel.index != "model.safetensors.index.json":
        return []
    shards = sorted(f for f in files if "/" not in f and _SHARD_NAME.match(f))
    if not shards:
        return []
    return [shards[0]] if frugal else list(dict.fromkeys([shards[0], shards[-1]]))


def _probe(client: HubClient, snap: Snapshot, filename: str, url_only: bool = False) -> Probe:
    io = IOStats()
    where = f"{snap.repo_id}/{filename}"
    try:
        url = _resolve_url(client, snap.repo_id or "", snap.revision or "main", filename)
        first = 8 if url_only else SINGLE_FILE_FIRST_READ
        resp = client.get(url, what=where, io=io, byte_range=(0, first - 1), cap=first, stop_off_hub=url_only)
        if url_only and resp.status in (301, 302, 303, 307, 308):
            return Probe(resp.url, b"", None, io)
        # Served without leaving the Hub: the prefix came with the answer.
        size = range_total(resp.headers)
        header_length(resp.body[:8], where)
        return Probe(resp.url, resp.body, None, io, size=size)
    except Exception as e:  # handed back: raised (or retried the usual way) where the shard is read
        return Probe(None, b"", e, io)


def _fetch(client: HubClient, snap: Snapshot, filename: str, cap: int) -> tuple[bytes | None, Exception | None, IOStats]:
    """A small file's bytes or its error, with its own counts (it runs beside the config read)."""
    io = IOStats()
    try:
        return _get_small(client, snap, filename, cap, io), None, io
    except Exception as e:  # handed back, raised where the index is used
        return None, e, io


def _small(client: HubClient, snap: Snapshot, filename: str, cap: int, prefetched: dict) -> bytes:
    if filename in prefetched:
        body, error, io = prefetched.pop(filename)
        snap.io.add(io)
        if error is not None:
            raise error
        return body
    return _get_small(client, snap, filename, cap)


def _cache_url(client: HubClient, repo_id: str, sha: str, filename: str) -> str:
    """The URL `/resolve/` redirects a small file to: one resolver call instead of two (the Hub's
    OpenAPI description lists it; its rate-limit page counts it as a resolver call)."""
    return f"{client.endpoint}/api/resolve-cache/models/{repo_id}/{sha}/{quote(filename)}"


def _get_small(client: HubClient, snap: Snapshot, filename: str, cap: int, io: IOStats | None = None) -> bytes:
    io = io if io is not None else snap.io
    where = f"{snap.repo_id}/{filename}"
    resolve = _resolve_url(client, snap.repo_id or "", snap.revision or "main", filename)
    resp = None
    if client.direct_cache is not False and is_sha(snap.revision):
        # A 404 naming a Hub error (EntryNotFound...) is raised; one naming none is a route this
        # endpoint (a mirror?) may lack: that file through /resolve/, and after a few, /resolve/ only.
        resp = client.get(_cache_url(client, snap.repo_id or "", snap.revision or "", filename), what=where, io=io,
                          cap=cap + 1, unsupported_ok=True)
        if resp.status == 200:
            client.direct_cache = True
        else:
            resp = None
            client.cache_misses += 1
            if client.cache_misses >= 3 and not client.direct_cache:
                client.direct_cache = False
    if resp is None:
        resp = client.get(resolve, what=where, io=io, cap=cap + 1)
    if len(resp.body) > cap:
        raise InvalidData(f"{filename} is larger than {cap} bytes", where=where)
    return resp.body


def _read_config(client: HubClient, snap: Snapshot) -> None:
    if "config.json" not in snap.files:
        snap.config_error = f"{snap.repo_id}: no config.json"
        return
    where = f"{snap.repo_id}/config.json"
    try:
        snap.config = parse_config(_get_small(client, snap, "config.json", MAX_CONFIG_BYTES), where, snap.config_notes)
        snap.config_status = "ok"
    except FileMissing:
        snap.config_error = f"{where}: listed but not found"
    except InvalidData as e:
        snap.config_status, snap.config_error = "invalid", e.one_line()
