"""The real APIs' per-minute limits: beyond N calls in a rolling minute, HTTP 429 and `retry-after`.

CoinGecko: the pricing page, https://www.coingecko.com/en/api/pricing, gives the Demo plan 30
calls a minute (Basic 250, Analyst and Lite 500); the errors page,
https://docs.coingecko.com/docs/errors-and-rate-limits, says "Demo plan: 100 calls/min" at the time
of writing. The simulator's default is the pricing page's 30 (the lower, stricter figure), set by
LAKEHOUSE_SIMULATOR_COINGECKO_RATE_LIMIT. Every request counts, errors included ("All API requests
count toward the per-minute and monthly limits, including responses with non-2xx status codes").
A real 429 carried `retry-after: 119` and the body in ../shared/samples
(error_429_rate_limit_2022-09-29.json); the simulator's `retry-after` is the seconds until its
window frees a call. Limits apply per key, or per client IP for keyless calls.

Smart Citizen: about 150 requests a minute per IP, 429 beyond (../shared/samples/README.md),
LAKEHOUSE_SIMULATOR_SMARTCITIZEN_RATE_LIMIT.

Choices where the docs say nothing: the window is a rolling 60 s of the simulator's clock; a call
refused with 429 takes no slot (so `retry-after` is exact and a client that waits it out gets
through); `/ping` and the /_simulator controls are not limited, so health checks cannot starve the
collectors. A limit of 0 turns the limiter off, for tests that are not about limits.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Calls admitted per caller within the last `WINDOW_SECONDS`, for one API."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def admit(self, caller: str, now: float) -> int | None:
        """None if the call is admitted (and counted); else the seconds until a slot frees."""
        if self.per_minute <= 0:
            return None
        with self._lock:
            calls = self._calls[caller]
            while calls and calls[0] <= now - WINDOW_SECONDS:
                calls.popleft()
            if len(calls) < self.per_minute:
                calls.append(now)
                return None
            return max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
