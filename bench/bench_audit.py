"""Benchmark of `inspector audit` against the loopback fake Hub (not a test; see bench/README.md).

    /tmp/venv/bin/python bench/bench_audit.py [--repos 1000] [--latency 0.05] [--workers 16]

Repos are renamed copies of the samples/ folders that have safetensors headers (2 to 59 shards, real
header sizes), plus single-file variants (the shards of the small ones merged into one
model.safetensors). Phases, all against one in-process FakeHub with injected latency:

  audit     inspector's runner, --workers N, repos from a Hub listing (listing calls included)
  baseline  huggingface_hub as a careful user: hf_hub_download(config.json) + get_safetensors_metadata,
            a thread pool of N
  ratelimit the free budget scaled down (1000 api + 5000 resolvers per 300 s -> per --rl-window s):
            must end with zero 429
  faults    5% 5xx, 2% dropped connections, 429s with Retry-After: every repo accounted for
  kill      `inspector audit` in a subprocess killed with SIGKILL halfway, then --resume: one row per repo
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
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
RULES: list = []


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
        def judge(self, snap, only=None):
            io = {"requests": snap.io.requests, "bytes": snap.io.bytes, "retries": snap.io.retries}
            return Verdict(target=snap.target, revision=snap.revision, io=io), None, None

    return ReadsOnly(rules, client=client)


def run_audit(hub: FakeHub, org: str, workers: int, db: Path, *, retries: int = 5, reads_only: bool = False):
    from huggingface_hub import HfApi

    from inspector.api import Inspector
    from inspector.audit import Audit
    from inspector.listing import list_hub
    from inspector.sources.http import HubClient
    from inspector.store import Store

    if not RULES:
        from inspector.ruleset import load_ruleset

        RULES.append(load_ruleset())
    client = HubClient(endpoint=hub.endpoint, token=False, retries=retries)
    # Rules are loaded once, before the clock starts: a start-up cost, not a per-repo one.
    insp = reads_only_inspector(RULES[0], client) if reads_only else Inspector(RULES[0], client=client)
    t0 = time.monotonic()
    items = list(list_hub(authors=[org], api=HfApi(endpoint=hub.endpoint, token=False)))
    with Store(db) as store:
        stats = Audit(insp, store, workers=workers).run(items)
        statuses = Counter(r["status"] for r in store.rows())
        rows = store.count()
    return time.monotonic() - t0, stats, statuses, rows, client


def run_baseline(hub: FakeHub, repos: list[str], workers: int) -> tuple[float, Counter]:
    from huggingface_hub import get_safetensors_metadata, hf_hub_download

    outcomes: Counter = Counter()

    def one(repo: str) -> str:
        try:
            json.loads(Path(hf_hub_download(repo, "config.json")).read_text())
            get_safetensors_metadata(repo)
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
from huggingface_hub import get_safetensors_metadata, hf_hub_download
repos = Path(sys.argv[1]).read_text().split()
def one(repo):
    try:
        json.loads(Path(hf_hub_download(repo, "config.json")).read_text())
        get_safetensors_metadata(repo)
        return "ok"
    except Exception as e:
        return type(e).__name__
with ThreadPoolExecutor(int(sys.argv[2])) as pool:
    out = list(pool.map(one, repos))
print(json.dumps({k: out.count(k) for k in set(out)}))
"""


