"""Single-repo reads: inspector vs huggingface_hub's own path, on the loopback fake Hub, one run.

    python bench/bench_inspect.py [--latency 0.05]

Repos (header-only files; the fake Hub serves zeros past each header):
- single:   Llama-2-7B's real tensors merged into one model.safetensors (constructed from the sample)
- 15-shard: samples/meta-llama__Llama-2-70b-chat-hf as shipped
- 30-shard: the same real tensors re-split into 30 shards (constructed)
- 59-shard: samples/microsoft__WizardLM-2-8x22B as shipped
Baseline: hf_hub_download("config.json") + HfApi.get_sharded_safetensors_metadata (get_safetensors_metadata
for a single file), huggingface_hub's best path, as a careful user would.
"needed" = config + index + the safetensors headers the method reads (8-byte prefix + header).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fakehub import FakeHub, VirtualFile, from_folder, safetensors_file, use_endpoint  # noqa: E402

SAMPLES = REPO / "samples"


def header_tensors(vf: VirtualFile) -> dict:
    n = struct.unpack("<Q", vf.prefix[:8])[0]
    doc = json.loads(vf.prefix[8:8 + n])
    doc.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"]) for k, v in doc.items()}


def merged(folder: Path) -> dict:
    files = from_folder(folder)
    tensors = {}
    for name in sorted(files):
        if name.endswith(".safetensors"):
            tensors.update(header_tensors(files[name]))
    return {"config.json": files["config.json"], "model.safetensors": safetensors_file(tensors, {"format": "pt"})}


def resharded(folder: Path, n: int) -> dict:
    files = from_folder(folder)
    tensors = {}
    for name in sorted(files):
        if name.endswith(".safetensors"):
            tensors.update(header_tensors(files[name]))
    names = list(tensors)
    per = -(-len(names) // n)
    out = {"config.json": files["config.json"]}
    wm = {}
    total = 0
    for i in range(n):
        shard = f"model-{i + 1:05d}-of-{n:05d}.safetensors"
        part = {k: tensors[k] for k in names[i * per:(i + 1) * per]}
        vf = safetensors_file(part, {"format": "pt"})
        out[shard] = vf
        total += vf.size - len(vf.prefix)
        wm.update(dict.fromkeys(part, shard))
    out["model.safetensors.index.json"] = {"metadata": {"total_size": total}, "weight_map": wm}
    return out


def size_of(content) -> int:
    if isinstance(content, VirtualFile):
        return 8 + struct.unpack("<Q", content.prefix[:8])[0]
    if isinstance(content, bytes):
        return len(content)
    return len(json.dumps(content).encode())


def needed(files: dict, shards_read: set[str]) -> int:
    return sum(size_of(c) for f, c in files.items() if f.endswith(".json") or f in shards_read)


def run_ours(hub, repo: str, rules):
    from inspector.api import Inspector
    from inspector.transport.http import HubClient

    hub.reset_stats()
    t = time.perf_counter()
    v = Inspector(rules, client=HubClient(endpoint=hub.endpoint, token=False)).inspect(repo)
    dt = time.perf_counter() - t
    assert v.status == "ok", v.error
    read = {f for (r, f), off in hub.stats.max_offset.items() if r == repo and f.endswith(".safetensors") and off}
    return hub.stats.total, hub.stats.bytes_sent, read, dt, v


def run_hf(hub, repo: str, cache: Path):
    from huggingface_hub import HfApi, hf_hub_download

    hub.reset_stats()
    t = time.perf_counter()
    from huggingface_hub.errors import EntryNotFoundError

    hf_hub_download(repo, "config.json", cache_dir=cache)
    api = HfApi(endpoint=hub.endpoint, token=False)
    try:  # the best path: one API call for every shard's header (main only, Hub only)
        api.get_sharded_safetensors_metadata(repo)
    except EntryNotFoundError:  # no index: a single file
        api.get_safetensors_metadata(repo)
    dt = time.perf_counter() - t
    read = {f for (r, f), off in hub.stats.max_offset.items() if r == repo and f.endswith(".safetensors") and off}
    return hub.stats.total, hub.stats.bytes_sent, read, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    from inspector.ruleset import load_ruleset

    rules = load_ruleset()
    repos = {
        "single (Llama-2-7B merged)": merged(SAMPLES / "TheBloke__Llama-2-7B-fp16"),
        "15-shard (Llama-2-70b-chat)": from_folder(SAMPLES / "meta-llama__Llama-2-70b-chat-hf"),
        "30-shard (Llama-2-70b re-split)": resharded(SAMPLES / "meta-llama__Llama-2-70b-chat-hf", 30),
        "59-shard (WizardLM-2-8x22B)": from_folder(SAMPLES / "microsoft__WizardLM-2-8x22B"),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeHub() as hub, use_endpoint(hub.endpoint, hf_home=tmp):
        hub.set_faults(latency=args.latency)
        for i, (label, files) in enumerate(repos.items()):
            repo = f"bench-org/r{i}"  # not "bench": ./bench is a folder here, read as a local path
            hub.add_repo(repo, files)
            o_req, o_bytes, o_read, o_dt, v = run_ours(hub, repo, rules)
            h_req, h_bytes, h_read, h_dt = run_hf(hub, repo, Path(tmp) / f"c{i}")
            rows.append((label, o_req, o_bytes, needed(files, o_read), o_dt, h_req, h_bytes, needed(files, h_read), h_dt, v.lineage))
    print(f"fake Hub on loopback, {args.latency * 1000:.0f} ms injected latency per request; bytes = response bodies served\n")
    print("| repo | inspector requests | inspector bytes (x needed) | inspector s | huggingface_hub requests | huggingface_hub bytes (x needed) | huggingface_hub s | requests ratio | bytes ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, oq, ob, on, ot, hq, hb, hn, ht, _lin in rows:
        print(f"| {label} | {oq} | {ob:,} ({ob / on:.2f}x) | {ot:.2f} | {hq} | {hb:,} ({hb / hn:.2f}x) | {ht:.2f} | {oq / hq:.2f} | {ob / hb:.3f} |")


if __name__ == "__main__":
    main()
