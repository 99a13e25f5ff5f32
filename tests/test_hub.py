"""The Hub path, end to end through real huggingface_hub code against the loopback fake Hub."""

from __future__ import annotations

import json
import struct

import pytest
from conftest import SAMPLES, RecordedSleep, expected_samples
from fakehub import from_folder, sharded_safetensors_files

from inspector.api import Inspector
from inspector.transport.http import HubClient

LLAMA70 = SAMPLES / "meta-llama__Llama-2-70b-chat-hf"
QWEN3 = SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"


def header_len(content) -> int:
    prefix = content.prefix if hasattr(content, "prefix") else content
    return 8 + struct.unpack("<Q", prefix[:8])[0]


def needed_bytes(files: dict, read: list[str]) -> int:
    """config + index + the headers the reader needs: the floor any reader must pay."""
    total = 0
    for name, content in files.items():
        if name.endswith(".json"):
            total += len(content if isinstance(content, bytes) else json.dumps(content).encode())
        elif name in read:
            total += header_len(content)
    return total


def synthetic_repo(n_shards: int) -> dict:
    """A constructed llama-shaped repo with n shards (not a real model: shapes from a real config)."""
    cfg = json.loads((SAMPLES / "TheBloke__Llama-2-7B-fp16" / "config.json").read_text())
    layers_per = max(1, 32 // n_shards)
    shards = {}
    layer = 0
    for i in range(n_shards):
        t = {}
        if i == 0:
            t["model.embed_tokens.weight"] = ("F16", [32000, 4096])
        for _ in range(layers_per):
            for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
                t[f"model.layers.{layer}.self_attn.{proj}.weight"] = ("F16", [4096, 4096])
            for proj, shape in (("gate_proj", [11008, 4096]), ("up_proj", [11008, 4096]), ("down_proj", [4096, 11008])):
                t[f"model.layers.{layer}.mlp.{proj}.weight"] = ("F16", shape)
            t[f"model.layers.{layer}.input_layernorm.weight"] = ("F16", [4096])
            layer += 1
        if i == n_shards - 1:
            t["lm_head.weight"] = ("F16", [32000, 4096])
            t["model.norm.weight"] = ("F16", [4096])
        shards[f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors"] = t
    cfg["num_hidden_layers"] = layer
    return {"config.json": json.dumps(cfg).encode(), **sharded_safetensors_files(shards)}


@pytest.fixture
def hub_client(hub):
    """The ranged route (index, then sized header reads): what most tests here measure."""
    return HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep(), timeout=5.0, seed=1, sharded_metadata=False)


@pytest.fixture(params=["ranges", "sharded-metadata"])
def any_client(hub, request):
    """Either route a sharded repo may take (the planner picks per repo from the quota left)."""
    return HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep(), timeout=5.0, seed=1,
                     sharded_metadata=request.param == "sharded-metadata")


def test_a_sharded_hub_repo_gets_the_same_verdict_as_its_local_copy(hub, any_client, insp):
    hub.add_folder("meta-llama/Llama-2-70b-chat-hf", LLAMA70)
    remote = Inspector(insp.rules, client=any_client).inspect("meta-llama/Llama-2-70b-chat-hf")
    local = insp.inspect(str(LLAMA70))
    assert remote.status == "ok", remote.error
    assert (remote.kind, remote.layout, remote.lineage, remote.base) == (local.kind, local.layout, local.lineage, local.base)
    assert remote.revision == hub.sha("meta-llama/Llama-2-70b-chat-hf")


@pytest.mark.parametrize("case", [c for c in expected_samples() if any((SAMPLES / c["sample"]).glob("*.safetensors"))],
                         ids=lambda c: c["sample"])
def test_every_sample_with_weights_reads_right_through_the_hub(hub, any_client, insp, case):
    hub.add_folder("org/" + case["sample"][:90], SAMPLES / case["sample"])
    v = Inspector(insp.rules, client=any_client).inspect("org/" + case["sample"][:90])
    assert (v.status, v.kind, v.lineage) == ("ok", case["kind"], case["lineage"])


