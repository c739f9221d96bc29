"""The stream job's driver: raw JSON -> bronze -> silver (+ quarantine) -> gold, in one process.

The driver creates the tables (`lakehouse.spark.table_setup`), names them in the Hive metastore when
the session has one (`lakehouse.spark.metastore`), moves a lake written by the
two-query versions onto the one query once (`lakehouse.spark.migration`), starts the query
(`lakehouse.spark.queries`), and between micro-batches appends their progress to
ops.stream_progress and brings gold up to date with silver (`lakehouse.spark.gold_refresh`,
every `--gold-every-seconds`, and once more when the query ends). It stops the query gracefully on
request (`lakehouse.spark.gate`) or when its lease is lost.

Checkpoints
-----------
The query keeps its checkpoint under `<lake>/_checkpoints/<query>` (configurable), in the same
store as the tables: it must outlive the driver and any machine it ran on, and its offsets only
make sense together with the table versions they produced. On s3a, Spark's default checkpoint
file manager writes a temporary object and renames it; S3A implements rename as copy + delete,
so each metadata write costs a PUT, a COPY and a DELETE, and the rename is not atomic. That is
still correct here because exactly one driver writes a checkpoint (the lease) and each object is
small: a copy of one small object is itself atomic on S3. A driver killed mid-write leaves its
temporary object behind; Spark never reads it, but refuses to start a query's first batch over a
non-empty `offsets/` folder, so each start first deletes such leftovers
(`lakehouse.spark.queries.clear_unfinished_checkpoint_writes`). Spark's
`AbortableStreamBasedCheckpointFileManager` (module spark-hadoop-cloud) writes the final object
directly and aborts the upload on failure, which saves the copy; it needs the
`org.apache.spark:spark-hadoop-cloud_2.13` jar (not bundled with pyspark) and is enabled with
`--conf spark.sql.streaming.checkpointFileManagerClass=org.apache.spark.internal.io.cloud.
AbortableStreamBasedCheckpointFileManager`; it is an option, not the default, to keep the jar set
small. Checkpoints on a local disk would be faster but die with the container that ran the
driver (compose) and cannot follow a driver to another machine.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from lakehouse import tables
from lakehouse.spark.gold_refresh import GOLD_WRITES_AT_ONCE, GoldRefresh
from lakehouse.spark.maintenance import Maintenance
from lakehouse.spark.metastore import has_metastore, register_tables
from lakehouse.spark.migration import migrate_two_hop_checkpoints
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.progress import ProgressRecorder
from lakehouse.spark.queries import WRITES_AT_ONCE, Runtime, start_medallion
from lakehouse.spark.session import configure_session, writer_sessions
from lakehouse.spark.table_setup import ensure_tables
from lakehouse.tables import DRIVER

log = logging.getLogger(__name__)

COMMIT_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
PROGRESS_WAIT_SECONDS = 30.0
"""How long a driver that stops waits for the listener to hear of its query's last batches."""


