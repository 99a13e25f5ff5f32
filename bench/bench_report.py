"""Benchmark of `inspector report` on a large generated audit database (not a test; see bench/README.md).

    .venv/bin/python bench/bench_report.py [--rows 50000 200000] [--formats html md csv json] [--dir DIR]

The rows are real verdicts (the inspections of samples/), copied under generated repo ids with their
lineage, declared tags, confidence and status varied (8% failures, ~20% relabelled, ~10% unknown),
written through the store as an audit writes them. Each report runs in a fresh subprocess, measured
from a wrapper process: wall time, and peak resident memory (`resource.getrusage(RUSAGE_CHILDREN)`).
Target (issue 14): HTML of 200,000 rows in under 10 s and 500 MB, memory not growing with rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import SAMPLES  # noqa: E402

from inspector.api import Inspector  # noqa: E402
from inspector.store import COLUMNS, Row, Store  # noqa: E402

LINEAGES = ["llama", "qwen", "mistral", "yi", "deepseek", "gemma", "phi", "chatglm", "baichuan", "falcon"]
FAILED = ["not_found", "gated", "network_error", "invalid"]

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t
if r.returncode:
    sys.exit(r.stderr)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, u.ru_utime + u.ru_stime, u.ru_maxrss)
"""


def templates() -> list[dict]:
    insp = Inspector()
    out = [insp.inspect(str(p)).to_dict() for p in sorted(SAMPLES.iterdir()) if p.is_dir()]
    return [v for v in out if v["status"] == "ok"] or out


def generate(db: Path, n: int, seed: int = 14) -> None:
    rnd = random.Random(seed)
    tpl = templates()
    with Store(db) as store:
        cols = ", ".join(COLUMNS)
        sql = f"INSERT OR REPLACE INTO results({cols}) VALUES ({', '.join('?' * len(COLUMNS))})"
        batch = []
        for i in range(n):
            v = json.loads(json.dumps(tpl[i % len(tpl)]))
            org = f"org{i % 5000}"
            repo = f"{org}/model-{i:07d}"
            v["target"] = repo
            v["revision"] = f"{i:040x}"
            roll = rnd.random()
            if roll < 0.08:
                v = {"target": repo, "revision": None, "status": rnd.choice(FAILED), "error": f"{repo}: failed",
                     "declared": {}, "evidence": [], "io": {"requests": 2, "bytes": 900}}
            else:
                declared = rnd.choice(LINEAGES)
                detected = declared if roll > 0.3 else ("unknown" if roll < 0.18 else rnd.choice(LINEAGES))
                v["lineage"] = detected
                v["declared"] = {**v.get("declared", {}), "lineage": declared}
                v["confidence"] = round(rnd.random(), 3)
                v["mismatch"] = detected not in ("unknown", declared)
            # The study's listing fields (issue 16): downloads long-tailed, creation months 2023-2026.
            listing = {"downloads": int(rnd.paretovariate(1.2) * 10), "likes": rnd.randrange(100),
                       "createdAt": f"{2023 + i % 4}-{1 + i % 12:02d}-01T00:00:00.000Z"}
            batch.append(Row.from_verdict(repo, f"{i:040x}", v, author=org, listing=listing).values())
            if len(batch) == 5000:
                with store._transaction():
                    store.db.executemany(sql, batch)
                batch = []
        if batch:
            with store._transaction():
                store.db.executemany(sql, batch)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def measure(db: Path, fmt: str, out: Path) -> tuple[float, float, float]:
    cmd = [sys.executable, "-m", "inspector", "report", str(db), "--format", fmt, "-o", str(out)]
    res = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True)
    wall, cpu, rss_kb = res.stdout.split()
    return float(wall), float(cpu), int(rss_kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--formats", nargs="+", default=["html", "md", "csv", "json"])
    ap.add_argument("--dir", type=Path, help="Keep the generated databases here (default: a temporary folder).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.dir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        print("| rows | store MB | verdict bytes/row | format | wall s | CPU s | peak RSS MB | output MB | load |")
        print("|---|---|---|---|---|---|---|---|---|")
        for n in args.rows:
            db = base / f"report-{n}.sqlite"
            if not db.exists():
                t = time.perf_counter()
                generate(db, n)
                print(f"<!-- generated {n} rows in {time.perf_counter() - t:.1f} s -->", file=sys.stderr)
            with Store(db, readonly=True) as s:
                per_row = s.db.execute("SELECT avg(length(verdict)) FROM results").fetchone()[0]
            for fmt in args.formats:
                out = base / f"report-{n}.{fmt}"
                wall, cpu, rss = measure(db, fmt, out)
                # The machine's load (1 min): on shared cores wall time grows with it, CPU time less so.
                load = os.getloadavg()[0]
                print(f"| {n:,} | {db.stat().st_size / 1e6:,.0f} | {per_row:,.0f} | {fmt} | {wall:.2f} | {cpu:.2f} | "
                      f"{rss:,.0f} | {out.stat().st_size / 1e6:,.1f} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