def test_requests_do_not_grow_with_the_shard_count(hub, hub_client, insp):
    counts = {}
    for n in (2, 8, 32):
        hub.add_repo(f"org/m{n}", synthetic_repo(n))
        v = Inspector(insp.rules, client=hub_client).inspect(f"org/m{n}")
        assert v.status == "ok", v.error
        counts[n] = v.io["requests"]
    assert counts[2] == counts[8] == counts[32], counts


def test_a_shard_costs_one_resolve_and_one_sized_cdn_read(hub, hub_client, insp):
    # The index predicts each header's size, so a shard's lookup stops at the resolver's redirect
    # (no 8-byte read) and its header is one read on the CDN URL that redirect named.
    hub.add_repo("org/m", synthetic_repo(8))
    hub.reset_stats()
    v = Inspector(insp.rules, client=hub_client).inspect("org/m")
    assert v.status == "ok", v.error
    shard_reads = [e for e in hub.stats.log if (e.file or "").endswith(".safetensors")]
    by_file: dict[str, list[str]] = {}
    for e in shard_reads:
        by_file.setdefault(e.file, []).append(e.kind)
    assert by_file and all(sorted(kinds) == ["cdn", "resolve"] for kinds in by_file.values()), by_file
    assert all(e.range and not e.range.endswith("-7") for e in shard_reads if e.kind == "cdn")


def single_file_repo(n_layers: int) -> dict:
    """A constructed llama-shaped single-file repo (SYNTHETIC: shapes from a real config)."""
    from fakehub import safetensors_file

    cfg = json.loads((SAMPLES / "TheBloke__Llama-2-7B-fp16" / "config.json").read_text())
    cfg["num_hidden_layers"] = n_layers
    t = {"model.embed_tokens.weight": ("F16", [32000, 4096]), "lm_head.weight": ("F16", [32000, 4096])}
    for i in range(n_layers):
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            t[f"model.layers.{i}.self_attn.{proj}.weight"] = ("F16", [4096, 4096])
        t[f"model.layers.{i}.input_layernorm.weight"] = ("F16", [4096])
    return {"config.json": json.dumps(cfg).encode(), "model.safetensors": safetensors_file(t, {"format": "pt"})}


@pytest.mark.parametrize("layers, cdn_reads", [(32, 1), (400, 2)], ids=["header-in-first-read", "longer-header"])
def test_a_single_file_header_is_read_with_its_first_bytes_when_it_fits(hub, hub_client, insp, layers, cdn_reads):
    from inspector.sources.hub import SINGLE_FILE_FIRST_READ

    files = single_file_repo(layers)
    fits = header_len(files["model.safetensors"]) <= SINGLE_FILE_FIRST_READ
    assert fits == (cdn_reads == 1)
    hub.add_repo("org/single", files)
    hub.reset_stats()
    v = Inspector(insp.rules, client=hub_client).inspect("org/single")
    assert v.status == "ok", v.error
    weights = [e.kind for e in hub.stats.log if e.file == "model.safetensors"]
    assert sorted(weights) == ["cdn"] * cdn_reads + ["resolve"], weights
    cdn = [e for e in hub.stats.log if e.file == "model.safetensors" and e.kind == "cdn"]
    assert cdn[0].range == f"bytes=0-{SINGLE_FILE_FIRST_READ - 1}"


def test_stop_off_hub_returns_the_cdn_redirect_unfollowed(hub, hub_client):
    from inspector.readout import IOStats

    sha = hub.add_repo("org/m", synthetic_repo(2))
    url = f"{hub_client.endpoint}/org/m/resolve/{sha}/model-00001-of-00002.safetensors"
    hub.reset_stats()
    resp = hub_client.get(url, what="org/m", io=IOStats(), byte_range=(0, 7), cap=8, stop_off_hub=True)
    assert resp.status in (302, 307) and not resp.body
    assert [e.kind for e in hub.stats.log] == ["resolve"]
    assert resp.url.startswith("http") and "/resolve/" not in resp.url


