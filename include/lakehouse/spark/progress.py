"""What each micro-batch did, for ops.stream_progress: Spark's progress plus the job's own figures.

Spark reports a query's progress (input rows, durations) to a listener; the micro-batch functions
add what Spark does not know (rows written, lag and write time per table) to `BatchStats`. The
driver's loop drains both, joined by (query, batch id), into rows of ops.stream_progress.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener

from lakehouse.tables import GOLD_REFRESH

log = logging.getLogger(__name__)


@dataclass
class BatchStats:
    """Rows written and lag per table of each (query, batch), for ops.stream_progress."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stats: dict[tuple[str, int], dict[str, dict[str, Any]]] = field(default_factory=dict)

    def record(
        self,
        query: str,
        batch_id: int,
        table: str,
        rows: int,
        newest: Any,
        seconds: float | None = None,
    ) -> None:
        lag = None
        if isinstance(newest, datetime):
            moment = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
            lag = max(0.0, time.time() - moment.timestamp())
        with self._lock:
            entry = self._stats.setdefault((query, batch_id), _empty_stats())
            entry["rows"][table] = rows
            if lag is not None:
                entry["lag"][table] = lag
            if seconds is not None:
                entry["durations"][f"write {table}"] = int(seconds * 1000)
        log.info(
            "%s batch %d: %s rows=%d%s%s",
            query,
            batch_id,
            table,
            rows,
            "" if seconds is None else f" in {seconds:.1f} s",
            "" if lag is None else f" lag {lag:.1f} s",
        )

    def pop(self, query: str, batch_id: int) -> dict[str, dict[str, Any]]:
        with self._lock:
            return self._stats.pop((query, batch_id), _empty_stats())


def _empty_stats() -> dict[str, dict[str, Any]]:
    return {"rows": {}, "lag": {}, "durations": {}}


class ProgressRecorder(StreamingQueryListener):
    """Collects each query's progress; the driver's loop appends them to ops.stream_progress."""

    def __init__(self, stats: BatchStats) -> None:
        self.stats = stats
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._terminated: set[str] = set()
        self._changed = threading.Condition()

    def onQueryStarted(self, event: Any) -> None:
        log.info("query %s started (id %s, run %s)", event.name, event.id, event.runId)

    def onQueryProgress(self, event: Any) -> None:
        progress = event.progress
        try:
            self.events.put(
                {
                    "query_name": progress.name,
                    "query_id": str(progress.id),
                    "run_id": str(progress.runId),
                    "batch_id": int(progress.batchId),
                    "timestamp": progress.timestamp,
                    "input_rows": int(progress.numInputRows),
                    "input_rows_per_second": _finite(progress.inputRowsPerSecond),
                    "processed_rows_per_second": _finite(progress.processedRowsPerSecond),
                    "duration_ms": {k: int(v) for k, v in dict(progress.durationMs).items()},
                }
            )
        except Exception:
            log.exception("could not record the progress of %s", getattr(progress, "name", "?"))

    def record_refresh(
        self, run_id: str, number: int, started: datetime, seconds: float, commits: int
    ) -> None:
        """A gold refresh of the driver (`lakehouse.spark.gold_refresh`), as a row of its own:
        `input_rows` is the number of silver commits it covered."""
        self.events.put(
            {
                "query_name": GOLD_REFRESH,
                "query_id": GOLD_REFRESH,
                "run_id": run_id,
                "batch_id": number,
                "timestamp": started.isoformat(),
                "input_rows": commits,
                "input_rows_per_second": None,
                "processed_rows_per_second": None,
                "duration_ms": {"triggerExecution": int(seconds * 1000)},
            }
        )

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        log.info("query %s terminated: %s", event.id, event.exception or "stopped")
        with self._changed:
            self._terminated.add(str(event.id))
            self._changed.notify_all()

    def wait_for_end(self, query_id: str, timeout: float) -> bool:
        """Wait until the listener has heard that the query ended: Spark delivers a listener's
        events in order, so then it has all of that query's progress. `awaitTermination` returns
        before the listener hears of the last batches."""
        with self._changed:
            return self._changed.wait_for(lambda: query_id in self._terminated, timeout)

    def rows(self) -> list[tuple[Any, ...]]:
        drained: list[dict[str, Any]] = []
        while True:
            try:
                drained.append(self.events.get_nowait())
            except queue.Empty:
                break
        now = datetime.now(UTC)
        out = []
        for event in drained:
            extra = self.stats.pop(event["query_name"], event["batch_id"])
            out.append(
                (
                    event["query_name"],
                    event["query_id"],
                    event["run_id"],
                    event["batch_id"],
                    _parse_time(event["timestamp"]),
                    event["input_rows"],
                    event["input_rows_per_second"],
                    event["processed_rows_per_second"],
                    {**event["duration_ms"], **extra["durations"]},
                    extra["rows"],
                    extra["lag"],
                    now,
                )
            )
        return out


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
