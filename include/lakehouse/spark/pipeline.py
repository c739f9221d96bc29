"""The streaming medallion: raw JSON -> bronze -> silver (+ quarantine) -> gold, in one driver.

Queries (names as in the Spark UI and in ops.stream_progress)
-------------------------------------------------------------
- `raw_to_bronze`: the raw zone's JSON files (explicit envelope schema, PERMISSIVE, the unreadable
  line kept in `_corrupt_record`) -> append to bronze.raw_events.
- `bronze_to_silver`: bronze's Delta stream -> parse every envelope (`lakehouse.spark.silver`) ->
  append silver.quarantine, MERGE silver.coin_prices / coin_markets / sensor_readings / devices,
  then recompute the gold rows those changes affect (`lakehouse.spark.gold`) and MERGE them.
Every table has exactly one writer (one foreachBatch); every write carries the Delta transaction
id (app id `<query>:<table>`, version = batch id), so a replayed batch writes nothing twice.

Checkpoints
-----------
Each query keeps its checkpoint under `<lake>/_checkpoints/<query>` (configurable), in the same
store as the tables: it must outlive the driver and any machine it ran on, and its offsets only
make sense together with the table versions they produced. On s3a, Spark's default checkpoint
file manager writes a temporary object and renames it; S3A implements rename as copy + delete,
so each metadata write costs a PUT, a COPY and a DELETE, and the rename is not atomic. That is
still correct here because exactly one driver writes a checkpoint (the lease) and each object is
small: a copy of one small object is itself atomic on S3, and a leftover temporary object (after a
SIGKILL between copy and delete) is ignored by Spark. Spark's
`AbortableStreamBasedCheckpointFileManager` (module spark-hadoop-cloud) writes the final object
directly and aborts the upload on failure, which saves the copy; it needs the
`org.apache.spark:spark-hadoop-cloud_2.13` jar (not bundled with pyspark) and is enabled with
`--conf spark.sql.streaming.checkpointFileManagerClass=org.apache.spark.internal.io.cloud.
AbortableStreamBasedCheckpointFileManager`; it is an option, not the default, to keep the jar set
small. Checkpoints on a local disk would be faster but die with the container that ran the
driver (compose) and cannot follow a driver to another machine.

Maintenance
-----------
Tables are created with `delta.autoOptimize.autoCompact`: after a commit that leaves
`compact_min_files` small files in a partition, Delta compacts them in the writing thread, so the
number of live files stays bounded without a schedule. On top, the writer of each table runs
OPTIMIZE every `optimize_minutes` and VACUUM (keeping `vacuum_retain_hours`) every
`vacuum_minutes`, after a micro-batch and in the same thread: maintenance never runs concurrently
with a write of the same table, and the single-writer rule holds. OPTIMIZE commits are
dataChange=false, so the stream reading bronze ignores them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery, StreamingQueryListener

from lakehouse import tables
from lakehouse.spark import gold, schemas, silver, sinks, transforms
from lakehouse.spark.sinks import Txn

log = logging.getLogger(__name__)

QUERY_BRONZE = "raw_to_bronze"
QUERY_SILVER = "bronze_to_silver"
QUERIES = (QUERY_BRONZE, QUERY_SILVER)

T = TypeVar("T")


@dataclass(frozen=True)
class StreamOptions:
    lake_uri: str
    """s3a://<bucket> (or any Hadoop URI: tests use a local folder)."""
    checkpoint_uri: str
    trigger_seconds: float = 5.0
    max_files_per_trigger: int = 1000
    once: bool = False
    optimize_minutes: float = 60.0
    """OPTIMIZE every table this often (0: never; auto-compaction still runs)."""
    vacuum_minutes: float = 360.0
    """VACUUM every table this often (0: never)."""
    vacuum_retain_hours: float = 48.0
    compact_min_files: int = 50
    """Auto-compaction threshold: small files in a partition before a commit compacts them."""
    log_retention_hours: float = 48.0
    """delta.logRetentionDuration: commit files older than this go at the next log checkpoint."""
    poll_seconds: float = 2.0
    """How often the driver checks for a stop request, a lost lease and records progress."""
    stop_timeout_seconds: float = 300.0
    progress: bool = True
    txn_suffix: str = ""
    """Appended to every Delta txnAppId; change it when checkpoints are deleted."""

    def table(self, ref: tables.TableRef) -> str:
        return f"{self.lake_uri.rstrip('/')}/{ref.path}"

    def checkpoint(self, query_name: str) -> str:
        return f"{self.checkpoint_uri.rstrip('/')}/{query_name}"

    def txn(self, query: str, ref: tables.TableRef, batch_id: int) -> Txn:
        return Txn(app_id=f"{query}{self.txn_suffix}:{ref.qualified_name}", version=batch_id)


