"""Read a Hub repo: one model_info call pins the sha and lists files; then config, index, headers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

from huggingface_hub.hf_api import ModelInfo

from ..errors import InvalidData
from ..repoid import RepoRef, is_sha, valid_repo_id
from ..safetensors_header import (
    MAX_TENSORS,
    estimate_header_from_config,
    estimate_header_length,
    header_length,
    loads_strict,
    parse_header,
)
from ..snapshot import IOStats, Snapshot, TensorInfo
from .gguf import fill_gguf
from .http import CdnRefused, FileMissing, HubClient
from .plan import (
    MAX_CONFIG_BYTES,
    MAX_INDEX_BYTES,
    WeightsPlan,
    bin_files,
    evidence_shards,
    other_index,
    parse_config,
    parse_index,
    pick_gguf,
    plan_weights,
    safe_shard_name,
)
from .ranged import HubRangeFile
from .tokenizer import fill_tokenizer
from .torchzip import fill_bin

EXPAND = ("sha", "siblings", "gated", "cardData", "tags", "safetensors", "private")
# A first read sized to the predicted header plus this slack covers it in one request almost always
# (on the 188 shards of samples/ the guess is at most 0.4% short), and overshoots by about 1%; a
# second, exact read fixes the rare miss.
SLACK = 1.01
SLACK_BYTES = 64
SHARD_WORKERS = 4
MAX_INFO_BYTES = 16_000_000  # a model_info of 10,000 files is about 1 MB


def parse_repo_target(target: str) -> tuple[str, str | None]:
    """(repo id, revision) of a target, as `RepoRef.parse` reads it."""
    ref = RepoRef.parse(target)
    return ref.repo_id, ref.revision


def _resolve_url(client: HubClient, repo_id: str, revision: str, filename: str) -> str:
    return f"{client.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def fetch_info(client: HubClient, repo_id: str, revision: str | None, io: IOStats) -> ModelInfo:
    path = f"/api/models/{repo_id}" + (f"/revision/{quote(revision, safe='')}" if revision else "")
    query = "&".join(f"expand={e}" for e in EXPAND)
    resp = client.get(f"{client.endpoint}{path}?{query}", what=repo_id, io=io, cap=MAX_INFO_BYTES)
    doc = loads_strict(resp.body, "model info", repo_id)
    if not isinstance(doc, dict):
        raise InvalidData("model info is not a JSON object", where=repo_id)
    doc.setdefault("id", repo_id)
    try:
        return ModelInfo(**doc)
    except Exception as e:  # a Hub answer huggingface_hub cannot read is bad data, not a crash
        raise InvalidData(f"unreadable model info ({type(e).__name__})", where=repo_id) from None


def snapshot_from_info(target: str, repo_id: str, info: ModelInfo) -> Snapshot:
    sha = info.sha if is_sha(info.sha) else None
    if sha is None:
        raise InvalidData("the Hub gave no commit sha (40 hex digits)", where=repo_id)
    if isinstance(info.id, str) and info.id != repo_id and valid_repo_id(info.id):
        repo_id = info.id  # renamed: the Hub answered for the new id; read its files there, not via redirects
    files = [s.rfilename for s in (info.siblings or []) if isinstance(getattr(s, "rfilename", None), str)]
    card = info.card_data.to_dict() if info.card_data is not None and hasattr(info.card_data, "to_dict") else {}
    snap = Snapshot(target=target, source="hub", revision=sha, repo_id=repo_id, files=files, card=card,
                    tags=list(info.tags or []), gated=bool(info.gated))
    st = getattr(info, "safetensors", None)
    if st is not None and isinstance(getattr(st, "parameters", None), dict):
        params = {k: int(v) for k, v in st.parameters.items() if isinstance(v, int)}
        if isinstance(getattr(st, "total", None), int):
            params["total"] = st.total
        snap.hub_params = params or None
    return snap


def read_hub(target: str, client: HubClient, *, headers: str = "default", info: ModelInfo | None = None,
             with_tokenizer: bool = False) -> Snapshot:
    """`info` may come from a listing (audit) so that no metadata call is needed."""
    ref = RepoRef.parse(target, endpoint=client.endpoint)  # a pasted URL of this endpoint counts too
    repo_id, revision = ref.repo_id, ref.revision
    with client.inspection():
        return _read_hub(target, repo_id, revision, client, headers, info, with_tokenizer)


def _read_hub(target: str, repo_id: str, revision: str | None, client: HubClient, headers: str, info: ModelInfo | None,
              with_tokenizer: bool) -> Snapshot:
    io = IOStats()
    if info is None or not getattr(info, "sha", None) or info.siblings is None:
        info = fetch_info(client, repo_id, revision, io)
    snap = snapshot_from_info(target, repo_id, info)
    snap.io = io
    plan = plan_weights(snap.files)
    index = plan.index or (None if plan.singles else other_index(snap.files))
    prefetched: dict[str, tuple[bytes | None, Exception | None, IOStats]] = {}
    probes: dict[str, Probe] = {}
    if (headers != "none" and index and index == plan.index and revision in (None, "main") and not snap.gated
            and client.use_sharded_metadata()):
        # One API call carries every shard's header (the Hub reads them): no index, no shard reads.
        fut = client.submit(_read_config, client, snap) if "config.json" in snap.files else None
        done = _read_sharded_metadata(client, snap, index, headers)
        if fut is not None:
            fut.result()
        else:
            _read_config(client, snap)
        if done:
            return _finish(client, snap, with_tokenizer, probes)
        # not served (a mirror, a gone index): the ranged route below, the config already read
        return _finish(client, snap, with_tokenizer, probes, plan=plan, headers=headers)
    frugal = client.pacer.left("resolvers") is not None
    likely = likely_evidence_files(snap.files, plan, frugal=frugal) if headers != "none" else []
    if (index or likely) and "config.json" in snap.files and not snap.gated:
        # Neither the index nor the likely evidence shards depend on the config: while it is read,
        # fetch the index and probe those shards' 8-byte prefixes (which also resolves their CDN
        # URLs). Each header is then one exact read: a round trip saved, and no byte guessed.
        fut = client.submit(_fetch, client, snap, index, MAX_INDEX_BYTES) if index else None
        # A shard's size is predicted from the index, so its probe need not read: the resolver's
        # redirect tells its CDN URL, and its header is then one sized read there. A single file has
        # no index: its probe reads the 8-byte length too.
        url_only = index is not None and not plan.singles
        futs = {f: client.submit(_probe, client, snap, f, url_only) for f in likely}
        _read_config(client, snap)
        if fut is not None:
            prefetched[index] = fut.result()
        probes = {f: x.result() for f, x in futs.items()}
    else:
        # A gated repo is read one request at a time: its first 401/403 ends it, not four of them.
        _read_config(client, snap)
    return _finish(client, snap, with_tokenizer, probes, plan=plan, headers=headers, prefetched=prefetched)


def _finish(client: HubClient, snap: Snapshot, with_tokenizer: bool, probes: dict[str, Probe], *,
            plan: WeightsPlan | None = None, headers: str = "default", prefetched: dict | None = None) -> Snapshot:
    """The weights (unless already read: `plan` None), then the tokenizer if asked."""
    if plan is not None:
        try:
            _read_weights(client, snap, headers, plan, prefetched or {}, probes)
        except InvalidData as e:
            snap.weights_invalid, snap.weights_error = True, e.one_line()
        except FileMissing as e:
            # Listed, then 404: the weights metadata is missing, the config's verdict still stands.
            snap.tensors, snap.weights_error = {}, f"{e.one_line()} (listed in the repo)"
        except CdnRefused as e:  # unread, not invalid: the config's verdict still stands
            snap.tensors, snap.weights_error = {}, e.one_line()
    for probe in probes.values():  # probes no evidence needed still cost their requests
        if not probe.used:
            snap.io.add(probe.io)
    if with_tokenizer:
        fill_tokenizer(snap, lambda f, cap: _get_small(client, snap, f, cap), lambda f: _range_file(client, snap, f), count_io=True)
    return snap


def _read_sharded_metadata(client: HubClient, snap: Snapshot, index: str, headers: str = "default") -> bool:
    """Every shard's header through `/api/models/{repo}/safetensors-metadata/{index}` (main only).
    False when the endpoint does not serve it, or serves another commit than the pinned one: the
    caller reads the index and headers itself. A malformed answer is the weights' own error."""
    where = f"{snap.repo_id}/{index}"
    url = f"{client.endpoint}/api/models/{snap.repo_id}/safetensors-metadata/{quote(index)}"
    io = IOStats()
    try:
        resp = client.get(url, what=where, io=io, cap=MAX_INDEX_BYTES, unsupported_ok=True)
    except FileMissing:
        snap.io.add(io)
        return False
    snap.io.add(io)
    if resp.status != 200:  # the route is not there: a mirror or a private Hub
        client.no_sharded_metadata = True
        return False
    commit = resp.headers.get("x-repo-commit")
    if commit is not None and commit != snap.revision:
        return False  # main moved since the listing: read the pinned commit the other way
    try:
        # The Hub's own JSON, re-serialised by it: parsed plainly (the strict parse of every tensor
        # entry cost more than the rest of the read); each evidence header is still parsed strictly.
        try:
            doc = json.loads(resp.body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidData("sharded safetensors metadata is not valid JSON", where=where) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("headers"), dict):
            raise InvalidData("sharded safetensors metadata has no `headers` object", where=where)
        meta = doc.get("index", {}).get("metadata") if isinstance(doc.get("index"), dict) else None
        total = meta.get("total_size") if isinstance(meta, dict) else None
        if isinstance(total, int | float) and not isinstance(total, bool) and 0 <= total < 2**60:
            snap.total_size = int(total)
        # As the ranged route: the evidence shards' headers in full, the other tensors by name (as an
        # index lists them), so both routes give the same facts, at the same CPU cost.
        wm: dict[str, str] = {}
        for shard, header in doc["headers"].items():
            name = safe_shard_name(shard, where)
            if not isinstance(header, dict):
                raise InvalidData(f"the header of {name[:80]!r} is not an object", where=where)
            for tensor in header:
                if tensor != "__metadata__":
                    wm[tensor] = name
            if len(wm) > MAX_TENSORS:  # the work per repo is bounded, not only its bytes
                raise InvalidData(f"sharded safetensors metadata lists over {MAX_TENSORS} tensors", where=where)
        picked = sorted(set(wm.values())) if headers == "all" else evidence_shards(wm)
        snap.tensors = {t: TensorInfo(t, file=shard) for t, shard in wm.items()}
        for name in picked:
            raw = json.dumps(doc["headers"][name], separators=(",", ":")).encode()
            snap.tensors.update(parse_header(raw, f"{snap.repo_id}/{name}", file=name))
        snap.weights_format = "safetensors"
        snap.shards_total = len(doc["headers"])
        snap.shards_read = len(picked)
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    except RecursionError:
        snap.weights_invalid, snap.weights_error = True, f"{where}: sharded safetensors metadata is nested too deeply"
    return True