class Driver:
    """Starts the queries, records progress, stops gracefully on request; one per process."""

    def __init__(
        self,
        spark: SparkSession,
        options: StreamOptions,
        stop_requested: Callable[[], bool] = lambda: False,
        lease_lost: Callable[[], str | None] = lambda: None,
        fence: Callable[[], None] = lambda: None,
        writer: str | None = None,
    ) -> None:
        self.spark = spark
        self.options = options
        self.runtime = Runtime(options, fence=fence)
        self.writer = writer
        self.recorder = ProgressRecorder(self.runtime.stats)
        self.stop_requested = stop_requested
        self.lease_lost = lease_lost
        self.queries: list[StreamingQuery] = []
        self.gold = GoldRefresh(self.runtime, sessions=[], report=self.recorder.record_refresh)
        self._maintenance = Maintenance(tables.written_by(DRIVER), options)

    def run(self) -> str:
        """Run until done (`once`), stopped (returns "stopped") or failed (raises)."""
        configure_session(self.spark, self.options)
        self.runtime.writer_sessions = writer_sessions(self.spark, self.options, WRITES_AT_ONCE)
        self.gold.sessions = writer_sessions(self.spark, self.options, GOLD_WRITES_AT_ONCE)
        if self.writer is not None:
            # Every commit names the lease holder that made it (DESCRIBE HISTORY's userMetadata).
            for session in (self.spark, *self.runtime.writer_sessions, *self.gold.sessions):
                session.conf.set(COMMIT_METADATA, json.dumps({"lease_owner": self.writer}))
        ensure_tables(self.spark, self.options)
        if has_metastore(self.spark):
            register_tables(self.spark, self.options)
        if self.options.progress:
            self.spark.streams.addListener(self.recorder)
        try:
            migrate_two_hop_checkpoints(self.spark, self.runtime)
            if self.options.once:
                query = start_medallion(self.spark, self.runtime)
                self.queries.append(query)
                query.awaitTermination()
                self.refresh_gold()
                return "done"
            return self._run_continuously()
        finally:
            self.stop_all()
            if self.options.progress:
                if not self.lease_lost():
                    # The last batches' progress reaches the listener after the query stopped.
                    for query in self.queries:
                        self.recorder.wait_for_end(str(query.id), PROGRESS_WAIT_SECONDS)
                self.record_progress()
                self.spark.streams.removeListener(self.recorder)

    def _run_continuously(self) -> str:
        self.queries = [start_medallion(self.spark, self.runtime)]
        while True:
            lost = self.lease_lost()
            if lost:
                raise LeaseLostError(lost)
            for query in self.queries:
                if not query.isActive:
                    error = query.exception()
                    if error is not None:
                        raise RuntimeError(f"query {query.name} failed: {error}")
                    raise RuntimeError(f"query {query.name} stopped unexpectedly")
            if self.stop_requested():
                log.info("stop requested: stopping after the current micro-batches")
                self.stop_gracefully()
                self.refresh_gold()
                return "stopped"
            self.record_progress()
            if self.gold.due(batch_running=self.runtime.gate.any_running()):
                self.refresh_gold()
            try:
                self.spark.streams.awaitAnyTermination(max(1, round(self.options.poll_seconds)))
            except Exception:
                if self.lease_lost():
                    raise LeaseLostError(str(self.lease_lost())) from None
                raise
            self.spark.streams.resetTerminated()

    def stop_gracefully(self) -> None:
        """Let running micro-batches finish and reach the checkpoint, refuse new ones, then stop
        every query."""
        gate = self.runtime.gate
        gate.stopping.set()
        deadline = time.monotonic() + self.options.stop_timeout_seconds
        for query in self.queries:
            while (
                query.isActive
                and not between_batches(query, gate.running(query.name))
                and time.monotonic() < deadline
            ):
                time.sleep(0.1)
            query.stop()

    def refresh_gold(self) -> None:
        """A gold refresh (`lakehouse.spark.gold_refresh`); none once the lease is lost, and a
        refresh that fails because the lease was lost meanwhile (a write the fence refused)
        ends the driver as having lost it."""
        lost = self.lease_lost()
        if lost:
            raise LeaseLostError(lost)
        try:
            self.gold.run(self.spark)
        except Exception:
            if self.lease_lost():
                raise LeaseLostError(str(self.lease_lost())) from None
            raise

    def stop_all(self) -> None:
        self.runtime.gate.stopping.set()
        for query in self.queries:
            try:
                query.stop()
            except Exception:
                log.exception("could not stop %s", query.name)

    def record_progress(self) -> None:
        if not self.options.progress:
            return
        rows = self.recorder.rows()
        if not rows:
            return
        location = self.options.table(tables.OPS_STREAM_PROGRESS)
        if self.lease_lost():
            return  # another driver may own the lake now: its tables are not ours to write
        try:
            self.runtime.fence()
            frame = self.spark.createDataFrame(rows, tables.OPS_STREAM_PROGRESS.schema)
            frame.write.format("delta").mode("append").save(location)
            self._maintenance.run_if_due(self.spark)
        except Exception:
            log.exception("could not append %d progress rows to %s", len(rows), location)


def between_batches(query: StreamingQuery, running: bool) -> bool:
    """Whether `query` is between micro-batches, its last one in the checkpoint. A batch's
    function returning (`running` turns False) is not the end of it: Spark then writes the batch
    to the commit log and reports its progress, and marks the trigger inactive only after that."""
    return not running and not query.status["isTriggerActive"]


class LeaseLostError(RuntimeError):
    pass