# ---- shared state between the query threads and the driver's loop -----------------------------


class StopRequested(RuntimeError):
    """Raised by a micro-batch that starts after a stop was requested: it writes nothing."""


class BatchGate:
    """Lets the driver stop a query between micro-batches, never inside one."""

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


class Maintenance:
    """OPTIMIZE and VACUUM of one writer's tables on a schedule, run by that writer."""

    def __init__(self, locations: Iterable[str], options: StreamOptions) -> None:
        now = time.monotonic()
        self.locations = list(locations)
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


class ProgressRecorder(StreamingQueryListener):
    """Collects each query's progress; the driver's loop appends them to ops.stream_progress."""

    def __init__(self, stats: BatchStats) -> None:
        self.stats = stats
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()

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

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        log.info("query %s terminated: %s", event.id, event.exception or "stopped")

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


# ---- sources ----------------------------------------------------------------------------------


def _triggered(writer: DataStreamWriter, options: StreamOptions) -> DataStreamWriter:
    if options.once:
        return writer.trigger(availableNow=True)
    return writer.trigger(processingTime=f"{options.trigger_seconds} seconds")


def read_raw(spark: SparkSession, options: StreamOptions, *, stream: bool = True) -> DataFrame:
    """The raw envelopes with the explicit schema: a stream, or (`stream=False`) one batch."""
    reader = spark.readStream if stream else spark.read
    configured = (
        reader.format("json")
        .schema(schemas.ENVELOPE)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", schemas.CORRUPT_RECORD)
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.json")
    )
    if stream:
        configured = configured.option("maxFilesPerTrigger", options.max_files_per_trigger)
    return configured.load(f"{options.lake_uri.rstrip('/')}/raw/").select(
        "*", F.col("_metadata.file_path").alias("source_file")
    )


# ---- writers ----------------------------------------------------------------------------------


@dataclass
class Runtime:
    """What the micro-batch functions share with the driver's loop."""

    options: StreamOptions
    gate: BatchGate = field(default_factory=BatchGate)
    stats: BatchStats = field(default_factory=BatchStats)
    writer_sessions: list[SparkSession] = field(default_factory=list)
    """One session per write that runs at once (see `side_by_side`); set by the Driver."""


def _newest(df: DataFrame, column: str = "fetched_at") -> tuple[int, Any]:
    row = df.agg(F.count(F.lit(1)).alias("n"), F.max(column).alias("newest")).first()
    return (0, None) if row is None else (int(row["n"]), row["newest"])


def _guarded(
    runtime: Runtime, query: str, body: Callable[[DataFrame, int], None]
) -> Callable[[DataFrame, int], None]:
    def run(batch: DataFrame, batch_id: int) -> None:
        runtime.gate.enter(query)
        try:
            batch.sparkSession.sparkContext.setJobDescription(f"{query} batch {batch_id}")
            body(batch, batch_id)
        finally:
            runtime.gate.leave(query)

    return run


