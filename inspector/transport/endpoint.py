"""The Hub endpoint a run talks to, checked before huggingface_hub is imported (it parses HF_ENDPOINT
at import and would raise a bare ValueError on `http://[::1`)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..errors import BadEndpoint
from ..inert import shown_url


def endpoint_origin(endpoint: str, name: str = "HF_ENDPOINT") -> tuple[str, str]:
    """(scheme, netloc) of an http(s) endpoint with a host; BadEndpoint (one line, no credentials) else."""
    try:
        parts = urlsplit(endpoint)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port outside 0..65535 raises here
    except ValueError:
        ok = False
    if not ok:
        raise BadEndpoint(f"{name} is not an http(s) URL with a host: {shown_url(endpoint)}")
    return parts.scheme, parts.netloc


def check_env() -> None:
    """HF_ENDPOINT, when set, is a usable endpoint (call before the first huggingface_hub import)."""
    value = os.environ.get("HF_ENDPOINT")
    if value:
        endpoint_origin(value.rstrip("/"))
