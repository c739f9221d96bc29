"""OPTIMIZE and VACUUM on a schedule, run by each table's own writer between micro-batches.

The writer of each table runs OPTIMIZE every `optimize_minutes`, which bounds the number of live
files (Delta's auto-compaction is off unless `compact_min_files` asks for it, see
`lakehouse.spark.sinks.AUTO_COMPACT`), and VACUUM (keeping `vacuum_retain_hours`) every
`vacuum_minutes`, after a micro-batch and in the same thread: maintenance never runs concurrently
with a write of the same table, and the single-writer rule holds. A due round runs one table
after each micro-batch, not all of them after one: one query writes every table, and a round of
ten OPTIMIZEs would hold up the rows of the next batch for a minute. OPTIMIZE commits are
dataChange=false: the commit makes no rows new.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable

from pyspark.sql import SparkSession

from lakehouse.spark import sinks
from lakehouse.spark.options import StreamOptions
from lakehouse.tables import TableSpec

log = logging.getLogger(__name__)


class Maintenance:
    """OPTIMIZE and VACUUM of one writer's tables on a schedule, run by that writer."""

    def __init__(self, specs: Iterable[TableSpec], options: StreamOptions) -> None:
        now = time.monotonic()
        self.locations = [options.table(spec) for spec in specs]
        self.options = options
        self._next_optimize = now + options.optimize_minutes * 60
        self._next_vacuum = now + options.vacuum_minutes * 60
        self.pending: deque[tuple[str, str]] = deque()
        """(operation, table location) due and not run yet, in order."""

    def run_if_due(self, spark: SparkSession) -> None:
        """Queue the rounds that are due; run the next table's operation of the queue."""
        now = time.monotonic()
        options = self.options
        if options.optimize_minutes > 0 and now >= self._next_optimize:
            self._queue("OPTIMIZE")
            self._next_optimize = now + options.optimize_minutes * 60
        if options.vacuum_minutes > 0 and now >= self._next_vacuum:
            self._queue("VACUUM")
            self._next_vacuum = now + options.vacuum_minutes * 60
        if not self.pending:
            return
        operation, location = self.pending.popleft()
        started = time.monotonic()
        self._operations()[operation](spark, location)
        log.info("%s %s took %.1f s", operation, location, time.monotonic() - started)

    def _queue(self, operation: str) -> None:
        queued = set(self.pending)
        self.pending.extend(
            (operation, location)
            for location in self.locations
            if (operation, location) not in queued
        )

    def _operations(self) -> dict[str, Callable[[SparkSession, str], None]]:
        retain = self.options.vacuum_retain_hours
        return {
            "OPTIMIZE": sinks.optimize,
            "VACUUM": lambda spark, location: sinks.vacuum(spark, location, retain),
        }
