"""A backfill of a past hour, as Airflow runs it (one task run per minute interval), into MinIO.

Each run calls the same function the collect DAGs' tasks call (`run_collection`) against the
simulator (clock fixed at 2024-03-25 08:45:37 UTC), so the hour 07:00-08:00 is history.
Checks: the 60 runs, two or four at a time, fetch the hour once per pair (or sensor) and land it
as one `mode: history` object whose values are the simulator's; the other runs are covered by it
and say so, and a retried run writes nothing. `airflow backfill create` itself needs the whole
stack and is tested end to end elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakehouse.collect import run_collection
from lakehouse.config import SimulatorSettings
from lakehouse.raw_zone import DataInterval, RawZoneWriter
from lakehouse.simulator import market, sensors
from lakehouse.sources import coingecko, smartcitizen
from lakehouse.sources.coingecko.client import CoinGeckoHttpClient
from lakehouse.sources.coingecko.planner import CoinGeckoSelection
from lakehouse.sources.limiter import CallLimiter
from lakehouse.sources.smartcitizen.client import SmartCitizenHttpClient
from lakehouse.sources.smartcitizen.planner import SmartCitizenSelection

pytestmark = pytest.mark.integration

# CoinGecko's real grain (5-minutely within the last day): backfills fetch whole blocks at it. No
# per-minute limits: this test is not about them (conftest.UNLIMITED).
SIMULATOR_SETTINGS = SimulatorSettings(coingecko_rate_limit=0, smartcitizen_rate_limit=0)

HOUR = datetime(2024, 3, 25, 7, 0, tzinfo=UTC)
"""Within a day of the simulator's clock: CoinGecko serves it 5-minutely, as one block."""
INTERVALS = [
    DataInterval(HOUR + timedelta(minutes=i), HOUR + timedelta(minutes=i + 1)) for i in range(60)
]
COINS = CoinGeckoSelection(("bitcoin", "ethereum"), ("usd",), 100)
DEVICE = 13006
CHARTS = "raw/coingecko/market_chart_range/date=2024-03-25/hour=07/"
READINGS = "raw/smartcitizen/readings/date=2024-03-25/hour=07/"


def run_id(interval: DataInterval) -> str:
    return f"backfill__{interval.start.isoformat()}"


def stored(s3: Any, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    with ThreadPoolExecutor(8) as pool:
        bodies = pool.map(lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), keys)
        return {key: json.loads(body) for key, body in zip(keys, bodies, strict=True)}


def in_pool(task: Callable[[DataInterval], Any], slots: int) -> list[Any]:
    """Runs `task` per interval with `slots` at a time, as the API's Airflow pool would."""
    with ThreadPoolExecutor(slots) as pool:
        return list(pool.map(task, INTERVALS))


def minute_of(envelope: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(envelope["interval_start"]).timestamp()) // 60


def range_calls(simulator: Any) -> list[str]:
    return [seen["path"] for seen in simulator.seen if seen["path"].endswith("/market_chart/range")]


