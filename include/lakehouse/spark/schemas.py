"""Explicit schemas of what is not a table: the raw envelope and the API payloads.

The tables' own schemas are in `lakehouse.tables`. Payload values are read as their JSON text (a
StringType field or map value captures any JSON token as text) and cast with `try_cast`, so numbers
sent as strings parse and a shape change turns into a null or a quarantine row instead of a failed
batch.
"""

from pyspark.sql.types import (
    ArrayType,
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

# ---- payloads ---------------------------------------------------------------------------------

_TEXT = StringType()

# /simple/price: {coin: {"usd": 1.0, "usd_market_cap": ..., "last_updated_at": 1711356300}}.
SIMPLE_PRICE_PAYLOAD = MapType(StringType(), MapType(StringType(), StringType()))

# /coins/markets: a list of market objects; every value as its JSON text.
COINS_MARKETS_PAYLOAD = ArrayType(MapType(StringType(), StringType()))

MARKET_DOUBLES = (
    ("current_price", "current_price"),
    ("market_cap", "market_cap"),
    ("fully_diluted_valuation", "fully_diluted_valuation"),
    ("total_volume", "total_volume"),
    ("high_24h", "high_24h"),
    ("low_24h", "low_24h"),
    ("price_change_24h", "price_change_24h"),
    ("price_change_percentage_24h", "price_change_pct_24h"),
    ("circulating_supply", "circulating_supply"),
    ("total_supply", "total_supply"),
    ("max_supply", "max_supply"),
    ("ath", "ath"),
    ("ath_change_percentage", "ath_change_pct"),
    ("atl", "atl"),
    ("atl_change_percentage", "atl_change_pct"),
)
"""(API field, column) of the numeric /coins/markets values."""

# /coins/{id}/market_chart/range: three lists of [epoch_ms, value].
_POINTS = ArrayType(ArrayType(StringType()))
MARKET_CHART_PAYLOAD = StructType(
    [
        StructField("prices", _POINTS),
        StructField("market_caps", _POINTS),
        StructField("total_volumes", _POINTS),
    ]
)

_LOCATION = StructType(
    [
        StructField(name, _TEXT)
        for name in ("latitude", "longitude", "city", "country_code", "country", "exposure")
    ]
)
_SENSOR = StructType(
    [
        StructField("id", _TEXT),
        StructField("name", _TEXT),
        StructField("unit", _TEXT),
        StructField("value", _TEXT),
        StructField("default_key", _TEXT),
        StructField("measurement_id", _TEXT),
        StructField(
            "measurement",
            StructType([StructField("id", _TEXT), StructField("name", _TEXT)]),
        ),
        StructField("last_reading_at", _TEXT),
    ]
)
# /v0/devices/{id}: the 2015, 2020 and 2023+ shapes; every field optional.
DEVICE_PAYLOAD = StructType(
    [
        StructField("id", _TEXT),
        StructField("name", _TEXT),
        StructField("state", _TEXT),
        StructField("system_tags", ArrayType(StringType())),
        StructField("last_reading_at", _TEXT),
        StructField("location", _LOCATION),  # 2023+
        StructField(
            "hardware",  # 2023+
            StructType([StructField("name", _TEXT), StructField("version", _TEXT)]),
        ),
        StructField("kit", StructType([StructField("name", _TEXT)])),  # 2015, 2020
        StructField("hardware_info", StructType([StructField("hw_ver", _TEXT)])),  # 2020
        StructField(
            "data",
            StructType(
                [
                    StructField("recorded_at", _TEXT),
                    StructField("location", _LOCATION),  # 2015, 2020
                    StructField("sensors", ArrayType(_SENSOR)),
                ]
            ),
        ),
    ]
)

# /v0/devices/world_map: a list of device summaries (2015, 2019, 2023 shapes).
WORLD_MAP_PAYLOAD = ArrayType(MapType(StringType(), StringType()))

# /v0/devices/{id}/readings: {device_id, sensor_key?, sensor_id, rollup, readings: [[iso, v]]}.
READINGS_PAYLOAD = StructType(
    [
        StructField("device_id", _TEXT),
        StructField("sensor_id", _TEXT),
        StructField("sensor_key", _TEXT),
        StructField("rollup", _TEXT),
        StructField("readings", ArrayType(ArrayType(StringType()))),
    ]
)
