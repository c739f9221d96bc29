"""Pure DataFrame -> DataFrame transforms of the medallion layers; no I/O, no session state."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.spark import schemas

_SIMPLE_PRICE_SUFFIXES = ("_market_cap", "_24h_vol", "_24h_change")


def to_bronze(raw: DataFrame, source_file: Column, ingested_at: Column) -> DataFrame:
    """Envelope columns as they came, plus where and when the row was read, partitioned by date."""
    return raw.select(
        *[F.col(field.name) for field in schemas.ENVELOPE.fields],
        source_file.alias("source_file"),
        ingested_at.alias("ingested_at"),
        F.to_date(F.coalesce(F.col("interval_start"), ingested_at)).alias("date"),
    )


def coin_prices_from_bronze(bronze: DataFrame) -> DataFrame:
    """One row per (coin, currency, price time) from `/simple/price` envelopes.

    The price time is the API's `last_updated_at`; without it, the fetch time.
    """
    quotes = bronze.where(
        (F.col("source") == "coingecko")
        & (F.col("endpoint") == "simple_price")
        & F.col("payload").isNotNull()
    ).select(
        "mode",
        "fetched_at",
        "source_file",
        F.explode(F.from_json("payload", schemas.SIMPLE_PRICE_PAYLOAD.simpleString())).alias(
            "coin_id", "quote"
        ),
    )

    def is_currency(key: Column) -> Column:
        not_a_currency = key == "last_updated_at"
        for suffix in _SIMPLE_PRICE_SUFFIXES:
            not_a_currency = not_a_currency | key.endswith(suffix)
        return ~not_a_currency

    per_currency = quotes.select(
        "*", F.explode(F.filter(F.map_keys("quote"), is_currency)).alias("vs_currency")
    )

    def quote_value(suffix: str) -> Column:
        key = F.concat(F.col("vs_currency"), F.lit(suffix))
        return F.try_element_at(F.col("quote"), key).try_cast("double")

    updated_at = (
        F.try_element_at(F.col("quote"), F.lit("last_updated_at")).try_cast("double").cast("long")
    )
    return per_currency.select(
        F.col("coin_id"),
        F.col("vs_currency"),
        F.coalesce(F.timestamp_seconds(updated_at), F.col("fetched_at")).alias("price_ts"),
        quote_value("").alias("price"),
        quote_value("_market_cap").alias("market_cap"),
        quote_value("_24h_vol").alias("volume_24h"),
        quote_value("_24h_change").alias("change_24h_pct"),
        F.col("mode"),
        F.col("fetched_at"),
        F.col("source_file"),
    )


def latest_per_key(df: DataFrame, keys: Sequence[str], order_by: str) -> DataFrame:
    """Keep the row with the greatest `order_by` per key (ties broken by source_file)."""
    window = Window.partitionBy(*keys).orderBy(F.col(order_by).desc(), F.col("source_file").desc())
    return (
        df.withColumn("_rank", F.row_number().over(window)).where(F.col("_rank") == 1).drop("_rank")
    )
