"""The batch gate: lets the driver stop a query between micro-batches, never inside one."""

from __future__ import annotations

import threading


class StopRequested(RuntimeError):
    """Raised by a micro-batch that starts after a stop was requested: it writes nothing."""


class BatchGate:
    """Which queries are inside a micro-batch, and whether new micro-batches may start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self.stopping = threading.Event()

    def enter(self, query: str) -> None:
        with self._lock:
            if self.stopping.is_set():
                raise StopRequested(f"{query}: stop requested before this micro-batch")
            self._running.add(query)

    def leave(self, query: str) -> None:
        with self._lock:
            self._running.discard(query)

    def running(self, query: str) -> bool:
        with self._lock:
            return query in self._running

    def any_running(self) -> bool:
        with self._lock:
            return bool(self._running)
