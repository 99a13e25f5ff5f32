"""The bulk audit runner against the loopback fake Hub: reads, skips, faults, and what lands in the store."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES, RecordedSleep
from huggingface_hub import HfApi

from inspector.api import Inspector
from inspector.audit import Audit, render_summary, summarize
from inspector.listing import Item, in_shard, list_hub, parse_shard, read_list
from inspector.store import Store
from inspector.transport.http import HubClient

SHARDED = SAMPLES / "TheBloke__Llama-2-7B-fp16"
QWEN = SAMPLES / "Qwen__Qwen-7B"


@pytest.fixture
def audit_of(hub, hub_client, insp, tmp_path):
    stores = []

    def make(**kw) -> Audit:
        store = Store(tmp_path / "audit.sqlite")
        stores.append(store)
        return Audit(Inspector(insp.rules, client=hub_client), store, workers=kw.pop("workers", 4), **kw)

    yield make
    for s in stores:
        s.close()


def listed(hub, author: str = "org") -> list[Item]:
    return list(list_hub(authors=[author], api=HfApi(endpoint=hub.endpoint, token=False)))


def rows(store: Store) -> dict[str, dict]:
    return {r["repo"]: dict(r) for r in store.records(latest=False)}


def test_listed_repos_are_read_without_any_model_info_call(hub, audit_of):
    for i in range(6):
        hub.add_folder(f"org/llama-{i}", SHARDED)
    items = listed(hub)
    assert len(items) == 6 and all(it.sha and it.info is not None for it in items)
    hub.reset_stats()
    audit = audit_of()
    stats = audit.run(items)
    assert (stats.done, stats.failed) == (6, 0)
    assert hub.stats.by_kind["api"] == 0  # no per-repo model_info: the listing's expand covered it
    got = rows(audit.store)
    assert set(got) == {f"org/llama-{i}" for i in range(6)}
    r = got["org/llama-0"]
    assert (r["status"], r["kind"], r["lineage"], r["sha"]) == ("ok", "decoder", "llama", hub.sha("org/llama-0"))
    assert r["author"] == "org" and r["requests"] == hub.stats.by_repo["org/llama-0"]
    assert json.loads(r["verdict"])["revision"] == r["sha"]


def test_an_unchanged_sha_is_not_fetched_again_and_a_changed_one_is(hub, audit_of):
    for i in range(4):
        hub.add_folder(f"org/m{i}", SHARDED)
    audit_of().run(listed(hub))
    new_sha = hub.set_sha("org/m2")
    items = listed(hub)
    hub.reset_stats()
    audit = audit_of()
    stats = audit.run(items)
    assert (stats.done, stats.skipped) == (1, 3)
    assert set(hub.stats.by_repo) == {"org/m2"}  # the three unchanged repos cost no request at all
    assert {(r["repo"], r["sha"]) for r in audit.store.records()} >= {("org/m2", new_sha)}
    assert len(list(audit.store.records(latest=False))) == 5  # the old sha's row stays as history

    hub.reset_stats()
    assert audit_of(refresh=True).run(listed(hub)).done == 4
    assert set(hub.stats.by_repo) == {f"org/m{i}" for i in range(4)}


def test_a_list_without_shas_costs_one_info_call_per_unchanged_repo(hub, audit_of, tmp_path):
    for i in range(3):
        hub.add_folder(f"org/m{i}", QWEN)
    lst = tmp_path / "repos.txt"
    lst.write_text("# audit list\norg/m0\norg/m1  # trailing comment\n\norg/m2\n")
    audit_of().run(read_list(lst))
    hub.reset_stats()
    audit = audit_of()
    stats = audit.run(read_list(lst))
    assert (stats.done, stats.skipped) == (0, 3)
    assert hub.stats.total == hub.stats.by_kind["api"] == 3
    # Read to the end: nothing is left in the journal of repos in flight.
    assert audit.store.db.execute("SELECT count(*) FROM inflight").fetchone()[0] == 0


def test_gated_missing_and_invalid_repos_are_recorded_and_the_run_goes_on(hub, audit_of, tmp_path):
    hub.add_folder("org/open", QWEN)
    hub.add_folder("org/gated", QWEN, gated=True)
    items = listed(hub) + [Item("org/missing"), Item("not a repo id")]
    audit = audit_of()
    stats = audit.run(items)
    got = rows(audit.store)
    assert {k: v["status"] for k, v in got.items()} == {
        "org/open": "ok", "org/gated": "gated", "org/missing": "not_found", "not a repo id": "invalid"}
    assert (stats.done, stats.failed) == (1, 3)
    assert got["org/gated"]["sha"] == hub.sha("org/gated") and got["org/missing"]["sha"] == ""
    # Gated and missing are final: the next run does not ask about the gated one again.
    hub.reset_stats()
    audit_of().run(listed(hub))
    assert hub.stats.total == 1  # the listing itself


def test_429_5xx_and_dropped_connections_are_retried_with_the_injected_sleep(hub, hub_client, audit_of):
    for i in range(3):
        hub.add_folder(f"org/m{i}", SHARDED)
    items = listed(hub)
    hub_client.sharded_metadata = False  # ranged reads: the faults below are on their hops
    hub.fail_next(1, 429, "/resolve/", retry_after=7)
    hub.fail_next(2, 503, "/cdn/")
    hub.fail_next(1, "drop", "/resolve-cache/")
    audit = audit_of(workers=1)
    stats = audit.run(items)
    assert (stats.done, stats.failed) == (3, 0)
    assert 7.0 in hub_client.sleep.calls  # Retry-After honoured, through the injected sleep
    assert hub.stats.served_429 == 1 and hub.stats.served_5xx == 2 and hub.stats.drops == 1
    assert sum(json.loads(r["verdict"])["io"]["retries"] for r in audit.store.records()) == 4


def test_retries_that_run_out_end_as_network_error_and_a_later_run_retries(hub, insp, tmp_path):
    hub.add_folder("org/flaky", QWEN)
    client = HubClient(endpoint=hub.endpoint, token=False, sleep=RecordedSleep(), retries=2, seed=1, sharded_metadata=False)
    with Store(tmp_path / "a.sqlite") as store:
        hub.set_faults(fail_rate_5xx=1.0, kinds={"resolve"})
        Audit(Inspector(insp.rules, client=client), store).run(listed(hub))
        assert [r["status"] for r in store.records()] == ["network_error"]
        # bounded: config, index and the two probed shards are read at once, each retried at most
        # `retries` (2) times
        assert len(client.sleep.calls) <= 2 * 4
        hub.clear_faults()
        Audit(Inspector(insp.rules, client=client), store).run(listed(hub))
        assert [r["status"] for r in store.records(latest=False)] == ["ok"]


def test_a_repo_that_vanishes_after_the_listing_is_recorded_not_found(hub, audit_of):
    hub.add_folder("org/stays", QWEN)
    hub.add_folder("org/goes", QWEN)
    audit = audit_of()
    todo = audit.plan(listed(hub))
    hub.remove_repo("org/goes")
    audit.execute(todo)
    got = rows(audit.store)
    assert got["org/stays"]["status"] == "ok"
    assert got["org/goes"]["status"] == "not_found" and "vanished" in got["org/goes"]["error"]


def test_a_sha_rewritten_after_the_listing_ends_with_the_new_sha(hub, audit_of):
    hub.add_folder("org/moves", QWEN)
    audit = audit_of()
    todo = audit.plan(listed(hub))
    old = hub.sha("org/moves")
    new = hub.set_sha("org/moves")
    del hub._repos["org/moves"].commits[old]  # a force-push: the listed commit no longer resolves
    audit.execute(todo)
    [r] = list(audit.store.records(latest=False))
    assert (r["status"], r["sha"]) == ("ok", new)


def test_a_sha_moved_but_still_resolvable_is_read_at_the_listed_sha(hub, audit_of):
    hub.add_folder("org/moves", QWEN)
    audit = audit_of()
    todo = audit.plan(listed(hub))
    old = hub.sha("org/moves")
    hub.set_sha("org/moves")
    audit.execute(todo)
    [r] = list(audit.store.records(latest=False))
    assert (r["status"], r["sha"]) == ("ok", old)  # consistent: every file read at the listed commit


def test_resume_in_process_skips_what_this_run_finished(hub, audit_of):
    for i in range(5):
        hub.add_folder(f"org/m{i}", QWEN)
    audit = audit_of()
    todo = audit.plan(listed(hub))
    audit.execute(todo[:2])  # as if killed after two repos
    hub.reset_stats()
    stats = audit_of().run(None, resume=True)
    assert (stats.skipped, stats.done) == (2, 3)
    assert set(hub.stats.by_repo) == {"org/m2", "org/m3", "org/m4"} and hub.stats.by_kind["list"] == 0
    assert sorted(r["repo"] for r in audit.store.records(latest=False)) == [f"org/m{i}" for i in range(5)]


def test_resume_without_a_recorded_run_is_a_usage_error(audit_of):
    from inspector.errors import UsageError

    with pytest.raises(UsageError, match="nothing to resume"):
        audit_of().run(None, resume=True)


def test_shards_partition_the_list_stably():
    ids = [f"org{i % 7}/model-{i}" for i in range(500)]
    parts = [{r for r in ids if in_shard(r, k, 4)} for k in range(1, 5)]
    assert set().union(*parts) == set(ids) and sum(map(len, parts)) == len(ids)
    assert all(80 < len(p) < 170 for p in parts)
    assert in_shard("Qwen/Qwen2-7B", 2, 4)  # pinned: the hash must never change between versions
    assert parse_shard("2/8") == (2, 8)
    from inspector.errors import UsageError

    for bad in ("0/4", "5/4", "4", "a/b"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_list_files_in_every_format(tmp_path):
    sha = "a" * 40
    (tmp_path / "l.csv").write_text(f"model_id,sha,downloads\norg/a,{sha},3\norg/b,,4\n")
    (tmp_path / "l.jsonl").write_text(json.dumps({"id": "org/a", "sha": sha}) + "\n\n" + json.dumps({"repo": "org/b@dev"}) + "\n")
    (tmp_path / "l.txt").write_text(f"org/a@{sha}\norg/b@dev\n")
    for name in ("l.csv", "l.jsonl", "l.txt"):
        items = read_list(tmp_path / name)
        assert [(i.repo, i.sha) for i in items] == [("org/a", sha), ("org/b", "")], name
    assert read_list(tmp_path / "l.txt")[1].revision == "dev"


def test_summary_counts_statuses_kinds_lineages(hub, audit_of):
    hub.add_folder("org/a", QWEN)
    hub.add_folder("org/b", SHARDED)
    audit = audit_of()
    stats = audit.run(listed(hub) + [Item("org/missing")])
    s = summarize(audit.store)
    assert s.by_status == {"ok": 2, "not_found": 1} and s.by_lineage == {"qwen": 1, "llama": 1}
    text = render_summary(s, stats)
    assert "3 repos" in text and len(text.splitlines()) <= 24