def start_raw_to_bronze(spark: SparkSession, runtime: Runtime) -> StreamingQuery:
    options = runtime.options
    location = options.table(tables.BRONZE_RAW_EVENTS)
    maintenance = Maintenance([location], options)

    def write(batch: DataFrame, batch_id: int) -> None:
        bronze = transforms.to_bronze(
            batch, source_file=F.col("source_file"), ingested_at=F.current_timestamp()
        ).persist()
        try:
            started = time.monotonic()
            rows, newest = _newest(bronze)
            if rows:
                sinks.append_batch(
                    bronze, location, options.txn(QUERY_BRONZE, tables.BRONZE_RAW_EVENTS, batch_id)
                )
            runtime.stats.record(
                QUERY_BRONZE,
                batch_id,
                tables.BRONZE_RAW_EVENTS.qualified_name,
                rows,
                newest,
                time.monotonic() - started,
            )
        finally:
            bronze.unpersist()
        maintenance.run_if_due(batch.sparkSession)

    writer = (
        read_raw(spark, options)
        .writeStream.queryName(QUERY_BRONZE)
        .foreachBatch(_guarded(runtime, QUERY_BRONZE, write))
        .option("checkpointLocation", options.checkpoint(QUERY_BRONZE))
    )
    return _triggered(writer, options).start()


@dataclass(frozen=True)
class SilverTarget:
    ref: tables.TableRef
    keys: tuple[str, ...]
    keep_existing: tuple[str, ...] = ()


SILVER_TARGETS = {
    "coin_prices": SilverTarget(tables.SILVER_COIN_PRICES, schemas.SILVER_COIN_PRICES_KEYS),
    "coin_markets": SilverTarget(tables.SILVER_COIN_MARKETS, schemas.SILVER_COIN_MARKETS_KEYS),
    "sensor_readings": SilverTarget(
        tables.SILVER_SENSOR_READINGS,
        schemas.SILVER_SENSOR_READINGS_KEYS,
        schemas.SENSOR_DESCRIPTIVE,
    ),
    "devices": SilverTarget(
        tables.SILVER_DEVICES, schemas.SILVER_DEVICES_KEYS, schemas.DEVICE_DESCRIPTIVE
    ),
}


def start_bronze_to_silver(spark: SparkSession, runtime: Runtime) -> StreamingQuery:
    options = runtime.options
    owned = [options.table(ref) for ref in (*tables.SILVER_TABLES, *tables.GOLD_TABLES)]
    maintenance = Maintenance(owned, options)

    def write(batch: DataFrame, batch_id: int) -> None:
        session = batch.sparkSession
        batch.persist()
        now = F.lit(datetime.now(UTC))
        parsed = silver.parse_bronze(batch, quarantined_at=now)
        written: list[tuple[str, DataFrame, int]] = []
        try:
            # Silver and quarantine side by side, then the gold rows those changes affect.
            writes: list[Callable[[SparkSession], tuple[str, DataFrame, int]]] = [
                partial(_merge_silver, runtime, batch_id, attribute, getattr(parsed, attribute))
                for attribute in SILVER_TARGETS
            ]
            writes.append(partial(_append_quarantine, runtime, batch_id, parsed.quarantine))
            written = side_by_side(runtime.writer_sessions, writes)
            changed = {attribute: frame for attribute, frame, rows in written if rows}
            _refresh_gold(session, runtime, batch_id, changed, now)
        finally:
            for _, frame, _ in written:
                frame.unpersist()
            batch.unpersist()
        maintenance.run_if_due(session)

    bronze = (
        spark.readStream.format("delta")
        .option("maxFilesPerTrigger", options.max_files_per_trigger)
        .load(options.table(tables.BRONZE_RAW_EVENTS))
    )
    writer = (
        bronze.writeStream.queryName(QUERY_SILVER)
        .foreachBatch(_guarded(runtime, QUERY_SILVER, write))
        .option("checkpointLocation", options.checkpoint(QUERY_SILVER))
    )
    return _triggered(writer, options).start()


