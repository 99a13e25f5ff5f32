"""How long `inspector rules test` takes over every shipped rule and fixture (CPU and wall time).

    python bench/bench_rules.py [--repeat 5]

The issue's bar is under a second; this is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    walls, cpus = [], []
    code = "import time; t=time.process_time(); from inspector.authoring import run_rule_tests; r=run_rule_tests([]); print(time.process_time()-t, r.ok)"
    for _ in range(args.repeat):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        walls.append(time.perf_counter() - t)
        cpus.append(float(out[0]))
    print(f"rules test, whole process: wall median {statistics.median(walls):.2f}s; in-process CPU median {statistics.median(cpus):.2f}s ({args.repeat} runs)")


if __name__ == "__main__":
    main()
