"""One call limiter per API, shared by every process that calls it: live and backfill runs alike.

An Airflow pool caps how many tasks of an API run at once, not how many calls they make per
minute, and Airflow's LocalExecutor runs each task in its own process. So the limit lives in a
small file per source, `<limits dir>/<source>.json` (the lakehouse home's `limits/` by default):
the start times of the calls made in the last window (60 s), read and rewritten under an exclusive
`fcntl.flock`. Before every request (a retry after a 429 too: CoinGecko counts every request
against the limit, https://www.coingecko.com/en/api/pricing), `JsonGetter` takes a slot; when the
window is full it sleeps until the oldest call leaves it. A wait longer than `max_wait` raises
`RateLimited`, so the task fails and Airflow retries it later instead of holding its pool slot.

Live runs come first: a history (backfill) run may only fill `limit - reserved` slots of a window,
so the `reserved` slots stay free for the live calls of the next minute.

The clock is the wall clock (`time.time`): monotonic clocks are not comparable across processes.
The file lives on a local disk shared by the processes (one host, or one container's volume);
`flock` is not reliable over NFS.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Protocol

log = logging.getLogger(__name__)

WINDOW_S = 60.0
"""The APIs state their limits per minute."""
MAX_WAIT_S = 90.0
"""The longest a call waits for a slot: a full window and then some; longer fails the task."""


class CallLimiter(Protocol):
    """Takes a slot for one request of `endpoint`, waiting if needed; raises RateLimited."""

    def acquire(self, endpoint: str) -> None: ...

    def for_history(self) -> CallLimiter:
        """The same limit as seen by a backfill run (which leaves the reserved slots to live)."""
        ...


class Unlimited:
    """No limit: tests, and callers that pace themselves."""

    def acquire(self, endpoint: str) -> None:
        return None

    def for_history(self) -> Unlimited:
        return self


@dataclass(frozen=True)
class SlidingWindowLimiter:
    """At most `limit` calls per `window` seconds across every process sharing `path`."""

    source: str
    path: Path
    limit: int
    window: float = WINDOW_S
    reserved: int = 0
    """Slots of each window that only live calls may take (see `for_history`)."""
    max_wait: float = MAX_WAIT_S
    history: bool = False
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.limit <= 0:
            raise ValueError(f"{self.source}: the rate limit must be positive, got {self.limit}")
        if not 0 <= self.reserved < self.limit:
            raise ValueError(
                f"{self.source}: reserved slots must be from 0 to {self.limit - 1}, "
                f"got {self.reserved}"
            )

    @property
    def ceiling(self) -> int:
        """How many calls of a window this limiter lets through: all, or all but the reserve."""
        return self.limit - self.reserved if self.history else self.limit

    def for_history(self) -> SlidingWindowLimiter:
        return replace(self, history=True)

    def acquire(self, endpoint: str) -> None:
        waited = 0.0
        while True:
            delay = self._try_take()
            if delay is None:
                if waited:
                    log.info("%s %s: waited %.1f s for a call slot", self.source, endpoint, waited)
                return
            if waited + delay > self.max_wait:
                # Imported here: http.py imports this module for JsonGetter's default.
                from lakehouse.sources.http import RateLimited

                raise RateLimited(
                    self.source,
                    endpoint,
                    delay,
                    f"the shared limit of {self.limit} calls per {self.window:.0f} s is used up "
                    f"(waited {waited:.0f} s, {delay:.0f} s more needed; at most "
                    f"{self.max_wait:.0f} s): Airflow retries later",
                )
            self.sleep(delay)
            waited += delay

    def _try_take(self) -> float | None:
        """Record a call and return None, or the seconds until a slot may be free."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                now = self.clock()
                calls = [t for t in _read(handle, self.path) if now - self.window < t <= now]
                if len(calls) < self.ceiling:
                    calls.append(now)
                    _write(handle, calls)
                    return None
                # The call that must leave the window before this one may start.
                blocking = calls[len(calls) - self.ceiling]
                return max(blocking + self.window - now, 0.01)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _read(handle: IO[str], path: Path) -> list[float]:
    handle.seek(0)
    text = handle.read()
    if not text.strip():
        return []
    try:
        calls = json.loads(text)["calls"]
        return sorted(float(t) for t in calls)
    except (ValueError, KeyError, TypeError):
        # A torn write (a process killed mid-write): start the window afresh, say so.
        log.warning("rate limit state %s was unreadable; starting a new window", path)
        return []


def _write(handle: IO[str], calls: list[float]) -> None:
    """Rewrite in place under the lock; other processes read the page cache, no fsync needed."""
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"calls": calls}))
    handle.flush()


def limit_file(limits_dir: Path, source: str) -> Path:
    """Where `source`'s shared window lives."""
    return limits_dir / f"{source}.json"