def side_by_side(
    sessions: Sequence[SparkSession], writes: Sequence[Callable[[SparkSession], T]]
) -> list[T]:
    """Run independent table writes at once, each on a session of its own; results in order.

    MERGE takes its Delta transaction id from the session conf, so two writes running at the same
    time must never share a session. A failed write fails the micro-batch once every write has
    ended; its replay skips the writes that committed (their transaction ids are recorded).
    """
    if len(writes) > len(sessions):
        raise ValueError(f"{len(writes)} writes at once need as many sessions, not {len(sessions)}")
    if len(writes) == 1:
        return [writes[0](sessions[0])]
    with ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="table-write") as pool:
        paired = zip(writes, sessions[: len(writes)], strict=True)
        futures = [pool.submit(write, session) for write, session in paired]
        return [future.result() for future in futures]


def _merge_silver(
    runtime: Runtime, batch_id: int, attribute: str, rows: DataFrame, session: SparkSession
) -> tuple[str, DataFrame, int]:
    """MERGE one silver table; the persisted rows (the changes) and their count for gold."""
    options = runtime.options
    target = SILVER_TARGETS[attribute]
    started = time.monotonic()
    frame = rows.persist()
    count, newest = _newest(frame)
    if count:
        sinks.merge_batch(
            frame,
            options.table(target.ref),
            target.keys,
            schemas.SILVER_ORDER,
            txn=options.txn(QUERY_SILVER, target.ref, batch_id),
            keep_existing=target.keep_existing,
            session=session,
        )
    runtime.stats.record(
        QUERY_SILVER,
        batch_id,
        target.ref.qualified_name,
        count,
        newest,
        time.monotonic() - started,
    )
    return attribute, frame, count


def _append_quarantine(
    runtime: Runtime, batch_id: int, rows: DataFrame, session: SparkSession
) -> tuple[str, DataFrame, int]:
    options = runtime.options
    ref = tables.SILVER_QUARANTINE
    started = time.monotonic()
    frame = rows.persist()
    count, newest = _newest(frame)
    if count:
        sinks.append_batch(frame, options.table(ref), options.txn(QUERY_SILVER, ref, batch_id))
    runtime.stats.record(
        QUERY_SILVER, batch_id, ref.qualified_name, count, newest, time.monotonic() - started
    )
    return "quarantine", frame, count


def _silver_slice(
    session: SparkSession,
    location: str,
    changed: DataFrame,
    ts: str,
    margin: timedelta,
) -> DataFrame:
    """The silver table restricted to the changed rows' time range +- margin (file skipping)."""
    bounds = changed.agg(F.min(ts).alias("lo"), F.max(ts).alias("hi")).first()
    table = session.read.format("delta").load(location)
    if bounds is None or bounds["lo"] is None:
        return table
    return table.where(
        F.col(ts).between(F.lit(bounds["lo"] - margin), F.lit(bounds["hi"] + margin))
    )


@dataclass(frozen=True)
class GoldFeed:
    """The gold tables recomputed from one silver table's changed rows."""

    silver: tables.TableRef
    keys: tuple[str, ...]
    ts: str
    window: timedelta
    """How far before a changed point the gold functions look (their trailing window)."""
    outputs: tuple[tuple[tables.TableRef, tuple[str, ...], gold.GoldFunction], ...]


GOLD_FEEDS = {
    "coin_prices": GoldFeed(
        tables.SILVER_COIN_PRICES, schemas.SILVER_COIN_PRICES_KEYS, "price_ts", gold.PRICE_WINDOW,
        (
            (tables.GOLD_COIN_OHLC, schemas.GOLD_COIN_OHLC_KEYS, gold.coin_ohlc),
            (tables.GOLD_PRICE_ANOMALIES, schemas.GOLD_PRICE_ANOMALIES_KEYS, gold.price_anomalies),
        ),
    ),
    "sensor_readings": GoldFeed(
        tables.SILVER_SENSOR_READINGS, schemas.SILVER_SENSOR_READINGS_KEYS, "reading_ts",
        gold.SENSOR_WINDOW,
        (
            (tables.GOLD_SENSOR_HOURLY, schemas.GOLD_SENSOR_HOURLY_KEYS, gold.sensor_hourly),
            (tables.GOLD_SENSOR_ANOMALIES, schemas.GOLD_SENSOR_ANOMALIES_KEYS,
             gold.sensor_anomalies),
        ),
    ),
}  # fmt: skip