def _range_file(client: HubClient, snap: Snapshot, filename: str) -> HubRangeFile:
    url = _resolve_url(client, snap.repo_id or "", snap.revision or "main", filename)
    return HubRangeFile(client, url, f"{snap.repo_id}/{filename}")


_SHARD_NAME = re.compile(r"^(?P<stem>.+)-(?P<k>\d+)-of-(?P<n>\d+)\.safetensors$")


@dataclass
class Probe:
    """A weights file looked up ahead: its CDN URL, its exact header length when the 8-byte prefix
    was read too (None when only the URL was asked for), or the error."""

    url: str | None
    length: int | None
    error: Exception | None
    io: IOStats
    used: bool = False


def likely_evidence_files(files: list[str], plan: WeightsPlan, *, frugal: bool = False) -> list[str]:
    """Before the index arrives: the single weights file, or the first and last shard by name
    (where the embedding, the first layer and the output head sit in HF's sharding). `frugal` (the
    Hub reports a resolver quota): the first shard only, as the head is not always in the last one
    and a wrong guess spends a resolver call; the index then says where the head is."""
    if plan.singles:
        return list(plan.singles[:1])
    if plan.index != "model.safetensors.index.json":
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
        resp = client.get(url, what=where, io=io, byte_range=(0, 7), cap=8, stop_off_hub=url_only)
        if url_only and resp.status in (301, 302, 303, 307, 308):
            return Probe(resp.url, None, None, io)
        # Served without leaving the Hub: the prefix came with the answer.
        return Probe(resp.url, header_length(resp.body[:8], where), None, io)
    except Exception as e:  # handed back: raised (or retried the usual way) where the shard is read
        return Probe(None, None, e, io)


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


