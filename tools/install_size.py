"""How much a default install of this checkout weighs: a fresh venv, `pip install .`, its size minus
a bare venv's (pip and setuptools come with both), and the packages it brought.

    python tools/install_size.py            # exit 1 above --limit (100 MB)
    python tools/install_size.py --extras parquet
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def packages(venv: Path) -> set[str]:
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                         capture_output=True, text=True, check=True).stdout
    return {line.split("==")[0].lower() for line in out.splitlines() if "==" in line}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extras", default="", help="Extras to install too (comma-separated).")
    ap.add_argument("--limit", type=float, default=100.0, help="MB; exit 1 above it.")
    args = ap.parse_args(argv)
    target = f"{REPO}[{args.extras}]" if args.extras else str(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        bare, full = Path(tmp, "bare"), Path(tmp, "full")
        for venv in (bare, full):
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(full / "bin" / "python"), "-m", "pip", "install", "--quiet", target], check=True,
                       cwd=tmp, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        mb = (size(full) - size(bare)) / 1e6
        added = sorted(packages(full) - packages(bare))
    print(f"pip install {'.[' + args.extras + ']' if args.extras else '.'}: {mb:.1f} MB, {len(added)} packages: "
          f"{', '.join(added)}")
    return 0 if mb <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
