"""A non-editable install, run from another folder, still finds its rules and samples work."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, SAMPLES


def test_non_editable_install_finds_its_rules_from_another_folder(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(REPO)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    assert list((target / "inspector" / "_rules").glob("*.yaml"))
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", "import inspector.cli; inspector.cli.main()", "inspect", str(SAMPLES / "Qwen__Qwen-7B"), "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    row = json.loads(out.stdout)
    assert row["lineage"] == "qwen", out.stderr
    assert "_rules" in row["evidence"][0]["where"] or row["evidence"][0]["where"].startswith("rules/")
