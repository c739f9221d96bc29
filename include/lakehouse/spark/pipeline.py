"""The streaming medallion: raw JSON -> bronze (Delta sink) -> silver (MERGE per micro-batch).

Each query has its own checkpoint; bronze uses Delta's exactly-once streaming sink and silver
idempotent MERGEs keyed by (query, batch id), so a driver killed at any moment resumes cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery

from lakehouse import tables
from lakehouse.spark import schemas, sinks, transforms


@dataclass(frozen=True)
class StreamOptions:
    lake_uri: str
    """s3a://<bucket> (or any Hadoop URI: tests use a local folder)."""
    checkpoint_uri: str
    trigger_seconds: float = 5.0
    max_files_per_trigger: int = 1000
    once: bool = False

    def table(self, ref: tables.TableRef) -> str:
        return f"{self.lake_uri.rstrip('/')}/{ref.path}"

    def checkpoint(self, query_name: str) -> str:
        return f"{self.checkpoint_uri.rstrip('/')}/{query_name}"


def _triggered(writer: DataStreamWriter, options: StreamOptions) -> DataStreamWriter:
    if options.once:
        return writer.trigger(availableNow=True)
    return writer.trigger(processingTime=f"{options.trigger_seconds} seconds")


def read_raw(spark: SparkSession, options: StreamOptions) -> DataFrame:
    return (
        spark.readStream.format("json")
        .schema(schemas.ENVELOPE)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", schemas.CORRUPT_RECORD)
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.json")
        .option("maxFilesPerTrigger", options.max_files_per_trigger)
        .load(f"{options.lake_uri.rstrip('/')}/raw/")
    )


def start_raw_to_bronze(spark: SparkSession, options: StreamOptions) -> StreamingQuery:
    name = "raw_to_bronze"
    bronze = transforms.to_bronze(
        read_raw(spark, options),
        source_file=F.col("_metadata.file_path"),
        ingested_at=F.current_timestamp(),
    )
    writer = (
        bronze.writeStream.queryName(name)
        .format("delta")
        .outputMode("append")
        .option("checkpointLocation", options.checkpoint(name))
    )
    return _triggered(writer, options).start(options.table(tables.BRONZE_RAW_EVENTS))


def start_bronze_to_silver_coin_prices(
    spark: SparkSession, options: StreamOptions
) -> StreamingQuery:
    name = "bronze_to_silver_coin_prices"
    location = options.table(tables.SILVER_COIN_PRICES)

    def merge(batch: DataFrame, batch_id: int) -> None:
        prices = transforms.latest_per_key(
            transforms.coin_prices_from_bronze(batch),
            schemas.SILVER_COIN_PRICES_KEYS,
            order_by="fetched_at",
        )
        sinks.merge_batch(
            prices,
            location,
            schemas.SILVER_COIN_PRICES_KEYS,
            newer_than="fetched_at",
            app_id=name,
            batch_id=batch_id,
        )

    bronze = spark.readStream.format("delta").load(options.table(tables.BRONZE_RAW_EVENTS))
    writer = (
        bronze.writeStream.queryName(name)
        .foreachBatch(merge)
        .option("checkpointLocation", options.checkpoint(name))
    )
    return _triggered(writer, options).start()


def ensure_tables(spark: SparkSession, options: StreamOptions) -> None:
    sinks.ensure_table(
        spark,
        options.table(tables.BRONZE_RAW_EVENTS),
        schemas.BRONZE_RAW_EVENTS,
        schemas.BRONZE_PARTITIONS,
    )
    sinks.ensure_table(spark, options.table(tables.SILVER_COIN_PRICES), schemas.SILVER_COIN_PRICES)


def run(spark: SparkSession, options: StreamOptions) -> None:
    """Run every query; with `once`, layer after layer until all input is processed, then return.

    Otherwise block until a query ends; a failed query raises, so the driver exits non-zero and
    Airflow starts a new one from the checkpoints.
    """
    ensure_tables(spark, options)
    starters = (start_raw_to_bronze, start_bronze_to_silver_coin_prices)
    if options.once:
        for start in starters:
            start(spark, options).awaitTermination()
        return
    for start in starters:
        start(spark, options)
    spark.streams.awaitAnyTermination()
