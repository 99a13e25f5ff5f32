"""RepoRef: the one reading of a repo id, a revision, a sha or a pasted Hub URL."""

from __future__ import annotations

import pytest

from inspector.errors import UsageError
from inspector.listing import read_list
from inspector.repoid import RepoRef, is_sha

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(("text", "repo", "rev"), [
    ("org/name", "org/name", None),
    ("org/name@main", "org/name", "main"),
    (f"org/name@{SHA}", "org/name", SHA),
    ("org/name@refs/pr/1", "org/name", "refs/pr/1"),
    ("gpt2", "gpt2", None),
    ("bert-base-uncased@main", "bert-base-uncased", "main"),
    ("https://huggingface.co/org/name", "org/name", None),
    ("https://huggingface.co/org/name/", "org/name", None),
    ("https://huggingface.co/org/name/tree/dev", "org/name", "dev"),
    ("https://huggingface.co/org/name/tree/refs%2Fpr%2F3", "org/name", "refs/pr/3"),
    (f"https://hf.co/org/name/blob/{SHA}/config.json", "org/name", SHA),
    ("https://huggingface.co/gpt2", "gpt2", None),
    ("https://huggingface.co/gpt2/tree/main", "gpt2", "main"),
    ("https://huggingface.co/models/org/name", "org/name", None),
])
def test_accepted(text, repo, rev):
    ref = RepoRef.parse(text)
    assert (ref.repo_id, ref.revision) == (repo, rev)
    assert ref.sha == (rev if rev == SHA else None)


@pytest.mark.parametrize("text", [
    "", "org/", "/name", "org/na me", "org/../x", "org--x/y", "a/b/c", "org/name@", "org/name@../x", "org/name@a//b",
    f"org/name@{SHA}\n", "org/name\n", "org/name@ma\x1bin", "https://evil.example/org/name",
    "https://huggingface.co/datasets/org/name", "https://huggingface.co/org/name/discussions/1", "ftp://huggingface.co/org/x",
    "org/name.", "org/-name",
])
def test_refused_in_one_line(text):
    with pytest.raises(UsageError) as err:
        RepoRef.parse(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", [SHA, SHA.upper(), SHA + "\n", SHA[:-1], " " + SHA, None, 5])
def test_a_sha_is_exactly_40_lowercase_hex(value):
    assert is_sha(value) == (value == SHA)


def test_list_files_read_ids_urls_and_shas_through_reporef(tmp_path):
    p = tmp_path / "list.txt"
    p.write_text(f"gpt2\nhttps://huggingface.co/org/a/tree/dev\norg/b@{SHA}\nnot an id!\n")
    got = [(it.repo, it.sha, it.revision) for it in read_list(p)]
    assert got == [("gpt2", "", None), ("org/a", "", "dev"), ("org/b", SHA, None), ("not an id!", "", None)]


def test_the_endpoint_host_counts_as_the_hub():
    assert RepoRef.parse("http://127.0.0.1:8080/org/x", endpoint="http://127.0.0.1:8080").repo_id == "org/x"
