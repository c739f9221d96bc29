"""The lake's tables: one `TableSpec` each, the only place a table is declared.

Everything else is derived from the specs: the tables the stream job creates and which of its
writers owns each (`writer`), how a micro-batch lands in a table (MERGE on `keys`, newest by
`order`, or append), what `lakehouse query` can read, and the README's table list (a test checks
it). Importing this module loads pyspark's type classes only; it starts no JVM.

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
fetch wins, then the later `observed_at`, then the greater source file name (`SILVER_ORDER`), so
the result does not depend on the order in which files arrive.

Resolution of prices
--------------------
CoinGecko's history comes at its automatic granularity (5-minutely within the last day, hourly
beyond, daily above 90 days: `lakehouse.sources.coingecko.history`), so one silver minute may be
offered a live minute and, later, an hourly history point. `coin_prices.resolution` says which
(`1m` live, `5m`, `1h`, `1d` history) and `resolution_rank` orders them (finer is greater). The
rank comes first in `PRICE_ORDER`: a finer point is never replaced by a coarser one at the same
key, whatever arrives later; at equal resolution the newest fetch wins as above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
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

from lakehouse.spark.schemas import ENVELOPE, MARKET_DOUBLES

MEDALLION = "medallion"
"""The streaming query, by the name the Spark UI and ops.stream_progress show: each micro-batch of
raw objects lands in bronze and silver (+ quarantine)."""
MEDALLION_LANDED = "medallion_landed"
"""`MEDALLION` when it follows the landed log (`--raw-source landed`) instead of listing `raw/`:
the same writer of the same tables, on a checkpoint (and transaction ids) of its own, since its
offsets are landed-log numbers."""
RAW_TO_BRONZE = "raw_to_bronze"
BRONZE_TO_SILVER = "bronze_to_silver"
"""The two queries of versions before `MEDALLION`: a lake they wrote is drained through them once,
and `MEDALLION` continues from `RAW_TO_BRONZE`'s checkpoint (`lakehouse.spark.migration`)."""
DRIVER = "driver"
"""The driver's own loop, between micro-batches: it writes ops.stream_progress, and gold."""
GOLD_REFRESH = "gold_refresh"
"""The driver's turns that bring gold up to date with silver's change data feed
(`lakehouse.spark.queries.GoldRefresh`), by the name ops.stream_progress gives them."""
CHANGE_DATA_FEED = MappingProxyType({"delta.enableChangeDataFeed": "true"})
"""The properties of a silver table that gold follows: Delta records the rows each commit
changed, so gold finds them without the micro-batch that wrote them."""


@dataclass(frozen=True, eq=False)
class TableSpec:
    """One Delta table: where it lives, its columns, who writes it and how a batch lands in it.

    Specs compare by identity (each table is declared once), so they serve as dictionary keys.
    """

    layer: str
    name: str
    schema: StructType
    writer: str
    """The one writer of the table: a streaming query's name or `DRIVER`."""
    description: str
    keys: tuple[str, ...] = ()
    """MERGE keys, one row per key; empty: the table is append-only."""
    order: tuple[str, ...] = ()
    """Which of two rows for a key is newer (compared in order, greatest wins); empty: the new
    row always replaces the stored one (gold rows are recomputed, never stale)."""
    partitions: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    """Delta table properties on top of those every table gets."""
    stale_when_quiet: bool = True
    """Whether a table that gets no commit for a while is stale (the Lakehouse page's freshness);
    False for tables written only when something goes wrong (the quarantine)."""
    fill: Mapping[str, str] = field(default_factory=dict)
    """Column -> SQL value for rows that hold null in it because they were written before the
    column existed (`lakehouse.spark.sinks.ensure_table` sets it once the column is added)."""

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def time_keys(self) -> tuple[str, ...]:
        """The keys of timestamp type: a MERGE bounds them by the batch's range, so that Delta
        reads only the target's files whose statistics overlap it (`sinks.merge_batch`)."""
        types = {f.name: f.dataType for f in self.schema.fields}
        return tuple(key for key in self.keys if isinstance(types.get(key), TimestampType))

    @property
    def path(self) -> str:
        """Location inside the lake bucket."""
        return f"{self.layer}/{self.name}"


SILVER_ORDER = ("fetched_at", "observed_at", "source_file")
"""Which of two rows for one silver key is newer: compared in this order, greatest wins."""

RESOLUTION_RANK = MappingProxyType({"1m": 4, "5m": 3, "1h": 2, "1d": 1})
"""A price point's resolution -> its rank: a finer point has a greater rank."""
PRICE_ORDER = ("resolution_rank", *SILVER_ORDER)
"""Prices: the finer point wins, then the newer one (see "Resolution of prices")."""

BRONZE_RAW_EVENTS = TableSpec(
    "bronze",
    "raw_events",
    StructType(
        [
            *ENVELOPE.fields,
            StructField("source_file", StringType()),
            StructField("ingested_at", TimestampType()),
            StructField("date", DateType()),
        ]
    ),
    MEDALLION,
    "one row per raw object: envelope columns, payload as JSON text, source file, ingest time",
    partitions=("source", "date"),
)

# ---- silver -----------------------------------------------------------------------------------

_LINEAGE = [
    StructField("mode", StringType()),
    StructField("fetched_at", TimestampType()),
    StructField("source_file", StringType()),
]

