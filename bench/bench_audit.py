"""Benchmark of `inspector audit` against the loopback fake Hub (not a test; see bench/README.md).

    /tmp/venv/bin/python bench/bench_audit.py [--repos 1000] [--latency 0.05] [--workers 16]

Repos are renamed copies of the samples/ folders that have safetensors headers (2 to 59 shards, real
header sizes), plus single-file variants (the shards of the small ones merged into one
model.safetensors). Phases, all against one in-process FakeHub with injected latency:

  audit     inspector's runner, --workers N, repos from a Hub listing (listing calls included); once
            as it runs (the planner: sharded repos through the sharded-metadata call while no quota is
            reported), once with ranged reads only (the other route the planner mixes in under quotas)
  baseline  huggingface_hub's best path as a careful user: hf_hub_download(config.json) +
            HfApi.get_sharded_safetensors_metadata (get_safetensors_metadata when the repo has no
            index), a thread pool of N
  quota     requests per repo by bucket (api, resolvers = /resolve/ + /api/resolve-cache/, cdn) and
            the repos each 5-minute quota lets through: anonymous 500 api + 3000 resolvers, free 1000 +
            5000, PRO 2500 + 12000 (ours: the best mix of its two routes, which the planner reaches by
            spending the bucket with the larger share left)
  ratelimit the free budget scaled down (1000 api + 5000 resolvers per 300 s -> per --rl-window s):
            must end with zero 429, and its pace gives repos per 5 minutes
  faults    5% 5xx, 2% dropped connections, 429s with Retry-After: every repo accounted for
  kill      `inspector audit` in a subprocess killed with SIGKILL halfway, then --resume: one row per repo
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakehub import FakeHub, from_folder, safetensors_file, use_endpoint  # noqa: E402

FREE_API, FREE_RESOLVERS, FREE_WINDOW = 1000, 5000, 300
QUOTAS = {"anonymous": (500, 3000), "free": (1000, 5000), "PRO": (2500, 12000)}
BUCKET = {"api": "api", "stmeta": "api", "list": "api", "meta": "api", "resolve": "resolvers", "cache": "resolvers",
          "cdn": "cdn"}
RULES: list = []
# Not "bench": a Hub id whose namespace is a folder here (./bench) is read as a local path.
ORG = "bench-org"


def templates() -> list[tuple[str, dict, int]]:
    """(name, files, shard count) for every sample with weights, and single-file variants of small ones."""
    out = []
    for d in sorted((ROOT / "samples").iterdir()):
        if not d.is_dir() or not any(d.glob("*.safetensors")):
            continue
        files = from_folder(d)
        shards = [k for k in files if k.endswith(".safetensors")]
        out.append((d.name, files, len(shards)))
        if len(shards) <= 4:
            tensors = {}
            for k in shards:
                vf = files[k]
                n = int.from_bytes(vf.prefix[:8], "little")
                for name, t in json.loads(vf.prefix[8:8 + n]).items():
                    if name != "__metadata__":
                        tensors[name] = (t["dtype"], t["shape"])
            single = {k: v for k, v in files.items() if not k.endswith(".safetensors") and "index" not in k}
            single["model.safetensors"] = safetensors_file(tensors, {"format": "pt"})
            out.append((d.name + "__single", single, 1))
    return out


def populate(hub: FakeHub, org: str, n: int, tpls) -> dict[str, int]:
    """n repos under `org`, cycling through the templates; returns repo -> shard count."""
    shards = {}
    for i in range(n):
        name, files, k = tpls[i % len(tpls)]
        repo = f"{org}/{name[:80]}-{i:04d}"
        hub.add_repo(repo, files)
        shards[repo] = k
    return shards


def per_repo(hub: FakeHub) -> tuple[Counter, Counter]:
    reqs, nbytes = Counter(), Counter()
    for e in hub.stats.log:
        if e.repo_id:
            reqs[e.repo_id] += 1
            nbytes[e.repo_id] += e.bytes
    return reqs, nbytes


def reads_only_inspector(rules, client):
    """The runner and every read, but a trivial judge: isolates I/O from rule evaluation (CPU)."""
    from inspector.api import Inspector
    from inspector.verdict import Verdict

    class ReadsOnly(Inspector):
        def judge(self, snap, only=None, *, full=True):
            io = {"requests": snap.io.requests, "bytes": snap.io.bytes, "retries": snap.io.retries}
            return Verdict(target=snap.target, revision=snap.revision, io=io), None, None

    return ReadsOnly(rules, client=client)


def buckets(hub: FakeHub, n: int) -> dict[str, float]:
    """Requests per repo by the Hub's rate-limit bucket (CDN reads are not counted by the Hub)."""
    out: Counter = Counter()
    for kind, k in hub.stats.by_kind.items():
        out[BUCKET.get(kind, "other")] += k
    return {b: out[b] / n for b in ("api", "resolvers", "cdn")}


