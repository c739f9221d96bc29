"""Exactly once under SIGKILL: the driver is killed at random moments and restarted, many times.

Raw envelopes of every endpoint keep landing in a local lake folder while the job runs with a
1-second trigger; its whole process group (spark-submit, the JVM, the Python driver) gets SIGKILL
at a random moment (seeded) at least ten times, during start-up as well as inside micro-batches.
A `--once` run then drains the rest. Afterwards bronze holds each raw object exactly once, silver
holds exactly the distinct source records (newest fetch per key, nothing lost, no duplicate key),
the quarantine holds each bad record exactly once, and gold agrees with silver.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import stream_runner
from rawgen import Expected, Generator

from lakehouse.query import open_lake, run_query
from lakehouse.spark.control import LocalStore, read_lease

pytestmark = pytest.mark.integration

SEED = 20261125
KILLS = 10
LEASE_TTL = "5"


def query(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    return run_query(sql, open_lake(str(lake)))[1]


def test_sigkill_at_random_moments_keeps_silver_exact(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    lake = tmp_path / "lake"
    generator = Generator()
    next_minute = 0

    def land(minutes: int) -> None:
        nonlocal next_minute
        for _ in range(minutes):
            objects = generator.minute(next_minute)
            rng.shuffle(objects)  # arrival order is not fetch order
            for obj in objects:
                obj.land(lake)
            next_minute += 1

    land(4)
    started_at = time.monotonic()
    kill_points: list[str] = []
    for cycle in range(KILLS):
        log = tmp_path / f"run-{cycle}.log"
        proc = stream_runner.start(
            lake, log,
            "--trigger-seconds", "1", "--max-files-per-trigger", "6", "--poll-seconds", "1",
            "--lease-ttl-seconds", LEASE_TTL, "--lease-wait-seconds", "60",
        )  # fmt: skip
        try:
            if rng.random() < 0.2:
                time.sleep(rng.uniform(2.0, 15.0))  # somewhere in start-up
                kill_points.append("start-up")
            else:
                ready = stream_runner.wait_for_log(proc, log, "tables ready")
                assert ready, f"cycle {cycle}: the job did not start\n{stream_runner.tail(log)}"
                land(rng.randint(1, 3))
                time.sleep(rng.uniform(1.0, 12.0))
                kill_points.append("streaming")
            assert proc.poll() is None, f"cycle {cycle}: exited early\n{stream_runner.tail(log)}"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    killed_for = time.monotonic() - started_at

    land(2)
    drained = stream_runner.run(
        lake, "--once", "--lease-ttl-seconds", LEASE_TTL, "--lease-wait-seconds", "60"
    )
    assert drained.returncode == 0, drained.stdout[-3000:] + drained.stderr[-5000:]
    assert read_lease(LocalStore(lake)) is None, "the --once run did not release its lease"

    assert kill_points.count("streaming") >= 5, kill_points
    print(f"{KILLS} kills ({Counter(kill_points)}) in {killed_for:.0f} s")
    assert_lake_matches(lake, generator.expected)


def assert_lake_matches(lake: Path, expected: Expected) -> None:
    ((objects, files, corrupt),) = query(
        lake,
        "select count(*), count(distinct source_file), count(_corrupt_record) "
        "from bronze.raw_events",
    )
    assert (objects, files) == (expected.objects, expected.objects)
    assert corrupt == expected.quarantine["not_json"] + expected.quarantine["truncated"]

    prices = query(
        lake,
        "select coin_id, vs_currency, epoch(price_ts)::bigint, price from silver.coin_prices",
    )
    assert len(prices) == len({row[:3] for row in prices}), "duplicate keys in coin_prices"
    assert {row[:3]: row[3] for row in prices} == expected.values("coin_prices")

    markets = query(
        lake,
        "select coin_id, vs_currency, epoch_ms(last_updated), current_price "
        "from silver.coin_markets",
    )
    assert len(markets) == len({row[:3] for row in markets}), "duplicate keys in coin_markets"
    assert {row[:3]: row[3] for row in markets} == expected.values("coin_markets")

    readings = query(
        lake,
        "select device_id, sensor_id, epoch(reading_ts)::bigint, value from silver.sensor_readings",
    )
    assert len(readings) == len({row[:3] for row in readings}), "duplicate keys in readings"
    assert {row[:3]: row[3] for row in readings} == expected.values("sensor_readings")

    devices = query(lake, "select device_id from silver.devices")
    assert sorted(d for (d,) in devices) == sorted(expected.devices)

    reasons = query(lake, "select reason, count(*) from silver.quarantine group by 1")
    assert dict(reasons) == dict(expected.quarantine)

    # Gold is a function of silver, whatever batches the kills cut.
    ohlc = query(
        lake,
        "select coin_id, vs_currency, bar_start, open, high, low, close, points "
        "from gold.coin_ohlc where bar = '1h'",
    )
    recomputed = query(
        lake,
        "select coin_id, vs_currency, date_trunc('hour', price_ts), arg_min(price, price_ts), "
        "max(price), min(price), arg_max(price, price_ts), count(*) "
        "from silver.coin_prices group by all",
    )
    assert sorted(ohlc) == sorted(recomputed)
    ((minute_bars,),) = query(lake, "select count(*) from gold.coin_ohlc where bar = '1m'")
    assert minute_bars == len(prices)
    hourly = query(
        lake,
        "select device_id, sensor_id, hour_start, readings, min_value, max_value "
        "from gold.sensor_hourly",
    )
    recomputed = query(
        lake,
        "select device_id, sensor_id, date_trunc('hour', reading_ts), count(*), min(value), "
        "max(value) from silver.sensor_readings group by all",
    )
    assert sorted(hourly) == sorted(recomputed)
    ((scored_prices,),) = query(lake, "select count(*) from gold.price_anomalies")
    ((scored_readings,),) = query(lake, "select count(*) from gold.sensor_anomalies")
    assert (scored_prices, scored_readings) == (len(prices), len(readings))

    progress = query(lake, "select distinct query_name from ops.stream_progress order by 1")
    assert progress == [("bronze_to_silver",), ("raw_to_bronze",)]
