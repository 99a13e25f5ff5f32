"""Fuzz a Hub listing page: what the audit keeps of each item, and how it stores and restores it.

The input is the JSON body of one `/api/models` page. Each entry goes through `listing.listed_item`
(what `list_hub` does with every entry of every page it fetches), then `RepoInfo.to_json`/`from_json`
store and restore it for `--resume` (the same info again), and `snapshot_from_info` starts an
inspection from one.
Malformed items (a string or null in place of a model, a string as `siblings`, odd types anywhere)
must be skipped or end in an InspectorError (one line), never another exception. No request is made.
"""

from __future__ import annotations

import json

from _common import run

from inspector.listing import listed_item
from inspector.repoinfo import RepoInfo
from inspector.sources.hub import snapshot_from_info


def test_one_input(data: bytes) -> None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return  # huggingface_hub's JSON decoding, not ours
    for raw in doc if isinstance(doc, list) else [doc]:
        item = listed_item(raw)
        if item is None:
            continue
        if item.info is not None:
            text = item.info.to_json()
            json.loads(text)
            info = RepoInfo.from_json(text)
            assert info == item.info
            snap = snapshot_from_info(item.repo, item.repo, info)
            assert all(isinstance(f, str) for f in snap.files)


if __name__ == "__main__":
    run(test_one_input)
