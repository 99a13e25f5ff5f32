"""Fuzz config.json and tensors through the whole judge pipeline (facts, rules, bases, verdict).

The first byte picks the mode: raw config bytes through parse_config plus a raw header through
parse_header, or a structured snapshot (config keys the rules read, the constants they compare
with, real tensor names from samples/) so that rules fire and the deeper code is reached.
"""

from __future__ import annotations

import json
import math

import atheris
from _common import REPO, run

from inspector.api import Inspector
from inspector.errors import InvalidData
from inspector.formats.plan import parse_config
from inspector.formats.safetensors_header import ITEMSIZE_BITS, parse_header
from inspector.readout import Snapshot, TensorInfo
from inspector.ruleset import load_ruleset

RULES = load_ruleset()
INSP = Inspector(RULES)
PATHS = sorted({p for ps in RULES.facts.values() for p in ps} | {p.key for _r, p in RULES.predicates() if p.subject == "config"})
CONSTANTS: list = [a for _r, p in RULES.predicates() for arg in p.ops.values() for a in (arg if isinstance(arg, list) else [arg])]
for b in RULES.bases:
    CONSTANTS.extend(v for v in getattr(b, "fingerprint", {}).values() if isinstance(v, str | int | float | bool))
CONSTANTS = [c for c in CONSTANTS if isinstance(c, str | int | float | bool)] or [0]
NAMES = sorted({n for f in (REPO / "samples").glob("*/*.index.json") for n in json.loads(f.read_text())["weight_map"]})
DTYPES = [*sorted(ITEMSIZE_BITS), None, "X9"]
FILES = ["config.json", "model.safetensors", "tokenization_qwen.py", "qwen.tiktoken", "modeling_chatglm.py",
         "tokenizer.model", "ice_text.model", "pytorch_model.bin", "adapter_config.json"]


def value(fdp: atheris.FuzzedDataProvider, depth: int = 0):
    kind = fdp.ConsumeIntInRange(0, 9 if depth < 3 else 7)
    if kind <= 2:
        return fdp.PickValueInList(CONSTANTS)
    if kind == 3:
        return fdp.ConsumeIntInRange(-(2**70), 2**70) if fdp.ConsumeBool() else fdp.ConsumeInt(4)
    if kind == 4:
        return fdp.ConsumeFloat()  # NaN, inf and subnormals included
    if kind == 5:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 24))
    if kind == 6:
        return fdp.ConsumeBool()
    if kind == 7:
        return None
    if kind == 8:
        return [value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return {fdp.ConsumeUnicodeNoSurrogates(6): value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))}


def put(cfg: dict, path: str, v) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = cfg.setdefault(part, {})
        if not isinstance(nxt, dict):
            return
        cfg = nxt
    cfg[parts[-1]] = v


def structured(fdp: atheris.FuzzedDataProvider, snap: Snapshot) -> None:
    cfg: dict = {}
    for _ in range(fdp.ConsumeIntInRange(0, 30)):
        path = fdp.PickValueInList(PATHS) if fdp.ConsumeIntInRange(0, 5) else fdp.ConsumeUnicodeNoSurrogates(10)
        put(cfg, path or "x", value(fdp))
    if fdp.ConsumeBool():
        # Through the real boundary: whatever loads_strict lets in must judge.
        try:
            snap.config = parse_config(json.dumps(cfg).encode(), "fuzz/config.json")
            snap.config_status = "ok"
        except InvalidData as e:
            snap.config_status, snap.config_error = "invalid", e.one_line()
    else:
        snap.config = cfg
    for _ in range(fdp.ConsumeIntInRange(0, 60)):
        name = fdp.PickValueInList(NAMES) if fdp.ConsumeIntInRange(0, 4) else fdp.ConsumeUnicodeNoSurrogates(30)
        if fdp.ConsumeIntInRange(0, 3) == 0:
            name = name.replace(".0.", f".{fdp.ConsumeIntInRange(0, 100000)}.")
        shape = None if fdp.ConsumeIntInRange(0, 4) == 0 else tuple(
            fdp.ConsumeIntInRange(0, 2**20) for _ in range(fdp.ConsumeIntInRange(0, 4)))
        snap.tensors[name] = TensorInfo(name, dtype=fdp.PickValueInList(DTYPES), shape=shape, file="model.safetensors")
    snap.files = [fdp.PickValueInList(FILES) for _ in range(fdp.ConsumeIntInRange(0, 5))]
    if fdp.ConsumeBool():
        snap.card = {"base_model": value(fdp)}
    if fdp.ConsumeBool():
        snap.total_size = fdp.ConsumeIntInRange(0, 2**50)


def raw(fdp: atheris.FuzzedDataProvider, snap: Snapshot) -> None:
    cfg_raw = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 8192))
    header_raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        snap.config = parse_config(cfg_raw, "fuzz/config.json")
        snap.config_status = "ok"
    except InvalidData as e:
        snap.config_status, snap.config_error = "invalid", e.one_line()
    try:
        snap.tensors = parse_header(header_raw, "fuzz/model.safetensors", file="model.safetensors")
    except InvalidData as e:
        snap.weights_invalid, snap.weights_error = True, e.one_line()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    snap = Snapshot(target="fuzz/x", source="fixture", repo_id="fuzz/x", files=["config.json", "model.safetensors"])
    (raw if fdp.ConsumeIntInRange(0, 3) == 0 else structured)(fdp, snap)
    verdict, _facts, _evaluation = INSP.judge(snap)
    d = verdict.to_dict()
    json.dumps(d, allow_nan=False)
    assert 0.0 <= d["confidence"] <= 1.0 and all(math.isfinite(v) for v in d["confidences"].values())


if __name__ == "__main__":
    run(test_one_input)
