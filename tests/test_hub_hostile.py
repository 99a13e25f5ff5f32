"""Hostile Hub servers and the 2026 Hub's real behaviours, each against the fake Hub (issues #12, #15).

No sleeps: waits go through RecordedSleep; deadlines are made small, and budgets are counted in
requests and bytes, never in seconds.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import pytest
from conftest import SAMPLES
from fakehub import FakeHub, sharded_safetensors_files
from test_faults import client_for, judged

from inspector.api import Inspector
from inspector.errors import NetworkError, TokenRejected
from inspector.formats.plan import MAX_CONFIG_BYTES, MAX_EVIDENCE_SHARDS, evidence_shards
from inspector.listing import list_hub
from inspector.transport.http import MAX_WAIT, Pacer, parse_ratelimit, parse_retry_after

QWEN3 = SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"
TOKEN = "hf_ValidTokenForTheFakeHub0123456789"


@pytest.fixture
def qwen(hub):
    return hub.add_folder("org/q", QWEN3)


def inspect(insp, client, target="org/q"):
    return Inspector(insp.rules, client=client).inspect(target)


def bomb(decoded: int) -> bytes:
    """A gzip body that inflates to `decoded` bytes of JSON-ish spaces (built without holding them)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    out = [c.compress(b'{"a":"') ]
    for _ in range(decoded >> 20):
        out.append(c.compress(block))
    out.append(c.compress(b'"}'))
    out.append(c.flush())
    return b"".join(out)


# ---- pagination stays on the endpoint's origin


def test_a_next_page_on_another_host_is_refused_gets_no_token_and_adds_no_repo(hub):
    foreign = FakeHub()
    try:
        foreign.add_folder("org/evil", QWEN3)
        hub.tokens.add(TOKEN)
        for i in range(3):
            hub.add_folder(f"org/m{i}", QWEN3)
        hub.page_size, hub.page_link_base = 2, foreign.endpoint
        got = []
        with pytest.raises(NetworkError) as err:
            for it in list_hub(authors=["org"], client=client_for(hub, token=TOKEN)):
                got.append(it.repo)
        assert got == ["org/m0", "org/m1"]
        assert "another host" in str(err.value) and "\n" not in str(err.value)
        assert foreign.stats.total == 0 and not foreign.stats.auth_by_host
    finally:
        foreign.stop()


def test_a_listing_redirected_to_another_host_is_not_followed(hub):
    foreign = FakeHub()
    try:
        hub.tokens.add(TOKEN)
        hub.respond_next(1, "/api/models?", 302, headers={"Location": f"{foreign.endpoint}/api/models"})
        with pytest.raises(NetworkError, match="listing failed"):
            list(list_hub(authors=["org"], client=client_for(hub, token=TOKEN)))
        assert foreign.stats.total == 0
    finally:
        foreign.stop()


def test_malformed_listing_entries_are_skipped_and_said_in_one_line(hub, qwen):
    sha = hub.sha("org/q")
    page = [None, "org/q", {"id": 5}, {"id": "org/a", "sha": sha, "siblings": "config.json"},
            {"id": "org/b", "sha": sha + "\n", "siblings": []}, {"id": "org/q", "sha": sha, "siblings": [{"rfilename": "config.json"}]}]
    hub.respond_next(1, "/api/models?", 200, json.dumps(page), {"Content-Type": "application/json"})
    got = []
    with pytest.raises(NetworkError, match="3 malformed entries") as err:
        for it in list_hub(authors=["org"], client=client_for(hub)):
            got.append(it)
    assert "\n" not in str(err.value)
    assert [(it.repo, it.sha, it.info is not None) for it in got] == [("org/a", sha, False), ("org/b", "", False), ("org/q", sha, True)]


# ---- deadlines: per request (inside each read) and per inspection


@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_a_slow_drip_is_cut_by_the_request_deadline(hub, insp, qwen, headers):
    hub.drip_next(5, "config.json", every=0.02, headers=headers)
    client = client_for(hub, timeout=30.0, deadline=1.0, retries=0)  # loaded CI machines: 1 s, not less
    v = judged(inspect(insp, client), "network_error", "no_config", "invalid")
    assert "deadline" in (v.error or "")
    dripped = [e for e in hub.stats.log if e.fault == "scripted"]
    hub.wait_idle()
    assert dripped and all(e.bytes < 200 for e in dripped)  # ~50 bytes in 1 s, never the whole body


