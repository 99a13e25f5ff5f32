"""HTTP to the Hub through huggingface_hub's own session: every hop counted, retried, paced, bounded.

huggingface_hub does not retry header reads and follows redirects silently; here each hop is ours,
so a shard's CDN URL is reused for its second range read and the token never leaves the Hub host.

Bounds (see the README's Security section): each request has a total deadline (`deadline`, default
120 s) enforced inside every socket read, not only between reads, so a server dripping a byte at a time
or stalling mid-header is cut; a whole inspection has one too (`inspection_deadline`, default 600 s).
Waits asked by the server (`Retry-After`, a `RateLimit` reset) are capped at MAX_WAIT (600 s) each, and
like the pacing that keeps a run inside its quota, they are not counted against the deadlines (which
bound time on the network). Bodies are decoded here, with the cap applied to the *decoded* size.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from huggingface_hub import constants
from huggingface_hub import utils as _hf_utils
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from ..errors import GatedTarget, InvalidData, NetworkError, NoTransport, TargetNotFound, TokenRejected
from ..inert import inert, shown_url
from ..readout import IOStats
from .endpoint import endpoint_origin


def _session_module():
    """The HTTP module huggingface_hub itself speaks (httpx2 in 2.x, httpx in 1.x): its errors are the
    ones its session raises, whatever else is installed."""
    mod = getattr(_hf_utils, "httpx", None)  # 2.x exports it for downstream libraries
    if mod is None:  # pragma: no cover - huggingface_hub 1.x
        from huggingface_hub.utils import _http

        mod = getattr(_http, "httpx2", None) or _http.httpx
    return mod


_httpx = _session_module()

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
TRANSPORT_ERRORS = (_httpx.TransportError,)
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MAX_WAIT = 600.0  # seconds: the longest a Retry-After or RateLimit reset is honoured
MAX_ERROR_BODY = 64_000
DEADLINE = 120.0  # seconds: one request, all its hops and bytes
INSPECTION_DEADLINE = 600.0  # seconds: every request of one inspection
IO_THREADS = 64
# ASCII digits only, and few of them: a 5,000-digit or non-ASCII number is no number here.
_RATELIMIT = re.compile(r'"(?P<kind>[\w-]{1,40})"\s*;\s*r\s*=\s*(?P<r>[0-9]{1,12})\s*;\s*t\s*=\s*(?P<t>[0-9]{1,12})(?![0-9])', re.ASCII)
_POLICY = re.compile(r'"(?P<kind>[\w-]{1,40})"\s*;\s*q\s*=\s*(?P<q>[0-9]{1,12})(?![0-9])', re.ASCII)
_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)
_DENIED_TOKEN = ("invalid credentials", "invalid username or password", "invalid user token")
_DISABLED = "access to this resource is disabled"

def _now() -> float:
    return time.monotonic()


# The deadline of the request the current thread is making, read by the socket wrapper below.
_local = threading.local()
# The deadline of the inspection the current context belongs to (copied into its helper threads); a
# one-item list, pushed back by every wait we choose (pacing, backoff, Retry-After).
_inspection_deadline: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("inspection_deadline", default=None)


class _Budget:
    """The deadline of one request: time on the network only. Waits we choose (pacing to stay inside
    a quota, backoff, a Retry-After) push it back, each capped at MAX_WAIT on its own."""

    def __init__(self, seconds: float) -> None:
        self.until = _now() + seconds
        self.overall = _inspection_deadline.get()

    def at(self) -> float:
        return self.until if self.overall is None else min(self.until, self.overall[0])

    def passed(self) -> bool:
        return _now() >= self.at()

    def waited(self, seconds: float) -> None:
        if seconds > 0:
            self.until += seconds
            if self.overall is not None:
                self.overall[0] += seconds


def bucket_of(url: str, hub_origin: tuple[str, str]) -> str | None:
    """The Hub's rate-limit bucket a request counts against by its URL (None for CDN hosts)."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != hub_origin:
        return None
    if "/resolve/" in parts.path or "/resolve-cache/" in parts.path:
        return "resolvers"
    return "api"


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date), capped at MAX_WAIT; None if unreadable."""
    if not value:
        return None
    value = value.strip()[:100]
    if _DIGITS.fullmatch(value):
        return min(float(value), MAX_WAIT)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return min(max(0.0, when.timestamp() - now()), MAX_WAIT)


def parse_ratelimit(value: str | None) -> tuple[str, int, float] | None:
    """(bucket, remaining, seconds to reset) from `RateLimit: "api";r=R;t=T`, reset capped at MAX_WAIT."""
    m = _RATELIMIT.search(value[:1000]) if value else None
    if not m:
        return None
    return m.group("kind"), int(m.group("r")), min(float(m.group("t")), MAX_WAIT)


class Pacer:
    """Spaces requests so each bucket's quota lasts its window: no 429 within the Hub's limits.

    Reads `RateLimit: "api";r=R;t=T` (R left, T seconds to reset) and spreads the R requests over T,
    on the bucket the header names (a URL's bucket is learnt from the answers, not guessed); a 429
    blocks its bucket for every worker, a CDN's 429 the CDN reads. `max_rps` caps the overall rate.
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
        self.named: dict[str, str] = {}  # URL guess -> the bucket the Hub's header named for it
        self.quota: dict[str, int] = {}  # per window, from RateLimit-Policy
        self.global_next = 0.0
        self.waited = 0.0

    def set_share(self, share: float) -> None:
        self.share = min(1.0, max(share, 1e-3))
        self.reserve = max(1, round(1 / self.share))

    def key(self, bucket: str | None) -> str:
        return "_cdn" if bucket is None else self.named.get(bucket, bucket)

    def left(self, bucket: str) -> float | None:
        """The share of a bucket's window quota still unspent (None: no current word from the Hub)."""
        with self.lock:
            key = self.named.get(bucket, bucket)
            r, reset, q = self.remaining.get(key), self.reset_at.get(key), self.quota.get(key)
            if r is None or reset is None or reset <= self.clock():
                return None
            return r / q if q else None

    def acquire(self, bucket: str | None) -> float:
        with self.lock:
            now = self.clock()
            slot = now
            if self.max_rps:
                slot = max(slot, self.global_next)
                self.global_next = slot + 1.0 / self.max_rps
            key = self.key(bucket)
            slot = max(slot, self.blocked_until.get(key, 0.0))
            r, reset = self.remaining.get(key), self.reset_at.get(key)
            if r is not None and reset is not None and reset > now:
                if r <= self.reserve:
                    slot = max(slot, reset)
                    self.remaining.pop(key, None)  # unknown again after the reset
                else:
                    interval = (reset - now) / (r * self.share)
                    slot = max(slot, self.next_slot.get(key, 0.0))
                    self.next_slot[key] = slot + interval
                    self.remaining[key] = r - 1
            delay = slot - now
        if delay > 0:
            self.waited += delay
            self.sleep(delay)
        return max(delay, 0.0)

    def update(self, bucket: str | None, headers) -> None:
        parsed = parse_ratelimit(headers.get("ratelimit"))
        if parsed is None:
            return
        kind, r, t = parsed
        policy = _POLICY.search(headers.get("ratelimit-policy", "")[:1000])
        with self.lock:
            if bucket is not None:
                self.named[bucket] = kind
            self.remaining[kind] = r
            self.reset_at[kind] = self.clock() + t
            if policy is not None and policy.group("kind") == kind:
                self.quota[kind] = int(policy.group("q"))

    def block(self, bucket: str | None, seconds: float, headers=None) -> None:
        parsed = parse_ratelimit(headers.get("ratelimit")) if headers is not None else None
        with self.lock:
            key = parsed[0] if parsed is not None else self.key(bucket)
            until = self.clock() + min(seconds, MAX_WAIT)
            self.blocked_until[key] = max(self.blocked_until.get(key, 0.0), until)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str  # the final URL after redirects


# ---- the total deadline, inside each socket read


class _DeadlineStream:
    """A network stream whose reads and writes never wait past the current request's deadline, so a
    byte dripped now and then cannot keep a request alive (socket timeouts restart on every byte)."""

    def __init__(self, inner) -> None:
        self._inner = inner

    @staticmethod
    def _clamp(timeout: float | None) -> float | None:
        deadline = getattr(_local, "deadline", None)
        if deadline is None:
            return timeout
        left = max(deadline - _now(), 1e-4)
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout=self._clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        return self._inner.write(buffer, timeout=self._clamp(timeout))

    def close(self) -> None:
        return self._inner.close()

    def start_tls(self, *args, **kwargs):
        return _DeadlineStream(self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    def __init__(self, inner) -> None:
        self._inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(host, port, timeout=_DeadlineStream._clamp(timeout),
                                         local_address=local_address, socket_options=socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout=_DeadlineStream._clamp(timeout),
                                                               socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        return self._inner.sleep(seconds)


def _bound_session(session):
    """Install the deadline wrapper in the session's connection pool (once). A custom client factory
    without that pool (a proxy) still gets the deadline checked between reads."""
    pool = getattr(getattr(session, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is not None and not isinstance(backend, _DeadlineBackend):
        pool._network_backend = _DeadlineBackend(backend)
    return session


# ---- decoding, capped on the decoded size


class _Decoder:
    def __init__(self, encoding: str, where: str) -> None:
        enc = encoding.strip().lower()
        self.where = where
        if enc in ("", "identity"):
            self._d = None
        elif enc in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
            self._d = zlib.decompressobj(self._wbits)
        elif enc == "deflate":
            self._wbits = zlib.MAX_WBITS
            self._d = zlib.decompressobj(self._wbits)
        else:
            raise InvalidData(f"unsupported Content-Encoding {enc[:40]!r}", where=where)

    def decode(self, chunk: bytes, room: int) -> bytes:
        """At most `room` decoded bytes of `chunk` (more input than that is left undecoded)."""
        if self._d is None:
            return chunk
        out: list[bytes] = []
        try:
            while chunk and room > 0:
                part = self._d.decompress(chunk, room)
                out.append(part)
                room -= len(part)
                if self._d.eof:  # a further gzip member follows
                    chunk = self._d.unused_data
                    self._d = zlib.decompressobj(self._wbits)
                else:
                    chunk = self._d.unconsumed_tail
        except zlib.error:
            raise InvalidData("the response's compressed body is corrupt", where=self.where) from None
        return b"".join(out)


def _session():
    """huggingface_hub's shared session; a session that cannot be made is the settings' error, one line."""
    try:
        return get_session()
    except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
        raise NoTransport(f"cannot make an HTTP session: {type(e).__name__}: {inert(str(e), 200)} (check SSL_CERT_FILE, "
                          "REQUESTS_CA_BUNDLE and proxy settings)") from None


def warm_session() -> None:
    """huggingface_hub's shared session, made now: its TLS context costs ~50 ms of CPU, which a warm
    audit child spends while the parent lists and plans instead of on its first repo. A session that
    cannot be made (a CA bundle that is not there) is left to the first request, which says why."""
    with contextlib.suppress(Exception):
        get_session()


class HubClient:
    """One per process (or audit): shares the session, the pacer and the retry policy."""

    def __init__(self, *, endpoint: str | None = None, token: str | bool | None = None, timeout: float = 30.0,
                 retries: int = 5, backoff: float = 0.5, max_backoff: float = 30.0, max_rps: float | None = None,
                 share: float = 1.0, sleep: Callable[[float], None] = time.sleep, seed: int | None = None,
                 deadline: float = DEADLINE, inspection_deadline: float = INSPECTION_DEADLINE,
                 sharded_metadata: bool = True) -> None:
        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        self.origin = endpoint_origin(self.endpoint, "HF_ENDPOINT" if endpoint is None else "the endpoint")
        self.token = token
        self.timeout = timeout
        self.deadline = deadline
        self.inspection_deadline = inspection_deadline
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.sleep = sleep
        self.pacer = Pacer(max_rps, share=share, sleep=sleep)
        self.rng = random.Random(seed)
        self._auth_headers: dict[str, str] | None = None
        self.stats = IOStats()
        self._stats_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.token_error: TokenRejected | None = None  # set once the Hub refused the token
        self.no_sharded_metadata = False  # set once the endpoint showed it has no such route (a mirror)
        self.direct_cache: bool | None = None  # does the endpoint serve /api/resolve-cache/? (None: not seen yet)
        self.cache_misses = 0  # resolve-cache 404s that /resolve/ then served
        self.sharded_metadata = sharded_metadata  # False: never ask /safetensors-metadata/ (ranged reads only)

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Threads for the reads of one repo that go out together, kept for the client's life:
        an audit starting a few threads per repo spent more on that than on some of the reads.
        Only callers outside the pool wait on it, so it cannot deadlock."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="hub-io")
            return self._pool

    def use_sharded_metadata(self) -> bool:
        """Route a sharded repo through the one API call (True) or ranged reads (False, resolver calls).

        Quota-aware: the API call spends 1 of the "api" bucket (and the config 1 resolver), ranged
        reads about 3 more resolvers. While the Hub reports both buckets, the one with the larger
        share of its window left pays, so neither idles nor runs dry first; without a word from the
        Hub (no limits, or none seen yet) the API call, fewer requests and one round trip."""
        if not self.sharded_metadata or self.no_sharded_metadata:
            return False
        api, resolvers = self.pacer.left("api"), self.pacer.left("resolvers")
        if api is None or resolvers is None:
            return True
        return api >= resolvers

    def submit(self, fn, *args):
        """Run on the pool within the caller's inspection (its deadline goes along)."""
        return self.pool.submit(contextvars.copy_context().run, fn, *args)

    @contextlib.contextmanager
    def inspection(self) -> Iterator[None]:
        """Every request made within (and in threads started by `submit`) shares one deadline."""
        if _inspection_deadline.get() is not None:
            yield
            return
        tok = _inspection_deadline.set([_now() + self.inspection_deadline])
        try:
            yield
        finally:
            _inspection_deadline.reset(tok)

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

    def _delay(self, attempt: int, retry_after: str | None, headers=None) -> float:
        wait = parse_retry_after(retry_after)
        if wait is not None:
            return wait
        parsed = parse_ratelimit((headers or {}).get("ratelimit"))
        if parsed is not None and parsed[1] == 0:
            return parsed[2]  # spent: wait for the reset the header names
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base * self.rng.uniform(0.5, 1.5)

    def get(self, url: str, *, what: str, io: IOStats, byte_range: tuple[int, int] | None = None,
            cap: int, extra_headers: dict[str, str] | None = None, stop_off_hub: bool = False,
            resolve_url: str | None = None, same_origin: bool = False, unsupported_ok: bool = False) -> Response:
        """GET with retries; reads at most `cap` decoded body bytes (a server ignoring Range is cut off).

        `stop_off_hub`: a redirect leaving the Hub's host is not followed; the answer is that
        redirect, its `url` the target (a shard's CDN URL, learnt before its size is known).
        `resolve_url`: the `/resolve/` URL `url` came from; a CDN URL that expired (401/403 off the Hub)
        is resolved again through it, once. `same_origin`: refuse to leave the endpoint's origin at all.
        `unsupported_ok`: a 404/405/501 that names no Hub error (a route this endpoint lacks) is returned."""
        offline = getattr(constants, "is_offline_mode", None)
        if offline() if offline is not None else constants.HF_HUB_OFFLINE:
            raise NetworkError("offline mode is on (HF_HUB_OFFLINE); only local targets can be inspected", where=what)
        if self.token_error is not None:
            raise self.token_error
        budget = _Budget(self.deadline)
        last = ""
        refreshed = False
        for attempt in range(self.retries + 1):
            if budget.passed():
                last = "deadline passed"
                break
            try:
                resp = self._follow(url, what=what, io=io, byte_range=byte_range, cap=cap, extra_headers=extra_headers,
                                    stop_off_hub=stop_off_hub, budget=budget, same_origin=same_origin,
                                    unsupported_ok=unsupported_ok)
            except TRANSPORT_ERRORS as e:
                last = "deadline passed" if budget.passed() else _describe_transport(e)
                retry_after, headers = None, None
            except RuntimeError as e:
                # huggingface_hub closes its shared session after some connect errors; the next
                # get_session() makes a new one. A closed client is a transport error, not a bug.
                if "closed" not in str(e):
                    raise
                last, retry_after, headers = "connection closed", None, None
                if attempt < self.retries:
                    self._count(io, retries=1)
                    continue
                break
            except _Expired:
                if refreshed or resolve_url is None:
                    raise GatedTarget("the file's signed CDN URL was refused twice", where=what) from None
                url, refreshed = resolve_url, True  # signed URLs expire (about an hour): ask again once
                continue
            else:
                if resp.status not in RETRY_STATUS:
                    return resp
                last = f"HTTP {resp.status}"
                retry_after, headers = resp.headers.get("retry-after"), resp.headers
                if resp.status == 429:
                    self.pacer.block(bucket_of(resp.url, self.origin), self._delay(attempt, retry_after, headers), headers)
            if attempt == self.retries:
                break
            self._count(io, retries=1)
            wait = self._delay(attempt, retry_after, headers)
            self.sleep(wait)
            budget.waited(wait)
        why = (f"{last} after {self.retries} retries" if last != "deadline passed" else
               f"no answer within the deadline ({self.deadline:g} s per request)")
        raise NetworkError(f"{why} ({self.server_of(url)})", where=what)

    def server_of(self, url: str) -> str:
        """The server a network error is about, as a user can check it: the endpoint says where it
        came from (HF_ENDPOINT or the default), another host (a CDN) is named by its host."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return "a malformed URL"
        if (parts.scheme, parts.netloc) == self.origin:
            source = "HF_ENDPOINT" if os.environ.get("HF_ENDPOINT") else "the default endpoint"
            return f"{shown_url(self.endpoint)}, {source}"
        return shown_url(f"{parts.scheme}://{parts.netloc}")

    def _headers(self, bucket: str | None, byte_range: tuple[int, int] | None, extra: dict[str, str] | None) -> dict[str, str]:
        if bucket is not None:
            headers = dict(self.auth_headers)
        else:  # the token never leaves the Hub's host
            headers = {"user-agent": self.auth_headers.get("user-agent", "inspector")}
        if byte_range is not None:
            headers["range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
            # CDNs ignore Range on a request that accepts gzip, and send the whole object.
            headers["accept-encoding"] = "identity"
        else:
            headers["accept-encoding"] = "gzip, deflate"
        if extra:
            headers.update(extra)
        return headers

    def _follow(self, url: str, *, what: str, io: IOStats, byte_range: tuple[int, int] | None, cap: int,
                extra_headers: dict[str, str] | None, stop_off_hub: bool, budget: _Budget, same_origin: bool,
                unsupported_ok: bool = False) -> Response:
        session = _bound_session(_session())
        for _hop in range(MAX_REDIRECTS + 1):
            bucket = bucket_of(url, self.origin)
            if same_origin and bucket is None:
                raise InvalidData("the Hub pointed outside its own host; not followed", where=what)
            headers = self._headers(bucket, byte_range, extra_headers)
            budget.waited(self.pacer.acquire(bucket))
            self._count(io, requests=1)
            deadline = budget.at()
            _local.deadline = deadline
            try:
                with session.stream("GET", url, headers=headers, follow_redirects=False, timeout=self.timeout) as r:
                    hdrs = {k.lower(): v for k, v in r.headers.items()}
                    self.pacer.update(bucket, hdrs)
                    if r.status_code in REDIRECTS and "location" in hdrs:
                        body = self._read(r, hdrs, MAX_ERROR_BODY, io, what, deadline)  # back to the pool
                        del body
                        url = _redirect_target(url, hdrs["location"], what)
                        if stop_off_hub and bucket is not None and bucket_of(url, self.origin) is None:
                            return Response(r.status_code, hdrs, b"", url)
                        continue
                    if bucket is None and r.status_code in (401, 403):
                        self._read(r, hdrs, MAX_ERROR_BODY, io, what, deadline)
                        raise _Expired()
                    limit = cap if r.status_code < 400 else MAX_ERROR_BODY
                    if r.status_code == 200 and byte_range is not None:
                        # Range ignored: the body starts at byte 0, so read up to the range's end, no further.
                        limit = byte_range[1] + 1
                    body = self._read(r, hdrs, limit, io, what, deadline)
                    if r.status_code == 200 and byte_range is not None:
                        # The server ignored Range and sent the whole file: keep the bytes we asked for.
                        body = body[byte_range[0]: byte_range[1] + 1] if byte_range[0] < len(body) else b""
                    unsupported = unsupported_ok and r.status_code in (404, 405, 501) and "x-error-code" not in hdrs
                    if r.status_code >= 400 and r.status_code not in RETRY_STATUS and not unsupported:
                        self._raise_for(r, hdrs, body, what, bucket)
                    return Response(r.status_code, hdrs, body, url)
            except _httpx.InvalidURL:
                raise NetworkError("the Hub redirected to a malformed URL", where=what) from None
            finally:
                _local.deadline = None
        raise NetworkError("too many redirects", where=what)

    def _read(self, r, hdrs: dict[str, str], limit: int, io: IOStats, what: str, deadline: float) -> bytes:
        """The body decoded, cut at `limit` decoded bytes; wire bytes counted as they come."""
        decoder = _Decoder(hdrs.get("content-encoding", ""), what)
        buf = bytearray()
        for raw in r.iter_raw():
            self._count(io, nbytes=len(raw))
            buf += decoder.decode(raw, limit + 1 - len(buf))
            if len(buf) > limit:
                break
            if _now() >= deadline:
                raise _httpx.ReadTimeout("deadline passed")
        del buf[limit:]
        return bytes(buf)

    def _raise_for(self, r, hdrs: dict[str, str], body: bytes, what: str, bucket: str | None) -> None:
        message = f"{hdrs.get('x-error-message', '')} {body[:2000].decode('utf-8', 'replace')}".lower()
        if r.status_code == 401 and self.auth_headers.get("authorization") and any(m in message for m in _DENIED_TOKEN):
            # A stale or revoked token is refused even on public repos: the account, not the repo.
            self.token_error = TokenRejected(
                "the Hub refused the token (401 Invalid credentials): renew HF_TOKEN or unset it for public repos")
            raise self.token_error
        if r.status_code in (401, 403, 451) and _DISABLED in message:
            raise TargetNotFound("repository disabled on the Hub (access to this resource is disabled)", where=what)
        if r.status_code == 400 and bucket is None:
            raise CdnRefused("the CDN refused the read (HTTP 400; files over 50 GB may not be served by range)", where=what)
        _raise_for(r, hdrs, body, what)


class CdnRefused(NetworkError):
    """A CDN's 400 on a ranged read (files over 50 GB): the weights are unread, not invalid."""


class _Expired(Exception):
    """A CDN host (not the Hub) answered 401/403: its signed URL expired."""


def _redirect_target(url: str, location: str, what: str) -> str:
    try:
        target = urljoin(url, location.strip())
        parts = urlsplit(target)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise NetworkError("the Hub redirected to a malformed URL", where=what) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c in target for c in "\r\n\t\x00 "):
        raise NetworkError("the Hub redirected to a malformed URL", where=what)
    return target


def _describe_transport(e: Exception) -> str:
    name = type(e).__name__
    if "Timeout" in name:
        return "timed out"
    if "Connect" in name:
        return "could not connect"
    return "connection dropped"


def _raise_for(r, hdrs: dict[str, str], body: bytes, what: str) -> None:
    """Map the Hub's error to ours through huggingface_hub's own classification."""
    # The body is already decoded: rebuilt with its Content-Encoding it would be decoded twice.
    plain = {k: v for k, v in hdrs.items() if k not in ("content-encoding", "content-length", "transfer-encoding")}
    resp = _httpx.Response(r.status_code, headers=plain, content=body, request=r.request)
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
