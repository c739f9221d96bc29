"""Gold: aggregates and anomaly flags, recomputed only where a silver batch changed something.

Each function takes the silver table (a lazy DataFrame: the whole table, or a time slice of it
that covers the changed rows' scope) and the batch's changed silver rows, and returns the complete
new gold rows for every gold key the change can affect. MERGEing them is idempotent: the result is
a function of silver's state, so a replayed batch writes the same rows.

- `coin_ohlc`: bars of 1 minute and 1 hour per coin and currency. Silver prices are one row per
  minute (see `lakehouse.tables`), so a 1m bar usually holds one point; the 1h bar is the useful
  candle. Every hour touched by a change is recomputed whole, its minute bars included. A bar is
  built only from points at least as fine as itself (`resolution_rank`): a 1m bar from 1m points,
  a 1h bar from 1m, 5m and 1h points; a daily history point makes no bar, and an hour of hourly
  history makes one 1h bar and no 1m bar.
- `sensor_hourly`: count, min, max, mean, sample standard deviation per device, sensor and hour.
- `price_anomalies` / `sensor_anomalies`: a robust z-score of each point against the points of the
  same series in the trailing window before it (median and MAD, Iglewicz and Hoaglin):
  z = 0.6745 (x - median) / MAD, flagged when |z| > `Z_THRESHOLD`, with at least
  `MIN_WINDOW_POINTS` points in the window and MAD > 0 (else z is null and the flag false).
  A change at t affects the scores of points in [t, t + window]; those are recomputed.
  Prices are scored against the points of their own resolution only (a 1m point against the
  trailing 1m points, a 5m point against 5m points): a window never mixes a live minute with an
  hourly history point, and an hourly or daily point, with at most one point per 60-minute window,
  is never flagged (too few points).

`GOLD_FEEDS` says which gold tables each silver table's changes recompute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse import tables
from lakehouse.tables import TableSpec

PRICE_WINDOW = timedelta(minutes=60)
SENSOR_WINDOW = timedelta(hours=3)
MIN_WINDOW_POINTS = 10
Z_THRESHOLD = 3.5
MAD_SCALE = 0.6745

PRICE_SERIES = ("coin_id", "vs_currency")
SENSOR_SERIES = ("device_id", "sensor_id")
BARS = (
    ("1m", "minute", tables.RESOLUTION_RANK["1m"]),
    ("1h", "hour", tables.RESOLUTION_RANK["1h"]),
)
"""Each bar: its name, the unit it truncates `price_ts` to, the least resolution rank it takes."""

GoldFunction = Callable[[DataFrame, DataFrame, Column], DataFrame]
"""(silver table or slice, the batch's changed silver keys, update time) -> complete gold rows."""


def coin_ohlc(silver_prices: DataFrame, changed: DataFrame, updated_at: Column) -> DataFrame:
    """1m and 1h OHLC bars of every hour that holds a changed price."""
    hour = F.date_trunc("hour", F.col("price_ts"))
    scope = changed.select(*PRICE_SERIES, hour.alias("_hour")).distinct()
    rows = (
        silver_prices.where(F.col("price").isNotNull())
        .withColumn("_hour", hour)
        .join(F.broadcast(scope), [*PRICE_SERIES, "_hour"])
    )
    order = F.struct(F.col("price_ts"), F.col("observed_at"))
    bars = []
    for bar, unit, least_rank in BARS:
        bars.append(
            rows.where(F.col("resolution_rank") >= least_rank)
            .groupBy(
                *PRICE_SERIES,
                F.lit(bar).alias("bar"),
                F.date_trunc(unit, "price_ts").alias("bar_start"),
            )
            .agg(
                F.min_by("price", order).alias("open"),
                F.max("price").alias("high"),
                F.min("price").alias("low"),
                F.max_by("price", order).alias("close"),
                F.count("price").alias("points"),
                F.min("price_ts").alias("first_ts"),
                F.max("price_ts").alias("last_ts"),
            )
        )
    return _with_updated_at(bars[0].unionByName(bars[1]), tables.GOLD_COIN_OHLC.schema, updated_at)


def sensor_hourly(silver_readings: DataFrame, changed: DataFrame, updated_at: Column) -> DataFrame:
    """Hourly statistics of every (device, sensor, hour) that holds a changed reading."""
    hour = F.date_trunc("hour", F.col("reading_ts"))
    scope = changed.select(*SENSOR_SERIES, hour.alias("hour_start")).distinct()
    rows = (
        silver_readings.where(F.col("value").isNotNull())
        .withColumn("hour_start", hour)
        .join(F.broadcast(scope), [*SENSOR_SERIES, "hour_start"])
    )
    return rows.groupBy(*SENSOR_SERIES, "hour_start").agg(
        F.count("value").alias("readings"),
        F.min("value").alias("min_value"),
        F.max("value").alias("max_value"),
        F.avg("value").alias("avg_value"),
        F.stddev_samp("value").alias("stddev_value"),
        F.min("reading_ts").alias("first_ts"),
        F.max("reading_ts").alias("last_ts"),
        F.max_by("unit", F.when(F.col("unit").isNotNull(), F.col("reading_ts"))).alias("unit"),
        F.max_by("sensor_key", F.when(F.col("sensor_key").isNotNull(), F.col("reading_ts"))).alias(
            "sensor_key"
        ),
        updated_at.alias("updated_at"),
    )


def price_anomalies(
    silver_prices: DataFrame,
    changed: DataFrame,
    updated_at: Column,
    window: timedelta = PRICE_WINDOW,
) -> DataFrame:
    scored = _anomalies(
        silver_prices, changed, PRICE_SERIES, "price_ts", "price", window, ("resolution",)
    )
    return _with_updated_at(scored, tables.GOLD_PRICE_ANOMALIES.schema, updated_at)


def sensor_anomalies(
    silver_readings: DataFrame,
    changed: DataFrame,
    updated_at: Column,
    window: timedelta = SENSOR_WINDOW,
) -> DataFrame:
    scored = _anomalies(silver_readings, changed, SENSOR_SERIES, "reading_ts", "value", window)
    return _with_updated_at(scored, tables.GOLD_SENSOR_ANOMALIES.schema, updated_at)


def _with_updated_at(rows: DataFrame, schema: StructType, updated_at: Column) -> DataFrame:
    """The gold table's columns in its order, `updated_at` the batch's time."""
    return rows.select(
        *[F.col(n) for n in schema.names if n != "updated_at"], updated_at.alias("updated_at")
    )


def anomaly_scope(
    changed: DataFrame, series: Sequence[str], ts: str, window: timedelta
) -> DataFrame:
    """Per changed series: the range [_from, _to] of points whose score may have changed."""
    return changed.groupBy(*series).agg(
        F.min(ts).alias("_from"),
        (F.max(ts) + F.make_interval(secs=F.lit(window.total_seconds()))).alias("_to"),
    )


def _anomalies(
    rows: DataFrame,
    changed: DataFrame,
    series: Sequence[str],
    ts: str,
    value: str,
    window: timedelta,
    alike: Sequence[str] = (),
) -> DataFrame:
    """Robust z-scores; `alike`: columns a point's window must share with it (beyond the series)."""
    rows = rows.where(F.col(value).isNotNull())
    scope = anomaly_scope(changed, series, ts, window)
    lookback = F.make_interval(secs=F.lit(window.total_seconds()))
    joined = rows.join(F.broadcast(scope), list(series)).where(
        F.col(ts).between(F.col("_from") - lookback, F.col("_to"))
    )
    seconds = F.unix_micros(F.col(ts))
    trailing = (
        Window.partitionBy(*series, *alike)
        .orderBy(seconds)
        .rangeBetween(-int(window.total_seconds() * 1_000_000), -1)
    )
    history = F.array_sort(F.collect_list(F.col(value)).over(trailing))
    scored = joined.withColumn("_hist", history)
    median = _array_median(F.col("_hist"))
    scored = scored.withColumn("window_points", F.size("_hist").cast("long")).withColumn(
        "window_median", median
    )
    deviations = F.array_sort(
        F.transform(F.col("_hist"), lambda x: F.abs(x - F.col("window_median")))
    )
    scored = scored.withColumn("window_mad", _array_median(deviations))
    z = F.when(
        (F.col("window_points") >= MIN_WINDOW_POINTS) & (F.col("window_mad") > 0),
        F.lit(MAD_SCALE) * (F.col(value) - F.col("window_median")) / F.col("window_mad"),
    )
    return (
        scored.withColumn("robust_z", z)
        .withColumn("is_anomaly", F.coalesce(F.abs(F.col("robust_z")) > Z_THRESHOLD, F.lit(False)))
        .where(F.col(ts).between(F.col("_from"), F.col("_to")))
        .drop("_hist", "_from", "_to", *alike)
    )


def _array_median(sorted_values: Column) -> Column:
    """Median of an ascending array (null when empty)."""
    n = F.size(sorted_values)
    low = F.try_element_at(sorted_values, F.floor((n + 1) / 2).cast("int"))
    high = F.try_element_at(sorted_values, F.floor(n / 2).cast("int") + 1)
    return F.when(n > 0, (low + high) / 2)


@dataclass(frozen=True)
class GoldFeed:
    """The gold tables recomputed from one silver table's changed rows."""

    silver: TableSpec
    ts: str
    """The silver table's time key."""
    window: timedelta
    """How far before a changed point the gold functions look (their trailing window)."""
    outputs: tuple[tuple[TableSpec, GoldFunction], ...]


GOLD_FEEDS = (
    GoldFeed(
        tables.SILVER_COIN_PRICES,
        "price_ts",
        PRICE_WINDOW,
        ((tables.GOLD_COIN_OHLC, coin_ohlc), (tables.GOLD_PRICE_ANOMALIES, price_anomalies)),
    ),
    GoldFeed(
        tables.SILVER_SENSOR_READINGS,
        "reading_ts",
        SENSOR_WINDOW,
        (
            (tables.GOLD_SENSOR_HOURLY, sensor_hourly),
            (tables.GOLD_SENSOR_ANOMALIES, sensor_anomalies),
        ),
    ),
)
