"""Faults of the Hub: every inspection ends with a recorded, typed status and a one-line message.

Nothing sleeps: backoff and pacing go through RecordedSleep; stalls are cut by short read timeouts.
"""

from __future__ import annotations

import pytest
from conftest import SAMPLES, RecordedSleep

from inspector.api import Inspector
from inspector.transport.http import HubClient

QWEN3 = SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"
TYPED = {"ok", "not_found", "gated", "no_config", "no_weights_metadata", "invalid", "network_error"}


def client_for(hub, **kw) -> HubClient:
    # Ranged reads unless asked: the faults below are scripted on the resolver, resolve-cache and CDN hops.
    opts = {"token": False, "sleep": RecordedSleep(), "timeout": 2.0, "seed": 7, "retries": 3, "sharded_metadata": False, **kw}
    return HubClient(endpoint=hub.endpoint, **opts)


def judged(v, *statuses: str):
    assert v.status in TYPED and v.status in statuses, (v.status, v.error)
    if v.status != "ok":
        assert v.error and "\n" not in v.error and "Traceback" not in v.error and "internal error" not in v.error, v.error
    return v


@pytest.fixture
def qwen(hub):
    return hub.add_folder("org/q", QWEN3)


def test_a_connection_reset_mid_header_every_time_is_a_network_error(hub, insp, qwen):
    hub.set_faults(drop_rate=1.0, kinds={"cdn"})
    client = client_for(hub)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "network_error")
    assert "connection dropped" in v.error and "org/q/" in v.error
    assert hub.stats.drops >= client.retries + 1
    assert len(client.sleep.calls) >= client.retries


def test_resets_on_a_share_of_reads_still_end_ok_or_typed(hub, insp, qwen):
    hub.set_faults(drop_rate=0.4, seed=3)
    client = client_for(hub, retries=6)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok", "network_error")
    if v.status == "ok":
        assert v.lineage == "qwen"


@pytest.mark.parametrize("kinds", [None, {"api"}, {"cdn"}, {"resolve", "cache"}], ids=str)
def test_a_stalled_server_is_cut_by_the_read_timeout(hub, insp, qwen, kinds):
    hub.set_faults(stall=5.0, kinds=kinds)
    client = client_for(hub, timeout=0.1, retries=1)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "network_error", "invalid")
    assert "timed out" in v.error or "dropped" in v.error
    hub.clear_faults()


def test_a_single_stall_is_retried(hub, insp, qwen):
    hub.fail_next(1, "stall", "/cdn/")
    hub.set_faults(stall=5.0, stall_rate=0.0)  # the scripted stall lasts 5 s; the client waits 0.2 s
    client = client_for(hub, timeout=0.2)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok")
    assert v.io["retries"] == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_burst_is_retried_then_ok(hub, insp, qwen, status):
    hub.fail_next(3, status)
    client = client_for(hub, retries=5)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok")
    assert v.io["retries"] == 3 and len(client.sleep.calls) == 3
    assert all(0 < s <= client.max_backoff * 1.5 for s in client.sleep.calls)


def test_random_5xx_on_every_kind_of_request_ends_typed(hub, insp, qwen):
    for seed in range(6):
        hub.clear_faults()
        hub.set_faults(fail_rate_5xx=0.5, seed=seed)
        client = client_for(hub, retries=2)
        v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok", "network_error")
        if v.status == "network_error":
            assert "HTTP 503" in v.error


def test_a_429_storm_ends_as_a_network_error_with_bounded_waits(hub, insp, qwen):
    hub.fail_next(1000, 429, retry_after=30)
    client = client_for(hub, retries=4)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "network_error")
    assert "HTTP 429" in v.error and "org/q" in v.error
    assert client.sleep.calls and max(client.sleep.calls) <= 600
    assert 30 in client.sleep.calls  # Retry-After honoured
    assert hub.stats.served_429 == client.retries + 1  # no request beyond the retry budget


def test_a_429_storm_that_passes_is_ok(hub, insp, qwen):
    hub.fail_next(4, 429, "/resolve/", retry_after=2)
    client = client_for(hub, retries=5)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok")
    assert v.io["retries"] == 4


def test_an_absurd_retry_after_is_capped(hub, insp, qwen):
    hub.fail_next(1, 429, retry_after=10**9)
    client = client_for(hub)
    judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok")
    assert max(client.sleep.calls) <= 600


