"""Where an audit's repos come from: a file, Hub listings, or a folder of local models.

Hub listings ask `list_models` to expand everything the inspection needs (sha, siblings, tags, gated,
cardData, safetensors), so a listed repo costs no `model_info` call of its own.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin, urlsplit

from .errors import InvalidData, NetworkError, UsageError
from .repoid import is_sha
from .repoid import split as split_target
from .repoinfo import LISTING_FIELDS, BadInfo, RepoInfo
from .sources.hub import EXPAND

# The study fields (downloads, likes, dates) ride along: they are stored with each row.
LIST_EXPAND = [*EXPAND, "author", *LISTING_FIELDS]
SORTS = {"downloads": "downloads", "likes": "likes", "created": "created_at", "modified": "last_modified"}
ID_COLUMNS = ("id", "repo", "repo_id", "modelId", "model_id", "model")
SHA_COLUMNS = ("sha", "revision", "commit")


@dataclass
class Item:
    """One repo to audit. `sha` is known from a listing or the list file; `info` spares a model_info call."""

    repo: str
    sha: str = ""
    info: RepoInfo | None = None  # from a listing
    local: bool = False
    revision: str | None = None  # a non-sha revision asked for in a list file (org/name@branch)
    pos: int = 0  # its place in the run's recorded list (0: not recorded)

    @property
    def target(self) -> str:
        rev = self.sha or self.revision
        return f"{self.repo}@{rev}" if rev and not self.local else self.repo


# ---- --from FILE


# A list file is read whole: 256 MB holds millions of ids, and a FIFO or /dev/zero ends there, or earlier.
MAX_LIST_BYTES = 256 * 1024 * 1024


def read_list(path: str | Path) -> list[Item]:
    """Ids one per line (`org/name[@rev]`, `#` comments), or CSV / JSON Lines with an id column, by the
    file's suffix. Only a regular file is read (a FIFO or a device is refused, never waited on)."""
    from .transport.localfs import read_capped

    p = Path(path)
    try:
        data = read_capped(p, MAX_LIST_BYTES, str(path), what="the repo list")
    except InvalidData as e:
        raise UsageError(e.message, where=e.where) from None
    suffix = p.suffix.lower()
    kind = "jsonl" if suffix in (".jsonl", ".ndjson", ".json") else suffix[1:] if suffix in (".csv", ".tsv") else "lines"
    return parse_list(_decode(data, str(path)), kind, str(path))


def read_list_stream(stream: BinaryIO, where: str = "<stdin>") -> list[Item]:
    """A list from standard input: JSON Lines when it starts with `{`, else ids one per line."""
    data = stream.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise UsageError(f"the repo list is larger than {MAX_LIST_BYTES} bytes", where=where)
    text = _decode(data, where)
    kind = "jsonl" if text.lstrip().startswith("{") else "lines"
    return parse_list(text, kind, where)


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"the repo list is not UTF-8 (byte {e.start})", where=where) from None


def parse_list(text: str, kind: str, path: str) -> list[Item]:
    """`kind`: jsonl, csv, tsv or lines."""
    items: list[Item] = []
    if kind == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise UsageError("not a JSON object", where=f"{path}:{n}") from None
            items.append(_from_record(obj, f"{path}:{n}"))
    elif kind in ("csv", "tsv"):
        reader = csv.DictReader(text.splitlines(), delimiter="\t" if kind == "tsv" else ",")
        if not reader.fieldnames or not any(c in reader.fieldnames for c in ID_COLUMNS):
            raise UsageError(f"no id column (one of {', '.join(ID_COLUMNS)})", where=str(path))
        for n, rec in enumerate(reader, 2):
            items.append(_from_record(rec, f"{path}:{n}"))
    else:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                repo, sha, rev = split_target(line)
                items.append(Item(repo, sha, revision=rev))
    return items


def _from_record(rec: Any, where: str) -> Item:
    if not isinstance(rec, dict):
        raise UsageError("not a JSON object", where=where)
    repo = next((rec[c] for c in ID_COLUMNS if isinstance(rec.get(c), str) and rec[c].strip()), None)
    if repo is None:
        raise UsageError(f"no id (one of {', '.join(ID_COLUMNS)})", where=where)
    repo, sha, rev = split_target(repo)
    col = next((rec[c].strip() for c in SHA_COLUMNS if isinstance(rec.get(c), str) and rec[c].strip()), "")
    if col:
        if is_sha(col):
            sha, rev = col, None
        else:
            rev = col
    return Item(repo, sha, revision=rev)


# ---- Hub listings

MAX_PAGE_BYTES = 64 * 1024 * 1024  # decoded: a listing page that inflates beyond this is refused
_NEXT = re.compile(r'<([^<>]{1,4000})>\s*;[^,]*?\brel\s*=\s*"?next"?', re.IGNORECASE)


def list_hub(*, authors: Iterable[str] = (), search: str | None = None, filters: Iterable[str] = (),
             sort: str | None = None, limit: int | None = None, api=None, client=None) -> Iterator[Item]:
    """One listing query per author (the Hub takes one author per query), else one in all.

    Pages are read through HubClient (deadline, decoded-size cap, pacing, retries) and followed only
    on the endpoint's own origin: a `Link: rel="next"` elsewhere is refused, never sent the token,
    and none of its repos join. `api` (an HfApi) lends its endpoint and token when no client is given.
    """
    from .transport.http import HubClient

    if sort is not None and sort not in SORTS:
        raise UsageError(f"`sort` must be one of {', '.join(SORTS)}", names={"sort": "`sort`"})
    if client is None:
        client = HubClient(endpoint=getattr(api, "endpoint", None), token=getattr(api, "token", None))
    for author in list(authors) or [None]:
        params: list[tuple[str, str]] = []
        if author:
            params.append(("author", author))
        if search:
            params.append(("search", search))
        params += [("filter", f) for f in filters]
        if sort:
            params += [("sort", SORTS[sort]), ("direction", "-1")]
        if limit:
            params.append(("limit", str(limit)))
        params += [("expand", e) for e in LIST_EXPAND]
        yield from _pages(client, f"{client.endpoint}/api/models?{urlencode(params)}", limit,
                          f"author {author}" if author else "models")