def _refresh_gold(
    session: SparkSession,
    runtime: Runtime,
    batch_id: int,
    changed: Mapping[str, DataFrame],
    now: Any,
) -> None:
    options = runtime.options
    for attribute, feed in GOLD_FEEDS.items():
        frame = changed.get(attribute)
        if frame is None:
            continue  # nothing changed in this silver table
        keys = frame.select(*feed.keys)
        # Whole hours (bars, hourly stats) and trailing windows around the changed points.
        margin = max(feed.window, timedelta(hours=1))
        source = _silver_slice(session, options.table(feed.silver), keys, feed.ts, margin)
        side_by_side(
            runtime.writer_sessions,
            [
                partial(_merge_gold, runtime, batch_id, ref, gold_keys, compute(source, keys, now))
                for ref, gold_keys, compute in feed.outputs
            ],
        )


def _merge_gold(
    runtime: Runtime,
    batch_id: int,
    ref: tables.TableRef,
    keys: tuple[str, ...],
    rows: DataFrame,
    session: SparkSession,
) -> None:
    options = runtime.options
    started = time.monotonic()
    frame = rows.persist()
    try:
        count = frame.count()
        if count:
            sinks.merge_batch(
                frame,
                options.table(ref),
                keys,
                None,
                txn=options.txn(QUERY_SILVER, ref, batch_id),
                session=session,
            )
        runtime.stats.record(
            QUERY_SILVER, batch_id, ref.qualified_name, count, None, time.monotonic() - started
        )
    finally:
        frame.unpersist()


# ---- tables -----------------------------------------------------------------------------------

TABLE_SCHEMAS: dict[tables.TableRef, tuple[Any, tuple[str, ...]]] = {
    tables.BRONZE_RAW_EVENTS: (schemas.BRONZE_RAW_EVENTS, schemas.BRONZE_PARTITIONS),
    tables.SILVER_COIN_PRICES: (schemas.SILVER_COIN_PRICES, ()),
    tables.SILVER_COIN_MARKETS: (schemas.SILVER_COIN_MARKETS, ()),
    tables.SILVER_SENSOR_READINGS: (schemas.SILVER_SENSOR_READINGS, ()),
    tables.SILVER_DEVICES: (schemas.SILVER_DEVICES, ()),
    tables.SILVER_QUARANTINE: (schemas.QUARANTINE, ()),
    tables.GOLD_COIN_OHLC: (schemas.GOLD_COIN_OHLC, ()),
    tables.GOLD_SENSOR_HOURLY: (schemas.GOLD_SENSOR_HOURLY, ()),
    tables.GOLD_PRICE_ANOMALIES: (schemas.GOLD_PRICE_ANOMALIES, ()),
    tables.GOLD_SENSOR_ANOMALIES: (schemas.GOLD_SENSOR_ANOMALIES, ()),
    tables.OPS_STREAM_PROGRESS: (schemas.STREAM_PROGRESS, ()),
}


def table_properties(options: StreamOptions) -> dict[str, str]:
    """Auto-compaction, and how long removed files and commit files stay (in whole minutes).

    Delta requires logRetentionDuration >= deletedFileRetentionDuration; with one commit per
    micro-batch and table, the log retention bounds _delta_log (json + crc per commit, a
    checkpoint every 10 commits) and time travel alike.
    """
    deleted = max(1, round(options.vacuum_retain_hours * 60))
    kept_log = max(deleted, round(options.log_retention_hours * 60))
    return {
        **sinks.TABLE_PROPERTIES,
        "delta.deletedFileRetentionDuration": f"interval {deleted} minutes",
        "delta.logRetentionDuration": f"interval {kept_log} minutes",
    }


def ensure_tables(spark: SparkSession, options: StreamOptions) -> None:
    started = time.monotonic()
    # Independent tables: checking or creating them side by side halves the start-up time.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="ensure-table") as pool:
        futures = [
            pool.submit(
                sinks.ensure_table,
                spark,
                options.table(ref),
                schema,
                partitions,
                table_properties(options),
            )
            for ref, (schema, partitions) in TABLE_SCHEMAS.items()
        ]
        for future in futures:
            future.result()
    log.info("%d tables ready in %.1f s", len(TABLE_SCHEMAS), time.monotonic() - started)