def _read_weights(client: HubClient, snap: Snapshot, headers: str, plan: WeightsPlan, prefetched: dict,
                  probes: dict[str, Probe]) -> None:
    if plan.index:
        where = f"{snap.repo_id}/{plan.index}"
        wm, snap.total_size = parse_index(_small(client, snap, plan.index, MAX_INDEX_BYTES, prefetched), where)
        snap.tensors = {name: TensorInfo(name, file=shard) for name, shard in wm.items()}
        snap.weights_format = "safetensors-index"
        by_shard: dict[str, list[str]] = {}
        for name, shard in wm.items():
            by_shard.setdefault(shard, []).append(name)
        snap.shards_total = len(by_shard)
        if headers == "none":
            return
        shards = sorted(by_shard) if headers == "all" else evidence_shards(wm)
        shards = [s for s in shards if s in snap.files] or shards
        per_shard = snap.total_size // len(by_shard) if snap.total_size else None
        jobs = [(s, estimate_header_length(by_shard.get(s, []), per_shard)) for s in shards]
        _read_headers(client, snap, jobs, probes)
        return
    if plan.singles:
        snap.weights_format = "safetensors"
        snap.shards_total = len(plan.singles)
        if headers == "none":
            return
        layers = (snap.config or {}).get("num_hidden_layers") or (snap.config or {}).get("num_layers") or (snap.config or {}).get("n_layer")
        guess = estimate_header_from_config(layers if isinstance(layers, int) else None)
        picked = plan.singles if headers == "all" else plan.singles[:1]
        _read_headers(client, snap, [(f, guess) for f in picked], probes)
        return
    idx = other_index(snap.files)
    bins = bin_files(snap.files)
    if idx or bins:
        wm = None
        if idx:
            where = f"{snap.repo_id}/{idx}"
            wm, snap.total_size = parse_index(_small(client, snap, idx, MAX_INDEX_BYTES, prefetched), where)
        fill_bin(snap, lambda f: _range_file(client, snap, f), weight_map=wm, singles=bins, headers=headers,
                 count_io=True, workers=SHARD_WORKERS)
        return
    gguf = pick_gguf(snap.files)
    if gguf:
        fill_gguf(snap, gguf, _range_file(client, snap, gguf), count_io=True)
        return
    snap.weights_error = f"{snap.repo_id}: no safetensors, .bin or GGUF weights"


