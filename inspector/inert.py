"""Strings from repos made inert before they reach a terminal, a report, a spreadsheet or an error.

One home for the rule: control characters (C0, C1, DEL), bidi and other invisible format characters,
line and paragraph separators, and lone surrogates are escaped (shown, never dropped silently), and a
displayed value is truncated with the count of what was left out.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

# What a terminal or a text viewer would act on instead of showing: C0/C1 controls, DEL, the bidi
# embeddings/overrides/isolates (a "Trojan Source" reordering), zero-width and other format
# characters, line/paragraph separators, BOM, and UTF-16 surrogates that no real text holds.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)

# The longest value printed in a line of text or a report cell; files and JSON keep the full value.
DISPLAY_LIMIT = 200

# Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def inert(value: Any, limit: int | None = DISPLAY_LIMIT) -> str:
    """`value` as one printable line: unsafe characters escaped, at most `limit` characters kept."""
    s = value if isinstance(value, str) else str(value)
    if limit is not None and len(s) > limit:
        s = s[:limit] + f"…(+{len(s) - limit} chars)"
    return _UNSAFE.sub(_escape, s)


def is_inert(s: str) -> bool:
    return _UNSAFE.search(s) is None


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: a leading `'` before a formula start."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def json_safe(s: str) -> str:
    """Lone surrogates (valid in JSON text, invalid in UTF-8) escaped so the string encodes anywhere."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", _escape, s)


def json_safe_deep(value: Any) -> Any:
    """`json_safe` on every string of a JSON value (keys too): a record any encoder or Arrow accepts."""
    if isinstance(value, str):
        return json_safe(value)
    if isinstance(value, dict):
        return {json_safe_deep(k): json_safe_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe_deep(v) for v in value]
    return value


def shown_url(url: str) -> str:
    """A URL as an error line may show it: no user:password@ (an endpoint may carry credentials), no
    query or fragment (a signed CDN URL's signature), made inert."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "a malformed URL"
    host = f"[{host}]" if ":" in host else host
    return inert(f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else host + parts.path, 120)