def _pages(client, url: str, limit: int | None, where: str) -> Iterator[Item]:
    from .errors import InspectorError
    from .jsonread import loads_strict
    from .readout import IOStats

    count, bad = 0, 0
    while url:
        try:
            resp = client.get(url, what=where, io=IOStats(), cap=MAX_PAGE_BYTES, same_origin=True)
            page = loads_strict(resp.body, "listing page", where)
        except InspectorError as e:
            raise NetworkError(f"the Hub listing failed ({e.message})", where=where) from None
        if not isinstance(page, list):
            raise NetworkError("the Hub listing failed (a page is not a JSON list)", where=where)
        for raw in page:
            item = listed_item(raw)
            if item is None:
                bad += 1
                continue
            yield item
            count += 1
            if limit and count >= limit:
                return
        url = next_page(resp.headers.get("link"), resp.url, client.origin, where)
    if bad:
        raise NetworkError(f"the Hub listing had {bad} malformed entr{'y' if bad == 1 else 'ies'} (skipped; the others "
                           "were audited)", where=where)


def next_page(link: str | None, page_url: str, origin: tuple[str, str], where: str) -> str | None:
    """The next page's URL from a `Link` header, only on the endpoint's own origin."""
    if not link:
        return None
    m = _NEXT.search(link[:8000])
    if not m:
        return None
    try:
        url = urljoin(page_url, m.group(1).strip())
        parts = urlsplit(url)
        same = (parts.scheme, parts.netloc) == origin and parts.path.startswith("/api/models")
    except ValueError:
        same = False
    if not same:
        raise NetworkError("the Hub listing's next page points to another host or path; not followed (the token "
                           "was not sent there, and no repo of it was listed)", where=where)
    return url


def listed_item(raw: Any) -> Item | None:
    """An Item from one listing entry, None when the entry is no model (a string, a null, no valid id).
    Fields that are malformed (a string as `siblings`, a short sha) are dropped: the repo is then read
    with its own model_info call instead of trusting them."""
    from .repoid import valid_repo_id

    if not isinstance(raw, dict):
        return None
    repo = raw.get("id", raw.get("modelId"))
    if not isinstance(repo, str) or not valid_repo_id(repo):
        return None
    sha = raw.get("sha") if is_sha(raw.get("sha")) else ""
    siblings = raw.get("siblings")
    if not (isinstance(siblings, list) and all(isinstance(x, dict) and isinstance(x.get("rfilename"), str) for x in siblings)):
        return Item(repo, sha)
    if not sha:
        return Item(repo)
    if not _well_typed(raw):  # what we keep of it would not survive a store and restore
        return Item(repo, sha)
    try:
        info = RepoInfo.from_hub(raw)
    except BadInfo:  # a field we cannot read: fetch this repo's own model_info instead
        return Item(repo, sha)
    return Item(repo, sha, info=info)


# The listing fields an audit keeps (RepoInfo.to_json), each with the JSON types the Hub sends for it.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "cardData": (dict,), "safetensors": (dict,), "tags": (list,), "gated": (bool, str), "private": (bool,),
    "author": (str,), "downloads": (int,), "likes": (int,), "createdAt": (str,), "lastModified": (str,),
}


def _well_typed(raw: dict) -> bool:
    for key, types in _FIELD_TYPES.items():
        v = raw.get(key)
        if v is not None and (not isinstance(v, types) or (isinstance(v, bool) and bool not in types)):
            return False
    st = raw.get("safetensors")
    if st is not None and not (isinstance(st.get("parameters"), dict) and isinstance(st.get("total"), int)):
        return False
    tags = raw.get("tags")
    return tags is None or all(isinstance(t, str) for t in tags)


# ---- --dir DIR


def list_dir(path: str | Path) -> list[Item]:
    root = Path(path)
    if not root.is_dir():
        raise UsageError("not a folder", where=str(path))
    return [Item(str(p), fingerprint(p), local=True) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")]


def fingerprint(folder: Path) -> str:
    """A local folder's stand-in for a sha: names, sizes and mtimes of the files the inspection reads."""
    h = hashlib.sha1()
    for p in sorted(folder.iterdir()):
        if p.is_file() and (p.suffix in (".json", ".safetensors")):
            st = p.stat()
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return "local:" + h.hexdigest()


# ---- sharding


def parse_shard(text: str, name: str = "shard") -> tuple[int, int]:
    """(K, N) from `K/N`; `name` is the parameter the text came from (for the error)."""
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise UsageError(f"`{name}` must be K/N with 1 <= K <= N", where=text, names={name: f"`{name}`"})
    return int(k), int(n)


def in_shard(repo: str, k: int, n: int) -> bool:
    """Stable across runs, machines and Python versions (unlike hash()): sha1 of the repo id."""
    return int.from_bytes(hashlib.sha1(repo.encode()).digest()[:8], "big") % n == k - 1


def dedupe(items: Iterable[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it.repo not in seen:
            seen.add(it.repo)
            out.append(it)
    return out
