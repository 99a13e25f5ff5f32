"""Strings from repos are made inert: escaped, bounded, never a formula."""

import pytest

from inspector.inert import inert, is_inert, json_safe, spreadsheet_safe


@pytest.mark.parametrize("raw", [
    "llama\x1b[2J", "x\x1b]0;title\x07", "a\x1bc", "bell\x07", "cr\rforged", "two\nlines",
    "rtl\u202eevil", "zw\u200bj", "sep\u2028x", "llama\ud800", "c1\x9bx", "del\x7f",
])
def test_unsafe_characters_are_escaped_not_dropped(raw):
    out = inert(raw)
    assert is_inert(out)
    assert "\\" in out and out[0] == raw[0]


def test_plain_text_is_unchanged():
    assert inert("Qwen2ForCausalLM · 中文") == "Qwen2ForCausalLM · 中文"


def test_long_values_are_truncated_with_a_count():
    out = inert("A" * 5_000_000)
    assert len(out) < 300 and out.endswith("…(+4999800 chars)")


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(1)", "\tx", "\rx"])
def test_formula_cells_get_a_quote(cell):
    assert spreadsheet_safe(cell) == "'" + cell


def test_other_cells_are_kept():
    assert spreadsheet_safe("Qwen/Qwen2-7B") == "Qwen/Qwen2-7B"
    assert spreadsheet_safe(3) == 3


def test_lone_surrogates_become_encodable():
    assert json_safe("llama\ud800").encode() == b"llama\\ud800"


@pytest.mark.parametrize("url, shown", [
    ("https://user:pw@hub.example:8443/api?token=x#f", "https://hub.example:8443/api"),
    ("https://cdn.example/blob?X-Amz-Signature=abc", "https://cdn.example/blob"),
    ("http://[::1]:8080/p", "http://[::1]:8080/p"),
    ("http://[::1", "a malformed URL"),
    ("http://h/x\x1b[2J", "http://h/x\\x1b[2J"),
])
def test_a_shown_url_carries_no_credentials_no_query_and_no_controls(url, shown):
    from inspector.inert import shown_url

    assert shown_url(url) == shown
