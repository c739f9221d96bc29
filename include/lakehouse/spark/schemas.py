"""Explicit schemas: of the raw envelope, of API payloads, and of every table the job writes."""

from pyspark.sql.types import (
    DateType,
    DoubleType,
    IntegerType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

CORRUPT_RECORD = "_corrupt_record"

ENVELOPE = StructType(
    [
        StructField("source", StringType()),
        StructField("endpoint", StringType()),
        StructField(
            "request",
            StructType(
                [
                    StructField("url", StringType()),
                    StructField("params", MapType(StringType(), StringType())),
                ]
            ),
        ),
        StructField("interval_start", TimestampType()),
        StructField("interval_end", TimestampType()),
        StructField("fetched_at", TimestampType()),
        StructField("http_status", IntegerType()),
        StructField("mode", StringType()),
        StructField("run_id", StringType()),
        # A nested JSON object read into a string column keeps its JSON text.
        StructField("payload", StringType()),
        StructField(CORRUPT_RECORD, StringType()),
    ]
)

BRONZE_RAW_EVENTS = StructType(
    [
        *ENVELOPE.fields,
        StructField("source_file", StringType()),
        StructField("ingested_at", TimestampType()),
        StructField("date", DateType()),
    ]
)
BRONZE_PARTITIONS = ("source", "date")

# /simple/price: {coin: {"usd": 1.0, "usd_market_cap": ..., "last_updated_at": 1711356300}}.
# Values are read as their JSON text and cast later, so a number sent as a string still parses.
SIMPLE_PRICE_PAYLOAD = MapType(StringType(), MapType(StringType(), StringType()))

SILVER_COIN_PRICES = StructType(
    [
        StructField("coin_id", StringType(), nullable=False),
        StructField("vs_currency", StringType(), nullable=False),
        StructField("price_ts", TimestampType(), nullable=False),
        StructField("price", DoubleType()),
        StructField("market_cap", DoubleType()),
        StructField("volume_24h", DoubleType()),
        StructField("change_24h_pct", DoubleType()),
        StructField("mode", StringType()),
        StructField("fetched_at", TimestampType()),
        StructField("source_file", StringType()),
    ]
)
SILVER_COIN_PRICES_KEYS = ("coin_id", "vs_currency", "price_ts")
