"""Fuzz a Hub listing page: what `list_models` yields from it, and what an audit keeps of each item.

The input is the JSON body of one `/api/models` page. huggingface_hub's own `HfApi.list_models`
turns its items into ModelInfo (its pagination is replaced by the fuzzed page, nothing else), then
`inspector.listing.list_hub` makes audit items, `info_to_json`/`info_from_json` store and restore
them for `--resume`, and `snapshot_from_info` starts an inspection from one. Malformed items (a
string or null in place of a model, a string as `siblings`, odd types anywhere) must end in an
InspectorError (one line), never another exception.
"""

from __future__ import annotations

import json

import huggingface_hub.hf_api as hf_api
from _common import run
from huggingface_hub import HfApi

from inspector.listing import info_from_json, info_to_json, list_hub
from inspector.sources.hub import snapshot_from_info

_page: list = []


def _paginate(path, params=None, headers=None):
    yield from _page


hf_api.paginate = _paginate
_api = HfApi(endpoint="http://127.0.0.1:9", token=False)


def test_one_input(data: bytes) -> None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return  # huggingface_hub's JSON decoding, not ours
    _page[:] = doc if isinstance(doc, list) else [doc]
    for item in list_hub(api=_api):
        text = info_to_json(item.info)
        if text is not None:
            json.loads(text)
            info = info_from_json(text)
            snap = snapshot_from_info(item.repo, item.repo, info)
            assert all(isinstance(f, str) for f in snap.files)


if __name__ == "__main__":
    run(test_one_input)
