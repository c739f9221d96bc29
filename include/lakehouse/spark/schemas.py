"""Explicit schemas: of the raw envelope, of API payloads, and of every table the job writes.

Time grain of silver
--------------------
Silver time keys are instants truncated to the minute (UTC): `coin_prices.price_ts` and
`sensor_readings.reading_ts`. The exact instant the API reported is kept beside the key as
`observed_at`. The rule makes live and backfilled data for the same instant the same silver row:
`/simple/price` reports `last_updated_at` (the simulator sets it to the start of the minute) and
`/market_chart/range` points sit at minute starts (the real API's last point is "now" and
off-grid); Smart Citizen device readings carry their own `last_reading_at` while `/readings`
rollups are not bucket-aligned. Truncating both sides to the minute gives one row per series and
minute whichever endpoint delivered it. When two observations fall into the same minute, the newest
fetch wins, then the later `observed_at`, then the greater source file name (see
`SILVER_ORDER`), so the result does not depend on the order in which files arrive.

Payload values are read as their JSON text (a StringType field or map value captures any JSON
token as text) and cast with `try_cast`, so numbers sent as strings parse and a shape change turns
into a null or a quarantine row instead of a failed batch.
"""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
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

KNOWN_ENDPOINTS = (
    ("coingecko", "simple_price"),
    ("coingecko", "coins_markets"),
    ("coingecko", "market_chart_range"),
    ("smartcitizen", "device"),
    ("smartcitizen", "world_map"),
    ("smartcitizen", "readings"),
)
"""(source, endpoint) pairs the job understands; any other lands in quarantine."""

SILVER_ORDER = ("fetched_at", "observed_at", "source_file")
"""Which of two rows for one key is newer: compared in this order, greatest wins."""

# ---- payloads ---------------------------------------------------------------------------------

_TEXT = StringType()

# /simple/price: {coin: {"usd": 1.0, "usd_market_cap": ..., "last_updated_at": 1711356300}}.
SIMPLE_PRICE_PAYLOAD = MapType(StringType(), MapType(StringType(), StringType()))

# /coins/markets: a list of market objects; every value as its JSON text.
COINS_MARKETS_PAYLOAD = ArrayType(MapType(StringType(), StringType()))

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

# ---- silver -----------------------------------------------------------------------------------

_LINEAGE = [
    StructField("mode", StringType()),
    StructField("fetched_at", TimestampType()),
    StructField("source_file", StringType()),
]

SILVER_COIN_PRICES = StructType(
    [
        StructField("coin_id", StringType(), nullable=False),
        StructField("vs_currency", StringType(), nullable=False),
        StructField("price_ts", TimestampType(), nullable=False),
        StructField("price", DoubleType()),
        StructField("market_cap", DoubleType()),
        StructField("volume_24h", DoubleType()),
        StructField("change_24h_pct", DoubleType()),
        StructField("observed_at", TimestampType()),
        *_LINEAGE,
    ]
)
SILVER_COIN_PRICES_KEYS = ("coin_id", "vs_currency", "price_ts")

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

SILVER_COIN_MARKETS = StructType(
    [
        StructField("coin_id", StringType(), nullable=False),
        StructField("vs_currency", StringType(), nullable=False),
        StructField("last_updated", TimestampType(), nullable=False),
        StructField("symbol", StringType()),
        StructField("name", StringType()),
        StructField("market_cap_rank", IntegerType()),
        *[StructField(column, DoubleType()) for _, column in MARKET_DOUBLES],
        StructField("ath_date", TimestampType()),
        StructField("atl_date", TimestampType()),
        StructField("observed_at", TimestampType()),
        *_LINEAGE,
    ]
)
SILVER_COIN_MARKETS_KEYS = ("coin_id", "vs_currency", "last_updated")

SILVER_SENSOR_READINGS = StructType(
    [
        StructField("device_id", LongType(), nullable=False),
        StructField("sensor_id", LongType(), nullable=False),
        StructField("reading_ts", TimestampType(), nullable=False),
        StructField("value", DoubleType()),
        StructField("unit", StringType()),
        StructField("measurement", StringType()),
        StructField("sensor_key", StringType()),
        StructField("sensor_name", StringType()),
        StructField("observed_at", TimestampType()),
        *_LINEAGE,
    ]
)
SILVER_SENSOR_READINGS_KEYS = ("device_id", "sensor_id", "reading_ts")
SENSOR_DESCRIPTIVE = ("unit", "measurement", "sensor_key", "sensor_name")
"""Kept from the stored row when a newer row lacks them (a /readings backfill has no unit)."""

