"""Property tests of what the Hub sends back that no parser may choke on: rate-limit headers,
Retry-After, listing entries and Link headers, repo ids. Each either reads or refuses, never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import NetworkError, UsageError
from inspector.listing import Item, listed_item, next_page
from inspector.repoid import RepoRef, is_sha
from inspector.repoinfo import RepoInfo
from inspector.transport.http import MAX_WAIT, parse_ratelimit, parse_retry_after

HEADERISH = st.text(st.characters(codec="latin-1"), max_size=300) | st.from_regex(
    r'"[a-z\-]{1,12}";r=[0-9\u0660-\u0669²³]{0,30};t=[0-9\u0660-\u0669]{0,30}', fullmatch=True)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                    max_leaves=20)
ENTRY = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=40) | st.sampled_from(["org/a", "gpt2", "org/b"]) | JSON,
    "sha": st.sampled_from(["0" * 40, "0" * 40 + "\n", "x"]) | JSON,
    "siblings": st.lists(st.fixed_dictionaries({"rfilename": st.text(max_size=20) | JSON}), max_size=3) | JSON,
    "gated": JSON, "tags": JSON, "cardData": JSON, "safetensors": JSON, "author": JSON, "private": JSON,
})


@settings(max_examples=300, deadline=None)
@given(HEADERISH)
def test_rate_limit_headers_read_or_refused(value):
    got = parse_ratelimit(value)
    assert got is None or (0 <= got[1] < 10**12 and 0 <= got[2] <= MAX_WAIT)
    wait = parse_retry_after(value)
    assert wait is None or 0 <= wait <= MAX_WAIT


@settings(max_examples=300, deadline=None)
@given(ENTRY | JSON)
def test_a_listing_entry_is_an_item_or_skipped(raw):
    item = listed_item(raw)
    assert item is None or (isinstance(item, Item) and (item.sha == "" or is_sha(item.sha)))
    if item is not None and item.info is not None:  # what is kept survives a store and a restore
        assert RepoInfo.from_json(item.info.to_json()) == item.info


@pytest.mark.parametrize("field", [{"cardData": "x"}, {"safetensors": {"parameters": {"BF16": 1}}}, {"tags": [1]},
                                   {"downloads": True}, {"gated": 3}])
def test_a_listed_field_of_the_wrong_type_drops_the_listing_info_not_the_repo(field):
    # Found by fuzz/fuzz_listing.py: a string cardData crashed info_to_json when the audit queued the repo.
    raw = {"id": "org/m", "sha": "0" * 40, "siblings": [{"rfilename": "config.json"}], **field}
    item = listed_item(raw)
    assert item.repo == "org/m" and item.sha == "0" * 40 and item.info is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_a_link_header_is_followed_only_on_the_origin(link):
    try:
        url = next_page(link, "http://127.0.0.1:1/api/models", ("http", "127.0.0.1:1"), "models")
    except NetworkError:
        return
    assert url is None or url.startswith("http://127.0.0.1:1/api/models")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120) | st.from_regex(r"https?://(hf\.co|huggingface\.co)/[\w./%@-]{0,60}", fullmatch=True))
def test_a_target_is_a_repo_ref_or_a_one_line_usage_error(text):
    try:
        ref = RepoRef.parse(text)
    except UsageError as e:
        assert "\n" not in str(e)
        return
    assert ".." not in ref.repo_id and "\n" not in ref.target and ref.repo_id.count("/") <= 1
