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
    # Every package of the source tree is in the install (setup.cfg lists them by hand).
    for init in (REPO / "inspector").rglob("__init__.py"):
        assert (target / init.relative_to(REPO)).is_file(), f"{init.parent.relative_to(REPO)} is not installed: add it to setup.cfg"
    assert (target / "inspector" / "data" / "registry.json").is_file()  # the declared-kind table, as data
    # A name of our own on the package index (`inspector` there is an unrelated project), and a lean
    # runtime: transformers and safetensors are for the tools and tests only.
    (meta,) = target.glob("hf_repo_inspector-*.dist-info/METADATA")
    requires = [line.split(":", 1)[1].strip() for line in meta.read_text().splitlines() if line.startswith("Requires-Dist:")]
    runtime = {r.split(">")[0].split("<")[0].split("=")[0].strip().lower() for r in requires if "extra ==" not in r}
    assert runtime == {"huggingface_hub", "click", "tqdm", "pyyaml", "google-re2"}
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", "import inspector.cli; inspector.cli.main()", "inspect", str(SAMPLES / "Qwen__Qwen-7B"), "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    row = json.loads(out.stdout)
    assert row["lineage"] == "qwen", out.stderr
    assert "_rules" in row["evidence"][0]["where"] or row["evidence"][0]["where"].startswith("rules/")
