"""HTTP to the Hub through huggingface_hub's own session: every hop counted, retried, paced.

huggingface_hub does not retry header reads and follows redirects silently; here each hop is ours,
so a shard's CDN URL is reused for its second range read and the token never leaves the Hub host.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from huggingface_hub import constants
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from ..errors import GatedTarget, InvalidData, NetworkError, TargetNotFound
from ..snapshot import IOStats

try:  # huggingface_hub 2.x speaks httpx2, 1.x httpx
    import httpx2 as _httpx
except ImportError:  # pragma: no cover
    import httpx as _httpx

from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
TRANSPORT_ERRORS = (_httpx.TransportError,)
MAX_REDIRECTS = 5
MAX_WAIT = 600.0  # seconds: the longest a Retry-After or RateLimit reset is honoured
MAX_ERROR_BODY = 64_000
IO_THREADS = 64
_RATELIMIT = re.compile(r'"(?P<kind>[\w-]+)"\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)')
_POLICY = re.compile(r'"(?P<kind>[\w-]+)"\s*;\s*q\s*=\s*(?P<q>\d+)\s*;\s*w\s*=\s*(?P<w>\d+)')


def bucket_of(url: str, hub_origin: tuple[str, str]) -> str | None:
    """The Hub's rate-limit bucket a request counts against (None for CDN hosts)."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != hub_origin:
        return None
    if "/resolve/" in parts.path or "/resolve-cache/" in parts.path:
        return "resolvers"
    return "api"


class Pacer:
    """Spaces requests so each bucket's quota lasts its window: no 429 within the Hub's limits.

    Reads `RateLimit: "api";r=R;t=T` (R left, T seconds to reset) and spreads the R requests over T;
    a 429's Retry-After blocks the bucket for every worker. `max_rps` caps the overall rate.
    """

    def __init__(self, max_rps: float | None = None, *, share: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_rps = max_rps
        # The RateLimit counts are the account's, seen by every process of an audit: with N processes
        # each spends a 1/N share of what is left, and keeps N requests in reserve, not one.
        self.set_share(share)
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()
        self.remaining: dict[str, int] = {}
        self.reset_at: dict[str, float] = {}
        self.next_slot: dict[str, float] = {}
        self.blocked_until: dict[str, float] = {}
        self.global_next = 0.0
        self.waited = 0.0

    def set_share(self, share: float) -> None:
        self.share = min(1.0, max(share, 1e-3))
        self.reserve = max(1, round(1 / self.share))

    def acquire(self, bucket: str | None) -> None:
        with self.lock:
            now = self.clock()
            slot = now
            if self.max_rps:
                slot = max(slot, self.global_next)
                self.global_next = slot + 1.0 / self.max_rps
            if bucket is not None:
                slot = max(slot, self.blocked_until.get(bucket, 0.0))
                r, reset = self.remaining.get(bucket), self.reset_at.get(bucket)
                if r is not None and reset is not None and reset > now:
                    if r <= self.reserve:
                        slot = max(slot, reset)
                        self.remaining.pop(bucket, None)  # unknown again after the reset
                    else:
                        interval = (reset - now) / (r * self.share)
                        slot = max(slot, self.next_slot.get(bucket, 0.0))
                        self.next_slot[bucket] = slot + interval
                        self.remaining[bucket] = r - 1
            delay = slot - now
        if delay > 0:
            self.waited += delay
            self.sleep(delay)

    def update(self, bucket: str | None, headers) -> None:
        value = headers.get("ratelimit")
        m = _RATELIMIT.search(value) if value else None
        if not m:
            return
        kind = m.group("kind") if bucket is None else bucket
        with self.lock:
            self.remaining[kind] = int(m.group("r"))
            # A server's word on when the window resets is capped like Retry-After: no hostile
            # or broken header can park a bucket for longer than MAX_WAIT.
            self.reset_at[kind] = self.clock() + min(int(m.group("t")), MAX_WAIT)

    def block(self, bucket: str | None, seconds: float) -> None:
        with self.lock:
            until = self.clock() + seconds
            key = bucket or "_cdn"
            self.blocked_until[key] = max(self.blocked_until.get(key, 0.0), until)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str  # the final URL after redirects


class HubClient:
    """One per process (or audit): shares the session, the pacer and the retry policy."""

    def __init__(self, *, endpoint: str | None = None, token: str | bool | None = None, timeout: float = 30.0,
                 retries: int = 5, backoff: float = 0.5, max_backoff: float = 30.0, max_rps: float | None = None,
                 share: float = 1.0, sleep: Callable[[float], None] = time.sleep, seed: int | None = None) -> None:
        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        parts = urlsplit(self.endpoint)
        self.origin = (parts.scheme, parts.netloc)
        self.token = token
        self.timeout = timeout
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.sleep = sleep
        self.pacer = Pacer(max_rps, share=share, sleep=sleep)
        self.rng = random.Random(seed)
        self._auth_headers: dict[str, str] | None = None
        self.stats = IOStats()
        self._stats_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Threads for the reads of one repo that go out together, kept for the client's life:
        an audit starting a few threads per repo spent more on that than on some of the reads.
        Only callers outside the pool wait on it, so it cannot deadlock."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="hub-io")
            return self._pool

    @property
    def auth_headers(self) -> dict[str, str]:
        if self._auth_headers is None:
            self._auth_headers = build_hf_headers(token=self.token)
        return self._auth_headers

    def _count(self, io: IOStats, requests: int = 0, nbytes: int = 0, retries: int = 0) -> None:
        io.requests += requests
        io.bytes += nbytes
        io.retries += retries
        with self._stats_lock:
            self.stats.requests += requests
            self.stats.bytes += nbytes
            self.stats.retries += retries

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after.strip()), MAX_WAIT)
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base * self.rng.uniform(0.5, 1.5)

    def get(self, url: str, *, what: str, io: IOStats, byte_range: tuple[int, int] | None = None,
            cap: int, extra_headers: dict[str, str] | None = None, stop_off_hub: bool = False) -> Response:
        """GET with retries; reads at most `cap` body bytes (a server ignoring Range is cut off).

        `stop_off_hub`: a redirect leaving the Hub's host is not followed; the answer is that
        redirect, its `url` the target (a shard's CDN URL, learnt before its size is known)."""
        if constants.is_offline_mode():
            raise NetworkError("offline mode is on (HF_HUB_OFFLINE); only local targets can be inspected", where=what)
        last = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self._follow(url, what=what, io=io, byte_range=byte_range, cap=cap, extra_headers=extra_headers,
                                    stop_off_hub=stop_off_hub)
            except TRANSPORT_ERRORS as e:
                last = _describe_transport(e)
                retry_after = None
            else:
                if resp.status not in RETRY_STATUS:
                    return resp
                last = f"HTTP {resp.status}"
                retry_after = resp.headers.get("retry-after")
                if resp.status == 429:
                    self.pacer.block(bucket_of(resp.url, self.origin), self._delay(attempt, retry_after))
            if attempt == self.retries:
                break
            self._count(io, retries=1)
            self.sleep(self._delay(attempt, retry_after))
        raise NetworkError(f"{last} after {self.retries} retries", where=what)

    def _follow(self, url: str, *, what: str, io: IOStats, byte_range: tuple[int, int] | None, cap: int,
                extra_headers: dict[str, str] | None, stop_off_hub: bool = False) -> Response:
        session = get_session()
        for _hop in range(MAX_REDIRECTS + 1):
            bucket = bucket_of(url, self.origin)
            headers = dict(self.auth_headers) if bucket is not None else {"user-agent": self.auth_headers.get("user-agent", "inspector")}
            if byte_range is not None:
                headers["range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
            if extra_headers:
                headers.update(extra_headers)
            self.pacer.acquire(bucket)
            self._count(io, requests=1)
            with session.stream("GET", url, headers=headers, follow_redirects=False, timeout=self.timeout) as r:
                self.pacer.update(bucket, r.headers)
                clen = r.headers.get("content-length", "")
                if r.status_code in (301, 302, 303, 307, 308) and "location" in r.headers:
                    if clen.isdigit() and int(clen) <= MAX_ERROR_BODY:
                        # Read the tiny redirect body so the connection goes back to the pool.
                        self._count(io, nbytes=len(r.read()))
                    url = urljoin(url, r.headers["location"])
                    if stop_off_hub and bucket is not None and bucket_of(url, self.origin) is None:
                        return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"", url)
                    continue
                limit = cap if r.status_code < 400 else MAX_ERROR_BODY
                if r.status_code == 200 and byte_range is not None:
                    # Range ignored: the body starts at byte 0, so read up to the range's end, no further.
                    limit = byte_range[1] + 1
                # A body of known length within the limit is read to its end (the connection stays
                # reusable); anything else is cut at the limit and the connection dropped.
                bounded = clen.isdigit() and int(clen) <= limit
                chunks: list[bytes] = []
                got = 0
                for chunk in r.iter_bytes():
                    chunks.append(chunk)
                    got += len(chunk)
                    if got >= limit and not bounded:
                        break
                self._count(io, nbytes=got)
                body = b"".join(chunks)
                if r.status_code == 200 and byte_range is not None:
                    # The server ignored Range and sent the whole file: keep the bytes we asked for.
                    body = body[byte_range[0]: byte_range[1] + 1] if byte_range[0] < len(body) else b""
                elif len(body) > limit:
                    body = body[:limit]
                if r.status_code >= 400 and r.status_code not in RETRY_STATUS:
                    _raise_for(r, body, what)
                return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, body, url)
        raise NetworkError("too many redirects", where=what)


