"""Fuzz an audit database handed to `inspector audit export`: a corrupted or foreign SQLite file.

The input is written as `audit.sqlite` (seeded from a real small audit, then mutated: pages,
the header, rows whose verdict is not JSON) and exported through the CLI, as a user would. It must
end in exit 0, 1 or 2 with at most one error line, never "internal error" (exit 3) or a traceback;
and export only reads: the file's bytes are the same afterwards and no -wal/-shm is left beside it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _common import run
from click.testing import CliRunner

from inspector.cli import main

_dir = Path(tempfile.mkdtemp(prefix="fuzz-store-"))
_runner = CliRunner()


def test_one_input(data: bytes) -> None:
    db = _dir / "audit.sqlite"
    for p in _dir.iterdir():
        p.unlink()
    db.write_bytes(data)
    r = _runner.invoke(main, ["audit", "export", "--db", str(db), "--format", "jsonl", "-o", os.devnull])
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")] if r.stderr else []
    assert r.exit_code in (0, 1, 2), (r.exit_code, r.output[-300:])
    assert len(errors) <= 1 and "Traceback" not in r.output, r.output[-300:]
    assert db.read_bytes() == data, "export modified its source"
    assert sorted(p.name for p in _dir.iterdir()) == ["audit.sqlite"], sorted(p.name for p in _dir.iterdir())


def seed(out: Path) -> None:
    """A real audit of two sample folders, with a row whose verdict is not JSON, as starting inputs."""
    import shutil
    import sqlite3

    repo = Path(__file__).resolve().parent.parent
    work = Path(tempfile.mkdtemp(prefix="fuzz-store-seed-"))
    for name in ("TheBloke__Llama-2-7B-fp16", "THUDM__chatglm-6b"):
        shutil.copytree(repo / "samples" / name, work / "models" / name)
    db = work / "audit.sqlite"
    r = CliRunner().invoke(main, ["audit", "--dir", str(work / "models"), "--db", str(db), "--quiet"])
    assert r.exit_code == 0, r.output
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("VACUUM")
    con.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit").write_bytes(db.read_bytes())
    con = sqlite3.connect(db)
    con.execute("UPDATE results SET verdict = '{not json' WHERE rowid = (SELECT min(rowid) FROM results)")
    con.commit()
    con.close()
    (out / "audit-bad-verdict").write_bytes(db.read_bytes())
    shutil.rmtree(work)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--seed"]:
        seed(Path(sys.argv[2]))
    else:
        run(test_one_input)