def test_a_past_hour_of_coingecko_is_one_call_and_one_object_per_pair(
    minio: Any, simulator: Any, sim_now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    """The hour ended within the last day: CoinGecko serves it 5-minutely, as one block."""
    s3 = minio.client()
    writer = RawZoneWriter(s3, minio.lake.bucket)
    simulator.seen.clear()
    caplog.set_level(logging.INFO, logger="lakehouse")

    def connect(limiter: CallLimiter) -> CoinGeckoHttpClient:
        # In Airflow the shared limiter paces the calls; here run_collection's default: none.
        return CoinGeckoHttpClient(simulator.coingecko_url, limiter=limiter)

    def task(interval: DataInterval) -> Any:
        return run_collection(
            coingecko.SOURCE,
            connect,
            writer,
            COINS,
            interval=interval,
            run_id=run_id(interval),
            now=sim_now,
            parts=("prices", "markets"),
        )

    outcomes = in_pool(task, slots=2)

    assert all(outcome.mode == "history" for outcome in outcomes)
    assert len(range_calls(simulator)) == 2  # one per pair, for 60 runs
    objects = stored(s3, minio.lake.bucket, CHARTS)
    assert len(objects) == 2
    landed = sorted(key for outcome in outcomes for key in outcome.keys)
    assert landed == sorted(objects)
    assert sum(len(outcome.covered) for outcome in outcomes) == 60 * 2 - 2
    assert not stored(s3, minio.lake.bucket, "raw/coingecko/coins_markets/date=2024-03-25/")
    hour_start, hour_end = HOUR, HOUR + timedelta(hours=1)
    for key, envelope in objects.items():
        coin = envelope["request"]["params"]["id"]
        assert envelope["mode"] == "history"
        assert (envelope["interval_start"], envelope["interval_end"]) == (
            "2024-03-25T07:00:00.000Z",
            "2024-03-25T08:00:00.000Z",
        )
        assert envelope["request"]["params"]["from"] == str(int(hour_start.timestamp()))
        assert envelope["request"]["params"]["to"] == str(int(hour_end.timestamp()))
        prices = envelope["payload"]["prices"]
        assert prices, "the simulator's points for the hour, at whatever grain it answers"
        for ms, value in prices:
            assert hour_start.timestamp() * 1000 <= ms <= hour_end.timestamp() * 1000
            assert value == market.price(coin, "usd", ms // 60_000)
        assert f"covered by {key} [id={coin} vs_currency=usd]" in caplog.text
    claims = stored(s3, minio.lake.bucket, "_claims/coingecko/market_chart_range/date=2024-03-25/")
    assert sorted(key for claim in claims.values() for key in claim["keys"]) == sorted(objects)

    # A retried task run, later: covered by the same objects, no call, no second object.
    retry = run_collection(
        coingecko.SOURCE,
        connect,
        writer,
        COINS,
        interval=INTERVALS[17],
        run_id=run_id(INTERVALS[17]),
        now=sim_now + timedelta(minutes=5),
    )
    assert retry.results == [] and sorted(retry.covered) == sorted(objects)
    assert len(range_calls(simulator)) == 2
    assert len(stored(s3, minio.lake.bucket, CHARTS)) == 2


def test_a_past_hour_of_smartcitizen_is_one_readings_call_per_sensor(
    minio: Any, simulator: Any, sim_now: datetime
) -> None:
    s3 = minio.client()
    writer = RawZoneWriter(s3, minio.lake.bucket)
    selection = SmartCitizenSelection((DEVICE,), world_map=True)
    simulator.seen.clear()

    def connect(limiter: CallLimiter) -> SmartCitizenHttpClient:
        return SmartCitizenHttpClient(f"{simulator.base_url}/v0", limiter=limiter)

    def task(interval: DataInterval) -> Any:
        return run_collection(
            smartcitizen.SOURCE,
            connect,
            writer,
            selection,
            interval=interval,
            run_id=run_id(interval),
            now=sim_now,
        )

    for outcome in in_pool(task, slots=4):
        assert outcome.mode == "history"
        assert outcome.skipped == ("smartcitizen /devices/world_map has no history",)

    objects = stored(s3, minio.lake.bucket, READINGS)
    device_sensors = sensors.DEVICES[DEVICE].sensors
    calls = [seen["path"] for seen in simulator.seen]
    assert len(calls) == 1 + len(device_sensors)  # the device (its sensors), then each sensor
    assert len(objects) == len(device_sensors)
    assert not stored(s3, minio.lake.bucket, "raw/smartcitizen/device/date=2024-03-25/")
    for envelope in objects.values():
        sensor = int(envelope["request"]["params"]["sensor_id"])
        assert envelope["mode"] == "history" and envelope["request"]["params"]["rollup"] == "1m"
        assert envelope["interval_start"] == "2024-03-25T07:00:00.000Z"
        assert envelope["payload"]["readings"] == [  # newest first, one per minute
            [
                sensors.iso(sensors.reading_second(DEVICE, minute)),
                sensors.value(DEVICE, sensor, minute),
            ]
            for minute in reversed([int(i.start.timestamp()) // 60 for i in INTERVALS])
        ]

    retry = run_collection(
        smartcitizen.SOURCE,
        connect,
        writer,
        selection,
        interval=INTERVALS[0],
        run_id=run_id(INTERVALS[0]),
        now=sim_now,
    )
    assert retry.results == [] and len(retry.covered) == len(device_sensors)
    assert len(stored(s3, minio.lake.bucket, READINGS)) == len(device_sensors)


def test_the_cli_collects_with_the_same_code(minio: Any, simulator: Any, tmp_path: Any) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # a worktree's code before the venv's
        "LAKEHOUSE_HOME": str(tmp_path),
        "LAKEHOUSE_S3_ENDPOINT": minio.lake.endpoint_url,
        "LAKEHOUSE_S3_ACCESS_KEY": minio.lake.access_key,
        "LAKEHOUSE_S3_SECRET_KEY": minio.lake.secret_key,
        "LAKEHOUSE_BUCKET": minio.lake.bucket,
        "COINGECKO_BASE_URL": simulator.coingecko_url,
        "COINGECKO_API_KEY": "CG-cli-secret",
        "COINGECKO_API_PLAN": "pro",
        "COINGECKO_COINS": "solana",
        "COINGECKO_CURRENCIES": "chf",
        "COINGECKO_RATE_LIMIT_PER_MINUTE": "6000",
        "SMARTCITIZEN_BASE_URL": f"{simulator.base_url}/v0",
        "SMARTCITIZEN_DEVICES": "1616",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lakehouse.cli", "collect", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    # The Demo plan serves a year of history before the CLI's clock (now): the pro plan has no
    # such window, so the simulator's 2024 can be asked for; the day is one block (hourly).
    history = cli("coingecko", "--interval-start", "2024-03-25T06:30", "--history")
    live = cli("smartcitizen")

    assert history.returncode == 0, history.stderr
    assert history.stdout.splitlines()[0].startswith(
        "wrote s3://lake/raw/coingecko/market_chart_range/date=2024-03-25/hour=00/20240325T000000Z_"
    )
    assert history.stdout.splitlines()[1:] == [
        "skipped: coingecko /coins/markets has no history: a backfill lands prices only"
    ]
    assert "CG-cli-secret" not in history.stdout + history.stderr
    assert live.returncode == 0, live.stderr
    assert live.stdout.startswith("wrote s3://lake/raw/smartcitizen/device/")
    assert "skipped: smartcitizen world map is not enabled for this run" in live.stdout