def run_separately(hub: FakeHub, tmp: Path, org: str, repos: list[str], workers: int) -> dict[str, float]:
    """Each client in its own process, as in real use: the fake Hub's threads are not in its GIL."""
    env = {**os.environ, **hub.env(tmp / "hf-sub"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    times = {}
    # The command as an auditor types it (--processes auto: one per core here), then pinned to one process.
    for label, extra in (("inspector audit", []), ("--processes 1", ["--processes", "1"])):
        db = tmp / f"sub-audit-{len(times)}.sqlite"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "inspector", "audit", "--author", org, "--workers", str(workers),
                        *extra, "--db", str(db), "-q"], env=env, check=True, capture_output=True)
        times[label] = time.monotonic() - t0
    lst = tmp / "repos.txt"
    lst.write_text("\n".join(repos))
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", BASELINE_SCRIPT, str(lst), str(workers)], env=env, check=True, capture_output=True)
    times["baseline"] = time.monotonic() - t0
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
    ap.add_argument("--skip", action="append", default=[], choices=["baseline", "ratelimit", "faults", "kill"])
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    tpls = templates()
    hub = FakeHub()
    print(f"templates: {len(tpls)} ({sum(1 for t in tpls if t[2] == 1)} single-file, shards up to "
          f"{max(t[2] for t in tpls)}); building {args.repos} repos ...", flush=True)
    shards = populate(hub, "bench", args.repos, tpls)
    with use_endpoint(hub.endpoint, hf_home=tmp / "hf"):
        hub.set_faults(latency=args.latency)

        # ---- audit vs baseline, same repos, same hub
        hub.reset_stats()
        t, stats, statuses, rows, client = run_audit(hub, "bench", args.workers, tmp / "audit.sqlite")
        ours_req, ours_bytes = per_repo(hub)
        ours_total = hub.stats.total
        print(f"audit: {t:.1f}s {dict(statuses)} rows={rows} 429={hub.stats.served_429}", flush=True)
        res = {"audit": (t, ours_total, hub.stats.bytes_sent, ours_req, ours_bytes)}
        kinds = {"audit": Counter(hub.stats.by_kind)}
        hub.reset_stats()
        t, *_ = run_audit(hub, "bench", args.workers, tmp / "reads.sqlite", reads_only=True)
        print(f"audit, reads only (no rule evaluation): {t:.1f}s", flush=True)
        res["reads-only"] = (t, hub.stats.total, hub.stats.bytes_sent, None, None)
        if "baseline" not in args.skip:
            hub.reset_stats()
            tb, outcomes = run_baseline(hub, list(shards), args.workers)
            b_req, b_bytes = per_repo(hub)
            print(f"baseline: {tb:.1f}s {dict(outcomes)}", flush=True)
            res["baseline"] = (tb, hub.stats.total, hub.stats.bytes_sent, b_req, b_bytes)
            kinds["baseline"] = Counter(hub.stats.by_kind)

        n = len(shards)
        print(f"\n{'run':<10}{'repos/s':>9}{'req/repo':>10}{'KB/repo':>10}{'total s':>9}")
        for name, (tt, tot, by, _r, _b) in res.items():
            print(f"{name:<10}{n / tt:>9.1f}{tot / n:>10.1f}{by / n / 1024:>10.1f}{tt:>9.1f}")
        if "baseline" in res:
            print(f"speed-up {res['baseline'][0] / res['audit'][0]:.2f}x (reads only: "
                  f"{res['baseline'][0] / res['reads-only'][0]:.2f}x)\n")
            print(f"{'shards':<8}{'repos':>6}{'audit req':>10}{'base req':>10}{'ratio':>7}{'audit KB':>10}{'base KB':>10}{'ratio':>7}")
            groups = defaultdict(list)
            for repo, k in shards.items():
                groups[bucket(k)].append(repo)
            groups["all sharded"] = [r for r, k in shards.items() if k > 1]
            for g in ("single", "2-5", "6-15", "30+", "all sharded"):
                rs = groups.get(g)
                if not rs:
                    continue
                a_r = sum(ours_req[r] for r in rs) / len(rs)
                b_r = sum(res["baseline"][3][r] for r in rs) / len(rs)
                a_b = sum(ours_bytes[r] for r in rs) / len(rs) / 1024
                b_b = sum(res["baseline"][4][r] for r in rs) / len(rs) / 1024
                print(f"{g:<8}{len(rs):>6}{a_r:>10.1f}{b_r:>10.1f}{a_r / b_r:>7.2f}{a_b:>10.1f}{b_b:>10.1f}{a_b / b_b:>7.3f}")

        # ---- what a free account's quota lets through: the Hub counts resolves and API calls, not CDN reads
        print(f"\n{'run':<10}{'resolves/repo':>14}{'api/repo':>10}{'repos per free 5-min quota':>28}")
        for name, k in kinds.items():
            r, a = k["resolve"] / n, (k["api"] + k["list"] + k["meta"]) / n
            per_window = min(FREE_RESOLVERS / r if r else float("inf"), FREE_API / a if a else float("inf"))
            print(f"{name:<10}{r:>14.2f}{a:>10.2f}{per_window:>28.0f}")

        # ---- the same comparison with each client in its own process (the figures that count)
        if "baseline" not in args.skip:
            times = run_separately(hub, tmp, "bench", list(shards), args.workers)
            print("\neach client in its own process (as in real use), same --workers:")
            for name, tt in times.items():
                print(f"  {name:<20}{n / tt:>7.1f} repos/s" + ("" if name == "baseline" else f"  speed-up {times['baseline'] / tt:.2f}x"),
                      flush=True)

        # ---- the free budget, scaled down: no 429
        if "ratelimit" not in args.skip:
            populate(hub, "rl", args.rl_repos, tpls)
            scale = args.rl_window / FREE_WINDOW
            api, resolvers = max(2, round(FREE_API * scale)), max(2, round(FREE_RESOLVERS * scale))
            hub.reset_stats()
            hub.set_rate_limit(api=api, resolvers=resolvers, window=args.rl_window)
            t, stats, statuses, rows, client = run_audit(hub, "rl", args.workers, tmp / "rl.sqlite")
            hub.disable_rate_limit()
            res_n = hub.stats.by_kind["resolve"]
            print(f"\nratelimit: quota api={api} resolvers={resolvers} per {args.rl_window:g}s; {rows} repos in {t:.1f}s "
                  f"{dict(statuses)}; resolver calls {res_n} ({res_n / t:.1f}/s, quota {resolvers / args.rl_window:.1f}/s); "
                  f"429 served: {hub.stats.served_429}; client waited {client.pacer.waited:.1f}s")

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
