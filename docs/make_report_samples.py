"""Inspect every shipped sample, store the results as `inspector audit` would, report, screenshot.

    python docs/make_report_samples.py            # -> docs/report-samples.png
    python docs/make_report_samples.py --keep     # also docs/report-samples.sqlite and .html

The rows follow the audit store's contract (table `results`, full verdict JSON in `verdict`), so the
screenshot shows exactly what `inspector report` makes of a real audit. Needs chromium for the PNG.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from inspector.api import Inspector
from inspector.report import render, report

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCHEMA = """
CREATE TABLE IF NOT EXISTS results(repo TEXT NOT NULL, sha TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, error TEXT,
  kind TEXT, layout TEXT, lineage TEXT, base TEXT, confidence REAL, mismatch INTEGER, declared_lineage TEXT,
  declared_kind TEXT, author TEXT, verdict TEXT NOT NULL, requests INTEGER, bytes INTEGER, finished_at TEXT,
  PRIMARY KEY(repo, sha));
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
"""


def build_db(db: Path) -> int:
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    insp = Inspector()
    samples = sorted(p for p in (ROOT / "samples").iterdir() if p.is_dir())
    for p in samples:
        v = insp.inspect(str(p.relative_to(ROOT))).to_dict()
        d = v.get("declared") or {}
        io = v.get("io") or {}
        con.execute("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            v["target"], v["revision"] or "", v["status"], v["error"], v["kind"], v["layout"], v["lineage"], v["base"],
            v["confidence"], int(v["mismatch"]), d.get("lineage"), d.get("kind"),
            p.name.split("__", 1)[0],  # sample folders are named org__name
            json.dumps(v, ensure_ascii=False), io.get("requests"), io.get("bytes"),
            datetime.now(timezone.utc).isoformat(timespec="seconds")))
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)", [("source", "samples/"), ("targets", str(len(samples)))])
    con.commit()
    con.close()
    return len(samples)


def main() -> int:
    keep = "--keep" in sys.argv[1:]
    # The database and page are by-products: kept only when asked, so docs/ holds just the picture.
    work = DOCS if keep else Path(tempfile.mkdtemp(prefix="inspector-report-"))
    try:
        return make(work)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def make(work: Path) -> int:
    db, page, png = work / "report-samples.sqlite", work / "report-samples.html", DOCS / "report-samples.png"
    n = build_db(db)
    page.write_text(render(report(db, by="author"), "html"), encoding="utf-8")
    print(f"{n} samples -> {db} -> {page}")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no chromium: the screenshot was not made (apt-get install -y chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1400,2600",
                        f"--screenshot={png}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"screenshot -> {png.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
