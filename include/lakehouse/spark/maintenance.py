"""OPTIMIZE and VACUUM on a schedule, run by each table's own writer between micro-batches.

The writer of each table runs OPTIMIZE every `optimize_minutes`, which bounds the number of live
files (Delta's auto-compaction is off unless `compact_min_files` asks for it, see
`lakehouse.spark.sinks.AUTO_COMPACT`), and VACUUM (keeping `vacuum_retain_hours`) every
`vacuum_minutes`, after a micro-batch and in the same thread: maintenance never runs concurrently
with a write of the same table, and the single-writer rule holds. OPTIMIZE commits are
dataChange=false, so the stream reading bronze ignores them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

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

    def run_if_due(self, spark: SparkSession) -> None:
        now = time.monotonic()
        if self.options.optimize_minutes > 0 and now >= self._next_optimize:
            for location in self.locations:
                started = time.monotonic()
                sinks.optimize(spark, location)
                log.info("OPTIMIZE %s took %.1f s", location, time.monotonic() - started)
            self._next_optimize = now + self.options.optimize_minutes * 60
        if self.options.vacuum_minutes > 0 and now >= self._next_vacuum:
            for location in self.locations:
                started = time.monotonic()
                sinks.vacuum(spark, location, self.options.vacuum_retain_hours)
                log.info("VACUUM %s took %.1f s", location, time.monotonic() - started)
            self._next_vacuum = now + self.options.vacuum_minutes * 60
