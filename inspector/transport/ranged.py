"""Byte ranges of one file, local or on the Hub: the only way the .bin and GGUF readers see a file.

Both readers ask for exact spans (a zip's tail, a pickle member, a GGUF metadata window), so the
same parsing code runs on disk (seeks) and on the Hub (ranged GETs through HubClient, counted,
retried and capped there). `needed` is what the parser consumed; `io` what was fetched: their
ratio is the byte discipline the tests hold the readers to.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from ..errors import InvalidData, NetworkError
from ..readout import IOStats
from .localfs import open_regular

# ASCII digits, at most 19 (int() of a 5,000-digit header raises; \d alone matches any script's digits).
_CONTENT_RANGE = re.compile(r"bytes\s+(\d{1,19})-(\d{1,19})/(\d{1,19})(?!\d)", re.ASCII)


class RangeFile(Protocol):
    where: str  # names the file in errors
    io: IOStats
    prefix: bytes  # the file's first bytes when already fetched (a probe), else b""
    # Set by a reader whose reads all end within the file's first `head_limit` bytes (a safetensors
    # header): a server ignoring Range then costs at most that many bytes, and is put up with.
    head_limit: int

    def size(self) -> int | None:
        """The file's size once known (local: at once; Hub: after the first read)."""

    def read(self, start: int, length: int) -> bytes:
        """Bytes [start, start+length), fewer only at the end of the file."""


class LocalRangeFile:
    """A regular file on disk, opened once (FIFOs and devices refused, see localfs); reads by pread."""

    prefix = b""
    head_limit = 0

    def __init__(self, path: Path, where: str | None = None) -> None:
        self.path = path
        self.where = where or str(path)
        self.io = IOStats()
        fd, self._size = open_regular(path, self.where)
        self._fh = os.fdopen(fd, "rb", buffering=0)  # closed with this object

    def size(self) -> int | None:
        return self._size

    def read(self, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise InvalidData(f"read outside the file (offset {start})", where=self.where)
        if start >= self._size or length == 0:
            return b""
        # Never past the size seen at open: a file that grows meanwhile cannot feed more.
        want = min(length, self._size - start)
        try:
            data = os.pread(self._fh.fileno(), want, start)
        except OSError as e:
            raise InvalidData(f"cannot be read ({e.strerror})", where=self.where) from None
        self.io.requests += 1
        self.io.bytes += len(data)
        return data

    def close(self) -> None:
        self._fh.close()


def range_total(headers: dict[str, str]) -> int | None:
    """The file's size a ranged answer states (`Content-Range: bytes a-b/size`), if it does."""
    m = _CONTENT_RANGE.search(headers.get("content-range", ""))
    return int(m.group(3)) if m else None


class HubRangeFile:
    """Ranged GETs of one repo file; the CDN URL of the first read is reused for the next ones.
    A probe that already resolved the file hands on its CDN URL, its counts and the prefix it read."""

    def __init__(self, client, url: str, where: str, *, cdn_url: str | None = None, io: IOStats | None = None,
                 prefix: bytes = b"", size: int | None = None) -> None:
        self.client = client
        self.url = cdn_url or url
        self.resolve_url = url  # where an expired CDN URL is asked for again
        self.where = where
        self.io = io if io is not None else IOStats()
        self.prefix = prefix
        self.head_limit = 0
        self._size = size  # a probe's Content-Range told it already

    def size(self) -> int | None:
        return self._size

    def read(self, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise InvalidData(f"read outside the file (offset {start})", where=self.where)
        if length == 0 or (self._size is not None and start >= self._size):
            return b""
        resp = self.client.get(self.url, what=self.where, io=self.io, byte_range=(start, start + length - 1), cap=length,
                               resolve_url=self.resolve_url)
        self.url = resp.url
        ranged = range_total(resp.headers)
        if ranged is not None:
            self._size = ranged
        elif resp.status == 200:
            # Range ignored: HubClient kept the bytes we asked for and stopped reading there.
            # Content-Length is the file's size only for an unencoded body.
            cl = resp.headers.get("content-length", "")
            if re.fullmatch(r"[0-9]{1,19}", cl) and resp.headers.get("content-encoding", "identity").lower() == "identity":
                self._size = int(cl)
            if start > 0 and start + length > self.head_limit:
                raise NetworkError("the server ignored Range; refusing to download the whole file", where=self.where)
        return resp.body
