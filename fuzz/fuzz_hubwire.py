"""Fuzz what the Hub (or a hostile server posing as it) sends back: a listing page, RateLimit,
Retry-After and Link headers, and the repo targets users paste. The first byte picks which."""

from __future__ import annotations

import json

import atheris
from _common import run

with atheris.instrument_imports(include=["inspector"]):
    import inspector.listing
    import inspector.repoid
    import inspector.transport.http

from inspector.errors import NetworkError, UsageError  # noqa: E402

ORIGIN = ("http", "127.0.0.1:1")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    kind, text = data[0] % 5, data[1:].decode("latin-1")
    if kind == 0:
        try:
            page = json.loads(data[1:])
        except (ValueError, RecursionError):
            return
        for raw in page if isinstance(page, list) else [page]:
            item = inspector.listing.listed_item(raw)
            assert item is None or item.sha == "" or inspector.repoid.is_sha(item.sha)
    elif kind == 1:
        got = inspector.transport.http.parse_ratelimit(text)
        assert got is None or 0 <= got[2] <= inspector.transport.http.MAX_WAIT
    elif kind == 2:
        wait = inspector.transport.http.parse_retry_after(text)
        assert wait is None or 0 <= wait <= inspector.transport.http.MAX_WAIT
    elif kind == 3:
        try:
            url = inspector.listing.next_page(text, "http://127.0.0.1:1/api/models", ORIGIN, "models")
        except NetworkError:
            return
        assert url is None or url.startswith("http://127.0.0.1:1/api/models")
    else:
        try:
            ref = inspector.repoid.RepoRef.parse(text)
        except UsageError:
            return
        assert ".." not in ref.repo_id and "\n" not in ref.target


if __name__ == "__main__":
    run(test_one_input)
