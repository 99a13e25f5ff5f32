"""The Python API: one call, a typed verdict, readable when printed, typed errors on request."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES

import inspector
from inspector.errors import InspectorError, TargetNotFound, UsageError

QWEN = str(SAMPLES / "Qwen__Qwen-7B")


def test_str_of_a_verdict_reads_like_the_command_line():
    v = inspector.inspect(QWEN)
    text = str(v)
    assert text.splitlines()[0] == QWEN
    assert "detected    decoder" in text and "lineage qwen" in text and "evidence" in text


def test_a_failed_target_is_a_verdict_by_default(tmp_path):
    v = inspector.inspect(str(tmp_path / "nope"))
    assert v.status == "not_found" and not v.ok


def test_raise_errors_raises_the_typed_error(tmp_path):
    with pytest.raises(TargetNotFound) as e:
        inspector.inspect(str(tmp_path / "nope"), raise_errors=True)
    assert e.value.status == "not_found" and "nope" in str(e.value)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InspectorError) as e:
        inspector.inspect(str(tmp_path), raise_errors=True)
    assert e.value.status == "invalid" and "config.json" in str(e.value)


def test_a_target_that_only_lacks_weights_is_not_an_error(tmp_path):
    (tmp_path / "config.json").write_text((SAMPLES / "Qwen__Qwen-7B" / "config.json").read_text())
    v = inspector.inspect(str(tmp_path), raise_errors=True)
    assert v.status == "no_weights_metadata" and v.lineage == "qwen"


def test_errors_are_worded_for_the_library_not_the_command_line():
    with pytest.raises(UsageError) as e:
        inspector.Inspector(headers="some")
    assert str(e.value) == "headers='some': must be one of 'default', 'all', 'none'"
    assert "--" not in str(e.value)


def test_revision_and_token_work_as_in_huggingface_hub(hub):
    sha = hub.add_folder("org/private", SAMPLES / "Qwen__Qwen3-4B__sophgo-copy", private=True)
    token = "hf_" + "c" * 34
    hub.tokens.add(token)
    assert inspector.inspect("org/private").status == "not_found"  # private looks missing without a token
    v = inspector.inspect("org/private", revision=sha, token=token)
    assert v.status == "ok" and v.revision == sha and token not in json.dumps(v.to_dict())
    with pytest.raises(UsageError):
        inspector.inspect("org/private@main", revision=sha, token=token, raise_errors=True)


def test_a_revision_for_a_local_path_is_refused():
    with pytest.raises(UsageError):
        inspector.inspect(QWEN, revision="main", raise_errors=True)