def test_every_file_read_pins_the_listed_sha(hub, hub_client, insp):
    sha = hub.add_folder("org/q", QWEN3)
    hub.reset_stats()
    Inspector(insp.rules, client=hub_client).inspect("org/q")
    resolves = [e for e in hub.stats.log if e.kind == "resolve"]
    assert resolves and all(f"/resolve/{sha}/" in e.path for e in resolves)


@pytest.mark.parametrize("sample", [LLAMA70, QWEN3, SAMPLES / "tiiuae__falcon-40b"], ids=lambda p: p.name)
def test_bytes_stay_within_1_2x_of_what_is_needed_and_no_shard_data_is_read(hub, hub_client, insp, sample):
    # The first range read is sized from the index's prediction plus a small slack (<= ~15% of a
    # header, 256 bytes for tiny ones), so it may touch the first bytes of data, never more.
    files = from_folder(sample)
    hub.add_repo("org/m", files)
    hub.reset_stats()
    v = Inspector(insp.rules, client=hub_client).inspect("org/m")
    read = [f for f in files if f.endswith(".safetensors") and hub.stats.max_offset.get(("org/m", f))]
    assert read
    for f in read:
        h = header_len(files[f])
        assert hub.stats.max_offset[("org/m", f)] <= h + max(0.15 * h, 256)
    assert v.io["bytes"] <= 1.2 * needed_bytes(files, read), (v.io, needed_bytes(files, read))


def test_a_server_that_ignores_range_does_not_make_us_download_a_shard(hub, hub_client, insp):
    files = from_folder(LLAMA70)
    hub.add_repo("org/m", files)
    hub.set_faults(ignore_range=True)
    v = Inspector(insp.rules, client=hub_client).inspect("org/m")
    assert v.status == "ok", v.error
    for (_repo, f), sent in hub.stats.max_offset.items():
        if f.endswith(".safetensors"):
            assert sent < 0.01 * files[f].size, (f, sent)


def test_a_missing_repo_is_not_found(hub_client, insp):
    v = Inspector(insp.rules, client=hub_client).inspect("org/nothing-here")
    assert v.status == "not_found" and "org/nothing-here" in v.error


def test_a_gated_repo_is_gated_without_a_token_and_readable_with_one(hub, insp):
    hub.add_folder("org/gated", QWEN3, gated=True)
    anon = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep())
    assert Inspector(insp.rules, client=anon).inspect("org/gated").status == "gated"
    token = "hf_" + "a" * 34
    hub.tokens.add(token)
    authed = HubClient(endpoint=hub.endpoint, token=token, sleep=RecordedSleep())
    v = Inspector(insp.rules, client=authed).inspect("org/gated")
    assert v.status == "ok", v.error
    assert token not in json.dumps(v.to_dict())
    cdn_host = hub.cdn_endpoint.split("//")[1]
    assert not any(token in a for a in hub.stats.auth_by_host.get(cdn_host, []))


def test_5xx_bursts_are_retried_with_backoff_not_lost(hub, hub_client, insp):
    hub.add_folder("org/q", QWEN3)
    hub.fail_next(3, 503)
    v = Inspector(insp.rules, client=hub_client).inspect("org/q")
    assert v.status == "ok" and v.io["retries"] == 3
    assert len(hub_client.sleep.calls) == 3


def test_a_429_honours_retry_after(hub, hub_client, insp):
    hub.add_folder("org/q", QWEN3)
    hub.fail_next(1, 429, "/resolve/", retry_after=7)
    v = Inspector(insp.rules, client=hub_client).inspect("org/q")
    assert v.status == "ok"
    assert 7 in hub_client.sleep.calls


