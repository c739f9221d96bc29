"""The streaming query of the medallion, and how each micro-batch writes its tables.

`medallion`: the raw zone's JSON files (explicit envelope schema, PERMISSIVE, the unreadable line
kept in `_corrupt_record`) -> in one micro-batch, side by side: append to bronze.raw_events, and
parse every envelope (`lakehouse.spark.silver`) into silver.quarantine (append) and the other
silver tables (MERGE). Gold is not in the micro-batch: the driver brings it up to date with
silver's commits on a cadence of its own (`lakehouse.spark.gold_refresh`), so that gold never
holds up the next batch of silver.

One hop, not two: a second query that streamed bronze into silver added its own trigger interval,
planning and re-read of bronze to every row's way into silver. Only the tables whose endpoints are
in the batch are parsed and written (`silver.endpoints_in`).

`raw_to_bronze` and `bronze_to_silver` are the two queries of earlier versions; they run only to
drain a lake those versions wrote, once (`lakehouse.spark.migration`).

Which tables a query writes, and how (MERGE on the keys, newest by the order columns, or append),
comes from their specs in `lakehouse.tables`. Every table has exactly one writer (one
foreachBatch, or the driver's loop); every write of a micro-batch carries the Delta transaction id
(app id `<query>:<table>`, version = batch id), so a replayed batch writes nothing twice.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery

from lakehouse import tables
from lakehouse.spark import faults, landed_source, schemas, silver, sinks, transforms
from lakehouse.spark.faults import FaultPoint
from lakehouse.spark.gate import BatchGate
from lakehouse.spark.lease import HadoopStore
from lakehouse.spark.maintenance import Maintenance
from lakehouse.spark.options import RawSource, StreamOptions
from lakehouse.spark.progress import BatchStats
from lakehouse.tables import BRONZE_TO_SILVER, MEDALLION, MEDALLION_LANDED, RAW_TO_BRONZE, TableSpec

log = logging.getLogger(__name__)

WRITES_AT_ONCE = 1 + len(silver.OUTPUTS)
"""Bronze and the tables of its parsed batch, written side by side in each micro-batch."""

T = TypeVar("T")


@dataclass
class Runtime:
    """What the micro-batch functions share with the driver's loop."""

    options: StreamOptions
    gate: BatchGate = field(default_factory=BatchGate)
    stats: BatchStats = field(default_factory=BatchStats)
    writer_sessions: list[SparkSession] = field(default_factory=list)
    """One session per write that runs at once (see `side_by_side`); set by the Driver."""
    fence: Callable[[], None] = lambda: None
    """Raises unless this driver may still commit (the lease's `check_fence`); before each write."""
    silver_changed: threading.Event = field(default_factory=threading.Event)
    """Set when a micro-batch changed a silver table, for the next gold refresh
    (`lakehouse.spark.gold_refresh`)."""


def read_raw(spark: SparkSession, options: StreamOptions, *, stream: bool = True) -> DataFrame:
    """The raw envelopes with the explicit schema: a stream, or (`stream=False`) one batch. The
    stream follows the landed log when `options.raw_source` is 'landed' (`read_landed`), and
    lists `raw/` otherwise (the medallion settles 'auto' first: `medallion_source`)."""
    if stream and options.raw_source == "landed":
        return read_landed(spark, options)
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


WHOLE_BUCKET = re.compile(r"s3a://([^/]+)/?")
"""A lake at a bucket's root, where the collectors write `raw/` and the landed log."""


def read_landed(spark: SparkSession, options: StreamOptions) -> DataFrame:
    """The raw envelopes of the objects the landed log names, in landing order, as `read_raw`
    gives them (`lakehouse.spark.landed_source`)."""
    bucket = WHOLE_BUCKET.fullmatch(options.lake_uri)
    if bucket is None:
        raise ValueError(
            f"--raw-source landed reads the landed log of an S3 bucket: the lake must be "
            f"s3a://<bucket>, not {options.lake_uri!r} (use --raw-source files)"
        )
    spark.dataSource.register(landed_source.LandedDataSource)
    reader = (
        spark.readStream.format(landed_source.NAME)
        .option("bucket", bucket.group(1))
        .option("region", options.s3_region)
        .option("maxFilesPerTrigger", options.max_files_per_trigger)
    )
    if options.s3_endpoint:
        reader = reader.option("endpoint_url", options.s3_endpoint)
    return landed_source.envelopes(reader.load())


MEDALLION_QUERIES: dict[RawSource, str] = {"files": MEDALLION, "landed": MEDALLION_LANDED}
"""The medallion query of each raw source: each has a checkpoint of its own."""


