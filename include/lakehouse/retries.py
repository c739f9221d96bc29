"""When a failed collection run should be tried again, and after how long.

The Airflow adapter (`lakehouse_airflow.retry.CollectRetryPolicy`) turns this into Airflow 3.3's
pluggable retry policy (`RetryPolicy.evaluate` -> `RetryDecision`; AIP-105, Airflow docs "Tasks:
Retry policies"): a fixed `retry_delay` and `retry_exponential_backoff` cannot honour a 429's
`Retry-After`, and in Airflow 3.3 `retry_exponential_backoff=True` is a multiplier of 1.0, so the
delay never grows (`next_retry_datetime`).

- A 429 waits what its `Retry-After` asks, not a retry slot earlier.
- An API or lake that is down (no answer, 5xx, S3 unavailable) backs off exponentially:
  `base * 2**(try - 1)`, capped.
- A 4xx that cannot succeed (400, 401, 403, 404, 422, ...: a bad id, a bad key) is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.collect import CollectionFailed, HistoryUnavailable
from lakehouse.sources.base import InvalidSelection
from lakehouse.sources.http import ApiError, RateLimited

RETRYABLE_4XX = frozenset({408, 425, 429})
"""Request Timeout, Too Early, Too Many Requests: the same request may succeed later."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `base_seconds` before the first retry, doubling, at most `cap`."""

    base_seconds: float = 15.0
    cap_seconds: float = 300.0

    def delay(self, try_number: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2 ** max(0, try_number - 1))


def retry_delay(exc: BaseException, try_number: int, backoff: Backoff) -> float | None:
    """Seconds to wait before trying again after `exc` ended try `try_number`; None: do not retry
    (the error is the request's, not the moment's)."""
    if isinstance(exc, InvalidSelection | HistoryUnavailable):
        return None
    if isinstance(exc, CollectionFailed):
        delays = [retry_delay(failure, try_number, backoff) for failure in exc.failures]
        waits = [d for d in delays if d is not None]
        return max(waits) if waits else None
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return max(exc.retry_after, 1.0)
    if isinstance(exc, ApiError) and exc.status is not None and 400 <= exc.status < 500:
        return backoff.delay(try_number) if exc.status in RETRYABLE_4XX else None
    return backoff.delay(try_number)