def test_a_server_that_stops_mid_header_is_cut_by_the_deadline(hub, insp, qwen):
    hub.fail_next(1, "half-header", "/api/models/")
    client = client_for(hub, timeout=30.0, deadline=1.0, retries=0)
    v = judged(inspect(insp, client), "network_error")
    assert "deadline" in v.error


def test_an_inspection_has_one_deadline_for_all_its_requests(hub, insp, qwen):
    hub.set_faults(latency=0.05)
    client = client_for(hub, inspection_deadline=0.12, retries=0)
    v = judged(inspect(insp, client), "network_error", "no_config", "no_weights_metadata")
    assert "deadline" in v.error
    assert client.stats.requests <= 8  # an ok read of this repo takes more; the deadline stopped it


def test_a_stalled_listing_page_is_one_line_error(hub, qwen):
    hub.fail_next(1, "half-header", "/api/models?")
    with pytest.raises(NetworkError, match="listing failed") as err:
        list(list_hub(authors=["org"], client=client_for(hub, deadline=1.0, retries=0, timeout=30.0)))
    assert "deadline" in str(err.value)


# ---- waits the server asks for


@pytest.mark.parametrize("value", ["²³", "٣٠", "1" * 5000, "-5", "1e9", "", "soon", "Wed, 99 Foo 2099"])
def test_unreadable_retry_after_is_ignored(value):
    assert parse_retry_after(value) is None


