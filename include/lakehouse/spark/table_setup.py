"""Every table of `lakehouse.tables` created (or brought up to date) before the first write."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import SparkSession

from lakehouse import tables
from lakehouse.spark import sinks
from lakehouse.spark.options import StreamOptions

log = logging.getLogger(__name__)


def table_properties(options: StreamOptions) -> dict[str, str]:
    """Auto-compaction (on only with `compact_min_files`), and how long removed files and commit
    files stay (in whole minutes).

    Delta requires logRetentionDuration >= deletedFileRetentionDuration; with one commit per
    micro-batch and table, the log retention bounds _delta_log (json + crc per commit, a
    checkpoint every 10 commits) and time travel alike.
    """
    deleted = max(1, round(options.vacuum_retain_hours * 60))
    kept_log = max(deleted, round(options.log_retention_hours * 60))
    return {
        sinks.AUTO_COMPACT: str(options.compact_min_files > 0).lower(),
        "delta.deletedFileRetentionDuration": f"interval {deleted} minutes",
        "delta.logRetentionDuration": f"interval {kept_log} minutes",
    }


def ensure_tables(spark: SparkSession, options: StreamOptions) -> None:
    started = time.monotonic()
    common = table_properties(options)
    # Independent tables: checking or creating them side by side halves the start-up time.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="ensure-table") as pool:
        futures = [
            pool.submit(
                sinks.ensure_table,
                spark,
                options.table(spec),
                spec.schema,
                spec.partitions,
                {**common, **spec.properties},
                spec.fill,
            )
            for spec in tables.ALL_TABLES
        ]
        for future in futures:
            future.result()
    log.info("%d tables ready in %.1f s", len(tables.ALL_TABLES), time.monotonic() - started)
