"""Idempotent Delta writes: replaying a micro-batch after a crash changes nothing.

Every write of a micro-batch carries a Delta transaction identifier (app id, version): the app id
names the query and the target table, the version is the batch id. Delta stores the pair in the
same commit as the data and skips a later write whose version is not greater than the recorded
one, so a batch that is replayed after a crash (Spark re-runs the last planned batch from the
checkpoint's offset log) writes nothing twice. Appends pass the pair as writer options; MERGE reads
it from the session conf (`spark.databricks.delta.write.txnAppId` / `txnVersion`), which is set and
unset around each MERGE on the session that runs it: a clone per streaming query, and one per
write when a micro-batch writes several tables at once, so concurrent MERGEs never see each
other's values.

Consequence to remember: the app id must change if a query's checkpoint is deleted (its batch ids
restart at 0 and would all be skipped). `StreamOptions.txn_suffix` exists for that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.spark.transforms import newer_than

TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"

AUTO_COMPACT = "delta.autoOptimize.autoCompact"
"""Compaction after commits that leave `minNumFiles` small files in a partition (the session conf
spark.databricks.delta.autoCompact.minNumFiles). Off unless `--compact-min-files` asks for it: in a
long-running writer, Delta 4.4 compacted after every commit of every table whatever the threshold
(each MERGE of silver and each append of bronze was followed by an OPTIMIZE of the whole
partition), which doubled the commits and the work of every micro-batch."""


def ensure_table(
    spark: SparkSession,
    location: str,
    schema: StructType,
    partitions: Sequence[str] = (),
    properties: Mapping[str, str] | None = None,
    fill: Mapping[str, str] | None = None,
) -> None:
    """Create the Delta table at `location` unless it exists; add columns it lacks; set properties.

    Columns are only ever added (nullable), never dropped or retyped: a table written by an older
    version of the job keeps its data and gains the new columns as nulls, or as `fill`'s SQL value
    (see `TableSpec.fill`). The fill is an UPDATE of the rows still null in those columns, run at
    every start: a driver killed between ADD COLUMNS and the UPDATE finishes it the next time, and
    once done, Delta's per-file null counts let it skip every file.
    """
    if not DeltaTable.isDeltaTable(spark, location):
        builder = DeltaTable.createIfNotExists(spark).location(location).addColumns(schema)
        if partitions:
            builder = builder.partitionedBy(*partitions)
        for key, value in (properties or {}).items():
            builder = builder.property(key, value)
        builder.execute()
        return
    sql_location = location.replace("`", "``")
    current = {
        row["key"]: row["value"]
        for row in spark.sql(f"SHOW TBLPROPERTIES delta.`{sql_location}`").collect()
    }
    missing_props = {k: v for k, v in (properties or {}).items() if current.get(k) != v}
    if missing_props:
        assignments = ", ".join(f"'{k}' = '{v}'" for k, v in missing_props.items())
        spark.sql(f"ALTER TABLE delta.`{sql_location}` SET TBLPROPERTIES ({assignments})")
    existing = set(spark.read.format("delta").load(location).columns)
    missing = [f for f in schema.fields if f.name not in existing]
    if missing:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
        spark.sql(f"ALTER TABLE delta.`{sql_location}` ADD COLUMNS ({columns})")
    if fill:
        fill_nulls(spark, location, fill)


def fill_nulls(spark: SparkSession, location: str, fill: Mapping[str, str]) -> None:
    """Set each column of `fill` to its SQL value where the column is null."""
    DeltaTable.forPath(spark, location).update(
        condition=" OR ".join(f"`{column}` IS NULL" for column in fill),
        set={f"`{column}`": f"coalesce(`{column}`, {value})" for column, value in fill.items()},
    )


@dataclass(frozen=True)
class Txn:
    """The Delta transaction identifier of one write."""

    app_id: str
    version: int


def append_batch(batch: DataFrame, location: str, txn: Txn) -> None:
    """Append `batch`; a replay of the same (app id, version) is skipped by Delta."""
    (
        batch.write.format("delta")
        .mode("append")
        .option("txnAppId", txn.app_id)
        .option("txnVersion", str(txn.version))
        .save(location)
    )


KeyRanges = Mapping[str, tuple[datetime, datetime]]
"""Key column -> the lowest and the highest value a batch holds in it."""


def merge_batch(
    batch: DataFrame,
    location: str,
    keys: Sequence[str],
    order_by: Sequence[str] | None,
    *,
    txn: Txn,
    session: SparkSession | None = None,
    key_ranges: KeyRanges | None = None,
) -> None:
    """MERGE `batch` (one row per key) into the table.

    With `order_by` (silver), a matched row is replaced only by a newer one (see `newer_than`), so
    late data never overwrites fresher data, and a null in the newer row never replaces a stored
    value: a /readings backfill knows no unit, a world-map summary no hardware, and an API that
    answers `null` for a figure it had a minute ago has not unlearned it. Without `order_by`
    (gold, whose rows are recomputed from silver), a matched row is replaced whole. `session` runs
    the MERGE and carries its transaction id (default: the batch's); concurrent MERGEs need one
    each.

    `key_ranges` (see `key_ranges`) bounds the target's side of those keys: only a target row in
    them can match, and Delta skips every file whose statistics lie outside them (MERGE prunes the
    target by the conditions on the target alone). Without them a MERGE of one minute of prices
    reads every file of the table. Delta's file statistics keep timestamps to the millisecond; its
    data skipping adds a millisecond to each maximum, so a file holding a key in range is never
    skipped (delta-io/delta#6260).
    """
    session = session or batch.sparkSession
    on = F.expr(" AND ".join(f"t.`{key}` = s.`{key}`" for key in keys))
    for key, (lowest, highest) in (key_ranges or {}).items():
        on = on & F.col(f"t.`{key}`").between(F.lit(lowest), F.lit(highest))
    kept = set(batch.columns) - set(keys) - set(order_by or ()) if order_by else set()
    assignments: dict[str, str | Column] = {
        f"`{column}`": (
            f"coalesce(s.`{column}`, t.`{column}`)" if column in kept else f"s.`{column}`"
        )
        for column in batch.columns
    }
    condition = newer_than("s", "t", list(order_by)) if order_by else None
    session.conf.set(TXN_APP_ID, txn.app_id)
    session.conf.set(TXN_VERSION, str(txn.version))
    try:
        (
            DeltaTable.forPath(session, location)
            .alias("t")
            .merge(batch.alias("s"), on)
            .whenMatchedUpdate(condition=condition, set=assignments)
            .whenNotMatchedInsertAll()
            .execute()
        )
    finally:
        session.conf.unset(TXN_APP_ID)
        session.conf.unset(TXN_VERSION)


def key_ranges(bounds: Mapping[str, tuple[int | None, int | None]]) -> KeyRanges:
    """Key column -> (lowest, highest) from `F.unix_micros` bounds, as UTC datetimes: exact,
    whatever the time zone of the driver's Python (a naive datetime would be read in it, and an
    hour that a change to summer time repeats would shift the range). Columns with no bound (no
    rows, or only nulls) are left out."""
    return {
        key: (EPOCH + timedelta(microseconds=low), EPOCH + timedelta(microseconds=high))
        for key, (low, high) in bounds.items()
        if low is not None and high is not None
    }


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def optimize(spark: SparkSession, location: str) -> None:
    """Bin-pack small files (OPTIMIZE); its commit is dataChange=false, streams ignore it."""
    DeltaTable.forPath(spark, location).optimize().executeCompaction()


LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def vacuum(spark: SparkSession, location: str, retain_hours: float) -> None:
    """Delete files no longer referenced and older than `retain_hours`.

    VACUUM lists the table's directory tree with `LISTING_PARALLELISM` tasks (Spark's default:
    10000, about 30 s for a small table on two cores); the lake's tables need a handful.
    """
    previous = spark.conf.get(LISTING_PARALLELISM, None)
    spark.conf.set(LISTING_PARALLELISM, str(max(2, spark.sparkContext.defaultParallelism * 2)))
    try:
        DeltaTable.forPath(spark, location).vacuum(retain_hours)
    finally:
        if previous is None:
            spark.conf.unset(LISTING_PARALLELISM)
        else:
            spark.conf.set(LISTING_PARALLELISM, previous)