SILVER_DEVICES = StructType(
    [
        StructField("device_id", LongType(), nullable=False),
        StructField("name", StringType()),
        StructField("state", StringType()),
        StructField("latitude", DoubleType()),
        StructField("longitude", DoubleType()),
        StructField("city", StringType()),
        StructField("country_code", StringType()),
        StructField("exposure", StringType()),
        StructField("hardware", StringType()),
        StructField("system_tags", ArrayType(StringType())),
        StructField("last_reading_at", TimestampType()),
        StructField("observed_at", TimestampType()),
        StructField("endpoint", StringType()),
        *_LINEAGE,
    ]
)
SILVER_DEVICES_KEYS = ("device_id",)
DEVICE_DESCRIPTIVE = (
    "name",
    "state",
    "latitude",
    "longitude",
    "city",
    "country_code",
    "exposure",
    "hardware",
    "system_tags",
    "last_reading_at",
)
"""A world_map summary lacks hardware and exposure: what it lacks keeps its stored value."""

QUARANTINE = StructType(
    [
        StructField("source", StringType()),
        StructField("endpoint", StringType()),
        StructField("mode", StringType()),
        StructField("reason", StringType(), nullable=False),
        StructField("detail", StringType()),
        StructField("record", StringType()),
        StructField("fetched_at", TimestampType()),
        StructField("interval_start", TimestampType()),
        StructField("source_file", StringType()),
        StructField("quarantined_at", TimestampType()),
    ]
)

# ---- gold -------------------------------------------------------------------------------------

GOLD_COIN_OHLC = StructType(
    [
        StructField("coin_id", StringType(), nullable=False),
        StructField("vs_currency", StringType(), nullable=False),
        StructField("bar", StringType(), nullable=False),
        StructField("bar_start", TimestampType(), nullable=False),
        StructField("open", DoubleType()),
        StructField("high", DoubleType()),
        StructField("low", DoubleType()),
        StructField("close", DoubleType()),
        StructField("points", LongType()),
        StructField("first_ts", TimestampType()),
        StructField("last_ts", TimestampType()),
        StructField("updated_at", TimestampType()),
    ]
)
GOLD_COIN_OHLC_KEYS = ("coin_id", "vs_currency", "bar", "bar_start")

GOLD_SENSOR_HOURLY = StructType(
    [
        StructField("device_id", LongType(), nullable=False),
        StructField("sensor_id", LongType(), nullable=False),
        StructField("hour_start", TimestampType(), nullable=False),
        StructField("readings", LongType()),
        StructField("min_value", DoubleType()),
        StructField("max_value", DoubleType()),
        StructField("avg_value", DoubleType()),
        StructField("stddev_value", DoubleType()),
        StructField("first_ts", TimestampType()),
        StructField("last_ts", TimestampType()),
        StructField("unit", StringType()),
        StructField("sensor_key", StringType()),
        StructField("updated_at", TimestampType()),
    ]
)
GOLD_SENSOR_HOURLY_KEYS = ("device_id", "sensor_id", "hour_start")

_ANOMALY = [
    StructField("window_points", LongType()),
    StructField("window_median", DoubleType()),
    StructField("window_mad", DoubleType()),
    StructField("robust_z", DoubleType()),
    StructField("is_anomaly", BooleanType()),
    StructField("updated_at", TimestampType()),
]

GOLD_PRICE_ANOMALIES = StructType(
    [
        StructField("coin_id", StringType(), nullable=False),
        StructField("vs_currency", StringType(), nullable=False),
        StructField("price_ts", TimestampType(), nullable=False),
        StructField("price", DoubleType()),
        *_ANOMALY,
    ]
)
GOLD_PRICE_ANOMALIES_KEYS = SILVER_COIN_PRICES_KEYS

GOLD_SENSOR_ANOMALIES = StructType(
    [
        StructField("device_id", LongType(), nullable=False),
        StructField("sensor_id", LongType(), nullable=False),
        StructField("reading_ts", TimestampType(), nullable=False),
        StructField("value", DoubleType()),
        *_ANOMALY,
    ]
)
GOLD_SENSOR_ANOMALIES_KEYS = SILVER_SENSOR_READINGS_KEYS

# ---- operations -------------------------------------------------------------------------------

STREAM_PROGRESS = StructType(
    [
        StructField("query_name", StringType()),
        StructField("query_id", StringType()),
        StructField("run_id", StringType()),
        StructField("batch_id", LongType()),
        StructField("batch_started_at", TimestampType()),
        StructField("input_rows", LongType()),
        StructField("input_rows_per_second", DoubleType()),
        StructField("processed_rows_per_second", DoubleType()),
        StructField("duration_ms", MapType(StringType(), LongType())),
        StructField("rows_written", MapType(StringType(), LongType())),
        StructField("lag_seconds", MapType(StringType(), DoubleType())),
        StructField("recorded_at", TimestampType()),
    ]
)


def field_type(schema: StructType, name: str) -> DataType:
    return schema[name].dataType