def test_a_dropped_connection_mid_header_is_retried(hub, hub_client, insp):
    hub.add_folder("org/q", QWEN3)
    hub.fail_next(1, "drop", "/cdn/")
    v = Inspector(insp.rules, client=hub_client).inspect("org/q")
    assert v.status == "ok" and v.io["retries"] >= 1


def test_persistent_5xx_ends_as_network_error_in_one_line(hub, insp):
    hub.add_folder("org/q", QWEN3)
    hub.set_faults(fail_rate_5xx=1.0)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep(), retries=2)
    v = Inspector(insp.rules, client=client).inspect("org/q")
    assert v.status == "network_error" and "\n" not in v.error and "org/q" in v.error


def test_a_stalled_server_times_out(hub, insp):
    hub.add_folder("org/q", QWEN3)
    hub.set_faults(stall=3.0)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep(), retries=1, timeout=0.3)
    v = Inspector(insp.rules, client=client).inspect("org/q")
    assert v.status == "network_error" and "timed out" in v.error


def test_a_hostile_shard_name_in_an_index_is_refused(hub, hub_client, insp):
    files = from_folder(QWEN3)
    files["model.safetensors.index.json"] = {"weight_map": {"model.embed_tokens.weight": "../../etc/passwd"}}
    hub.add_repo("org/evil", files)
    v = Inspector(insp.rules, client=hub_client).inspect("org/evil")
    assert v.status == "invalid" and "unsafe shard path" in v.error


def test_offline_mode_refuses_hub_targets(hub, hub_client, insp, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    v = Inspector(insp.rules, client=hub_client).inspect("org/q")
    assert v.status == "network_error" and "offline" in v.error


def test_a_revision_can_be_asked_for(hub, hub_client, insp):
    sha = hub.add_folder("org/q", QWEN3)
    v = Inspector(insp.rules, client=hub_client).inspect(f"org/q@{sha}")
    assert v.status == "ok" and v.revision == sha


def test_a_listed_index_that_404s_keeps_the_config_verdict(hub, hub_client, insp):
    files = from_folder(QWEN3)
    hub.add_repo("org/q", files)
    hub.respond_next(1, "model.safetensors.index.json", 404, '{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"})
    v = Inspector(insp.rules, client=hub_client).inspect("org/q")
    assert v.status == "no_weights_metadata" and v.lineage == "qwen"
    assert "model.safetensors.index.json" in v.error


@pytest.mark.parametrize("share, reserve", [(1.0, 1), (0.5, 2), (0.25, 4)])
def test_a_pacer_spends_only_its_share_of_the_quota(share, reserve):
    from inspector.transport.http import Pacer

    now, slept = [0.0], []

    def sleep(s):
        slept.append(s)
        now[0] += s

    p = Pacer(share=share, clock=lambda: now[0], sleep=sleep)
    p.update("api", {"ratelimit": '"api";r=10;t=10'})
    p.acquire("api")
    p.acquire("api")
    # 10 requests left for 10 s, `share` of them ours: one every 10 / (10 * share) s.
    assert slept == [pytest.approx(1 / share)]
    assert p.reserve == reserve


# ---- the sharded-metadata route and the quota-aware planner


def listed_items(hub, client):
    from inspector.listing import list_hub

    return list(list_hub(authors=["org"], client=client))


def test_a_listed_sharded_repo_costs_one_api_call_and_one_resolver_call(hub, insp):
    hub.add_folder("org/q", QWEN3)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep())
    (item,) = listed_items(hub, client)
    hub.reset_stats()
    v = Inspector(insp.rules, client=client).inspect(item.repo, info=item.info)
    assert v.status == "ok" and v.lineage == "qwen", v.error
    assert [e.kind for e in sorted(hub.stats.log, key=lambda e: e.kind)] == ["cache", "stmeta"]
    # every header came, the evidence shards' are read in full (the same facts as the ranged route)
    assert (v.io["shards_read"], v.io["shards_total"]) == (2, 3)


def test_a_mirror_without_the_sharded_metadata_route_falls_back_once(hub, insp):
    hub.serve_sharded_metadata = False
    for i in range(3):
        hub.add_folder(f"org/q{i}", QWEN3)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep())
    verdicts = [Inspector(insp.rules, client=client).inspect(f"org/q{i}") for i in range(3)]
    assert [(v.status, v.lineage) for v in verdicts] == [("ok", "qwen")] * 3
    assert hub.stats.by_kind["stmeta"] == 1 and client.no_sharded_metadata


