"""Audit a population on the loopback fake Hub and report it: the study, end to end, offline.

    .venv/bin/python tools/study_demo.py [--out DIR]

Starts tests/fakehub.py on 127.0.0.1 with tests/studyhub.py's population (real configs, SYNTHETIC
dates and downloads), then runs, as a user would:

    inspector audit --population DIR/population.yaml --derivatives --db DIR/study.sqlite
    inspector report DIR/study.sqlite -o DIR/study.html

and stops the fake Hub. Open DIR/study.html (rows beside it as study.rows.csv / .json).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "study-demo", help="Folder for the database and the report.")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from fakehub import FakeHub, use_endpoint
    from studyhub import POPULATION_YAML, populate

    from inspector.cli import main as inspector

    pop = args.out / "population.yaml"
    pop.write_text(POPULATION_YAML)
    db, html = args.out / "study.sqlite", args.out / "study.html"
    for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        p.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as hf, FakeHub() as hub, use_endpoint(hub.endpoint, hf_home=Path(hf)):
        populate(hub)
        print(f"fake Hub on {hub.endpoint}", file=sys.stderr)
        for argv in (["audit", "--population", str(pop), "--derivatives", "--db", str(db)],
                     ["report", str(db), "-o", str(html)]):
            print("$ inspector " + " ".join(argv), file=sys.stderr)
            try:
                inspector(argv, standalone_mode=False)
            except SystemExit as e:
                if e.code:
                    return int(e.code)
    print(f"open {html}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
