"""Fuzz config.json plus a safetensors header through the whole judge pipeline (facts, rules, verdict)."""

from __future__ import annotations

import json

import atheris
from _common import run

from inspector.api import Inspector
from inspector.errors import InvalidData
from inspector.ruleset import load_ruleset
from inspector.safetensors_header import parse_header
from inspector.snapshot import Snapshot, TensorInfo
from inspector.sources.plan import parse_config

INSP = Inspector(load_ruleset())


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    cfg_raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, len(data)))
    names_raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    header_raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    snap = Snapshot(target="fuzz/x", source="fixture", repo_id="fuzz/x", files=["config.json", "model.safetensors"])
    try:
        snap.config = parse_config(cfg_raw, "fuzz/config.json")
        snap.config_status = "ok"
    except InvalidData as e:
        snap.config_status, snap.config_error = "invalid", e.one_line()
    try:
        snap.tensors = parse_header(header_raw, "fuzz/model.safetensors", file="model.safetensors")
        snap.weights_format = "safetensors"
        snap.shards_total = snap.shards_read = 1
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()
    # Index-only names (no shape), as a bin index gives them.
    for name in names_raw.decode("utf-8", "replace").split("\n")[:200]:
        if name:
            snap.tensors.setdefault(name, TensorInfo(name, file="pytorch_model.bin"))
    verdict, _facts, _evaluation = INSP.judge(snap)
    d = verdict.to_dict()
    json.dumps(d, allow_nan=False)
    assert 0.0 <= (d.get("confidence") or 0.0) <= 1.0


if __name__ == "__main__":
    run(test_one_input)