SILVER_COIN_PRICES = TableSpec(
    "silver",
    "coin_prices",
    StructType(
        [
            StructField("coin_id", StringType(), nullable=False),
            StructField("vs_currency", StringType(), nullable=False),
            StructField("price_ts", TimestampType(), nullable=False),
            StructField("price", DoubleType()),
            StructField("market_cap", DoubleType()),
            StructField("volume_24h", DoubleType()),
            StructField("change_24h_pct", DoubleType()),
            StructField("observed_at", TimestampType()),
            StructField("resolution", StringType()),
            StructField("resolution_rank", IntegerType()),
            *_LINEAGE,
        ]
    ),
    MEDALLION,
    "a coin's price per currency and minute, from /simple/price and /market_chart/range",
    keys=("coin_id", "vs_currency", "price_ts"),
    order=PRICE_ORDER,
    # Rows from before resolutions were recorded: every one was landed per minute (live, or a
    # one-minute history range), so they count as minutes; a coarser backfill never replaces them.
    fill=MappingProxyType({"resolution": "'1m'", "resolution_rank": str(RESOLUTION_RANK["1m"])}),
    properties=CHANGE_DATA_FEED,
)

SILVER_COIN_MARKETS = TableSpec(
    "silver",
    "coin_markets",
    StructType(
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
    ),
    MEDALLION,
    "a coin's market figures per currency as of its last update, from /coins/markets",
    keys=("coin_id", "vs_currency", "last_updated"),
    order=SILVER_ORDER,
)

SILVER_SENSOR_READINGS = TableSpec(
    "silver",
    "sensor_readings",
    StructType(
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
    ),
    MEDALLION,
    "a sensor's reading per minute, from /devices/{id} and /devices/{id}/readings",
    keys=("device_id", "sensor_id", "reading_ts"),
    order=SILVER_ORDER,
    properties=CHANGE_DATA_FEED,
)

SILVER_DEVICES = TableSpec(
    "silver",
    "devices",
    StructType(
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
    ),
    MEDALLION,
    "the latest name, location, hardware and state of each device",
    keys=("device_id",),
    order=SILVER_ORDER,
)

SILVER_QUARANTINE = TableSpec(
    "silver",
    "quarantine",
    StructType(
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
    ),
    MEDALLION,
    "every record that failed parsing or an expectation, with the reason and source file",
    stale_when_quiet=False,
)

# ---- gold -------------------------------------------------------------------------------------

GOLD_COIN_OHLC = TableSpec(
    "gold",
    "coin_ohlc",
    StructType(
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
    ),
    DRIVER,
    "1m and 1h open/high/low/close bars per coin and currency",
    keys=("coin_id", "vs_currency", "bar", "bar_start"),
)

GOLD_SENSOR_HOURLY = TableSpec(
    "gold",
    "sensor_hourly",
    StructType(
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
    ),
    DRIVER,
    "hourly count, min, max, mean and standard deviation per device and sensor",
    keys=("device_id", "sensor_id", "hour_start"),
)

_ANOMALY = [
    StructField("window_points", LongType()),
    StructField("window_median", DoubleType()),
    StructField("window_mad", DoubleType()),
    StructField("robust_z", DoubleType()),
    StructField("is_anomaly", BooleanType()),
    StructField("updated_at", TimestampType()),
]

GOLD_PRICE_ANOMALIES = TableSpec(
    "gold",
    "price_anomalies",
    StructType(
        [
            StructField("coin_id", StringType(), nullable=False),
            StructField("vs_currency", StringType(), nullable=False),
            StructField("price_ts", TimestampType(), nullable=False),
            StructField("price", DoubleType()),
            *_ANOMALY,
        ]
    ),
    DRIVER,
    "each silver price's robust z-score against the trailing 60 minutes",
    keys=SILVER_COIN_PRICES.keys,
)

GOLD_SENSOR_ANOMALIES = TableSpec(
    "gold",
    "sensor_anomalies",
    StructType(
        [
            StructField("device_id", LongType(), nullable=False),
            StructField("sensor_id", LongType(), nullable=False),
            StructField("reading_ts", TimestampType(), nullable=False),
            StructField("value", DoubleType()),
            *_ANOMALY,
        ]
    ),
    DRIVER,
    "each silver reading's robust z-score against the trailing 3 hours",
    keys=SILVER_SENSOR_READINGS.keys,
)

# ---- operations -------------------------------------------------------------------------------

OPS_STREAM_PROGRESS = TableSpec(
    "ops",
    "stream_progress",
    StructType(
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
    ),
    DRIVER,
    "one row per micro-batch of each query, and per gold refresh of the driver (`gold_refresh`, "
    "whose input_rows are the silver commits it covered): input rows, durations, rows written "
    "and lag",
)

ALL_TABLES = (
    BRONZE_RAW_EVENTS,
    SILVER_COIN_PRICES,
    SILVER_COIN_MARKETS,
    SILVER_SENSOR_READINGS,
    SILVER_DEVICES,
    SILVER_QUARANTINE,
    GOLD_COIN_OHLC,
    GOLD_SENSOR_HOURLY,
    GOLD_PRICE_ANOMALIES,
    GOLD_SENSOR_ANOMALIES,
    OPS_STREAM_PROGRESS,
)


def written_by(writer: str) -> tuple[TableSpec, ...]:
    """The tables one writer owns, in `ALL_TABLES` order."""
    return tuple(spec for spec in ALL_TABLES if spec.writer == writer)
