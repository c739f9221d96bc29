"""The batch gate: lets the driver stop a query between micro-batches, never inside one.

A micro-batch ends after its function: Spark then writes the batch to the checkpoint's commit log
and reports its progress. So the gate also keeps each query's last batch whose function finished,
and a graceful stop waits until Spark's progress has reached it (`Driver.stop_gracefully`);
otherwise a stop in that gap redoes the batch on the next start (no harm to the tables, whose
commits are idempotent) and loses its progress row.
"""

from __future__ import annotations

import threading


class StopRequested(RuntimeError):
    """Raised by a micro-batch that starts after a stop was requested: it writes nothing."""


class BatchGate:
    """Which queries are inside a micro-batch, and whether new micro-batches may start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._finished: dict[str, int] = {}
        self.stopping = threading.Event()

    def enter(self, query: str) -> None:
        with self._lock:
            if self.stopping.is_set():
                raise StopRequested(f"{query}: stop requested before this micro-batch")
            self._running.add(query)

    def leave(self, query: str, finished: int | None = None) -> None:
        """Leave the batch; `finished` is its id when its function completed."""
        with self._lock:
            self._running.discard(query)
            if finished is not None:
                self._finished[query] = finished

    def last_finished(self, query: str) -> int | None:
        """The id of the query's last micro-batch whose function completed, if any."""
        with self._lock:
            return self._finished.get(query)

    def running(self, query: str) -> bool:
        with self._lock:
            return query in self._running
