"""What a lake must hold after the generator's objects went through the stream, however often it
was killed: each raw object once in bronze, the distinct source records in silver, each bad record
once in the quarantine, gold recomputed from silver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rawgen import Expected

from lakehouse.tables import GOLD_REFRESH, MEDALLION

Query = Callable[[str], list[tuple[Any, ...]]]
"""Runs SQL on the lake's tables (`lakehouse.query`), returns the rows."""


def assert_lake_matches(
    query: Query, expected: Expected, queries: tuple[str, ...] = (MEDALLION,)
) -> None:
    """Bronze, silver, quarantine and gold hold exactly what the generator landed, once; the
    progress names `queries`, the streaming queries that wrote it, and the driver's gold
    refreshes."""
    ((objects, files, corrupt),) = query(
        "select count(*), count(distinct source_file), count(_corrupt_record) "
        "from bronze.raw_events",
    )
    assert (objects, files) == (expected.objects, expected.objects)
    assert corrupt == expected.quarantine["not_json"] + expected.quarantine["truncated"]

    prices = query(
        "select coin_id, vs_currency, epoch(price_ts)::bigint, price from silver.coin_prices",
    )
    assert len(prices) == len({row[:3] for row in prices}), "duplicate keys in coin_prices"
    assert {row[:3]: row[3] for row in prices} == expected.values("coin_prices")

    markets = query(
        "select coin_id, vs_currency, epoch_ms(last_updated), current_price "
        "from silver.coin_markets",
    )
    assert len(markets) == len({row[:3] for row in markets}), "duplicate keys in coin_markets"
    assert {row[:3]: row[3] for row in markets} == expected.values("coin_markets")

    readings = query(
        "select device_id, sensor_id, epoch(reading_ts)::bigint, value from silver.sensor_readings",
    )
    assert len(readings) == len({row[:3] for row in readings}), "duplicate keys in readings"
    assert {row[:3]: row[3] for row in readings} == expected.values("sensor_readings")

    devices = query("select device_id from silver.devices")
    assert sorted(d for (d,) in devices) == sorted(expected.devices)

    reasons = query("select reason, count(*) from silver.quarantine group by 1")
    assert dict(reasons) == dict(expected.quarantine)

    # Gold is a function of silver, whatever batches the kills cut.
    ohlc = query(
        "select coin_id, vs_currency, bar_start, open, high, low, close, points "
        "from gold.coin_ohlc where bar = '1h'",
    )
    recomputed = query(
        "select coin_id, vs_currency, date_trunc('hour', price_ts), arg_min(price, price_ts), "
        "max(price), min(price), arg_max(price, price_ts), count(*) "
        "from silver.coin_prices group by all",
    )
    assert sorted(ohlc) == sorted(recomputed)
    ((minute_bars,),) = query("select count(*) from gold.coin_ohlc where bar = '1m'")
    assert minute_bars == len(prices)
    hourly = query(
        "select device_id, sensor_id, hour_start, readings, min_value, max_value "
        "from gold.sensor_hourly",
    )
    recomputed = query(
        "select device_id, sensor_id, date_trunc('hour', reading_ts), count(*), min(value), "
        "max(value) from silver.sensor_readings group by all",
    )
    assert sorted(hourly) == sorted(recomputed)
    ((scored_prices,),) = query("select count(*) from gold.price_anomalies")
    ((scored_readings,),) = query("select count(*) from gold.sensor_anomalies")
    assert (scored_prices, scored_readings) == (len(prices), len(readings))

    progress = query("select distinct query_name from ops.stream_progress order by 1")
    assert progress == [(name,) for name in sorted((*queries, GOLD_REFRESH))], progress
