"""The fake Hub works with the real, unmodified huggingface_hub client."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import huggingface_hub
import pytest
from fakehub import (
    FakeHub,
    VirtualFile,
    from_folder,
    safetensors_file,
    safetensors_header,
    sharded_safetensors_files,
    use_endpoint,
)
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import parse_ratelimit_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TOKEN = "hf_fakehub_test_token"
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64}
BIG = 50 * 1024**3  # 50 GB shard, never materialised


@pytest.fixture
def hub():
    with FakeHub() as h:
        h.tokens.add(TOKEN)
        yield h
        assert h.errors == []


@pytest.fixture
def hf_home(hub: FakeHub, tmp_path: Path):
    """huggingface_hub pointed at the fake hub, with an empty cache and no ambient token."""
    with use_endpoint(hub.endpoint, hf_home=tmp_path / "hf"):
        yield tmp_path / "hf"


# Only a guard against a hang, never a measurement: far above any answer on a loaded machine.
HANG_GUARD = 60.0


def _single(hub: FakeHub, repo_id: str = "org/single", extra: dict | None = None, **kwargs) -> str:
    files = {
        "config.json": CONFIG,
        "README.md": "---\nlicense: mit\n---\n# card\n",
        "model.safetensors": safetensors_file({"w": ("F16", [BIG // 2])}, {"format": "pt"}),  # 50 GB, virtual
        **(extra or {}),
    }
    return hub.add_repo(repo_id, files, **kwargs)


def _sharded(hub: FakeHub, repo_id: str = "org/sharded", **kwargs) -> str:
    files = sharded_safetensors_files(
        {
            "model-00001-of-00002.safetensors": {
                "embed": ("BF16", [32000, 4096]),
                "l0.w": ("BF16", [4096, 4096]),
            },
            "model-00002-of-00002.safetensors": {
                "l1.w": ("BF16", [4096, 4096]),
                "head": ("F32", [32000, 4096]),
            },
        }
    )
    files["config.json"] = CONFIG
    return hub.add_repo(repo_id, files, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# API


def test_model_info_full_expand_revision_and_blobs(hub: FakeHub):
    sha = _single(
        hub, card_data={"license": "mit"}, tags=["llama", "text-generation"], safetensors_params="auto"
    )
    api = HfApi(endpoint=hub.endpoint, token=False)

    info = api.model_info("org/single")
    assert info.id == "org/single" and info.sha == sha and info.author == "org"
    assert info.gated is False and info.private is False
    assert {s.rfilename for s in info.siblings} == {"config.json", "README.md", "model.safetensors"}
    assert info.safetensors.parameters == {"F16": BIG // 2} and info.safetensors.total == BIG // 2
    assert info.card_data.license == "mit" and info.tags == ["llama", "text-generation"]
    assert info.config == {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}

    # expand= returns only id + the expanded fields, like the Hub
    small = api.model_info("org/single", expand=["sha", "gated"])
    assert small.sha == sha and small.gated is False
    assert small.siblings is None and small.safetensors is None and small.tags is None

    assert api.model_info("org/single", revision=sha).sha == sha
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/single", revision="nope")

    blobs = {s.rfilename: s for s in api.model_info("org/single", files_metadata=True).siblings}
    assert blobs["model.safetensors"].size > BIG and blobs["model.safetensors"].lfs is not None
    assert blobs["model.safetensors"].lfs.size == blobs["model.safetensors"].size
    assert blobs["config.json"].lfs is None and blobs["config.json"].blob_id

    with pytest.raises(HfHubHTTPError) as err:
        api.model_info("org/single", expand=["bogus"])  # type: ignore[list-item]
    assert err.value.response.status_code == 400


def test_list_models_pagination_and_filters(hub: FakeHub):
    hub.page_size = 3
    for i in range(8):
        hub.add_repo(
            f"org/m{i}", {"config.json": CONFIG}, tags=["llama"] if i % 2 else ["bert"], info={"downloads": i}
        )
    hub.add_repo("other/x", {"config.json": CONFIG})
    api = HfApi(endpoint=hub.endpoint, token=False)

    ids = [m.id for m in api.list_models(author="org")]
    assert ids == [f"org/m{i}" for i in range(8)]
    assert hub.stats.by_kind["list"] == 3  # 3 + 3 + 2, following Link: rel="next"

    hub.reset_stats()
    assert len(list(api.list_models(limit=4))) == 4
    assert hub.stats.by_kind["list"] == 2  # client stops once it has `limit` items

    assert [m.id for m in api.list_models(filter="llama", sort="downloads")] == [
        "org/m7",
        "org/m5",
        "org/m3",
        "org/m1",
    ]
    assert [m.id for m in api.list_models(search="X")] == ["other/x"]
    expanded = list(api.list_models(author="other", expand=["sha", "safetensors"]))
    assert expanded[0].sha == hub.sha("other/x") and expanded[0].tags is None


def test_tree_and_sharded_safetensors_metadata_endpoint(hub: FakeHub):
    _sharded(hub)
    hub.add_repo("org/nested", {"a/b/c.json": "{}", "a/d.txt": "x", "e.bin": b"\0" * 10})
    api = HfApi(endpoint=hub.endpoint, token=False)
    assert sorted(api.list_repo_files("org/nested")) == ["a/b/c.json", "a/d.txt", "e.bin"]
    top = {e.path: type(e).__name__ for e in api.list_repo_tree("org/nested")}
    assert top == {"a": "RepoFolder", "e.bin": "RepoFile"}

    meta = api.get_sharded_safetensors_metadata("org/sharded")
    assert meta.sharded and set(meta.files_metadata) == {
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    }
    assert meta.parameter_count == {"BF16": 32000 * 4096 + 2 * 4096 * 4096, "F32": 32000 * 4096}


# ---------------------------------------------------------------------------------------------------------
# Files


def test_hf_hub_download_small_file_hops_and_cache(hub: FakeHub, hf_home: Path):
    sha = _single(hub)
    path = hf_hub_download("org/single", "config.json")
    assert json.loads(Path(path).read_text()) == CONFIG
    assert Path(path).is_relative_to(hf_home) and sha in path
    # HEAD resolve (307, same origin) -> HEAD resolve-cache -> GET resolve-cache
    assert [(e.method, e.kind, e.status) for e in hub.stats.log] == [
        ("HEAD", "resolve", 307),
        ("HEAD", "cache", 200),
        ("GET", "cache", 200),
    ]
    assert hub.stats.by_file[("org/single", "config.json")] == 3

    hub.reset_stats()
    assert hf_hub_download("org/single", "config.json") == path
    assert [e.method for e in hub.stats.log] == ["HEAD", "HEAD"]  # etag check only, no GET


def test_hf_hub_download_lfs_goes_to_cdn(hub: FakeHub, tmp_path: Path):
    payload = bytes(range(256)) * 4000
    hub.add_repo("org/lfs", {"pytorch_model.bin": payload, "tiny.safetensors": VirtualFile(b"abc", 70_000)})
    api = HfApi(endpoint=hub.endpoint, token=False)
    path = api.hf_hub_download("org/lfs", "pytorch_model.bin", cache_dir=tmp_path)
    assert Path(path).read_bytes() == payload
    assert [(e.method, e.kind, e.status, e.host) for e in hub.stats.log] == [
        ("HEAD", "resolve", 302, hub.host),  # cross-origin: huggingface_hub does not follow it
        ("GET", "cdn", 200, f"localhost:{hub.port}"),
    ]
    virtual = Path(api.hf_hub_download("org/lfs", "tiny.safetensors", cache_dir=tmp_path)).read_bytes()
    assert virtual == b"abc" + bytes(70_000 - 3)


def test_get_safetensors_metadata_single_and_sharded(hub: FakeHub, hf_home: Path):
    _single(hub)
    _sharded(hub)
    api = HfApi(endpoint=hub.endpoint)

    meta = api.get_safetensors_metadata("org/single")
    assert not meta.sharded and meta.parameter_count == {"F16": BIG // 2}
    assert meta.files_metadata["model.safetensors"].metadata == {"format": "pt"}
    # HEAD (file_exists) + GET resolve 302 + GET cdn 206 with Range: bytes=0-100000
    assert [(e.method, e.kind, e.status) for e in hub.stats.log] == [
        ("HEAD", "resolve", 302),
        ("GET", "resolve", 302),
        ("GET", "cdn", 206),
    ]
    assert hub.stats.log[-1].range == "bytes=0-100000"
    assert hub.stats.max_offset[("org/single", "model.safetensors")] == 100_001  # of a 50 GB file

    hub.reset_stats()
    meta = api.get_safetensors_metadata("org/sharded")
    assert (
        meta.sharded
        and meta.metadata["total_size"] == 2 * (32000 * 4096 * 2 + 4096 * 4096 * 2) + 32000 * 4096 * 2
    )
    assert meta.parameter_count == {"BF16": 32000 * 4096 + 2 * 4096 * 4096, "F32": 32000 * 4096}
    kinds = Counter((e.method, e.kind) for e in hub.stats.log)
    # 404 HEAD model.safetensors, HEAD+HEAD index exists, 3 hops to download the index, 2 per shard
    assert kinds == {("HEAD", "resolve"): 3, ("HEAD", "cache"): 2, ("GET", "cache"): 1, ("GET", "resolve"): 2,
                     ("GET", "cdn"): 2}  # fmt: skip
    assert hub.stats.total == 10


def test_missing_repo_file_and_revision_errors(hub: FakeHub, hf_home: Path):
    _single(hub)
    api = HfApi(endpoint=hub.endpoint)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/missing")
    assert hub.stats.log[-1].status == 401  # anonymous callers get 401 for missing repos
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/missing", "config.json")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("org/single", "nope.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("org/single", "config.json", revision="v9")
    assert not api.file_exists("org/single", "nope.json")
    assert not api.file_exists("org/missing", "config.json")
    assert api.file_exists("org/single", "config.json")


def test_gated_repo_needs_token_and_token_never_reaches_cdn(hub: FakeHub, hf_home: Path):
    _single(hub, "org/gated", gated="manual", extra={"tokenizer.model": b"spm" * 100})  # small LFS file
    anon = HfApi(endpoint=hub.endpoint)
    assert anon.model_info("org/gated").gated == "manual"  # metadata stays public, like the Hub
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("org/gated", "config.json")
    assert err.value.response.status_code == 401
    with pytest.raises(GatedRepoError):
        anon.get_safetensors_metadata("org/gated")

    hub.reset_stats()
    authed = HfApi(endpoint=hub.endpoint, token=TOKEN)
    assert authed.get_safetensors_metadata("org/gated").parameter_count == {"F16": BIG // 2}
    assert json.loads(Path(authed.hf_hub_download("org/gated", "config.json")).read_text()) == CONFIG
    assert Path(authed.hf_hub_download("org/gated", "tokenizer.model")).read_bytes() == b"spm" * 100
    assert hub.stats.by_kind["cdn"] == 2
    cdn_host = f"localhost:{hub.port}"
    assert cdn_host in hub.stats.by_host and cdn_host not in hub.stats.auth_by_host
    assert set(hub.stats.auth_by_host) == {hub.host}
    assert set(hub.stats.auth_by_host[hub.host]) == {f"Bearer {TOKEN}"}

    hub.tokens.add("hf_other")
    hub.add_repo("org/gated2", {"config.json": CONFIG}, gated="auto", authorized_tokens=[TOKEN])
    with pytest.raises(GatedRepoError) as err:
        hf_hub_download("org/gated2", "config.json", token="hf_other")
    assert err.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.endpoint, token="hf_invalid").model_info("org/gated")
    assert err.value.response.status_code == 401 and "Invalid credentials" in str(err.value)


def test_private_repo(hub: FakeHub, hf_home: Path):
    hub.add_repo("org/private", {"config.json": CONFIG}, private=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.endpoint).model_info("org/private")
    assert HfApi(endpoint=hub.endpoint, token=TOKEN).model_info("org/private").private is True
    assert [m.id for m in HfApi(endpoint=hub.endpoint).list_models()] == []


def test_sha_changes_mid_audit(hub: FakeHub, hf_home: Path):
    old = hub.add_repo("org/moving", {"config.json": CONFIG})
    api = HfApi(endpoint=hub.endpoint)
    assert api.model_info("org/moving").sha == old
    new = hub.set_sha("org/moving", files={"config.json": {**CONFIG, "hidden_size": 128}})
    assert new != old and api.model_info("org/moving").sha == new
    assert json.loads(Path(hf_hub_download("org/moving", "config.json", revision=old)).read_text()) == CONFIG
    assert json.loads(Path(hf_hub_download("org/moving", "config.json")).read_text())["hidden_size"] == 128


def test_from_folder_header_only_safetensors(hub: FakeHub, hf_home: Path, tmp_path: Path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(CONFIG))
    prefix, data_len = safetensors_header({"a": ("BF16", [1024, 1024]), "b": ("I8", [7])})
    (folder / "model.safetensors").write_bytes(prefix)  # header only, data cut off
    files = from_folder(folder)
    assert files["model.safetensors"] == VirtualFile(prefix, len(prefix) + data_len)
    hub.add_folder("org/folder", folder)
    meta = HfApi(endpoint=hub.endpoint).get_safetensors_metadata("org/folder")
    assert meta.parameter_count == {"BF16": 1024 * 1024, "I8": 7}


# ---------------------------------------------------------------------------------------------------------
# Range semantics


@pytest.fixture(scope="module")
def range_hub():
    with FakeHub() as h:
        h.add_repo(
            "r/r", {"small.txt": bytes(range(200)), "v.safetensors": VirtualFile(bytes(range(100)), 1000)}
        )
        yield h


def _urls(hub: FakeHub) -> dict[str, tuple[str, bytes]]:
    sha = hub.sha("r/r")
    return {
        "cache": (f"{hub.endpoint}/api/resolve-cache/models/r/r/{sha}/small.txt", bytes(range(200))),
        "cdn": (f"{hub.cdn_endpoint}/cdn/r/r/{sha}/v.safetensors", bytes(range(100)) + bytes(900)),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["cache", "cdn"]),
    first=st.none() | st.integers(0, 1200),
    last=st.none() | st.integers(0, 1200),
)
def test_range_semantics(range_hub: FakeHub, kind: str, first: int | None, last: int | None):
    url, content = _urls(range_hub)[kind]
    size = len(content)
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    r = httpx2.get(url, headers={"Range": header})
    if first is None and last is None or (first is not None and last is not None and last < first):
        assert r.status_code == 200 and r.content == content  # invalid range: ignored
    elif first is None:  # suffix
        if last == 0:
            assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"
        else:
            assert r.status_code == 206 and r.content == content[-last:]
    elif first >= size:
        assert r.status_code == 416
    else:
        end = size - 1 if last is None else min(last, size - 1)
        assert r.status_code == 206 and r.content == content[first : end + 1]
        assert r.headers["Content-Range"] == f"bytes {first}-{end}/{size}"
    assert r.headers["Accept-Ranges"] == "bytes"


def test_ignore_range_streams_whole_file_until_client_hangs_up(hub: FakeHub):
    size = 4 * 1024**3
    hub.add_repo("org/huge", {"model.safetensors": VirtualFile(b"HDR", size)})
    hub.set_faults(ignore_range=True)
    url = f"{hub.cdn_endpoint}/cdn/org/huge/{hub.sha('org/huge')}/model.safetensors"
    with httpx2.Client() as client, client.stream("GET", url, headers={"Range": "bytes=0-99"}) as r:
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == size
        first = next(r.iter_bytes(100))
        assert first[:3] == b"HDR"
    assert hub.wait_idle()
    assert 100 < hub.stats.max_offset[("org/huge", "model.safetensors")] < 256 * 1024**2

    # Small files still parse: huggingface_hub reads the whole 200 body and slices it.
    hub.clear_faults()
    hub.add_repo("org/small", {"model.safetensors": safetensors_file({"w": ("F32", [10])})})
    hub.set_faults(ignore_range=True)
    meta = HfApi(endpoint=hub.endpoint, token=False).parse_safetensors_file_metadata(
        "org/small", "model.safetensors"
    )
    assert meta.parameter_count == {"F32": 10} and hub.stats.log[-1].status == 200


# ---------------------------------------------------------------------------------------------------------
# Faults, limits, accounting


def test_rate_limit_429_carries_retry_after_and_ratelimit_headers(hub: FakeHub):
    _single(hub)
    hub.set_rate_limit(api=2, resolvers=100, window=2)
    api = HfApi(endpoint=hub.endpoint, token=False)
    r = httpx2.get(f"{hub.endpoint}/api/models/org/single")
    info = parse_ratelimit_headers(r.headers)
    assert info is not None and (info.resource_type, info.remaining, info.limit, info.window_seconds) == (
        "api",
        1,
        2,
        2,
    )
    api.model_info("org/single")
    with pytest.raises(HfHubHTTPError) as err:
        api.model_info("org/single")  # model_info does not retry
    resp = err.value.response
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 2
    assert parse_ratelimit_headers(resp.headers).remaining == 0
    assert "'api' rate limit" in str(err.value)
    assert hub.stats.served_429 == 1
    # file resolves have their own bucket
    head = httpx2.head(f"{hub.endpoint}/org/single/resolve/main/config.json")
    assert head.status_code == 307 and head.headers["RateLimit"].startswith('"resolvers";r=99;')
    # the resolve-cache hop counts against "resolvers" too (charge_resolve_cache); the CDN is not limited
    cache = httpx2.get(f"{hub.endpoint}{head.headers['Location']}")
    assert cache.headers["RateLimit"].startswith('"resolvers";r=98;')


def test_scripted_5xx_is_retried_by_hf_hub_download(hub: FakeHub, hf_home: Path):
    _single(hub)
    hub.fail_next(1, 503, "config.json")
    path = hf_hub_download("org/single", "config.json")
    assert json.loads(Path(path).read_text()) == CONFIG
    assert hub.stats.served_5xx == 1
    assert [(e.kind, e.status, e.fault) for e in hub.stats.log][:2] == [
        ("resolve", 503, "scripted"),
        ("resolve", 307, None),
    ]


def test_drop_stall_and_latency(hub: FakeHub):
    hub.add_repo("org/d", {"config.json": CONFIG})
    url = f"{hub.endpoint}/api/resolve-cache/models/org/d/{hub.sha('org/d')}/config.json"
    hub.fail_next(1, "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(url)
    assert httpx2.get(url).json() == CONFIG
    assert hub.stats.drops == 1 and hub.stats.log[0].bytes == len(json.dumps(CONFIG, indent=2)) // 2

    # A stall is silence, then a hang-up without a response. Short, so the client sees the hang-up
    # (not its own timeout): the outcome and the counter do not depend on how loaded the machine is.
    hub.set_faults(stall=0.05)
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(url, timeout=HANG_GUARD)
    assert hub.stats.stalls == 1
    hub.clear_faults()

    # Latency applies to the kinds asked for only: counted per request, not timed.
    hub.set_faults(latency=0.01, kinds={"cache"})
    assert httpx2.get(url, timeout=HANG_GUARD).json() == CONFIG
    assert hub.stats.delayed == 1
    httpx2.get(f"{hub.endpoint}/api/models/org/d", timeout=HANG_GUARD)
    assert hub.stats.delayed == 1


def test_random_faults_are_deterministic_per_seed():
    def run(seed: int) -> list[int]:
        with FakeHub() as hub:
            hub.add_repo("org/d", {"config.json": CONFIG})
            hub.set_faults(fail_rate_5xx=0.5, seed=seed)
            return [httpx2.get(f"{hub.endpoint}/api/models/org/d").status_code for _ in range(20)]

    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c and set(a) == {200, 503}


def test_concurrent_clients_keep_alive(hub: FakeHub):
    _sharded(hub)
    api = HfApi(endpoint=hub.endpoint, token=False)
    sha = hub.sha("org/sharded")
    with httpx2.Client() as client:

        def work(i: int) -> int:
            if i % 2:
                return len(api.model_info("org/sharded").siblings)
            r = client.get(f"{hub.cdn_endpoint}/cdn/org/sharded/{sha}/model-00001-of-00002.safetensors",
                           headers={"Range": f"bytes=0-{i}"})  # fmt: skip
            return len(r.content)

        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(work, range(400)))
    assert results[1] == 4 and results[10] == 11
    assert hub.stats.total == 400 and hub.stats.by_status == {200: 200, 206: 200}
    assert hub.wait_idle()


def test_use_endpoint_patches_and_restores(hub: FakeHub, tmp_path: Path):
    _single(hub)
    before = (constants.ENDPOINT, constants.HF_HUB_CACHE)
    with use_endpoint(hub.endpoint, hf_home=tmp_path):
        assert huggingface_hub.model_info("org/single").id == "org/single"  # module-level function
        assert huggingface_hub.file_exists("org/single", "config.json")
    assert before == (constants.ENDPOINT, constants.HF_HUB_CACHE)
    assert hub.stats.by_kind["meta"] == 0  # telemetry off: no /api/agent-harnesses call


def test_stop_releases_stalled_clients():
    hub = FakeHub()
    hub.set_faults(stall=30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx2.get(f"{hub.endpoint}/api/models", timeout=10)
        except httpx2.HTTPError as e:
            errors.append(e)

    t = threading.Thread(target=call)
    t.start()
    while hub.stats.stalls == 0:
        time.sleep(0.01)
    hub.stop()
    t.join(timeout=HANG_GUARD)
    assert not t.is_alive() and len(errors) == 1


def test_header_helpers_roundtrip():
    vf = safetensors_file({"x": ("BF16", [3, 5])}, {"format": "pt"})
    (n,) = struct.unpack("<Q", vf.prefix[:8])
    assert n % 8 == 0 and vf.size == 8 + n + 30
    assert json.loads(vf.prefix[8:])["x"]["data_offsets"] == [0, 30]