def _describe_transport(e: Exception) -> str:
    name = type(e).__name__
    if "Timeout" in name:
        return "timed out"
    if "Connect" in name:
        return "could not connect"
    return "connection dropped"


def _raise_for(r, body: bytes, what: str) -> None:
    """Map the Hub's error to ours through huggingface_hub's own classification."""
    resp = _httpx.Response(r.status_code, headers=r.headers, content=body, request=r.request)
    try:
        hf_raise_for_status(resp)
    except GatedRepoError:
        raise GatedTarget("gated repository: accept its terms on the Hub and set HF_TOKEN", where=what) from None
    except RevisionNotFoundError:
        raise TargetNotFound("revision not found", where=what) from None
    except EntryNotFoundError:
        raise FileMissing(what) from None
    except RepositoryNotFoundError:
        raise TargetNotFound("repository not found (or private: set HF_TOKEN)", where=what) from None
    except OfflineModeIsEnabled:
        raise NetworkError("offline mode is on (HF_HUB_OFFLINE)", where=what) from None
    except HfHubHTTPError:
        pass
    if r.status_code == 404:
        raise FileMissing(what)
    if r.status_code in (401, 403):
        raise GatedTarget(f"access denied (HTTP {r.status_code}): private or gated; set HF_TOKEN", where=what)
    raise InvalidData(f"unexpected HTTP {r.status_code}", where=what)


class FileMissing(TargetNotFound):
    """A file the listing named is not there (404 on resolve)."""

    def __init__(self, what: str) -> None:
        super().__init__("file not found", where=what)