def configure_session(spark: SparkSession, options: StreamOptions) -> None:
    # Delta rebuilds a table's state with this many shuffle partitions (default 50): the lake's
    # tables are small and compacted, so the cluster's parallelism is plenty and far faster.
    spark.conf.set(
        "spark.databricks.delta.snapshotPartitions",
        str(max(1, spark.sparkContext.defaultParallelism)),
    )
    spark.conf.set("spark.databricks.delta.autoCompact.minNumFiles", str(options.compact_min_files))
    if options.vacuum_retain_hours < 168:
        # Delta refuses a retention below its default (7 days) unless told this is deliberate.
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")


WRITES_AT_ONCE = len(SILVER_TARGETS) + 1
"""The silver tables and the quarantine, written side by side in each micro-batch."""


def writer_sessions(spark: SparkSession, options: StreamOptions) -> list[SparkSession]:
    """Sessions for the writes of one micro-batch: the same context, each its own SQL conf."""
    sessions = [spark.newSession() for _ in range(WRITES_AT_ONCE)]
    for session in sessions:
        configure_session(session, options)
    return sessions


# ---- the driver's loop ------------------------------------------------------------------------


class Driver:
    """Starts the queries, records progress, stops gracefully on request; one per process."""

    def __init__(
        self,
        spark: SparkSession,
        options: StreamOptions,
        stop_requested: Callable[[], bool] = lambda: False,
        lease_lost: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.spark = spark
        self.options = options
        self.runtime = Runtime(options)
        self.recorder = ProgressRecorder(self.runtime.stats)
        self.stop_requested = stop_requested
        self.lease_lost = lease_lost
        self.queries: list[StreamingQuery] = []
        self._progress_maintenance = Maintenance(
            [options.table(tables.OPS_STREAM_PROGRESS)], options
        )

    def run(self) -> str:
        """Run until done (`once`), stopped (returns "stopped") or failed (raises)."""
        configure_session(self.spark, self.options)
        self.runtime.writer_sessions = writer_sessions(self.spark, self.options)
        ensure_tables(self.spark, self.options)
        if self.options.progress:
            self.spark.streams.addListener(self.recorder)
        try:
            if self.options.once:
                for start in (start_raw_to_bronze, start_bronze_to_silver):
                    query = start(self.spark, self.runtime)
                    self.queries.append(query)
                    query.awaitTermination()
                self.record_progress()
                return "done"
            return self._run_continuously()
        finally:
            self.stop_all()
            if self.options.progress:
                self.record_progress()
                self.spark.streams.removeListener(self.recorder)

    def _run_continuously(self) -> str:
        self.queries = [
            start_raw_to_bronze(self.spark, self.runtime),
            start_bronze_to_silver(self.spark, self.runtime),
        ]
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
                return "stopped"
            self.record_progress()
            try:
                self.spark.streams.awaitAnyTermination(max(1, round(self.options.poll_seconds)))
            except Exception:
                if self.lease_lost():
                    raise LeaseLostError(str(self.lease_lost())) from None
                raise
            self.spark.streams.resetTerminated()

    def stop_gracefully(self) -> None:
        """Let running micro-batches finish, refuse new ones, then stop every query."""
        gate = self.runtime.gate
        gate.stopping.set()
        deadline = time.monotonic() + self.options.stop_timeout_seconds
        for query in self.queries:
            while gate.running(query.name) and time.monotonic() < deadline:
                time.sleep(0.1)
            query.stop()

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
        try:
            frame = self.spark.createDataFrame(rows, schemas.STREAM_PROGRESS)
            frame.write.format("delta").mode("append").save(location)
            self._progress_maintenance.run_if_due(self.spark)
        except Exception:
            log.exception("could not append %d progress rows to %s", len(rows), location)


class LeaseLostError(RuntimeError):
    pass