def quota_bound(costs: list[dict[str, float]], api_q: int, res_q: int) -> float:
    """Repos a window's quota covers with the best mix of the given routes (two at most)."""
    best = 0.0
    a = costs[0]
    b = costs[-1]
    for i in range(101):
        x = i / 100
        api = x * a["api"] + (1 - x) * b["api"]
        res = x * a["resolvers"] + (1 - x) * b["resolvers"]
        best = max(best, min(api_q / api if api else float("inf"), res_q / res if res else float("inf")))
    return best


def run_audit(hub: FakeHub, org: str, workers: int, db: Path, *, retries: int = 5, reads_only: bool = False,
              sharded_metadata: bool = True):

    from inspector.api import Inspector
    from inspector.audit import Audit
    from inspector.listing import list_hub
    from inspector.store import Store
    from inspector.transport.http import HubClient

    if not RULES:
        from inspector.ruleset import load_ruleset

        RULES.append(load_ruleset())
    client = HubClient(endpoint=hub.endpoint, token=False, retries=retries, sharded_metadata=sharded_metadata)
    # Rules are loaded once, before the clock starts: a start-up cost, not a per-repo one.
    insp = reads_only_inspector(RULES[0], client) if reads_only else Inspector(RULES[0], client=client)
    t0 = time.monotonic()
    items = list(list_hub(authors=[org], client=client))
    with Store(db) as store:
        stats = Audit(insp, store, workers=workers).run(items)
        statuses = Counter(r.status for r in store.rows(with_verdict=False))
        rows = store.count()
    return time.monotonic() - t0, stats, statuses, rows, client


def run_baseline(hub: FakeHub, repos: list[str], workers: int) -> tuple[float, Counter]:
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    outcomes: Counter = Counter()
    api = HfApi(endpoint=hub.endpoint, token=False)

    def one(repo: str) -> str:
        try:
            json.loads(Path(hf_hub_download(repo, "config.json")).read_text())
            try:
                api.get_sharded_safetensors_metadata(repo)
            except EntryNotFoundError:  # no index: a single file
                api.get_safetensors_metadata(repo)
            return "ok"
        except Exception as e:  # a careful user records the failure and goes on
            return type(e).__name__

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        for r in pool.map(one, repos):
            outcomes[r] += 1
    return time.monotonic() - t0, outcomes


BASELINE_SCRIPT = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
repos = Path(sys.argv[1]).read_text().split()
api = HfApi()
def one(repo):
    try:
        json.loads(Path(hf_hub_download(repo, "config.json")).read_text())
        try:
            api.get_sharded_safetensors_metadata(repo)
        except EntryNotFoundError:
            api.get_safetensors_metadata(repo)
        return "ok"
    except Exception as e:
        return type(e).__name__
with ThreadPoolExecutor(int(sys.argv[2])) as pool:
    out = list(pool.map(one, repos))