class _Hook:
    """Wraps a client's `get` to act on the fake Hub right after the n-th call returned."""

    def __init__(self, client: HubClient, after: int, action) -> None:
        self.calls, self.after, self.action, self.inner = 0, after, action, client.get
        client.get = self  # type: ignore[method-assign]

    def __call__(self, *args, **kwargs):
        resp = self.inner(*args, **kwargs)
        self.calls += 1
        if self.calls == self.after:
            self.action()
        return resp


@pytest.mark.parametrize("after", [1, 2, 3], ids=["after-model-info", "after-config", "after-index"])
def test_a_repo_that_vanishes_mid_read_is_not_found(hub, insp, qwen, after):
    client = client_for(hub)
    _Hook(client, after, lambda: hub.remove_repo("org/q"))
    # Once config and index are in, a shard that answers 404 may be a vanished repo or a vanished
    # file (the CDN cannot tell): either way the status is typed and the config's verdict is kept.
    # The config, the index and the shard lookups go out together, so "after the config" the index
    # may already be in as well.
    allowed = ("not_found", "no_weights_metadata") if after >= 2 else ("not_found",)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), *allowed)
    assert "org/q" in v.error


def test_a_sha_that_changes_mid_read_keeps_reading_the_pinned_commit(hub, insp, qwen):
    client = client_for(hub)
    broken = {"config.json": b"{not json", "model.safetensors": b"garbage"}
    _Hook(client, 1, lambda: hub.set_sha("org/q", files=broken))
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "ok")
    assert v.revision == qwen != hub.sha("org/q")
    assert v.lineage == "qwen"
    resolves = hub.stats.entries(kind="resolve", repo_id="org/q")
    assert resolves and all(f"/resolve/{qwen}/" in e.path for e in resolves)


def test_a_sha_rewritten_away_mid_read_is_a_typed_failure(hub, insp, qwen):
    client = client_for(hub)

    def force_push():
        hub.set_sha("org/q")
        hub._repos["org/q"].commits.pop(qwen)  # a force-push: the pinned commit is gone

    _Hook(client, 1, force_push)
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "not_found")
    assert "org/q" in v.error


@pytest.mark.parametrize("gone", ["config.json", "model.safetensors.index.json", "model-00001-of-00003.safetensors"])
def test_a_file_listed_but_gone_by_the_time_it_is_read_is_typed(hub, insp, qwen, gone):
    client = client_for(hub)
    _Hook(client, 1, lambda: hub._repos["org/q"].commits[qwen].pop(gone))
    v = judged(Inspector(insp.rules, client=client).inspect("org/q"), "no_config", "no_weights_metadata", "invalid", "ok")
    if gone == "config.json":
        assert v.status == "no_config" and "config.json" in v.error
    else:  # the weights metadata is lost, the config's verdict is not
        assert v.status == "no_weights_metadata" and gone in v.error and v.lineage == "qwen"


def test_a_batch_with_every_fault_loses_no_target(hub, insp):
    """Each target of a batch comes back with a status, whatever happened to the others."""
    for i in range(6):
        hub.add_folder(f"org/m{i}", QWEN3)
    hub.add_folder("org/gated", QWEN3, gated=True)
    hub.fail_next(2, "drop", "/org/m1/")
    hub.fail_next(50, 503, "/org/m2/")
    hub.fail_next(50, 429, "/org/m3/")
    hub.fail_next(1, "stall", "/org/m4/")
    hub.set_faults(stall=5.0, stall_rate=0.0)
    client = client_for(hub, timeout=0.2, retries=2)
    insp2 = Inspector(insp.rules, client=client)
    hub.remove_repo("org/m5")
    targets = [f"org/m{i}" for i in range(6)] + ["org/gated", "org/none", "bad id!"]
    verdicts = [insp2.inspect(t) for t in targets]
    assert [v.target for v in verdicts] == targets
    got = {v.target: v.status for v in verdicts}
    assert got == {"org/m0": "ok", "org/m1": "ok", "org/m2": "network_error", "org/m3": "network_error",
                   "org/m4": "ok", "org/m5": "not_found", "org/gated": "gated", "org/none": "not_found",
                   "bad id!": "invalid"}
    for v in verdicts:
        judged(v, v.status)
