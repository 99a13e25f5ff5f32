"""Fuzz an index JSON: parse_index, the shard choice and the header-size guess built on it."""

from __future__ import annotations

import posixpath

from _common import run

from inspector.formats.plan import evidence_shards, parse_index
from inspector.formats.safetensors_header import estimate_header_length


def test_one_input(data: bytes) -> None:
    wm, total = parse_index(data, "fuzz/model.safetensors.index.json")
    assert total is None or 0 <= total < 2**60
    for shard in set(wm.values()):
        # Nothing an index names may leave the repo folder.
        assert not shard.startswith("/") and ".." not in shard.split("/"), shard
        assert posixpath.normpath(shard) == shard
    shards = evidence_shards(wm)
    assert set(shards) <= set(wm.values())
    by_shard: dict[str, list[str]] = {}
    for name, shard in wm.items():
        by_shard.setdefault(shard, []).append(name)
    for s in shards:
        assert estimate_header_length(by_shard[s], total) > 0


if __name__ == "__main__":
    run(test_one_input)