@pytest.mark.parametrize("value", ["1000000000", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_retry_after_is_capped(value):
    assert parse_retry_after(value) == MAX_WAIT


@pytest.mark.parametrize("value", ['"api";r=' + "9" * 5000 + ";t=1", '"api";r=٣;t=1', '"api";r=1;t=' + "9" * 5000])
def test_unreadable_ratelimit_is_ignored(value):
    assert parse_ratelimit(value) is None


def test_hostile_rate_limit_headers_on_every_answer_still_end_ok(hub, insp, qwen):
    hub.extra_headers = {"RateLimit": '"api";r=' + "9" * 5000 + ";t=1", "Retry-After": "²³"}
    hub.throttle_next(1, "config.json", retry_after="²³")
    client = client_for(hub)
    judged(inspect(insp, client), "ok")
    assert client.sleep.calls and max(client.sleep.calls) <= client.max_backoff * 1.5


def test_a_429_without_ratelimit_headers_backs_off_and_passes(hub, insp, qwen):
    hub.throttle_next(2, "/resolve/")
    client = client_for(hub, retries=3)
    v = judged(inspect(insp, client), "ok")
    assert v.io["retries"] == 2 and len(client.sleep.calls) >= 2


def test_a_429_with_a_spent_bucket_waits_for_its_reset(hub, insp, qwen):
    hub.respond_next(1, "config.json", 429, '{"error":"slow down"}', {"RateLimit": '"resolvers";r=0;t=7'})
    client = client_for(hub)
    judged(inspect(insp, client), "ok")
    assert 7 in client.sleep.calls


def test_pacing_follows_the_bucket_the_header_names():
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(s):
        sleeps.append(s)
        clock[0] += s

    p = Pacer(clock=lambda: clock[0], sleep=sleep)
    p.update("api", {"ratelimit": '"pages";r=0;t=50'})  # the Hub counts this URL against "pages"
    p.acquire("api")
    assert sleeps == [50]


def test_a_cdn_429_slows_the_cdn_reads():
    clock = [0.0]
    sleeps: list[float] = []
    p = Pacer(clock=lambda: clock[0], sleep=sleeps.append)
    p.block(None, 5.0)
    p.acquire(None)
    p.acquire("resolvers")
    assert sleeps == [5.0]


# ---- decoded size, encodings


@pytest.mark.parametrize("path", ["/api/resolve-cache/", "/api/models/org/q"], ids=["config", "model_info"])
def test_a_gzip_bomb_is_cut_at_the_decoded_cap_while_decoding(hub, insp, qwen, path):
    body = bomb(80 << 20)
    hub.respond_next(1, path, 200, body, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    client = client_for(hub)
    tracemalloc.start()
    try:
        v = judged(inspect(insp, client), "invalid")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than" in v.error or "not valid JSON" in v.error or "larger" in v.error
    assert peak < 3 * 64_000_000  # never the 80 MB decoded, twice over


def test_a_gzip_bomb_listing_page_is_refused(hub):
    hub.respond_next(1, "/api/models?", 200, bomb(70 << 20), {"Content-Encoding": "gzip"})
    with pytest.raises(NetworkError, match="listing failed"):
        list(list_hub(authors=["org"], client=client_for(hub)))


def test_compressed_error_bodies_keep_their_meaning(hub, insp):
    hub.compress_text = True
    hub.add_folder("org/gated", QWEN3, gated=True)
    v = judged(inspect(insp, client_for(hub), "org/gated"), "gated")
    assert "gated" in v.error
    v = judged(inspect(insp, client_for(hub), "org/none"), "not_found")


def test_ranged_reads_ask_for_identity_so_a_gzip_happy_cdn_still_serves_ranges(hub, insp, qwen):
    hub.cdn_gzip_ignores_range = True
    judged(inspect(insp, client_for(hub)), "ok")
    cdn = hub.stats.entries(kind="cdn")
    assert cdn and all(e.status == 206 for e in cdn)


def test_an_unknown_content_encoding_is_typed(hub, insp, qwen):
    hub.respond_next(1, "/api/resolve-cache/", 200, b"xx", {"Content-Encoding": "br"})
    v = judged(inspect(insp, client_for(hub)), "invalid")
    assert "Content-Encoding" in v.error


# ---- bounded work per repo


def test_evidence_scattered_over_a_thousand_shards_costs_a_bounded_number_of_reads(hub, insp):
    n = 1000
    shards = {f"model-{i + 1:05d}-of-{n:05d}.safetensors": {f"model.embed_tokens.{i}.weight": ("BF16", [4, 4])}
              for i in range(n)}
    files = sharded_safetensors_files(shards)
    files["config.json"] = (QWEN3 / "config.json").read_text()
    hub.add_repo("org/scatter", files)
    client = client_for(hub)
    v = judged(inspect(insp, client, "org/scatter"), "ok", "invalid", "no_weights_metadata")
    reads = hub.stats.by_kind["resolve"] + hub.stats.by_kind["cdn"]
    assert reads <= 2 * MAX_EVIDENCE_SHARDS + 4, reads
    assert v.io["requests"] < 30


# ---- redirects


@pytest.mark.parametrize("location", ["http://[::1", "http://127.0.0.1:99999/x", "javascript:alert(1)", "ftp://h/x", "https://[bad/x",
                                      "http://a b/x"])
def test_a_redirect_to_a_malformed_url_is_typed(hub, insp, qwen, location):
    hub.respond_next(1, "config.json", 302, b"", {"Location": location})
    v = judged(inspect(insp, client_for(hub, retries=0)), "network_error", "no_config")
    assert "redirect" in v.error or "config.json" in v.error


def test_a_renamed_repo_is_followed_once_and_read_under_its_new_id(hub, insp, qwen):
    hub.rename_repo("org/q", "org/renamed")
    hub.reset_stats()
    v = judged(inspect(insp, client_for(hub)), "ok")
    old = [e for e in hub.stats.log if e.path.startswith(("/api/models/org/q", "/org/q/"))]
    assert len(old) == 1 and old[0].status == 307  # the model_info redirect, and no file hop after it
    assert v.lineage == "qwen"


def test_a_sha_with_a_trailing_newline_from_the_hub_is_refused(hub, insp, qwen):
    doc = {"id": "org/q", "sha": hub.sha("org/q") + "\n", "siblings": [{"rfilename": "config.json"}]}
    hub.respond_next(1, "/api/models/org/q", 200, json.dumps(doc), {"Content-Type": "application/json"})
    v = judged(inspect(insp, client_for(hub)), "invalid")
    assert "40 hex" in v.error


# ---- the 2026 Hub


def test_an_expired_signed_cdn_url_is_resolved_again_once(hub, qwen):
    from inspector.readout import IOStats

    client = client_for(hub)
    shard = "model-00001-of-00003.safetensors"
    resolve = f"{hub.endpoint}/org/q/resolve/{qwen}/{shard}"
    first = client.get(resolve, what="x", io=IOStats(), byte_range=(0, 7), cap=8)
    hub.expire_cdn_urls()
    hub.reset_stats()
    again = client.get(first.url, what="x", io=IOStats(), byte_range=(0, 7), cap=8, resolve_url=resolve)
    assert again.body == first.body and again.url != first.url
    assert [(e.kind, e.status) for e in hub.stats.log] == [("cdn", 403), ("resolve", 302), ("cdn", 206)]


def test_a_cdn_400_says_so_plainly_and_is_not_invalid_weights(hub, insp, qwen):
    hub.respond_next(1, "/cdn/", 400, b"<Error>Bad Request</Error>")
    v = judged(inspect(insp, client_for(hub, retries=0)), "no_weights_metadata")
    assert "50 GB" in v.error and v.lineage == "qwen"  # the config's verdict stands


def test_a_stale_token_is_one_clear_error_not_a_gated_repo(hub, insp, qwen):
    client = client_for(hub, token="hf_StaleTokenThatTheHubNoLongerKnows00")
    with pytest.raises(TokenRejected) as err:
        Inspector(insp.rules, client=client).snapshot("org/q")
    assert "HF_TOKEN" in str(err.value) and "hf_Stale" not in str(err.value)
    before = hub.stats.total
    with pytest.raises(TokenRejected):
        Inspector(insp.rules, client=client).snapshot("org/q")
    assert hub.stats.total == before  # detected once: no request after that


def test_a_disabled_repo_is_not_gated(hub, insp, qwen):
    hub.disable_repo("org/q")
    v = judged(inspect(insp, client_for(hub)), "not_found")
    assert "disabled" in v.error


def test_a_closed_shared_session_does_not_fail_the_repos_in_flight(hub, insp, qwen, monkeypatch):
    from huggingface_hub.utils import get_session

    from inspector.transport import http

    closed = http._httpx.Client()
    closed.close()
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        return closed if calls["n"] <= 2 else get_session()

    monkeypatch.setattr(http, "get_session", flaky)
    v = judged(inspect(insp, client_for(hub, retries=3)), "ok")
    assert v.lineage == "qwen"


def test_a_gated_repo_from_a_listing_costs_one_request(hub, insp):
    hub.add_folder("org/gated", QWEN3, gated=True)
    (item,) = list(list_hub(authors=["org"], client=client_for(hub)))
    hub.reset_stats()
    v = Inspector(insp.rules, client=client_for(hub)).inspect(item.repo, info=item.info)
    judged(v, "gated")
    assert hub.stats.total == 1


@pytest.mark.parametrize("kind", ["gzip", "plain"])
def test_content_length_of_an_encoded_body_is_not_the_file_size(hub, kind):
    from inspector.transport.ranged import HubRangeFile

    body = gzip.compress(b"x" * 100) if kind == "gzip" else b"x" * 100
    headers = {"Content-Encoding": "gzip"} if kind == "gzip" else {}
    hub.add_repo("org/f", {"a.bin": b"x" * 100})
    hub.respond_next(1, "/cdn/", 200, body, headers)
    f = HubRangeFile(client_for(hub), f"{hub.endpoint}/org/f/resolve/main/a.bin", "org/f/a.bin")
    assert f.read(0, 10) == b"x" * 10
    assert f.size() == (None if kind == "gzip" else 100)


def test_evidence_shards_are_bounded_for_every_format():
    """The one choice of shards (safetensors and .bin alike) stops at MAX_EVIDENCE_SHARDS."""
    wm = {f"model.embed_tokens.{i}.weight": f"pytorch_model-{i:05d}-of-01000.bin" for i in range(1000)}
    assert evidence_shards(wm) == [f"pytorch_model-{i:05d}-of-01000.bin" for i in range(MAX_EVIDENCE_SHARDS)]
    assert MAX_CONFIG_BYTES < 64_000_000


def test_an_audit_with_a_stale_token_stops_in_one_error_and_records_no_row(hub, insp, tmp_path):
    from inspector.audit import Audit
    from inspector.listing import Item
    from inspector.store import Store

    for i in range(8):
        hub.add_folder(f"org/m{i}", QWEN3)
    client = client_for(hub, token="hf_StaleTokenThatTheHubNoLongerKnows00")
    with Store(tmp_path / "a.sqlite") as store:
        audit = Audit(Inspector(insp.rules, client=client), store, workers=3)
        with pytest.raises(TokenRejected):
            audit.run([Item(f"org/m{i}") for i in range(8)])
        assert list(store.rows(latest=False)) == []
    assert hub.stats.total <= 3  # at most one request per worker in flight when the first 401 came


def test_inspect_with_a_stale_token_exits_in_one_line(hub, monkeypatch, ruleset):
    from click.testing import CliRunner

    from inspector.cli import main

    monkeypatch.setattr("inspector.api.load_ruleset", lambda extra=None: ruleset)
    hub.add_folder("org/a", QWEN3)
    hub.add_folder("org/b", QWEN3)
    r = CliRunner().invoke(main, ["inspect", "org/a", "org/b"], env={"HF_TOKEN": "hf_StaleTokenThatTheHubNoLongerKnows00"})
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and "HF_TOKEN" in r.output and "hf_Stale" not in r.output
    assert hub.stats.total == 1


@pytest.mark.parametrize("form", ["{endpoint}/org/q", "{endpoint}/org/q/tree/{sha}", "https://huggingface.co/org/q/tree/main"])
def test_a_pasted_hub_url_is_inspected(hub, insp, qwen, form):
    v = judged(inspect(insp, client_for(hub), form.format(endpoint=hub.endpoint, sha=qwen)), "ok")
    assert v.lineage == "qwen" and v.revision == qwen


def test_a_repo_id_without_namespace_is_inspected(hub, insp):
    sha = hub.add_folder("gpt2", QWEN3)
    v = judged(inspect(insp, client_for(hub), "gpt2"), "ok")
    assert v.revision == sha


def test_a_mirror_without_resolve_cache_falls_back_to_resolve_and_stops_asking(hub, insp):
    hub.serve_resolve_cache = False
    hub.serve_sharded_metadata = False
    for i in range(5):
        hub.add_folder(f"org/m{i}", QWEN3)
    client = client_for(hub, sharded_metadata=True)
    verdicts = [Inspector(insp.rules, client=client).inspect(f"org/m{i}") for i in range(5)]
    assert all(v.status == "ok" and v.lineage == "qwen" for v in verdicts)
    assert client.direct_cache is False
    assert not hub.stats.entries(kind="cache", repo_id="org/m4")  # learnt: /resolve/ only


def test_a_cdn_429_slows_the_next_cdn_reads(hub, insp, qwen):
    hub.throttle_next(1, "/cdn/", retry_after="9")
    client = client_for(hub)
    judged(inspect(insp, client), "ok")
    assert 9 in client.sleep.calls and client.pacer.blocked_until.get("_cdn", 0) > 0


def test_waits_for_the_quota_or_a_retry_after_do_not_count_against_the_deadlines(hub, insp, monkeypatch):
    """A run paced to stay inside its quota may wait minutes: those waits (each capped) are not
    network time, so they do not fail the request or the inspection."""
    from inspector.transport import http

    hub.add_repo("org/c", {"config.json": (QWEN3 / "config.json").read_text()})  # one read: nothing in parallel
    clock = [1000.0]
    monkeypatch.setattr(http, "_now", lambda: clock[0])

    def sleep(seconds):  # the waits pass on the fake clock only
        clock[0] += seconds

    client = client_for(hub, deadline=5.0, inspection_deadline=10.0, sleep=sleep)
    client.pacer.sleep = sleep
    Inspector(insp.rules, client=client).snapshot("org/c")  # learns that small files come from resolve-cache
    hub.throttle_next(1, "config.json", retry_after="300")
    client.pacer.block("resolvers", 400.0)
    start = clock[0]
    snap = Inspector(insp.rules, client=client).snapshot("org/c")
    assert snap.config_status == "ok" and clock[0] >= start + 300 + 400


def test_a_listing_429_with_an_absurd_retry_after_waits_at_most_the_cap(hub, qwen):
    hub.throttle_next(1, "/api/models?", retry_after="1000000000")
    client = client_for(hub)
    (item,) = list(list_hub(authors=["org"], client=client))
    # (recorded sleeps do not pass time, so the bucket's block shows as a second wait: real time would not)
    assert item.repo == "org/q" and MAX_WAIT in client.sleep.calls and max(client.sleep.calls) <= MAX_WAIT


@pytest.mark.parametrize("command", [["inspect", "org/m"], ["audit", "--from", "-", "--db", "{tmp}/a.sqlite", "-q"]])
def test_a_session_that_cannot_be_made_is_one_line_naming_the_setting(tmp_path, command):
    """A CA bundle that is not there (SSL_CERT_FILE): one line, never an internal error, in a fresh process
    (huggingface_hub keeps one session per process)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "no-such-bundle.pem"), "HF_ENDPOINT": "https://127.0.0.1:9",
           "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    r = subprocess.run([sys.executable, "-m", "inspector", *(c.replace("{tmp}", str(tmp_path)) for c in command)],
                       env=env, input="org/m\n", capture_output=True, text=True, timeout=120)
    assert r.returncode in (1, 2) and "SSL_CERT_FILE" in r.stderr and "internal error" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