def _read_headers(client: HubClient, snap: Snapshot, jobs: list[tuple[str, int]], probes: dict[str, Probe] | None = None) -> None:
    probes = probes or {}

    def one(job: tuple[str, int]) -> tuple[dict[str, TensorInfo], IOStats]:
        probe = probes.get(job[0])
        if probe is not None and probe.error is None:
            probe.used = True
            if probe.length is None:
                return read_remote_header(client, snap, *job, url=probe.url, io=probe.io)
            return read_probed_header(client, snap, job[0], probe)
        return read_remote_header(client, snap, *job)

    # At most SHARD_WORKERS reads at once for one repo, the caller's thread being one of them.
    k = min(SHARD_WORKERS, len(jobs))
    results: list = [None] * len(jobs)

    def lane(i: int) -> None:
        for j in range(i, len(jobs), k):
            results[j] = one(jobs[j])

    others = [client.submit(lane, i) for i in range(1, k)]
    lane(0)
    for f in others:
        f.result()
    for found, io in results:
        snap.io.add(io)
        snap.shards_read += 1
        snap.weights_format = "safetensors"
        snap.tensors.update(found)


def read_remote_header(client: HubClient, snap: Snapshot, filename: str, predicted: int, *, url: str | None = None,
                       io: IOStats | None = None) -> tuple[dict[str, TensorInfo], IOStats]:
    """The 8-byte prefix and the header in one ranged read where the prediction covers it; `url`
    is the file's CDN URL when a probe learnt it.

    Returns the tensors and this read's own counts (shards are read in threads; the caller adds them).
    """
    where = f"{snap.repo_id}/{filename}"
    resolve = _resolve_url(client, snap.repo_id or "", snap.revision or "main", filename)
    url = url or resolve
    io = io if io is not None else IOStats()
    first_len = 8 + int(predicted * SLACK) + SLACK_BYTES
    resp = client.get(url, what=where, io=io, byte_range=(0, first_len - 1), cap=first_len, resolve_url=resolve)
    n = header_length(resp.body[:8], where)
    raw = resp.body[8: 8 + n]
    if len(raw) < n and len(resp.body) >= first_len:
        # The CDN URL of the first read is reused: no second trip through the resolver.
        more = client.get(resp.url, what=where, io=io, byte_range=(len(resp.body), 8 + n - 1), cap=8 + n - len(resp.body),
                          resolve_url=resolve)
        raw = raw + more.body
    if len(raw) < n:
        raise InvalidData(f"file ends inside its header ({len(raw)} of {n} bytes)", where=where)
    return parse_header(raw[:n], where, file=filename), io


def read_probed_header(client: HubClient, snap: Snapshot, filename: str, probe: Probe) -> tuple[dict[str, TensorInfo], IOStats]:
    """The header of a probed shard: one exact range read on the CDN URL the probe resolved."""
    where = f"{snap.repo_id}/{filename}"
    io = probe.io
    n = probe.length or 0
    resolve = _resolve_url(client, snap.repo_id or "", snap.revision or "main", filename)
    resp = client.get(probe.url or resolve, what=where, io=io, byte_range=(8, 8 + n - 1), cap=n, resolve_url=resolve)
    if len(resp.body) < n:
        raise InvalidData(f"file ends inside its header ({len(resp.body)} of {n} bytes)", where=where)
    return parse_header(resp.body[:n], where, file=filename), io
