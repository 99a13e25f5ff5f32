"""Fuzz the rate-limit headers: `RateLimit` (Pacer.update, then the waits it plans) and `Retry-After`
(HubClient._delay).

The input is split at the first NUL: the RateLimit value, then the Retry-After value. Time is a fake
clock and sleeping is recorded, never done. Invariants: only InspectorError escapes; no planned
wait exceeds MAX_WAIT (plus the spacing of one window); every wait is a finite, non-negative number.
"""

from __future__ import annotations

import math

from _common import run

from inspector.transport.http import MAX_WAIT, HubClient, Pacer

_client = HubClient(endpoint="http://127.0.0.1:9", token=False, sleep=lambda s: None, seed=1)


def test_one_input(data: bytes) -> None:
    ratelimit, _, retry_after = data.partition(b"\x00")
    rl = ratelimit.decode("latin-1")  # what an HTTP client hands over for non-ASCII header bytes
    ra = retry_after.decode("latin-1")
    now = [1000.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    pacer = Pacer(share=0.5, clock=lambda: now[0], sleep=sleep)
    for bucket in ("api", None):
        pacer.update(bucket, {"ratelimit": rl})
        for _ in range(3):
            pacer.acquire(bucket or "api")
    for attempt in range(3):
        waits.append(_client._delay(attempt, ra))
    pacer.block("api", waits[-1])
    pacer.acquire("api")
    for w in waits:
        assert math.isfinite(w) and 0 <= w <= 2 * MAX_WAIT, w


if __name__ == "__main__":
    run(test_one_input)
