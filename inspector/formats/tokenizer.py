"""Tokenizer evidence: special tokens, the class, the base vocabulary size, a chat-template digest.

Read only when asked (`--with-tokenizer`), because it costs requests. `tokenizer_config.json` is
small and usually enough (its `added_tokens_decoder` lists every special with its id). Only when it
lacks them is `tokenizer.json` read, and only its head: `added_tokens` is the fourth top-level key
(after version, truncation, padding), so a growing prefix read stops as soon as that array and the
short values after it up to `model.type` are complete, long before the megabytes of vocab and merges.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidData, TargetNotFound
from ..inert import inert, json_safe
from ..jsonread import MAX_JSON_DEPTH, json_too_deep, loads_strict
from ..readout import Snapshot
from ..transport.ranged import RangeFile
from .gguf import base_vocab

MAX_TOKENIZER_CONFIG_BYTES = 8_000_000
MAX_TEMPLATE_BYTES = 1_000_000
MAX_TOKENIZER_JSON_HEAD = 4_000_000  # 10k added tokens at ~150 bytes each; the vocab is never wanted
FIRST_READ = 32_768
MAX_SPECIALS = 1_024
MAX_TOKEN_CHARS = 200

_decoder = json.JSONDecoder()


def _token(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("content")
    # json_safe: the head of tokenizer.json is decoded here, not by loads_strict (lone surrogates).
    return json_safe(v[:MAX_TOKEN_CHARS]) if isinstance(v, str) and v else None


def _template_digest(tmpl: Any) -> str | None:
    if isinstance(tmpl, list):  # [{"name": "default", "template": "..."}, ...]: the default one, else all
        named = {t.get("name"): t.get("template") for t in tmpl if isinstance(t, dict)}
        tmpl = named.get("default") if isinstance(named.get("default"), str) else json.dumps(named, sort_keys=True)
    return hashlib.sha256(tmpl.encode()).hexdigest() if isinstance(tmpl, str) else None


def from_tokenizer_config(raw: bytes, where: str) -> dict[str, Any]:
    doc = loads_strict(raw, "tokenizer_config.json", where)
    if not isinstance(doc, dict):
        raise InvalidData("tokenizer_config.json is not a JSON object", where=where)
    out: dict[str, Any] = {"source": "tokenizer_config.json"}
    if isinstance(doc.get("tokenizer_class"), str):
        out["tokenizer_class"] = doc["tokenizer_class"][:100]
    specials: list[str] = []
    ids: dict[int, str] = {}
    decoder = doc.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        out["has_added_tokens"] = True
        for k, v in decoder.items():
            tok = _token(v)
            # ASCII digits only: "²".isdigit() holds, and int("²") raises.
            if tok and isinstance(v, dict) and v.get("special") is True and k.isascii() and k.isdigit() and len(k) <= 12:
                ids[int(k)] = tok
                specials.append(tok)
    for key, v in doc.items():
        if key.endswith("_token") and (tok := _token(v)):
            specials.append(tok)
    extra = doc.get("additional_special_tokens")
    if isinstance(extra, list):
        specials += [t for t in map(_token, extra) if t]
    out["special_tokens"] = _dedupe(specials)
    base = base_vocab(ids)
    if base:
        out["base_vocab"] = base
    digest = _template_digest(doc.get("chat_template"))
    if digest:
        out["chat_template_sha256"] = digest
    return out


def _dedupe(tokens: list[str]) -> list[str]:
    return list(dict.fromkeys(tokens))[:MAX_SPECIALS]


def read_tokenizer_json_head(src: RangeFile) -> tuple[dict[str, Any], int]:
    """(evidence, bytes needed) from the head of tokenizer.json: added_tokens, then model.type if near."""
    where = src.where
    buf = src.read(0, FIRST_READ)
    size = src.size()
    while True:
        if json_too_deep(buf):  # the decoder below recurses in C: its input is checked first
            raise InvalidData(f"tokenizer.json is nested too deeply (limit {MAX_JSON_DEPTH} levels)", where=where)
        try:
            found, used = _scan_head(buf)
            break
        except _NeedMore:
            whole = size is not None and len(buf) >= size
            if whole or len(buf) >= MAX_TOKENIZER_JSON_HEAD:
                why = "is cut short" if whole else f"has no complete added_tokens in its first {len(buf)} bytes"
                raise InvalidData(f"tokenizer.json {why}", where=where) from None
            more = src.read(len(buf), min(max(FIRST_READ, len(buf) // 2), MAX_TOKENIZER_JSON_HEAD - len(buf)))
            if not more:
                size = len(buf)
            buf += more
        except _Refused as e:
            raise InvalidData(str(e), where=where) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidData(f"tokenizer.json is not valid JSON ({inert(str(e), 120)})", where=where) from None
    out: dict[str, Any] = {"source": "tokenizer.json"}
    specials: list[str] = []
    ids: dict[int, str] = {}
    added = found.get("added_tokens")
    for t in added if isinstance(added, list) else []:  # anything but a list carries no tokens
        if isinstance(t, dict) and t.get("special") is True and (tok := _token(t)):
            specials.append(tok)
            if isinstance(t.get("id"), int):
                ids[t["id"]] = tok
    out["special_tokens"] = _dedupe(specials)
    base = base_vocab(ids)
    if base:
        out["base_vocab"] = base
    if isinstance(found.get("model_type"), str):
        out["tokenizer_model"] = json_safe(found["model_type"][:40])
    return out, used


class _NeedMore(Exception):
    pass


class _Refused(Exception):
    pass


# tokenizers writes version, truncation, padding, then added_tokens; sorted keys put it first.
MAX_HEAD_KEYS = 64
_WS = re.compile(r"[ \t\r\n]*")


def _scan_head(buf: bytes) -> tuple[dict[str, Any], int]:
    """Top-level keys of a JSON object up to `added_tokens` (required) and `model.type` (if cheap).

    Raises _NeedMore when the buffer ends inside what is wanted; ValueError when it is not JSON.
    """
    text = buf.decode("utf-8", "ignore")  # a multi-byte character cut at the end is re-read next time
    found: dict[str, Any] = {}
    keys = 0
    i = _skip_ws(text, 0)
    if i >= len(text):
        raise _NeedMore
    if text[i] != "{":
        raise ValueError("tokenizer.json is not a JSON object")
    i += 1
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            raise _NeedMore
        if text[i] == "}":
            return found, len(text[: i + 1].encode())
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
        key, i = _decode(text, i)
        keys += 1
        if keys > MAX_HEAD_KEYS:
            if "added_tokens" in found:
                return found, len(text[:i].encode())
            raise _Refused(f"tokenizer.json has no added_tokens among its first {MAX_HEAD_KEYS} keys")
        i = _skip_ws(text, i)
        if i >= len(text):
            raise _NeedMore
        if text[i] != ":":
            raise ValueError("expected ':' in tokenizer.json")
        i = _skip_ws(text, i + 1)
        start = i  # bytes used so far are counted only on return: per key it made the scan quadratic
        if key == "model":
            # {"type": "BPE", ...vocab...}: read the first key only when it is "type".
            try:
                if i >= len(text):
                    raise _NeedMore
                if text[i] == "{":
                    k, j = _decode(text, _skip_ws(text, i + 1))
                    j = _skip_ws(text, j)
                    if k == "type" and j < len(text) and text[j] == ":":
                        v, j = _decode(text, _skip_ws(text, j + 1))
                        found["model_type"] = v
                        return found, len(text[:j].encode())
            except _NeedMore:
                if "added_tokens" not in found:
                    raise
            return found, len(text[:start].encode())
        try:
            value, i = _decode(text, i)
        except _NeedMore:
            if "added_tokens" in found:
                return found, len(text[:start].encode())  # past added_tokens, model.type is not worth another read
            raise
        if key == "added_tokens":
            found["added_tokens"] = value


def _skip_ws(text: str, i: int) -> int:
    return _WS.match(text, i).end()


def _decode(text: str, i: int) -> tuple[Any, int]:
    if i >= len(text):
        raise _NeedMore
    try:
        return _decoder.raw_decode(text, i)
    except json.JSONDecodeError as e:
        # A value cut by the end of the buffer fails at (or near) its end: ask for more.
        if e.pos >= len(text) - 1 or "Unterminated" in e.msg or e.msg.startswith("Expecting"):
            raise _NeedMore from None
        raise ValueError(e.msg) from None


def template_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def fill_tokenizer(snap: Snapshot, get_bytes: Callable[[str, int], bytes], open_file: Callable[[str], RangeFile],
                   *, count_io: bool) -> None:
    """Tokenizer evidence into the snapshot; a broken tokenizer file is noted, never fatal."""
    files = set(snap.files)
    where = f"{snap.repo_id or snap.target}/tokenizer_config.json"
    ev: dict[str, Any] = {}
    try:
        if "tokenizer_config.json" in files:
            ev = from_tokenizer_config(get_bytes("tokenizer_config.json", MAX_TOKENIZER_CONFIG_BYTES), where)
        if not ev.get("has_added_tokens") and "tokenizer.json" in files:
            src = open_file("tokenizer.json")
            try:
                head, _ = read_tokenizer_json_head(src)
            finally:
                if count_io:
                    snap.io.add(src.io)
            ev = {**head, **ev, "special_tokens": _dedupe(ev.get("special_tokens", []) + head["special_tokens"])}
            if "base_vocab" in head:
                ev["base_vocab"] = head["base_vocab"]
        if ev and "chat_template_sha256" not in ev and "chat_template.jinja" in files:
            ev["chat_template_sha256"] = template_digest(get_bytes("chat_template.jinja", MAX_TEMPLATE_BYTES))
    except (InvalidData, TargetNotFound) as e:
        ev = {**ev, "error": e.one_line()}
    if not ev:
        return
    ev.pop("has_added_tokens", None)
    if snap.tokenizer:  # a GGUF's embedded tokenizer: the files add to it
        ev = {**snap.tokenizer, **ev, "special_tokens": _dedupe(snap.tokenizer.get("special_tokens", []) + ev.get("special_tokens", []))}
    snap.tokenizer = ev
