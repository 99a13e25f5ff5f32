"""RepoInfo: what the Hub says of a repo, read from its model_info answer or a listing entry."""

import pytest

from inspector.repoinfo import BadInfo, RepoInfo

SHA = "a" * 40
ANSWER = {  # the shape of a 2026 model_info answer with the audit's expand fields
    "_id": "65f0", "id": "org/m", "author": "org", "sha": SHA, "private": False, "gated": "manual",
    "tags": ["transformers", "qwen2"], "cardData": {"base_model": "Qwen/Qwen2.5-7B", "license": None},
    "siblings": [{"rfilename": "config.json"}, {"rfilename": "model.safetensors"}],
    "safetensors": {"parameters": {"BF16": 7_615_616_512}, "total": 7_615_616_512},
    "downloads": 12, "likes": 3, "createdAt": "2025-01-02T03:04:05.000Z", "lastModified": "2025-02-03T04:05:06.123456789Z",
}


def test_a_model_info_answer_gives_the_fields_the_inspection_reads():
    info = RepoInfo.from_hub(ANSWER)
    assert info.id == "org/m" and info.usable_sha == SHA and info.author == "org"
    assert info.files == ("config.json", "model.safetensors")
    assert info.card == {"base_model": "Qwen/Qwen2.5-7B"}  # None values left out
    assert info.params == {"BF16": 7_615_616_512, "total": 7_615_616_512}
    assert info.gated == "manual" and info.tags == ("transformers", "qwen2")


@pytest.mark.parametrize(("given", "kept"), [
    ("2025-01-02T03:04:05.000Z", "2025-01-02T03:04:05Z"),
    ("2025-02-03T04:05:06.123456789Z", "2025-02-03T04:05:06.123456Z"),  # nanoseconds cut, as huggingface_hub does
    ("2025-01-02T03:04:05Z", "2025-01-02T03:04:05Z"),
    ("2025-01-02T05:04:05+02:00", "2025-01-02T03:04:05Z"),
    ("2025-13-45T00:00:00Z", None),
    ("yesterday", None),
    (20250102, None),
])
def test_a_timestamp_is_kept_in_utc_with_z_or_dropped(given, kept):
    assert RepoInfo.from_hub({"id": "org/m", "createdAt": given}).created_at == kept


def test_siblings_not_listed_are_none_not_empty():
    assert RepoInfo.from_hub({"id": "org/m", "sha": SHA}).files is None
    assert RepoInfo.from_hub({"id": "org/m", "siblings": []}).files == ()


@pytest.mark.parametrize("doc", [
    {"id": 5},
    {"id": "org/m", "siblings": "config.json"},
    {"id": "org/m", "siblings": [{"name": "config.json"}]},
    {"id": "org/m", "safetensors": {"parameters": {"BF16": 1}}},
    {"id": "org/m", "safetensors": [1]},
])
def test_a_malformed_field_the_inspection_trusts_is_refused(doc):
    with pytest.raises(BadInfo):
        RepoInfo.from_hub(doc)


@pytest.mark.parametrize("doc", [
    {"id": "org/m", "tags": "llama"},
    {"id": "org/m", "cardData": "x"},
    {"id": "org/m", "downloads": True, "likes": "3", "author": 1, "gated": 3, "private": "no"},
    {"id": "org/m", "siblings": [{"rfilename": 5}]},
])
def test_other_odd_fields_are_dropped_not_fatal(doc):
    info = RepoInfo.from_hub(doc)
    assert info.tags == () and info.card is None and info.downloads is None and info.likes is None
    assert info.author is None and info.gated is None and info.private is None and info.files in (None, ())


def test_what_a_resume_reads_back_is_what_was_listed():
    info = RepoInfo.from_hub(ANSWER)
    assert RepoInfo.from_json(info.to_json()) == info
    assert info.listing_fields() == {"downloads": 12, "likes": 3, "createdAt": "2025-01-02T03:04:05Z",
                                     "lastModified": "2025-02-03T04:05:06.123456Z"}
