"""The batch gate: lets the driver stop a query between micro-batches, never inside one."""

from __future__ import annotations

import threading


class StopRequested(RuntimeError):
    """Raised by a micro-batch that starts after a stop was requested: it writes nothing."""


class BatchGate:
    """Which queries are inside a micro-batch, and whether new micro-batches may start."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running: set[str] = set()
        self._stopping = threading.Event()

    def enter(self, query: str, *, yield_to: str | None = None, timeout: float = 60.0) -> None:
        """Mark `query` inside a micro-batch; with `yield_to`, first wait (at most `timeout`
        seconds) while that query is inside one.

        On 2 cores, a gold batch running beside the medallion's doubled the medallion's batch
        (12 s to 21-37 s): gold waits for silver's batch to end instead. The timeout keeps a
        medallion that never pauses (a catch-up) from starving gold."""
        with self._changed:
            if yield_to is not None:
                self._changed.wait_for(
                    lambda: yield_to not in self._running or self._stopping.is_set(), timeout
                )
            if self._stopping.is_set():
                raise StopRequested(f"{query}: stop requested before this micro-batch")
            self._running.add(query)

    def stop(self) -> None:
        """Refuse new micro-batches from now on, and wake those waiting to enter."""
        with self._changed:
            self._stopping.set()
            self._changed.notify_all()

    def resume(self) -> None:
        """Let micro-batches start again (the gold queries' catch-up after a stop)."""
        self._stopping.clear()

    def leave(self, query: str) -> None:
        with self._changed:
            self._running.discard(query)
            self._changed.notify_all()

    def running(self, query: str) -> bool:
        with self._changed:
            return query in self._running
