"""Gold transforms: only the keys a change affects, computed from silver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import tables
from lakehouse.spark import gold

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


def prices(
    spark: SparkSession, points: list[tuple[str, int, float]], resolution: str = "1m"
) -> DataFrame:
    """(coin, minute after T0, price) -> silver.coin_prices rows in usd, of one resolution."""
    rank = tables.RESOLUTION_RANK[resolution]
    rows = [
        (coin, "usd", T0 + timedelta(minutes=m), p, None, None, None,
         T0 + timedelta(minutes=m, seconds=5), resolution, rank, "live", NOW, f"f{m}")
        for coin, m, p in points
    ]  # fmt: skip
    return spark.createDataFrame(rows, tables.SILVER_COIN_PRICES.schema)


def readings(spark: SparkSession, points: list[tuple[int, int, float]]) -> DataFrame:
    """(sensor, minute after T0, value) -> silver.sensor_readings rows of device 1."""
    rows = [
        (1, sensor, T0 + timedelta(minutes=m), v, "°C", None, "t", None, None, "live", NOW, "f")
        for sensor, m, v in points
    ]
    return spark.createDataFrame(rows, tables.SILVER_SENSOR_READINGS.schema)


def test_ohlc_recomputes_whole_hours_that_hold_a_change(spark: SparkSession) -> None:
    silver = prices(
        spark,
        [("btc", 0, 10.0), ("btc", 1, 12.0), ("btc", 2, 9.0), ("btc", 59, 11.0),
         ("btc", 60, 20.0), ("eth", 1, 5.0)],
    )  # fmt: skip
    changed = prices(spark, [("btc", 2, 9.0)])

    bars = gold.coin_ohlc(silver, changed, F.lit(NOW))

    got = sorted(
        (r.coin_id, r.bar, r.bar_start, r.open, r.high, r.low, r.close, r.points)
        for r in bars.collect()
    )
    h10 = datetime(2026, 1, 1, 10, 0)
    assert got == [
        ("btc", "1h", h10, 10.0, 12.0, 9.0, 11.0, 4),
        ("btc", "1m", h10, 10.0, 10.0, 10.0, 10.0, 1),
        ("btc", "1m", h10 + timedelta(minutes=1), 12.0, 12.0, 12.0, 12.0, 1),
        ("btc", "1m", h10 + timedelta(minutes=2), 9.0, 9.0, 9.0, 9.0, 1),
        ("btc", "1m", h10 + timedelta(minutes=59), 11.0, 11.0, 11.0, 11.0, 1),
    ]
    assert bars.columns == tables.GOLD_COIN_OHLC.schema.names


def test_coarse_history_points_never_make_a_minute_bar(spark: SparkSession) -> None:
    live = prices(spark, [("btc", 61, 20.0), ("btc", 62, 21.0)])
    hourly = prices(spark, [("btc", 0, 10.0), ("btc", 60, 19.0)], resolution="1h")
    fives = prices(spark, [("btc", 65, 22.0)], resolution="5m")
    daily = prices(spark, [("btc", 120, 30.0)], resolution="1d")
    silver = live.unionByName(hourly).unionByName(fives).unionByName(daily)

    bars = gold.coin_ohlc(silver, silver, F.lit(NOW)).collect()

    got = sorted((r.bar, r.bar_start.hour, r.bar_start.minute, r.open, r.close, r.points)
                 for r in bars)  # fmt: skip
    assert got == [
        ("1h", 10, 0, 10.0, 10.0, 1),  # an hour of hourly history: its 1h bar only
        ("1h", 11, 0, 19.0, 22.0, 4),  # 1h, 1m and 5m points make the 1h bar
        ("1m", 11, 1, 20.0, 20.0, 1),  # minute bars from the live minutes only
        ("1m", 11, 2, 21.0, 21.0, 1),
    ]  # the daily point at 12:00 makes no bar at all


def test_a_price_is_scored_against_points_of_its_own_resolution(spark: SparkSession) -> None:
    minutes = prices(spark, [("btc", m, 100.0 + (m % 3)) for m in range(30)])
    hourly = prices(spark, [("btc", 30, 150.0)], resolution="1h")
    silver = minutes.unionByName(hourly)

    scored = gold.price_anomalies(silver, hourly, F.lit(NOW)).collect()

    at_30 = next(r for r in scored if r.price_ts.minute == 30)
    assert at_30.window_points == 0 and not at_30.is_anomaly  # not against the live minutes
    assert all(r.window_points == 0 for r in scored if r.price_ts.minute == 30)


def test_sensor_hourly_statistics(spark: SparkSession) -> None:
    silver = readings(spark, [(55, 0, 1.0), (55, 30, 3.0), (55, 61, 7.0), (56, 5, 50.0)])
    changed = readings(spark, [(55, 30, 3.0)])

    stats = gold.sensor_hourly(silver, changed, F.lit(NOW)).collect()

    assert [
        (r.sensor_id, r.readings, r.min_value, r.max_value, r.avg_value, r.unit) for r in stats
    ] == [(55, 2, 1.0, 3.0, 2.0, "°C")]
    assert abs(stats[0].stddev_value - 2**0.5) < 1e-12


def test_a_spike_is_flagged_by_its_robust_z_score(spark: SparkSession) -> None:
    calm = [("btc", m, 100.0 + (m % 3)) for m in range(30)]  # 100, 101, 102, ...
    spike = ("btc", 30, 150.0)
    after = [("btc", m, 101.0) for m in range(31, 35)]
    silver = prices(spark, [*calm, spike, *after, ("btc", 200, 1.0)])
    changed = prices(spark, [spike])

    scored = {
        r.price_ts.minute: r for r in gold.price_anomalies(silver, changed, F.lit(NOW)).collect()
    }

    # Only the points whose trailing window holds the change: [10:30, 11:30].
    assert sorted(scored) == [30, 31, 32, 33, 34]
    flagged = scored[30]
    assert flagged.is_anomaly
    assert flagged.window_points == 30 and flagged.window_median == 101.0
    assert flagged.window_mad == 1.0
    assert flagged.robust_z == gold.MAD_SCALE * 49.0
    assert not scored[31].is_anomaly


def test_too_few_points_or_no_spread_give_no_score(spark: SparkSession) -> None:
    silver = readings(spark, [(55, m, 20.0) for m in range(15)] + [(56, 0, 1.0), (56, 1, 9.0)])
    scored = gold.sensor_anomalies(silver, silver, F.lit(NOW)).collect()

    assert len(scored) == 17
    assert all(r.robust_z is None and not r.is_anomaly for r in scored)