def medallion_source(spark: SparkSession, options: StreamOptions) -> RawSource:
    """The source the medallion reads with: the one its checkpoint was started with, or for a
    new lake the one `options.raw_source` names ('auto': landed on a whole bucket, else files).

    A lake whose stream reads with the other source is refused, naming its checkpoint: the two
    sources' positions do not translate, and starting the other one from nothing would land every
    raw object again."""
    store = HadoopStore(spark, options.checkpoint_root)
    started = [s for s, query in MEDALLION_QUERIES.items() if store.file_names(f"{query}/offsets")]
    wanted = options.raw_source
    if wanted == "auto":
        if len(started) == 1:
            return started[0]
        wanted = "landed" if WHOLE_BUCKET.fullmatch(options.lake_uri) else "files"
    others = [source for source in started if source != wanted]
    if others:
        raise ValueError(
            f"--raw-source {options.raw_source}: this lake's stream reads its raw objects with "
            f"'{others[0]}' (checkpoint {options.checkpoint(MEDALLION_QUERIES[others[0]])}); "
            "keep that source"
        )
    return wanted


UNFINISHED_CHECKPOINT_WRITE = re.compile(r"^\..+\.tmp(\.crc)?$")
"""Spark's checkpoint file manager writes `.<name>.<uuid>.tmp`, then renames it to `<name>`."""

CHECKPOINT_LOGS = ("", "offsets", "commits")
"""The checkpoint's own folders whose files Spark writes through a temporary file."""


def clear_unfinished_checkpoint_writes(spark: SparkSession, checkpoint: str) -> list[str]:
    """Delete the temporary files of checkpoint writes that a dead driver never renamed.

    On s3a the rename is a copy and a delete, and a driver killed before the copy leaves the
    temporary object behind. Spark never reads it, but a query whose offset log holds no batch yet
    refuses to start over a non-empty `offsets/` folder (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY):
    one kill during the very first offset write would keep every later driver from starting. Only
    the lease holder calls this, so no other driver can be writing these files."""
    store = HadoopStore(spark, checkpoint)
    removed = [
        f"{folder}/{name}".lstrip("/")
        for folder in CHECKPOINT_LOGS
        for name in store.file_names(folder)
        if UNFINISHED_CHECKPOINT_WRITE.match(name)
    ]
    for key in removed:
        store.delete(key)
        log.warning("deleted an unfinished checkpoint write left by a dead driver: %s", key)
    return removed


def _start(
    spark: SparkSession,
    writer: DataStreamWriter,
    runtime: Runtime,
    query: str,
    *,
    available_now: bool = False,
) -> StreamingQuery:
    """Start `query` on its checkpoint, with the options' trigger (or `available_now`)."""
    options = runtime.options
    checkpoint = options.checkpoint(query)
    runtime.fence()
    clear_unfinished_checkpoint_writes(spark, checkpoint)
    writer = writer.queryName(query).option("checkpointLocation", checkpoint)
    if options.once or available_now:
        return writer.trigger(availableNow=True).start()
    return writer.trigger(processingTime=f"{options.trigger_seconds} seconds").start()


def _guarded(
    runtime: Runtime, query: str, body: Callable[[DataFrame, int], bool]
) -> Callable[[DataFrame, int], None]:
    """`body` (True when it committed something) inside the batch gate, then the fault point
    between the batch's last commit and Spark's checkpoint commit."""

    def run(batch: DataFrame, batch_id: int) -> None:
        runtime.gate.enter(query)
        try:
            batch.sparkSession.sparkContext.setJobDescription(f"{query} batch {batch_id}")
            if body(batch, batch_id):
                faults.reached(FaultPoint.BATCH_COMMITTED)
        finally:
            runtime.gate.leave(query)

    return run


@dataclass(frozen=True)
class Summary:
    """What one Spark job tells of a batch's rows for a table, before they are written."""

    rows: int
    newest: Any
    """The greatest `fetched_at` (None if the rows have none): the lag in the batch's stats."""
    key_ranges: sinks.KeyRanges
    """The range of each of the table's time keys, for the MERGE (`sinks.merge_batch`)."""


def summarize(rows: DataFrame, spec: TableSpec) -> Summary:
    """Count, newest fetch and key ranges of `rows` in one aggregation."""
    newest = F.max("fetched_at") if "fetched_at" in rows.columns else F.lit(None)
    bounds = [
        bound(F.unix_micros(F.col(f"`{key}`"))).alias(f"{name} {key}")
        for key in spec.time_keys
        for name, bound in (("min", F.min), ("max", F.max))
    ]
    row = rows.agg(F.count(F.lit(1)).alias("n"), newest.alias("newest"), *bounds).first()
    if row is None:
        return Summary(0, None, {})
    ranges = sinks.key_ranges(
        {key: (row[f"min {key}"], row[f"max {key}"]) for key in spec.time_keys}
    )
    return Summary(int(row["n"]), row["newest"], ranges)


def commit_rows(
    runtime: Runtime,
    query: str,
    spec: TableSpec,
    batch_id: int,
    rows: DataFrame,
    session: SparkSession | None = None,
    key_ranges: sinks.KeyRanges | None = None,
) -> None:
    """Land one micro-batch's rows in a table as its spec says: MERGE on its keys (within
    `key_ranges`), or append."""
    options = runtime.options
    txn = sinks.Txn(options.txn_app_id(query, spec), batch_id)
    runtime.fence()
    if not spec.keys:
        sinks.append_batch(rows, options.table(spec), txn)
    else:
        sinks.merge_batch(
            rows,
            options.table(spec),
            spec.keys,
            spec.order or None,
            txn=txn,
            session=session,
            key_ranges=key_ranges,
        )
    faults.reached(FaultPoint.TABLE_COMMITTED)


