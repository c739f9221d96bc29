"""The driver's gold refresh on a real Delta session: it follows silver's change data feed, covers
every silver commit once, and a driver that starts again goes on from the version gold recorded.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from lakehouse import tables
from lakehouse.spark import gold, sinks
from lakehouse.spark.gold_refresh import (
    GOLD_WRITES_AT_ONCE,
    GoldRefresh,
    covered_version,
    delta_snapshot,
)
from lakehouse.spark.options import StreamOptions
from lakehouse.spark.queries import Runtime
from lakehouse.spark.session import writer_sessions
from lakehouse.spark.table_setup import ensure_tables
from lakehouse.tables import DRIVER

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PRICES = tables.SILVER_COIN_PRICES
OHLC = tables.GOLD_COIN_OHLC
BATCHES = itertools.count()


def price(minute: int, value: float, fetched: int = 0) -> dict[str, Any]:
    at = HOUR + timedelta(minutes=minute)
    return {
        "coin_id": "bitcoin",
        "vs_currency": "usd",
        "price_ts": at,
        "price": value,
        "observed_at": at,
        "resolution": "1m",
        "resolution_rank": tables.RESOLUTION_RANK["1m"],
        "mode": "live",
        "fetched_at": at + timedelta(seconds=fetched),
        "source_file": f"raw/{minute}-{fetched}.json",
    }


def merge_prices(spark: SparkSession, options: StreamOptions, rows: list[dict[str, Any]]) -> None:
    frame = spark.createDataFrame(
        [tuple(row.get(f.name) for f in PRICES.schema.fields) for row in rows], PRICES.schema
    )
    txn = sinks.Txn("test:silver.coin_prices", next(BATCHES))
    sinks.merge_batch(frame, options.table(PRICES), PRICES.keys, PRICES.order, txn=txn)


def hourly_bar(spark: SparkSession, options: StreamOptions) -> tuple[Any, ...]:
    ((row),) = (
        spark.read.format("delta")
        .load(options.table(OHLC))
        .where("bar = '1h'")
        .select("open", "high", "low", "close", "points")
        .collect()
    )
    return tuple(row)


def version(spark: SparkSession, location: str) -> int:
    return int(delta_snapshot(spark, location).version())


def every_commit(spark: SparkSession, options: StreamOptions) -> dict[str, int]:
    """The commits of every silver table that gold follows, from version 0."""
    return {
        feed.silver.qualified_name: version(spark, options.table(feed.silver)) + 1
        for feed in gold.GOLD_FEEDS
    }


def refresh(spark: SparkSession, options: StreamOptions) -> GoldRefresh:
    """A driver's gold refresh, as a newly started driver has it."""
    sessions = writer_sessions(spark, options, GOLD_WRITES_AT_ONCE)
    return GoldRefresh(Runtime(options), sessions)


def test_a_refresh_covers_every_silver_commit_since_the_last_once(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    options = StreamOptions(lake_uri=str(tmp_path / "lake"))
    ensure_tables(delta_spark, options)
    silver, gold = options.table(PRICES), options.table(OHLC)
    merge_prices(delta_spark, options, [price(0, 100.0), price(1, 110.0)])

    first = refresh(delta_spark, options)
    assert first.run(delta_spark) == every_commit(delta_spark, options)  # nothing covered yet
    assert hourly_bar(delta_spark, options) == (100.0, 110.0, 100.0, 110.0, 2)
    app_id = options.txn_app_id(DRIVER, OHLC)
    assert covered_version(delta_spark, gold, app_id) == version(delta_spark, silver)

    # Two silver commits: a newer fetch of minute 1 (an update) and a new minute (an insert).
    merge_prices(delta_spark, options, [price(1, 90.0, fetched=30)])
    merge_prices(delta_spark, options, [price(2, 120.0)])
    assert first.run(delta_spark) == {PRICES.qualified_name: 2}
    assert hourly_bar(delta_spark, options) == (100.0, 120.0, 90.0, 120.0, 3)
    assert covered_version(delta_spark, gold, app_id) == version(delta_spark, silver)

    # A driver that starts again reads the covered version back: nothing to do, nothing written.
    # (The empty silver.sensor_readings gave no gold rows, so its gold recorded no version.)
    gold_version = version(delta_spark, gold)
    again = refresh(delta_spark, options)
    assert PRICES.qualified_name not in again.run(delta_spark)
    assert version(delta_spark, gold) == gold_version

    # It goes on from there: only the new commit, and the bar follows it.
    merge_prices(delta_spark, options, [price(3, 80.0)])
    assert again.run(delta_spark) == {PRICES.qualified_name: 1}
    assert hourly_bar(delta_spark, options) == (100.0, 120.0, 80.0, 80.0, 4)
    scored = delta_spark.read.format("delta").load(options.table(tables.GOLD_PRICE_ANOMALIES))
    assert scored.count() == 4


def test_gold_without_a_covered_version_is_recomputed_from_the_whole_silver_table(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    """A lake whose gold was written inside the micro-batch (earlier versions) records no
    covered version: its first refresh recomputes gold from all of silver, once."""
    options = StreamOptions(lake_uri=str(tmp_path / "lake"))
    ensure_tables(delta_spark, options)
    merge_prices(delta_spark, options, [price(0, 100.0)])
    merge_prices(delta_spark, options, [price(5, 130.0)])
    # Gold as the earlier version left it: a stale bar, under its micro-batch transaction id.
    stale = refresh(delta_spark, replace(options, txn_suffix="-old"))
    stale.run(delta_spark)
    merge_prices(delta_spark, options, [price(6, 70.0)])

    fresh = refresh(delta_spark, options)
    assert fresh.run(delta_spark) == every_commit(delta_spark, options)
    assert hourly_bar(delta_spark, options) == (100.0, 130.0, 70.0, 70.0, 3)


def test_changes_no_longer_kept_are_recomputed_from_the_whole_silver_table(
    delta_spark: SparkSession, tmp_path: Path
) -> None:
    """A driver down longer than the retention finds the change files of the commits after its
    covered version vacuumed: its refresh recomputes gold from all of silver instead of failing."""
    options = StreamOptions(lake_uri=str(tmp_path / "lake"))
    ensure_tables(delta_spark, options)
    merge_prices(delta_spark, options, [price(0, 100.0)])
    down = refresh(delta_spark, options)
    down.run(delta_spark)
    merge_prices(delta_spark, options, [price(0, 95.0, fetched=30)])  # an update: a change file
    merge_prices(delta_spark, options, [price(1, 90.0)])
    change_files = list(Path(options.table(PRICES), "_change_data").iterdir())
    assert change_files, "the update wrote no change file"
    for path in change_files:  # as VACUUM removes them once they are past the retention
        path.unlink()

    restarted = refresh(delta_spark, options)
    assert restarted.run(delta_spark)[PRICES.qualified_name] == 2
    assert hourly_bar(delta_spark, options) == (95.0, 95.0, 90.0, 90.0, 2)