def test_main_moved_since_the_listing_reads_the_pinned_commit_by_ranges(hub, insp):
    sha = hub.add_folder("org/q", QWEN3)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep())
    (item,) = listed_items(hub, client)
    hub.set_sha("org/q")
    hub.reset_stats()
    v = Inspector(insp.rules, client=client).inspect(item.repo, info=item.info)
    assert v.status == "ok" and v.revision == sha
    assert hub.stats.by_kind["stmeta"] == 1 and all(sha in e.path for e in hub.stats.entries(kind="resolve"))
    assert hub.stats.entries(kind="cdn")


def test_a_revision_asked_for_is_never_read_through_main_only_metadata(hub, insp):
    sha = hub.add_folder("org/q", QWEN3)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep())
    v = Inspector(insp.rules, client=client).inspect(f"org/q@{sha}")
    assert v.status == "ok" and hub.stats.by_kind["stmeta"] == 0


@pytest.mark.parametrize(("api", "resolvers", "expect"), [
    (None, None, True), ('"api";r=900;t=100', '"resolvers";r=4000;t=100', True),
    ('"api";r=100;t=100', '"resolvers";r=4000;t=100', False)])
def test_the_planner_spends_the_bucket_with_more_of_its_window_left(api, resolvers, expect):
    client = HubClient(endpoint="http://127.0.0.1:9", token=False)
    for value, q in ((api, 1000), (resolvers, 5000)):
        if value:
            kind = value.split('"')[1]
            client.pacer.update(kind, {"ratelimit": value, "ratelimit-policy": f'"fixed window";"{kind}";q={q};w=300'})
    assert client.use_sharded_metadata() is expect


def test_under_quota_headers_both_buckets_are_spent_and_no_429_is_served(hub, insp):
    """The planner alternates routes so that the api and resolvers buckets drain at the same pace."""
    for i in range(40):
        hub.add_folder(f"org/q{i:02d}", QWEN3)
    hub.set_rate_limit(api=1000, resolvers=5000, window=300)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep())
    items = listed_items(hub, client)
    hub.reset_stats()
    insp2 = Inspector(insp.rules, client=client)
    verdicts = [insp2.inspect(it.repo, info=it.info) for it in items]
    assert all(v.status == "ok" for v in verdicts)
    api = hub.stats.by_kind["stmeta"]
    resolvers = hub.stats.by_kind["resolve"] + hub.stats.by_kind["cache"]
    assert hub.stats.served_429 == 0 and 10 <= api <= 30, api
    assert abs(api / 1000 - resolvers / 5000) < 0.01  # the two buckets' shares spent alike


def test_under_a_resolver_quota_the_last_shard_is_not_probed_blindly(hub, hub_client, insp):
    """The output head is not always in the last shard: with a quota reported, only the index says
    which shards to resolve."""
    files = synthetic_repo(4)
    idx = files["model.safetensors.index.json"]  # the head moved to shard 2 in the index (and so read there)
    for name in ("lm_head.weight", "model.norm.weight"):
        idx["weight_map"][name] = "model-00002-of-00004.safetensors"
    hub.add_repo("org/m", files)
    hub.set_rate_limit(api=1000, resolvers=5000)
    Inspector(insp.rules, client=hub_client).inspect("org/m")  # learns the quota
    hub.reset_stats()
    v = Inspector(insp.rules, client=hub_client).inspect("org/m")
    assert v.status == "ok", v.error
    assert not hub.stats.entries(kind="resolve", file="model-00004-of-00004.safetensors")