print(json.dumps({k: out.count(k) for k in set(out)}))
"""


def compile_bytecode() -> Path:
    """Bytecode for the inspector package being measured, as `pip install` leaves it (the peer's
    huggingface_hub has its own from pip). Without it, an editable install under PYTHONDONTWRITEBYTECODE
    compiles some 70 modules in every process it starts: 0.1-0.2 s of CPU that no installed copy pays."""
    import compileall

    import inspector

    root = Path(inspector.__file__).parent
    compileall.compile_dir(root, quiet=2)
    return root


def run_separately(hub: FakeHub, tmp: Path, org: str, repos: list[str], workers: int,
                   rounds: int = 3) -> dict[str, list[tuple[float, float]]]:
    """Each client in its own process, as in real use: the fake Hub's threads are not in its GIL.
    The clients take turns, `rounds` times (this machine's noise is about 10%: one run each proves
    little). Returns label -> [(wall seconds, CPU seconds of the client's processes)] per round."""
    import resource

    times: dict[str, list[tuple[float, float]]] = {}
    lst = tmp / "repos.txt"
    lst.write_text("\n".join(repos))

    def timed(cmd: list[str]) -> tuple[float, float]:
        # Every run cold: its own database and its own HF_HOME (hf_hub_download's cache would answer
        # a second round's config.json with one HEAD instead of a download).
        run = tmp / f"sub-{sum(map(len, times.values()))}"
        run.mkdir()
        env = {**os.environ, **hub.env(run / "hf"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([c.replace("{db}", str(run / "audit.sqlite")) for c in cmd], env=env, check=True,
                       capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.monotonic() - t0, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    # The command as an auditor types it (--processes auto: one per core here, each repo read in a child
    # process), then pinned to one child process, then to this one process (--in-process: no isolation).
    for _ in range(rounds):
        for label, extra in (("inspector audit", []), ("--processes 1", ["--processes", "1"]),
                             ("--in-process", ["--processes", "1", "--in-process"])):
            times.setdefault(label, []).append(timed(
                [sys.executable, "-m", "inspector", "audit", "--author", org, "--workers", str(workers), *extra,
                 "--db", "{db}", "-q"]))
        times.setdefault("baseline", []).append(timed([sys.executable, "-c", BASELINE_SCRIPT, str(lst), str(workers)]))
    return times


def bucket(k: int) -> str:
    return "single" if k == 1 else "2-5" if k <= 5 else "6-15" if k <= 15 else "30+"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--rl-repos", type=int, default=150, help="repos for the rate-limited run")
    ap.add_argument("--rl-window", type=float, default=10.0, help="the 300 s window scaled to this")
    ap.add_argument("--fault-repos", type=int, default=300)
    ap.add_argument("--kill-repos", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3, help="turns each client takes in its own process")
    ap.add_argument("--skip", action="append", default=[], choices=["baseline", "processes", "ratelimit", "faults", "kill"])
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    tpls = templates()
    hub = FakeHub()
    print(f"templates: {len(tpls)} ({sum(1 for t in tpls if t[2] == 1)} single-file, shards up to "
          f"{max(t[2] for t in tpls)}); building {args.repos} repos ...", flush=True)
    shards = populate(hub, ORG, args.repos, tpls)
    with use_endpoint(hub.endpoint, hf_home=tmp / "hf"):
        hub.set_faults(latency=args.latency)

        # ---- audit vs baseline, same repos, same hub
        n = len(shards)
        res: dict[str, dict] = {}

        def record(name: str, t: float) -> None:
            reqs, nbytes = per_repo(hub)
            res[name] = {"t": t, "total": hub.stats.total, "bytes": hub.stats.bytes_sent, "reqs": reqs,
                         "nbytes": nbytes, "buckets": buckets(hub, n), "429": hub.stats.served_429}

        hub.reset_stats()
        t, stats, statuses, rows, client = run_audit(hub, ORG, args.workers, tmp / "audit.sqlite")
        print(f"audit: {t:.1f}s {dict(statuses)} rows={rows} 429={hub.stats.served_429}", flush=True)
        record("audit", t)
        hub.reset_stats()
        t, stats, statuses, rows, client = run_audit(hub, ORG, args.workers, tmp / "ranges.sqlite",
                                                     sharded_metadata=False)
        print(f"audit, ranged reads only: {t:.1f}s {dict(statuses)} rows={rows}", flush=True)
        record("ranges", t)
        hub.reset_stats()
        t, *_ = run_audit(hub, ORG, args.workers, tmp / "reads.sqlite", reads_only=True)
        print(f"audit, reads only (no rule evaluation): {t:.1f}s", flush=True)
        record("reads-only", t)
        if "baseline" not in args.skip:
            hub.reset_stats()
            tb, outcomes = run_baseline(hub, list(shards), args.workers)
            print(f"baseline: {tb:.1f}s {dict(outcomes)}", flush=True)
            record("baseline", tb)

        print(f"\n{'run':<11}{'repos/s':>9}{'req/repo':>10}{'api':>7}{'resolvers':>10}{'cdn':>6}{'KB/repo':>9}{'429':>5}")
        for name, r in res.items():
            b = r["buckets"]
            print(f"{name:<11}{n / r['t']:>9.1f}{r['total'] / n:>10.2f}{b['api']:>7.2f}{b['resolvers']:>10.2f}"
                  f"{b['cdn']:>6.2f}{r['bytes'] / n / 1024:>9.1f}{r['429']:>5}")
        if "baseline" in res:
            # Both clients here share this process's interpreter lock with the fake Hub's threads: this
            # table is for requests, bytes and buckets; the speed comparison is the own-process one below.
            print(f"in this process, beside the fake Hub (requests and bytes; speed: see each client in its own "
                  f"process below): {res['baseline']['t'] / res['audit']['t']:.2f}x at {args.workers} in flight, "
                  f"{args.latency * 1000:g} ms (reads only: {res['baseline']['t'] / res['reads-only']['t']:.2f}x)\n")
            print(f"{'shards':<12}{'repos':>6}{'audit req':>10}{'base req':>10}{'ratio':>7}{'audit KB':>10}{'base KB':>10}{'ratio':>7}")
            groups = defaultdict(list)
            for repo, k in shards.items():
                groups[bucket(k)].append(repo)
            groups["all sharded"] = [r for r, k in shards.items() if k > 1]
            for g in ("single", "2-5", "6-15", "30+", "all sharded"):
                rs = groups.get(g)
                if not rs:
                    continue
                a_r = sum(res["audit"]["reqs"][r] for r in rs) / len(rs)
                b_r = sum(res["baseline"]["reqs"][r] for r in rs) / len(rs)
                a_b = sum(res["audit"]["nbytes"][r] for r in rs) / len(rs) / 1024
                b_b = sum(res["baseline"]["nbytes"][r] for r in rs) / len(rs) / 1024
                print(f"{g:<12}{len(rs):>6}{a_r:>10.1f}{b_r:>10.1f}{a_r / b_r:>7.2f}{a_b:>10.1f}{b_b:>10.1f}{a_b / b_b:>7.3f}")

            # ---- what each 5-minute quota lets through: the Hub counts api and resolver calls, not CDN reads
            print(f"\nrepos per 5-minute quota (api + resolvers): {'':<3}" + "".join(
                f"{k} {a}+{r}".rjust(20) for k, (a, r) in QUOTAS.items()))
            ours = [res["audit"]["buckets"], res["ranges"]["buckets"]]
            for name, costs in (("audit (planner's best mix)", ours), ("audit, one call route only", ours[:1]),
                                ("audit, ranged reads only", ours[1:]), ("baseline", [res["baseline"]["buckets"]])):
                print(f"{name:<46}" + "".join(f"{quota_bound(costs, a, r):>20.0f}" for a, r in QUOTAS.values()))
            free = QUOTAS["free"]
            print(f"free quota ratio {quota_bound(ours, *free) / quota_bound([res['baseline']['buckets']], *free):.2f}x")

        # ---- the same comparison with each client in its own process
        if "baseline" not in args.skip and "processes" not in args.skip:
            compiled = compile_bytecode()
            # The fake Hub serves from this process: what the in-process runs above left on its heap
            # must not make its collector pause it during the clients' runs (both clients' requests wait).
            gc.collect()
            gc.freeze()
            times = run_separately(hub, tmp, ORG, list(shards), args.workers, args.rounds)
            print(f"\neach client in its own process (as in real use), same --workers, {args.rounds} rounds taking "
                  f"turns, medians (bytecode of {compiled} compiled first, as pip leaves an install):")
            med = {k: (statistics.median(t for t, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
            for name, (tt, cpu) in med.items():
                each = " ".join(f"{n / t:.1f}" for t, _ in times[name])
                ratios = " ".join(f"{b / t:.2f}x" for (t, _), (b, _) in zip(times[name], times["baseline"], strict=True))
                print(f"  {name:<20}{n / tt:>7.1f} repos/s {cpu / n * 1000:>6.1f} ms CPU/repo" +
                      ("" if name == "baseline" else f"  speed-up {med['baseline'][0] / tt:.2f}x (rounds: {ratios})") +
                      f"  [each: {each}]", flush=True)

        # ---- the free budget, scaled down: no 429, and the pace it allows
        if "ratelimit" not in args.skip:
            populate(hub, "rl", args.rl_repos, tpls)
            scale = args.rl_window / FREE_WINDOW
            api, resolvers = max(2, round(FREE_API * scale)), max(2, round(FREE_RESOLVERS * scale))
            hub.reset_stats()
            hub.set_rate_limit(api=api, resolvers=resolvers, window=args.rl_window)
            t, stats, statuses, rows, client = run_audit(hub, "rl", args.workers, tmp / "rl.sqlite")
            hub.disable_rate_limit()
            b = buckets(hub, rows)
            print(f"\nratelimit: free quota scaled to api={api} resolvers={resolvers} per {args.rl_window:g}s; {rows} repos "
                  f"in {t:.1f}s {dict(statuses)}; per repo api {b['api']:.2f} resolvers {b['resolvers']:.2f}; "
                  f"429 served: {hub.stats.served_429}; client waited {client.pacer.waited:.1f}s; "
                  f"= {rows / t * args.rl_window * FREE_API / api:.0f} repos per 5-minute free quota (the full quota is "
                  f"{FREE_API / api:.1f}x this window's)")

        # ---- faults: every repo accounted for
        if "faults" not in args.skip:
            populate(hub, "fault", args.fault_repos, tpls)
            hub.reset_stats()
            hub.set_faults(latency=args.latency, fail_rate_5xx=0.05, drop_rate=0.02, seed=7)
            hub.fail_next(10, 429, "/resolve/", retry_after=1)
            t, stats, statuses, rows, client = run_audit(hub, "fault", args.workers, tmp / "fault.sqlite")
            hub.clear_faults()
            hub.set_faults(latency=args.latency)
            print(f"\nfaults: {args.fault_repos} repos -> {rows} rows in {t:.1f}s {dict(statuses)}; served 5xx "
                  f"{hub.stats.served_5xx}, 429 {hub.stats.served_429}, drops {hub.stats.drops}; client retries "
                  f"{client.stats.retries}")

        # ---- kill -9 halfway, then --resume
        if "kill" not in args.skip:
            kill_run(hub, tmp, args, tpls)
    hub.stop()


def kill_run(hub: FakeHub, tmp: Path, args, tpls) -> None:
    repos = populate(hub, "kill", args.kill_repos, tpls)
    db = tmp / "kill.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(hub.env(tmp / "hf-kill"))
    base = [sys.executable, "-c", "from inspector.cli import main; main()", "audit", "--db", str(db), "--quiet",
            "--workers", str(args.workers)]
    proc = subprocess.Popen([*base, "--author", "kill"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = 0
    while done < len(repos) // 2 and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            with contextlib.suppress(sqlite3.OperationalError):  # the db may be mid-creation
                done = sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0]
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {r for (r,) in sqlite3.connect(db).execute("SELECT repo FROM results")}
    hub.reset_stats()
    t0 = time.monotonic()
    r = subprocess.run([*base, "--resume"], env=env, capture_output=True, text=True)
    counts = Counter(x for (x,) in sqlite3.connect(db).execute("SELECT repo FROM results"))
    refetched = len(set(hub.stats.by_repo) & before)
    print(f"\nkill: SIGKILL after {len(before)}/{len(repos)} rows (rc {proc.returncode}); --resume rc {r.returncode} "
          f"in {time.monotonic() - t0:.1f}s: {len(counts)} repos, max rows per repo {max(counts.values())}, "
          f"missing {len(set(repos) - set(counts))}, finished repos read again {refetched}")


if __name__ == "__main__":
    main()
