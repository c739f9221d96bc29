"""Idempotent Delta writes: replaying a micro-batch after a crash changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"


def ensure_table(
    spark: SparkSession, location: str, schema: StructType, partitions: Sequence[str] = ()
) -> None:
    """Create the Delta table at `location` with `schema` unless it is there already."""
    builder = DeltaTable.createIfNotExists(spark).location(location).addColumns(schema)
    if partitions:
        builder = builder.partitionedBy(*partitions)
    builder.execute()


def merge_batch(
    batch: DataFrame,
    location: str,
    keys: Sequence[str],
    newer_than: str,
    *,
    app_id: str,
    batch_id: int,
) -> None:
    """MERGE `batch` (one row per key) into the table, newest `newer_than` wins.

    Delta records (app_id, batch_id) in the same commit; a replayed batch is skipped. The session
    of a micro-batch is the query's own clone, so these settings do not leak to other queries.
    """
    session = batch.sparkSession
    session.conf.set(TXN_APP_ID, app_id)
    session.conf.set(TXN_VERSION, str(batch_id))
    try:
        on = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        (
            DeltaTable.forPath(session, location)
            .alias("t")
            .merge(batch.alias("s"), on)
            .whenMatchedUpdateAll(condition=f"s.{newer_than} > t.{newer_than}")
            .whenNotMatchedInsertAll()
            .execute()
        )
    finally:
        session.conf.unset(TXN_APP_ID)
        session.conf.unset(TXN_VERSION)