def start_medallion(spark: SparkSession, runtime: Runtime) -> StreamingQuery:
    source = medallion_source(spark, runtime.options)
    options = replace(runtime.options, raw_source=source)
    query = MEDALLION_QUERIES[source]
    log.info("%s reads the raw zone with the %s source", query, source)
    maintenance = Maintenance(tables.written_by(MEDALLION), options)

    def write(batch: DataFrame, batch_id: int) -> bool:
        now = F.lit(datetime.now(UTC))
        # As many partitions as cores: every table's rows are a union over the endpoints' parsers
        # (the quarantine's over a dozen branches), each branch one task per bronze partition, and
        # the source makes one partition per 64 objects (a catch-up batch of 1,000: 16).
        cores = batch.sparkSession.sparkContext.defaultParallelism
        bronze = (
            transforms.to_bronze(batch, source_file=F.col("source_file"), ingested_at=now)
            .coalesce(cores)
            .persist()
        )
        try:
            landed = _land(runtime, query, batch_id, bronze, now, append_bronze=True)
        finally:
            bronze.unpersist()
        maintenance.run_if_due(batch.sparkSession)
        return landed

    writer = read_raw(spark, options).writeStream.foreachBatch(_guarded(runtime, query, write))
    return _start(spark, writer, runtime, query)


def _land(
    runtime: Runtime,
    query: str,
    batch_id: int,
    bronze: DataFrame,
    now: Column,
    *,
    append_bronze: bool,
) -> bool:
    """One batch of (persisted) bronze rows -> bronze if `append_bronze`, silver and quarantine
    side by side; True when it committed something. Gold follows on the driver's cadence."""
    written: list[tuple[TableSpec, DataFrame, int]] = []
    try:
        parsed = silver.parse_bronze(
            bronze, quarantined_at=now, endpoints=silver.endpoints_in(bronze)
        )
        outputs = {tables.BRONZE_RAW_EVENTS: bronze} if append_bronze else {}
        written = side_by_side(
            runtime.writer_sessions,
            [
                partial(_write_table, runtime, query, batch_id, spec, rows)
                for spec, rows in {**outputs, **parsed.rows}.items()
            ],
        )
        if any(rows and spec.layer == "silver" for spec, _, rows in written):
            runtime.silver_changed.set()
    finally:
        for _, frame, _ in written:
            frame.unpersist()
    return any(rows for _, _, rows in written)


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


def _write_table(
    runtime: Runtime,
    query: str,
    batch_id: int,
    spec: TableSpec,
    rows: DataFrame,
    session: SparkSession,
) -> tuple[TableSpec, DataFrame, int]:
    """Write one bronze or silver table; the persisted rows (the changes) and their count."""
    started = time.monotonic()
    frame = rows if rows.is_cached else rows.persist()
    summary = summarize(frame, spec)
    if summary.rows:
        commit_rows(runtime, query, spec, batch_id, frame, session, summary.key_ranges)
    runtime.stats.record(
        query, batch_id, spec.qualified_name, summary.rows, summary.newest,
        time.monotonic() - started,
    )  # fmt: skip
    return spec, frame, summary.rows


# ---- the two queries of earlier versions, run once to drain a lake they wrote ------------------


def drain_raw_to_bronze(spark: SparkSession, runtime: Runtime) -> StreamingQuery:
    """The earlier `raw_to_bronze`: the available raw objects -> bronze only, then it ends."""

    def write(batch: DataFrame, batch_id: int) -> bool:
        bronze = transforms.to_bronze(
            batch, source_file=F.col("source_file"), ingested_at=F.current_timestamp()
        )
        _, frame, rows = _write_table(
            runtime, RAW_TO_BRONZE, batch_id, tables.BRONZE_RAW_EVENTS, bronze, spark
        )
        frame.unpersist()
        return rows > 0

    files = replace(runtime.options, raw_source="files")  # that version listed raw/
    writer = read_raw(spark, files).writeStream.foreachBatch(
        _guarded(runtime, RAW_TO_BRONZE, write)
    )
    return _start(spark, writer, runtime, RAW_TO_BRONZE, available_now=True)


def drain_bronze_to_silver(spark: SparkSession, runtime: Runtime) -> StreamingQuery:
    """The earlier `bronze_to_silver`: the bronze rows it had not read yet -> silver."""
    options = runtime.options

    def write(batch: DataFrame, batch_id: int) -> bool:
        batch.persist()
        try:
            now = F.lit(datetime.now(UTC))
            return _land(runtime, BRONZE_TO_SILVER, batch_id, batch, now, append_bronze=False)
        finally:
            batch.unpersist()

    bronze = (
        spark.readStream.format("delta")
        .option("maxFilesPerTrigger", options.max_files_per_trigger)
        .load(options.table(tables.BRONZE_RAW_EVENTS))
    )
    writer = bronze.writeStream.foreachBatch(_guarded(runtime, BRONZE_TO_SILVER, write))
    return _start(spark, writer, runtime, BRONZE_TO_SILVER, available_now=True)
